-- The person's own clock for answers: times shown in the offset of their profile's time zone.
--
-- A trip that started at 07:30 in Brisbane is stored as 2026-11-26 21:30 UTC; shown as
-- '2026-11-26T21:30:00Z' a model reads it as the day before. Operations that return times
-- read the zone once (public.pam_zone()) and format each time with public.pam_local_time(),
-- which gives ISO 8601 with the zone's offset at that instant ('2026-11-27T07:30:00+10:00').
--
-- Re-runnable: create or replace, idempotent grants.

create or replace function public.pam_zone()
returns text
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_zone text;
begin
  select p.timezone into v_zone from public.profiles as p where p.id = (select auth.uid());
  if v_zone is null or not public.is_time_zone_shape(v_zone) then
    return 'UTC';
  end if;
  perform pg_catalog.now() at time zone v_zone;  -- refuses a name this database does not know
  return v_zone;
exception when invalid_parameter_value then
  return 'UTC';
end;
$$;

comment on function public.pam_zone() is
  'The time zone of auth.uid()''s profile when this database knows it, else UTC.';

-- plpgsql, not sql: a sql function with SET options is never inlined, and PostgreSQL before 18
-- plans its statement again on every call (about 9 us); plpgsql keeps its plans (about 4 us).
create or replace function public.pam_local_time(p_at timestamptz, p_zone text)
returns text
language plpgsql
immutable
security invoker
set search_path = ''
as $$
declare
  v_local timestamp;
  v_offset integer;
begin
  if p_at is null then
    return null;
  end if;
  v_local := p_at at time zone p_zone;
  v_offset := extract(epoch from v_local - (p_at at time zone 'UTC'))::integer;
  return pg_catalog.to_char(v_local, 'YYYY-MM-DD"T"HH24:MI:SS')
    || case when v_offset = 0 then 'Z' else
         case when v_offset < 0 then '-' else '+' end
         || pg_catalog.lpad((pg_catalog.abs(v_offset) / 3600)::text, 2, '0') || ':'
         || pg_catalog.lpad((pg_catalog.abs(v_offset) % 3600 / 60)::text, 2, '0')
       end;
end;
$$;

comment on function public.pam_local_time(timestamptz, text) is
  'p_at as ISO 8601 in zone p_zone, with that zone''s offset at that instant (Z for UTC).';

revoke all on function public.pam_zone(), public.pam_local_time(timestamptz, text) from public, anon, service_role;
grant execute on function public.pam_zone(), public.pam_local_time(timestamptz, text) to authenticated;
