-- public.context_snapshot: everything PAM's get_context needs, for auth.uid(), in one call.
--
-- get_context used to read nine things in nine transactions (profile, session, messages,
-- spending, budgets, savings, latest trip, calendar, guardrails): nine round trips each way
-- for the Postgres store, nine HTTP requests for the REST store. As one function it is one
-- statement in one transaction for the Postgres store and one POST /rest/v1/rpc/context_snapshot
-- for the REST store, and every part is read from the same snapshot of the data.
--
-- Like the store functions (20261121001600_store_functions.sql): SECURITY INVOKER (row level
-- security decides, exactly as for the caller's own statements), search_path = '' (every
-- name is schema-qualified), acts for auth.uid() only, executable by `authenticated` only.
-- TimeZone is pinned to UTC for the call so timestamps in the document read the same
-- whatever the server's or the connection's setting.
--
-- "No such session" is a result, not an error: {"session_missing": true}, so each store words
-- the error itself (the same NotFound the session read gives).
--
-- The document:
--   profile            {display_name, country_code, timezone, currency, home_base, rv_type,
--                       rv_length_m, preferences} or null
--   session            {id, context, updated_at} or null: p_session_id, else the most recently
--                       updated session
--   messages           the session's last p_message_limit messages, oldest first
--                       ({id, session_id, role, content, created_at})
--   spending           public.expense_summary(p_month_start, p_month_end, null, 'category'),
--                       ordered by key ({key, total, count})
--   budgets            [{category, monthly_limit}]
--   month_saved        pam_savings.total_saved for p_month_start (0.00 when none)
--   latest_trip        {id, title, started_at, ended_at, distance_km, stop_count, route_points}
--                       or null
--   upcoming_events    10 events with coalesce(ends_at, starts_at) >= p_now, by starts_at
--                       ({id, title, starts_at, ends_at, all_day, location})
--   safety_level       the guardrail level ('medium' when none is set)
--
-- Re-runnable: create or replace, and idempotent grants.

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

  return pg_catalog.jsonb_build_object(
    'profile', (
      select pg_catalog.jsonb_build_object(
               'display_name', p.display_name, 'country_code', p.country_code, 'timezone', p.timezone,
               'currency', p.currency, 'home_base', p.home_base, 'rv_type', p.rv_type,
               'rv_length_m', p.rv_length_m, 'preferences', p.preferences)
        from public.profiles as p
       where p.id = v_uid
    ),
    'session', v_session,
    'messages', coalesce((
      select pg_catalog.jsonb_agg(
               pg_catalog.jsonb_build_object('id', m.id, 'session_id', m.session_id, 'role', m.role,
                                             'content', m.content, 'created_at', m.created_at)
               order by m.created_at, m.id)
        from (select mm.id, mm.session_id, mm.role, mm.content, mm.created_at
                from public.pam_messages as mm
               where v_session_id is not null and mm.user_id = v_uid and mm.session_id = v_session_id
               order by mm.created_at desc, mm.id desc
               limit greatest(coalesce(p_message_limit, 0), 0)) as m
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
        from (select c.id, c.title, c.starts_at, c.ends_at, c.all_day, c.location
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
  'What get_context needs for auth.uid() as one JSON document: profile, session and its last messages, this month''s spending, budgets and savings, the latest trip, upcoming events and the safety level.';

revoke execute on function public.context_snapshot(uuid, integer, date, date, timestamptz) from public, anon, service_role;
grant execute on function public.context_snapshot(uuid, integer, date, date, timestamptz) to authenticated;
