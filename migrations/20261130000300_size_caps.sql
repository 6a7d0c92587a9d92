-- Size caps the database keeps, so no person can make a call on the shared server slow for
-- everyone else: pam-mcp checks the same caps in its tools' input models
-- (pam_mcp/tools/limits.py; a test checks the two lists agree), but people can write every
-- table and call every function through Supabase's REST API without pam-mcp.
--
--   * public.pam_limit(name): the caps, written down once for the database. CHECK constraints
--     and functions read them from here; a cap no caller can override.
--   * CHECK constraints on the free-form columns pam-mcp reads back (text lengths, jsonb
--     sizes as octet_length(value::text), jsonb array lengths).
--   * merge_session_context: its own cap; the caller's p_max_bytes can only lower it.
--   * context_snapshot: at most 100 messages, each clipped to context_message_chars characters,
--     and an oversized session context (stored before these caps) replaced by a note, so
--     get_context never pulls megabytes.
--   * recent_trips(p_limit): trips as summaries (counts of route points and stops, never the
--     route itself), at most 50; pam://trips reads it. trip_detail(p_trip_id): one trip with
--     notes and stops, its route counted; pam://trips/{id} reads it.
--
-- Rows written before this migration may break a new cap: each constraint is added NOT VALID
-- (it holds for every new or changed row at once) and then validated where the existing rows
-- allow; where they do not, it stays NOT VALID with a notice, and the readers above still cap
-- what they return.
--
-- Re-runnable: create or replace, drop constraint if exists before add, idempotent grants.

create or replace function public.pam_limit(p_name text)
returns integer
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  v_cap integer := case p_name
    when 'message_content_chars' then 20000
    when 'message_metadata_bytes' then 16384
    when 'session_context_bytes' then 16384
    when 'trip_route_points' then 5000
    when 'trip_stops' then 200
    when 'trip_route_bytes' then 2000000
    when 'trip_stops_bytes' then 200000
    when 'trip_notes_chars' then 4000
    when 'safety_details_bytes' then 32768
    when 'event_location_chars' then 500
    when 'event_description_chars' then 4000
    when 'profile_text_chars' then 200
    when 'profile_url_chars' then 2048
    when 'profile_preferences_bytes' then 16384
    -- what context_snapshot returns of one message, and how many messages at most
    when 'context_message_chars' then 2000
    when 'context_messages' then 100
    when 'recent_trips' then 50
  end;
begin
  if v_cap is null then  -- a misspelt name must not make a CHECK constraint pass everything
    raise exception 'pam_limit: no cap named %', p_name using errcode = '22023';
  end if;
  return v_cap;
end;
$$;

comment on function public.pam_limit(text) is
  'The size caps of pam-mcp''s data, by name (CHECK constraints and functions read them here; pam_mcp/tools/limits.py holds the same).';

grant execute on function public.pam_limit(text) to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- CHECK constraints (suffix _cap), added NOT VALID then validated below
-- ---------------------------------------------------------------------------

alter table public.pam_messages drop constraint if exists pam_messages_content_cap;
alter table public.pam_messages add constraint pam_messages_content_cap
  check (char_length(content) <= public.pam_limit('message_content_chars')) not valid;
alter table public.pam_messages drop constraint if exists pam_messages_metadata_cap;
alter table public.pam_messages add constraint pam_messages_metadata_cap
  check (octet_length(metadata::text) <= public.pam_limit('message_metadata_bytes')) not valid;

alter table public.pam_sessions drop constraint if exists pam_sessions_context_cap;
alter table public.pam_sessions add constraint pam_sessions_context_cap
  check (octet_length(context::text) <= public.pam_limit('session_context_bytes')) not valid;

alter table public.trips drop constraint if exists trips_route_cap;
alter table public.trips add constraint trips_route_cap
  check (jsonb_array_length(route) <= public.pam_limit('trip_route_points')
         and octet_length(route::text) <= public.pam_limit('trip_route_bytes')) not valid;
