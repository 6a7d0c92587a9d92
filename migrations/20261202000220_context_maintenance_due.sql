-- get_context shows what service is overdue or due: context_snapshot gains 'maintenance_due'
-- (at most 5 items, from public.maintenance_due_items, 20261202000210_maintenance.sql) as of the
-- person's today. Everything else is as in 20261130000300_size_caps.sql.
--
-- Re-runnable: create or replace, idempotent grants.

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
    ), 'medium'),
    'maintenance_due', public.maintenance_due_items((public.pam_today(p_now)).today, null, true, 5) -> 'items'
  );
end;
$$;

comment on function public.context_snapshot(uuid, integer, date, date, timestamptz) is
  'What get_context needs for auth.uid() as one JSON document, capped in size: profile, session and its last messages (each clipped), this month''s spending, budgets and savings, the latest trip, upcoming events, the safety level and up to 5 services overdue or due.';

revoke execute on function public.context_snapshot(uuid, integer, date, date, timestamptz) from public, anon, service_role;
grant execute on function public.context_snapshot(uuid, integer, date, date, timestamptz) to authenticated;
