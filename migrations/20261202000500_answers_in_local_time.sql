-- Answers a model can act on: every time in the person's own offset, and summaries that show
-- what exists.
--
-- 1. Times. The operations of 20261201000100_operations.sql returned times in UTC
--    ('2026-11-26T21:30:00+00:00' for a trip that started at 07:30 in Brisbane on the 27th),
--    which a model reads as the day before. Each operation that returns a time now reads the
--    person's zone once per call (public.pam_zone()) and formats every time with
--    public.pam_local_time() (20261202000050_person_time.sql): '2026-11-27T07:30:00+10:00'.
--    The same instants, whole seconds, each with its own offset (daylight saving included).
--    get_context's document (public.context_snapshot) is rewritten by public.pam_context after
--    the snapshot is read, key by key, so the snapshot's own body (and whatever else it adds)
--    stays as it is.
--
-- 2. Trip summaries (pam://trips, get_context's latest_trip) carry the trip's notes (at most
--    500 characters, longer ones cut with the marker '…[truncated]') and its first 5 stops
--    (each stop's time, too, in the person's offset);
--    stop_count says how many there are and pam://trips/{id} has them all. One definition,
--    public.trip_brief, for both.
--
-- 3. The months a person could not have saved in: public.pam_month_savings also returns the
--    person's first activity (the earliest of their profile, savings, expenses, trips and PAM
--    sessions, as a date in their zone; their today when there is none), so pam://savings can
--    say there is nothing to count for a month that ended before it, instead of "free".
--
-- 4. Savings take every expense category, plus their own 'route' (a cheaper propane refill is
--    a saving too): the domain public.saving_category, which pam-mcp's SavingCategory mirrors.
--
-- Re-runnable: create or replace with the same signatures, the domain's check dropped and
-- added again, idempotent grants.

-- ---------------------------------------------------------------------------
-- Helpers: the named keys of a JSON object (or of each object in an array) as local times.
-- (Not named pam_*: those are the operations the stores call.)
-- ---------------------------------------------------------------------------
-- plpgsql, not sql: get_context rewrites the times of up to 100 messages and events, and a sql
-- function with SET options is planned again on every call (PostgreSQL before 18); these keep
-- their plans (20 messages: 2.1 ms as sql functions).
create or replace function public.json_local_times(p_doc jsonb, p_keys text[], p_zone text)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_key text;
  v_at text;
begin
  if p_doc is null or pg_catalog.jsonb_typeof(p_doc) <> 'object' then
    return p_doc;
  end if;
  foreach v_key in array p_keys loop
    v_at := p_doc ->> v_key;
    if v_at is not null then
      p_doc := p_doc || pg_catalog.jsonb_build_object(v_key, public.pam_local_time(v_at::timestamptz, p_zone));
    end if;
  end loop;
  return p_doc;
end;
$$;

create or replace function public.json_local_times_each(p_list jsonb, p_keys text[], p_zone text)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_out jsonb;
begin
  if p_list is null or pg_catalog.jsonb_typeof(p_list) <> 'array' then
    return p_list;
  end if;
  select coalesce(pg_catalog.jsonb_agg(public.json_local_times(x.item, p_keys, p_zone) order by x.ord), '[]'::jsonb)
    into v_out
    from pg_catalog.jsonb_array_elements(p_list) with ordinality as x(item, ord);
  return v_out;
end;
$$;