alter table public.trips drop constraint if exists trips_stops_cap;
alter table public.trips add constraint trips_stops_cap
  check (jsonb_array_length(stops) <= public.pam_limit('trip_stops')
         and octet_length(stops::text) <= public.pam_limit('trip_stops_bytes')) not valid;
alter table public.trips drop constraint if exists trips_notes_cap;
alter table public.trips add constraint trips_notes_cap
  check (notes is null or char_length(notes) <= public.pam_limit('trip_notes_chars')) not valid;

alter table public.safety_events drop constraint if exists safety_events_details_cap;
alter table public.safety_events add constraint safety_events_details_cap
  check (octet_length(details::text) <= public.pam_limit('safety_details_bytes')) not valid;

alter table public.calendar_events drop constraint if exists calendar_events_text_cap;
alter table public.calendar_events add constraint calendar_events_text_cap
  check ((location is null or char_length(location) <= public.pam_limit('event_location_chars'))
         and (description is null or char_length(description) <= public.pam_limit('event_description_chars'))) not valid;

alter table public.profiles drop constraint if exists profiles_text_cap;
alter table public.profiles add constraint profiles_text_cap
  check ((home_base is null or char_length(home_base) <= public.pam_limit('profile_text_chars'))
         and (avatar_url is null or char_length(avatar_url) <= public.pam_limit('profile_url_chars'))
         and octet_length(preferences::text) <= public.pam_limit('profile_preferences_bytes')) not valid;

do $$
declare
  c record;
begin
  for c in
    select k.conrelid::regclass as tbl, k.conname
      from pg_catalog.pg_constraint as k
     where k.connamespace = 'public'::regnamespace and k.contype = 'c'
       and k.conname like '%\_cap' and not k.convalidated
  loop
    begin
      execute pg_catalog.format('alter table %s validate constraint %I', c.tbl, c.conname);
    exception when check_violation then
      raise notice '% stays NOT VALID: existing rows are over the cap (new rows are held to it)', c.conname;
    end;
  end loop;
end;
$$;

-- ---------------------------------------------------------------------------
-- merge_session_context: the cap is the database's; p_max_bytes may only lower it (null: the
-- cap). The signature is unchanged, so both stores call it as before and re-running
-- 20261121001600_store_functions.sql still works (adding a default would break that).
-- ---------------------------------------------------------------------------
create or replace function public.merge_session_context(
  p_session_id uuid,
  p_facts jsonb,
  p_remove text[],
  p_max_bytes integer
)
returns table (id uuid, context jsonb, updated_at timestamptz, size_bytes integer, stored boolean)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_current jsonb := '{}'::jsonb;
  v_merged jsonb;
  v_size integer;
  v_cap integer := public.pam_limit('session_context_bytes');
begin
  if p_max_bytes is not null and p_max_bytes < v_cap then
    v_cap := p_max_bytes;
  end if;
  if p_session_id is not null then
    select s.context into v_current
      from public.pam_sessions as s
     where s.id = p_session_id
       for update;
    if not found then
      return;
    end if;
  end if;
  v_merged := (v_current || coalesce(p_facts, '{}'::jsonb)) - coalesce(p_remove, '{}'::text[]);
  v_size := octet_length(v_merged::text);
  if v_size > v_cap then
    return query select p_session_id, null::jsonb, null::timestamptz, v_size, false;
    return;
  end if;
  if p_session_id is null then
    return query
      insert into public.pam_sessions as s (context) values (v_merged)
      returning s.id, s.context, s.updated_at, v_size, true;
  else
    return query
      update public.pam_sessions as s set context = v_merged
       where s.id = p_session_id
      returning s.id, s.context, s.updated_at, v_size, true;
  end if;
end;
$$;

comment on function public.merge_session_context(uuid, jsonb, text[], integer) is
  'Merges facts into (and removes keys from) a PAM session context of auth.uid(), or starts a session; refuses contexts over pam_limit(''session_context_bytes'') (p_max_bytes may only lower it).';

revoke execute on function public.merge_session_context(uuid, jsonb, text[], integer) from public, anon, service_role;
grant execute on function public.merge_session_context(uuid, jsonb, text[], integer) to authenticated;

