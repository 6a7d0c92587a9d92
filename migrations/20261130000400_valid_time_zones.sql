-- profiles.timezone holds only time zone names PostgreSQL itself knows.
--
-- A profile's zone decides what "today" and "this month" mean for every dated tool. Before
-- this file any text of 1..64 characters was accepted: 'America' (a directory of the zone
-- database) made every dated call fail for that person. People write profiles through
-- Supabase's REST API without pam-mcp, so the rule lives here.
--
-- public.is_time_zone_name(name): true for an IANA name in PostgreSQL's own zone data
-- (pg_timezone_names), in the shape pam-mcp also checks before loading it with Python's
-- zoneinfo (pam_mcp/tools/common.py), so the two agree on what is accepted:
--   * segments of letters, digits, '_', '+', '-', separated by single '/', starting with a
--     letter: no '..', no leading or trailing '/', no spaces, at most 64 characters;
--   * not the zone database's aliases for "this machine" or its POSIX copies ('localtime',
--     'posixrules', 'Factory', 'posix/...', 'right/...'), which mean different things on
--     different servers;
--   * a zone file PostgreSQL knows, spelled as the file is (case matters, as it does for
--     Python), not a directory ('America'), an abbreviation ('AEST') or a POSIX rule
--     ('XYZ+3') that AT TIME ZONE or the timezone setting would also take.
-- The shape test runs first; then PostgreSQL's zone loader reads that one zone file (cached
-- after the first time). The list pg_timezone_names takes ~50 ms to build, so it is consulted
-- only for one-segment names with digits or signs, which a POSIX rule could also match.
-- The rule is a trigger on writes of the column, so other profile updates never pay for it.
--
-- Rows stored before this rule with a name it refuses are set to null: pam-mcp already read
-- them as UTC, which is what null means.
--
-- Re-runnable: create or replace, drop-if-exists, and an update that finds nothing the second time.

-- The shape alone: cheap, immutable, shared by the single-name test and the clean-up below.
create or replace function public.is_time_zone_shape(zone text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select zone is not null
    and char_length(zone) between 1 and 64
    and zone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$'
    and zone !~ '^(posix|right)/'
    and zone not in ('localtime', 'posixrules', 'Factory')
$$;

create or replace function public.is_time_zone_name(zone text)
returns boolean
language plpgsql
stable
set search_path = ''
set timezone = 'UTC'  -- the set_config below is undone when the function returns
as $$
begin
  if not public.is_time_zone_shape(zone) then
    return false;
  end if;
  if zone !~ '/' and zone ~ '[0-9+-]' then
    -- One segment with an offset ('XYZ+3') may be a POSIX rule the loader below would take;
    -- only the list of zone files can tell (EST5EDT and GMT0 are files). Rare, and slower.
    return exists (select 1 from pg_catalog.pg_timezone_names z where z.name = zone);
  end if;
  -- PostgreSQL's own loader reads just this zone file. It matches file names without regard
  -- to case and answers with the file's real name, so 'australia/brisbane' is refused here
  -- as Python's zoneinfo refuses it.
  perform pg_catalog.set_config('timezone', zone, true);
  return pg_catalog.current_setting('timezone') = zone;
exception when invalid_parameter_value then  -- a directory ('America'), no such file, an abbreviation
  return false;
end;
$$;

comment on function public.is_time_zone_shape(text) is
  'True when text has the shape of a usable IANA zone name (see public.is_time_zone_name).';
comment on function public.is_time_zone_name(text) is
  'True for an IANA time zone name in PostgreSQL''s zone data (e.g. Australia/Brisbane, UTC); '
  'false for directories (America), abbreviations, POSIX rules and malformed text.';

-- The trigger runs as the person writing their profile, so authenticated needs them; anon does not.
revoke execute on function public.is_time_zone_shape(text) from public, anon;
revoke execute on function public.is_time_zone_name(text) from public, anon;
grant execute on function public.is_time_zone_shape(text) to authenticated, service_role;
grant execute on function public.is_time_zone_name(text) to authenticated, service_role;

create or replace function public.check_profile_timezone()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.timezone is not null and not public.is_time_zone_name(new.timezone) then
    raise exception 'profiles.timezone: "%" is not a time zone name', left(new.timezone, 64)
      using errcode = '22023',
            hint = 'Use an IANA name such as Australia/Brisbane or America/Denver, or null for UTC.';
  end if;
  return new;
end;
$$;

comment on function public.check_profile_timezone() is
  'Trigger function: refuses a profiles.timezone that public.is_time_zone_name rejects.';

-- Only the trigger calls it.
revoke execute on function public.check_profile_timezone() from public, anon, authenticated;
grant execute on function public.check_profile_timezone() to service_role;

-- One scan of the zone list for the whole table (not one per row), then the same rule.
update public.profiles p
   set timezone = null
 where p.timezone is not null
   and (not public.is_time_zone_shape(p.timezone)
        or p.timezone not in (select z.name from pg_catalog.pg_timezone_names z));

drop trigger if exists check_timezone on public.profiles;
create trigger check_timezone before insert or update of timezone on public.profiles
  for each row when (new.timezone is not null)
  execute function public.check_profile_timezone();