-- A trip's stops (the first p_limit; null: all), each one's time ('at') in zone p_zone. The
-- stops are JSON a person wrote (through pam-mcp, validated, or Supabase's REST API, not): an
-- 'at' that is not a time is shown as stored rather than failing the read.
create or replace function public.trip_local_stops(p_stops jsonb, p_zone text, p_limit integer)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_out jsonb := '[]'::jsonb;
  v_stop jsonb;
  v_at text;
begin
  if p_stops is null or pg_catalog.jsonb_typeof(p_stops) <> 'array' then
    return '[]'::jsonb;
  end if;
  for v_stop in
    select s.item from pg_catalog.jsonb_array_elements(p_stops) with ordinality as s(item, ord)
     where p_limit is null or s.ord <= p_limit
     order by s.ord
  loop
    if pg_catalog.jsonb_typeof(v_stop) = 'object' and pg_catalog.jsonb_typeof(v_stop -> 'at') = 'string' then
      v_at := v_stop ->> 'at';
      begin
        v_stop := v_stop || pg_catalog.jsonb_build_object('at', public.pam_local_time(v_at::timestamptz, p_zone));
      exception when data_exception then
        null;  -- not a time: as stored
      end;
    end if;
    v_out := v_out || pg_catalog.jsonb_build_array(v_stop);
  end loop;
  return v_out;
end;
$$;

-- A trip as summaries show it: counts, notes (clipped) and the first stops; no route.
create or replace function public.trip_brief(p_trip public.trips, p_zone text)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select case when p_trip.id is null then null else pg_catalog.jsonb_build_object(
    'id', p_trip.id, 'title', p_trip.title,
    'started_at', public.pam_local_time(p_trip.started_at, p_zone),
    'ended_at', public.pam_local_time(p_trip.ended_at, p_zone),
    'distance_km', p_trip.distance_km,
    'stop_count', pg_catalog.jsonb_array_length(p_trip.stops),
    'route_points', pg_catalog.jsonb_array_length(p_trip.route),
    'notes', case when pg_catalog.char_length(p_trip.notes) > 500
                  then pg_catalog.left(p_trip.notes, 500 - pg_catalog.char_length('…[truncated]')) || '…[truncated]'
                  else p_trip.notes end,
    'stops', public.trip_local_stops(p_trip.stops, p_zone, 5))
  end
$$;

-- ---------------------------------------------------------------------------
-- trips
-- ---------------------------------------------------------------------------
create or replace function public.pam_insert_trip(
  p_title text, p_started_at timestamptz, p_ended_at timestamptz, p_route jsonb, p_stops jsonb, p_notes text,
  p_distance_km numeric
)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  -- A brief: the route (up to 2 MB) is counted, never sent back.
  insert into public.trips as t (title, started_at, ended_at, route, stops, notes, distance_km)
  values (p_title, p_started_at, p_ended_at, coalesce(p_route, '[]'::jsonb), coalesce(p_stops, '[]'::jsonb), p_notes,
          p_distance_km)
  returning public.trip_brief(t, public.pam_zone())
$$;

create or replace function public.pam_get_trip(p_trip_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  select public.json_local_times(pg_catalog.to_jsonb(d), array['started_at', 'ended_at'], z.zone)
         || pg_catalog.jsonb_build_object('stops', public.trip_local_stops(d.stops, z.zone, null))
    from public.trip_detail(p_trip_id) as d, (select public.pam_zone() as zone) as z
$$;

create or replace function public.pam_recent_trips(p_limit integer)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  select coalesce(pg_catalog.jsonb_agg(public.trip_brief(t, z.zone) order by t.started_at desc), '[]'::jsonb)
    from (select * from public.trips as x
           where x.user_id = (select auth.uid())
           order by x.started_at desc
           limit least(greatest(coalesce(p_limit, 0), 0), public.pam_limit('recent_trips'))) as t,
         (select public.pam_zone() as zone) as z
$$;

-- ---------------------------------------------------------------------------
-- savings: the month, and the person's first activity
-- ---------------------------------------------------------------------------
create or replace function public.pam_month_savings(p_month date, p_event_limit integer, p_now timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_day record := public.pam_today(p_now);
  v_zone text := public.pam_zone();
  v_month date := date_trunc('month', p_month)::date;
begin
  return pg_catalog.jsonb_build_object(
    'total', coalesce((select s.total_saved from public.pam_savings as s
                        where s.user_id = v_uid and s.month = v_month), 0.00),
    'events', coalesce((
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'id', e.id, 'amount', e.amount, 'category', e.category, 'description', e.description,
               'saved_on', e.saved_on) order by e.saved_on desc, e.created_at desc)
        from (select * from public.pam_savings_events as ev
               where ev.user_id = v_uid and ev.saved_on >= v_month and ev.saved_on < v_month + interval '1 month'
               order by ev.saved_on desc, ev.created_at desc
               limit least(greatest(coalesce(p_event_limit, 0), 0), 1001)) as e
    ), '[]'::jsonb),
    -- Each an index's first entry (every table has an index leading with user_id).
    'first_activity', least(
      (select (p.created_at at time zone v_zone)::date from public.profiles as p where p.id = v_uid),
      (select min(ev.saved_on) from public.pam_savings_events as ev where ev.user_id = v_uid),
      (select min(x.spent_on) from public.expenses as x where x.user_id = v_uid),
      (select (min(t.started_at) at time zone v_zone)::date from public.trips as t where t.user_id = v_uid),
      (select (min(s.created_at) at time zone v_zone)::date from public.pam_sessions as s where s.user_id = v_uid),
      v_day.today),
    'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- sessions, messages, calendar
-- ---------------------------------------------------------------------------
create or replace function public.pam_session(p_session_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  select pg_catalog.jsonb_build_object('id', s.id, 'context', s.context,
                                       'updated_at', public.pam_local_time(s.updated_at, public.pam_zone()))
    from public.pam_sessions as s
   where s.id = p_session_id
$$;

create or replace function public.pam_latest_session()
returns jsonb
language sql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  select pg_catalog.jsonb_build_object('id', s.id, 'context', s.context,
                                       'updated_at', public.pam_local_time(s.updated_at, public.pam_zone()))
    from public.pam_sessions as s
   where s.user_id = (select auth.uid())
   order by s.updated_at desc
   limit 1
$$;

create or replace function public.pam_merge_context(p_session_id uuid, p_facts jsonb, p_remove text[])
returns jsonb
language sql
volatile
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  -- merge_session_context holds the cap; it is named in the result for the error to quote.
  select public.json_local_times(pg_catalog.to_jsonb(m), array['updated_at'], public.pam_zone())
         || pg_catalog.jsonb_build_object('limit_bytes', public.pam_limit('session_context_bytes'))
    from public.merge_session_context(p_session_id, p_facts, p_remove, null) as m
$$;

create or replace function public.pam_log_message(p_session_id uuid, p_role text, p_content text, p_metadata jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  select public.json_local_times(pg_catalog.to_jsonb(m), array['created_at'], public.pam_zone())
    from public.log_pam_message(p_session_id, p_role, p_content, p_metadata) as m
$$;

create or replace function public.pam_recent_messages(p_session_id uuid, p_limit integer)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  -- The latest p_limit (at most pam_limit('context_messages')), oldest first.
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'id', m.id, 'session_id', m.session_id, 'role', m.role, 'content', m.content,
           'created_at', public.pam_local_time(m.created_at, z.zone))
           order by m.created_at, m.id), '[]'::jsonb)
    from (select x.id, x.session_id, x.role, x.content, x.created_at
            from public.pam_messages as x
           where x.user_id = (select auth.uid()) and x.session_id = p_session_id
           order by x.created_at desc, x.id desc
           limit least(greatest(coalesce(p_limit, 0), 0), public.pam_limit('context_messages'))) as m,
         (select public.pam_zone() as zone) as z
$$;

create or replace function public.pam_upcoming_events(p_after timestamptz, p_limit integer)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'id', e.id, 'title', e.title, 'starts_at', public.pam_local_time(e.starts_at, z.zone),
           'ends_at', public.pam_local_time(e.ends_at, z.zone), 'all_day', e.all_day,
           'location', e.location) order by e.starts_at), '[]'::jsonb)
    from (select c.id, c.title, c.starts_at, c.ends_at, c.all_day, c.location
            from public.calendar_events as c
           where c.user_id = (select auth.uid()) and coalesce(c.ends_at, c.starts_at) >= p_after
           order by c.starts_at
           limit least(greatest(coalesce(p_limit, 0), 0), 100)) as e,
         (select public.pam_zone() as zone) as z