-- ---------------------------------------------------------------------------
-- context_snapshot: as in 20261121001700_context_snapshot.sql, with what it returns capped.
-- ---------------------------------------------------------------------------
create or replace function public.context_snapshot(
  p_session_id uuid,
  p_message_limit integer,
  p_month_start date,
  p_month_end date,
  p_now timestamptz
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
declare
  v_uid uuid := (select auth.uid());
  v_session jsonb;
  v_session_id uuid;
  v_context_cap integer := public.pam_limit('session_context_bytes');
  v_message_chars integer := public.pam_limit('context_message_chars');
  v_messages integer := least(greatest(coalesce(p_message_limit, 0), 0), public.pam_limit('context_messages'));
begin
  if p_session_id is not null then
    select s.id, pg_catalog.jsonb_build_object('id', s.id, 'context', s.context, 'updated_at', s.updated_at)
      into v_session_id, v_session
      from public.pam_sessions as s
     where s.id = p_session_id;
    if not found then
      return pg_catalog.jsonb_build_object('session_missing', true);
    end if;
  else
    select s.id, pg_catalog.jsonb_build_object('id', s.id, 'context', s.context, 'updated_at', s.updated_at)
      into v_session_id, v_session
      from public.pam_sessions as s
     where s.user_id = v_uid
     order by s.updated_at desc
     limit 1;
  end if;
  -- A context stored before the caps may be larger than any new one can be.
  if v_session is not null and octet_length((v_session -> 'context')::text) > v_context_cap then
    v_session := pg_catalog.jsonb_set(v_session, '{context}', pg_catalog.jsonb_build_object(
      '_truncated', 'the session context is too large to include; trim it with update_context'));
  end if;

  return pg_catalog.jsonb_build_object(
    'profile', (
      select pg_catalog.jsonb_build_object(
               'display_name', p.display_name, 'country_code', p.country_code, 'timezone', p.timezone,
               'currency', p.currency, 'home_base', pg_catalog.left(p.home_base, public.pam_limit('profile_text_chars')),
               'rv_type', p.rv_type, 'rv_length_m', p.rv_length_m,
               'preferences', case when octet_length(p.preferences::text) <= public.pam_limit('profile_preferences_bytes')
                                   then p.preferences else '{}'::jsonb end)
        from public.profiles as p
       where p.id = v_uid
    ),
    'session', v_session,
    'messages', coalesce((
      select pg_catalog.jsonb_agg(
               pg_catalog.jsonb_build_object('id', m.id, 'session_id', m.session_id, 'role', m.role,
                                             'content', m.content, 'created_at', m.created_at)
               order by m.created_at, m.id)
        from (select mm.id, mm.session_id, mm.role, pg_catalog.left(mm.content, v_message_chars) as content,
                     mm.created_at
                from public.pam_messages as mm
               where v_session_id is not null and mm.user_id = v_uid and mm.session_id = v_session_id
               order by mm.created_at desc, mm.id desc
               limit v_messages) as m
    ), '[]'::jsonb),
    'spending', coalesce((
      select pg_catalog.jsonb_agg(
               pg_catalog.jsonb_build_object('key', g.key, 'total', g.total, 'count', g.count) order by g.key)
        from public.expense_summary(p_month_start, p_month_end, null, 'category') as g
    ), '[]'::jsonb),
    'budgets', coalesce((
      select pg_catalog.jsonb_agg(
               pg_catalog.jsonb_build_object('category', b.category, 'monthly_limit', b.monthly_limit)
               order by b.category)
        from public.budgets as b
       where b.user_id = v_uid
    ), '[]'::jsonb),
    'month_saved', coalesce((
      select sv.total_saved from public.pam_savings as sv where sv.user_id = v_uid and sv.month = p_month_start
    ), 0.00),
    'latest_trip', (
      select pg_catalog.jsonb_build_object(
               'id', t.id, 'title', t.title, 'started_at', t.started_at, 'ended_at', t.ended_at,
               'distance_km', t.distance_km, 'stop_count', pg_catalog.jsonb_array_length(t.stops),
               'route_points', pg_catalog.jsonb_array_length(t.route))
        from public.trips as t
       where t.user_id = v_uid
       order by t.started_at desc
       limit 1
    ),
    'upcoming_events', coalesce((
      select pg_catalog.jsonb_agg(
               pg_catalog.jsonb_build_object('id', e.id, 'title', e.title, 'starts_at', e.starts_at,
                                             'ends_at', e.ends_at, 'all_day', e.all_day, 'location', e.location)
               order by e.starts_at)
        from (select c.id, c.title, c.starts_at, c.ends_at, c.all_day,
                     pg_catalog.left(c.location, public.pam_limit('event_location_chars')) as location
                from public.calendar_events as c
               where c.user_id = v_uid and coalesce(c.ends_at, c.starts_at) >= p_now
               order by c.starts_at
               limit 10) as e
    ), '[]'::jsonb),
    'safety_level', coalesce((
      select g.safety_level::text from public.pam_guardrails_config as g where g.user_id = v_uid
    ), 'medium')
  );
end;
$$;

comment on function public.context_snapshot(uuid, integer, date, date, timestamptz) is
  'What get_context needs for auth.uid() as one JSON document, capped in size: profile, session and its last messages (each clipped), this month''s spending, budgets and savings, the latest trip, upcoming events and the safety level.';

revoke execute on function public.context_snapshot(uuid, integer, date, date, timestamptz) from public, anon, service_role;
grant execute on function public.context_snapshot(uuid, integer, date, date, timestamptz) to authenticated;

-- ---------------------------------------------------------------------------
-- public.recent_trips: the caller's latest trips as summaries (counts, not routes).
-- ---------------------------------------------------------------------------
create or replace function public.recent_trips(p_limit integer)
returns table (id uuid, title text, started_at timestamptz, ended_at timestamptz, distance_km numeric,
               stop_count integer, route_points integer)
language sql
stable
security invoker
set search_path = ''
as $$
  select t.id, t.title, t.started_at, t.ended_at, t.distance_km,
         pg_catalog.jsonb_array_length(t.stops), pg_catalog.jsonb_array_length(t.route)
    from public.trips as t
   where t.user_id = (select auth.uid())
   order by t.started_at desc
   limit least(greatest(coalesce(p_limit, 0), 0), public.pam_limit('recent_trips'))
$$;

comment on function public.recent_trips(integer) is
  'The latest trips of auth.uid() as summaries (route points and stops counted, never returned), at most pam_limit(''recent_trips'').';

revoke execute on function public.recent_trips(integer) from public, anon, service_role;
grant execute on function public.recent_trips(integer) to authenticated;

-- ---------------------------------------------------------------------------
-- public.trip_detail: one of the caller's trips with its notes and stops, the route counted
-- (pam://trips/{id} shows no route: reading 2 MB to count it would hold the server up).
-- ---------------------------------------------------------------------------
create or replace function public.trip_detail(p_trip_id uuid)
returns table (id uuid, title text, started_at timestamptz, ended_at timestamptz, distance_km numeric,
               stop_count integer, route_points integer, notes text, stops jsonb)
language sql
stable
security invoker
set search_path = ''
as $$
  select t.id, t.title, t.started_at, t.ended_at, t.distance_km,
         pg_catalog.jsonb_array_length(t.stops), pg_catalog.jsonb_array_length(t.route),
         pg_catalog.left(t.notes, public.pam_limit('trip_notes_chars')),
         case when octet_length(t.stops::text) <= public.pam_limit('trip_stops_bytes') then t.stops
              else '[]'::jsonb end
    from public.trips as t
   where t.id = p_trip_id
$$;

comment on function public.trip_detail(uuid) is
  'One trip of auth.uid() (row level security decides) with notes and stops; route points counted, never returned.';

revoke execute on function public.trip_detail(uuid) from public, anon, service_role;
grant execute on function public.trip_detail(uuid) to authenticated;