$$;

-- get_context: context_snapshot for the person's current month, with that month and today;
-- its times rewritten in the person's offset and its latest trip as trip_brief shows it.
create or replace function public.pam_context(p_session_id uuid, p_message_limit integer, p_now timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_day record := public.pam_today(p_now);
  v_zone text := public.pam_zone();
  v_month date := date_trunc('month', v_day.today)::date;
  v_doc jsonb;
begin
  v_doc := public.context_snapshot(p_session_id, p_message_limit, v_month,
                                   (v_month + interval '1 month - 1 day')::date, coalesce(p_now, pg_catalog.now()));
  if v_doc ? 'session_missing' then
    return v_doc;
  end if;
  return v_doc || pg_catalog.jsonb_build_object(
    'session', public.json_local_times(v_doc -> 'session', array['updated_at'], v_zone),
    'messages', public.json_local_times_each(v_doc -> 'messages', array['created_at'], v_zone),
    'upcoming_events', public.json_local_times_each(v_doc -> 'upcoming_events', array['starts_at', 'ends_at'], v_zone),
    'latest_trip', (select public.trip_brief(t, v_zone) from public.trips as t
                     where t.id = (v_doc #>> '{latest_trip,id}')::uuid),
    'month_start', v_month, 'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- Savings categories: every expense category, plus 'route'.
-- ---------------------------------------------------------------------------
alter domain public.saving_category drop constraint if exists saving_category_known;
alter domain public.saving_category add constraint saving_category_known check (value in (
  'fuel', 'food', 'campground', 'maintenance', 'entertainment', 'propane', 'utilities', 'shopping',
  'insurance', 'registration', 'other', 'route'));

comment on domain public.saving_category is
  'What a saving PAM found came from: every expense category, and route; pam-mcp''s SavingCategory lists the same.';

-- ---------------------------------------------------------------------------
-- What each one is for.
-- ---------------------------------------------------------------------------
comment on function public.json_local_times(jsonb, text[], text) is
  'p_doc with each of p_keys (a time) as ISO 8601 in zone p_zone; other keys and non-objects unchanged.';
comment on function public.json_local_times_each(jsonb, text[], text) is
  'json_local_times on every object of the array p_list, in order.';
comment on function public.trip_local_stops(jsonb, text, integer) is
  'The first p_limit stops (null: all), each one''s at in zone p_zone (as stored when it is not a time).';
comment on function public.trip_brief(public.trips, text) is
  'A trip as summaries show it, times in p_zone: counts, notes (at most 500 characters, marked when cut), the first 5 stops.';
comment on function public.pam_insert_trip(text, timestamptz, timestamptz, jsonb, jsonb, text, numeric) is
  'Records a trip of auth.uid(); returns it as a brief (route points counted, times in the person''s offset).';
comment on function public.pam_get_trip(uuid) is
  'One trip of auth.uid() with notes and stops, its route counted, times in the person''s offset; null when not theirs or missing.';
comment on function public.pam_recent_trips(integer) is
  'The latest trips of auth.uid() as briefs (notes clipped, first stops), newest first, at most pam_limit(''recent_trips'').';
comment on function public.pam_month_savings(date, integer, timestamptz) is
  'A month''s total saved and its latest savings (at most 1001), with the person''s today and first activity.';
comment on function public.pam_session(uuid) is
  'One PAM session of auth.uid(), or null; updated_at in the person''s offset.';
comment on function public.pam_latest_session() is
  'The most recently used PAM session of auth.uid(), or null; updated_at in the person''s offset.';
comment on function public.pam_merge_context(uuid, jsonb, text[]) is
  'merge_session_context as one document (null: no such session; stored false: over the cap), in the person''s offset.';
comment on function public.pam_log_message(uuid, text, text, jsonb) is
  'log_pam_message as one document (null: no such session), created_at in the person''s offset.';
comment on function public.pam_recent_messages(uuid, integer) is
  'The latest messages of a session of auth.uid(), oldest first, at most pam_limit(''context_messages''), in the person''s offset.';
comment on function public.pam_upcoming_events(timestamptz, integer) is
  'Calendar events of auth.uid() not yet over at p_after, soonest first, at most 100, in the person''s offset.';
comment on function public.pam_context(uuid, integer, timestamptz) is
  'context_snapshot for the person''s current month, with month_start and today, times in the person''s offset.';

-- ---------------------------------------------------------------------------
-- Who may call them: authenticated only.
-- ---------------------------------------------------------------------------
revoke all on function public.json_local_times(jsonb, text[], text), public.json_local_times_each(jsonb, text[], text),
  public.trip_local_stops(jsonb, text, integer), public.trip_brief(public.trips, text)
  from public, anon, service_role;
grant execute on function public.json_local_times(jsonb, text[], text), public.json_local_times_each(jsonb, text[], text),
  public.trip_local_stops(jsonb, text, integer), public.trip_brief(public.trips, text) to authenticated;
