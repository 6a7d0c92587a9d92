-- Operations: every read or write a person can make through pam-mcp is one SQL function,
-- called the same way by both stores (the PostgreSQL store as one statement in the person's
-- transaction, the REST store as POST /rest/v1/rpc/<name> with the person's token), so a
-- tool call is one transaction and one request, and the two stores cannot drift apart.
--
-- The shape of every function here, public.pam_<operation>:
--   * SECURITY INVOKER: row level security decides, as for the person's own statements; every
--     function acts for auth.uid() only and never takes a user id;
--   * search_path = '' (every name schema-qualified); timezone = 'UTC' where timestamps are
--     returned, so both stores read the same text;
--   * named p_ arguments, one jsonb result (null for "not found", which each store words the
--     same way in pam_mcp/store/operations.py);
--   * its own bounds: page and list sizes capped here, sizes by the CHECK constraints and
--     public.pam_limit() (20261130000300_size_caps.sql);
--   * executable by authenticated only (revoked from public, anon and service_role).
--
-- An argument a person got wrong raises SQLSTATE 'PAM01' with a message written for that
-- person, naming the argument ("saved_on is in the future; ..."): the only database message
-- pam-mcp passes on. Every other error is worded by pam-mcp from its SQLSTATE alone.
--
-- "Today" is the person's: public.pam_today(p_now) reads the time zone of their profile, so a
-- dated operation needs no separate lookup. p_now is the caller's clock (pam-mcp's, which
-- tests can set); null means the database's.
--
-- The functions of 20261121001600_store_functions.sql, ..._context_snapshot.sql and
-- 20261130000300_size_caps.sql keep their signatures; the pam_ functions here call them.
--
-- Re-runnable: create or replace, idempotent grants.

-- ---------------------------------------------------------------------------
-- The person's "today", and the stored zone name when it is not one this database knows
-- (read as UTC). Every zone written since 20261130000400_valid_time_zones.sql passed
-- public.is_time_zone_name (a trigger), and older unknown names were cleared then, so only a
-- row written around the trigger can hold one: the cheap shape test and AT TIME ZONE's own
-- refusal catch it without paying for is_time_zone_name (~120 us) on every dated call.
-- ---------------------------------------------------------------------------
create or replace function public.pam_today(p_now timestamptz, out today date, out refused_zone text)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_zone text;
  v_now timestamptz := coalesce(p_now, pg_catalog.now());
begin
  select p.timezone into v_zone from public.profiles as p where p.id = (select auth.uid());
  if v_zone is not null and not public.is_time_zone_shape(v_zone) then
    refused_zone := pg_catalog.left(v_zone, 64);
    v_zone := null;
  end if;
  begin
    today := (v_now at time zone coalesce(v_zone, 'UTC'))::date;
  exception when invalid_parameter_value then  -- a directory ('America'), an unknown name
    refused_zone := pg_catalog.left(v_zone, 64);
    today := (v_now at time zone 'UTC')::date;
  end;
end;
$$;

comment on function public.pam_today(timestamptz) is
  'Today in the time zone of auth.uid()''s profile (UTC when unset or unknown) at p_now, and the refused zone name if any.';

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
  returning pg_catalog.jsonb_build_object(
    'id', t.id, 'title', t.title, 'started_at', t.started_at, 'ended_at', t.ended_at, 'distance_km', t.distance_km,
    'stop_count', pg_catalog.jsonb_array_length(t.stops), 'route_points', pg_catalog.jsonb_array_length(t.route))
$$;

create or replace function public.pam_get_trip(p_trip_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  select pg_catalog.to_jsonb(d) from public.trip_detail(p_trip_id) as d
$$;

create or replace function public.pam_recent_trips(p_limit integer)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  -- recent_trips caps p_limit at pam_limit('recent_trips').
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r) order by r.started_at desc), '[]'::jsonb)
    from public.recent_trips(p_limit) as r
$$;

-- ---------------------------------------------------------------------------
-- savings
-- ---------------------------------------------------------------------------
create or replace function public.pam_record_saving(
  p_amount numeric, p_category text, p_description text, p_saved_on date, p_client_ref text, p_now timestamptz
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_day record := public.pam_today(p_now);
  v_saved_on date := coalesce(p_saved_on, v_day.today);
  v_row record;
begin
  if v_saved_on > v_day.today + 1 then
    raise exception 'saved_on is in the future; record savings when they happen' using errcode = 'PAM01';
  end if;
  select * into v_row from public.record_saving(p_amount, p_category, p_description, v_saved_on, p_client_ref);
  return pg_catalog.jsonb_build_object(
    'event_id', v_row.event_id, 'month', v_row.month, 'month_total', v_row.month_total,
    'duplicate', v_row.duplicate, 'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

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
    'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- expenses
-- ---------------------------------------------------------------------------

-- A page of the person's expenses, newest first; p_after_day/p_after_id: the last of the
-- previous page. At most 101 (a page of 100 and one to tell whether more follow).
create or replace function public.pam_expense_page(
  p_start date, p_end date, p_categories text[], p_after_day date, p_after_id uuid, p_limit integer
)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'id', e.id, 'amount', e.amount, 'category', e.category, 'description', e.description,
           'spent_on', e.spent_on, 'trip_id', e.trip_id) order by e.spent_on desc, e.id desc), '[]'::jsonb)
    from (select x.id, x.amount, x.category, x.description, x.spent_on, x.trip_id
            from public.expenses as x
           where x.user_id = (select auth.uid()) and x.spent_on between p_start and p_end
             and (p_categories is null or x.category = any (p_categories))
             and (p_after_day is null or (x.spent_on, x.id) < (p_after_day, p_after_id))
           order by x.spent_on desc, x.id desc
           limit least(greatest(coalesce(p_limit, 0), 0), 101)) as e
$$;

-- Spending between two dates (default: the person's current month; at most 3 x 366 days),
-- grouped as asked, with every budget and, when a budget needs them, the totals by category;
-- with p_limit, a page of the expenses too. One statement's worth of reads, one snapshot.
create or replace function public.pam_expense_report(
  p_start date, p_end date, p_categories text[], p_group_by text, p_after_day date, p_after_id uuid,
  p_limit integer, p_now timestamptz
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_start date := p_start;
  v_end date := p_end;
  v_groups jsonb;
  v_by_category jsonb := '[]'::jsonb;
  v_refused text;
begin
  if v_start is null then
    select date_trunc('month', d.today)::date, d.refused_zone into v_start, v_refused from public.pam_today(p_now) as d;
  end if;
  if v_end is null then
    v_end := (date_trunc('month', v_start) + interval '1 month - 1 day')::date;
  end if;
  if v_end < v_start then
    raise exception 'end is before start' using errcode = 'PAM01';
  end if;
  if v_end - v_start > 3 * 366 then
    raise exception 'the range is longer than % days; query a shorter period', 3 * 366 using errcode = 'PAM01';
  end if;
  v_groups := coalesce((
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('key', g.key, 'total', g.total, 'count', g.count)
                                order by g.key)
      from public.expense_summary(v_start, v_end, p_categories, p_group_by) as g
     where g.count > 0 or p_group_by = 'none'
  ), '[]'::jsonb);
  if p_group_by = 'category' then
    v_by_category := v_groups;
  elsif exists (select 1 from public.budgets as b
                 where b.user_id = v_uid and (p_categories is null or b.category = any (p_categories))) then
    v_by_category := coalesce((
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('key', g.key, 'total', g.total, 'count', g.count)
                                  order by g.key)
        from public.expense_summary(v_start, v_end, p_categories, 'category') as g
       where g.count > 0
    ), '[]'::jsonb);
  end if;
  return pg_catalog.jsonb_build_object(
    'start', v_start, 'end', v_end, 'groups', v_groups, 'by_category', v_by_category,
    'budgets', coalesce((
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('category', b.category, 'monthly_limit', b.monthly_limit)
                                  order by b.category)
        from public.budgets as b where b.user_id = v_uid
    ), '[]'::jsonb),
    'items', case when p_limit is null then null
                  else public.pam_expense_page(v_start, v_end, p_categories, p_after_day, p_after_id, p_limit) end,
    'refused_zone', v_refused);
end;
$$;

-- Record an expense (default date: the person's today) and report its month for its
-- category: one transaction. With a client_ref seen before, the earlier expense, duplicate.
create or replace function public.pam_log_expense(
  p_amount numeric, p_category text, p_description text, p_spent_on date, p_trip_id uuid, p_client_ref text,
  p_now timestamptz
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_day record := public.pam_today(p_now);
  v_spent_on date := coalesce(p_spent_on, v_day.today);
  v_expense jsonb;
  v_duplicate boolean := false;
  v_category text;
  v_month date;
  v_total numeric;
begin
  if v_spent_on > v_day.today + 1 then
    raise exception 'spent_on is in the future; log expenses when they happen' using errcode = 'PAM01';
  end if;
  insert into public.expenses as e (amount, category, description, spent_on, trip_id, client_ref)
  values (p_amount, p_category, p_description, v_spent_on, p_trip_id, p_client_ref)
  on conflict (user_id, client_ref) do nothing
  returning pg_catalog.jsonb_build_object('id', e.id, 'amount', e.amount, 'category', e.category,
    'description', e.description, 'spent_on', e.spent_on, 'trip_id', e.trip_id)
  into v_expense;
  if v_expense is null then
    -- Only a non-null client_ref can conflict (NULLs are distinct in a unique constraint).
    v_duplicate := true;
    select pg_catalog.jsonb_build_object('id', e.id, 'amount', e.amount, 'category', e.category,
             'description', e.description, 'spent_on', e.spent_on, 'trip_id', e.trip_id)
      into v_expense
      from public.expenses as e
     where e.user_id = v_uid and e.client_ref = p_client_ref;
  end if;
  v_category := v_expense ->> 'category';
  v_month := date_trunc('month', (v_expense ->> 'spent_on')::date)::date;
  select g.total into v_total
    from public.expense_summary(v_month, (v_month + interval '1 month - 1 day')::date, array[v_category], 'none') as g;
  return pg_catalog.jsonb_build_object(
    'expense', v_expense, 'duplicate', v_duplicate, 'month_total', v_total,
    'budget', (select b.monthly_limit from public.budgets as b where b.user_id = v_uid and b.category = v_category),
    'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- profile, sessions, messages, calendar
-- ---------------------------------------------------------------------------
create or replace function public.pam_profile()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
           'display_name', p.display_name, 'country_code', p.country_code, 'timezone', p.timezone,
           'currency', p.currency, 'home_base', p.home_base, 'rv_type', p.rv_type, 'rv_length_m', p.rv_length_m,
           'preferences', p.preferences)
    from public.profiles as p
   where p.id = (select auth.uid())
$$;

create or replace function public.pam_timezone()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select pg_catalog.to_jsonb(p.timezone) from public.profiles as p where p.id = (select auth.uid())
$$;

create or replace function public.pam_session(p_session_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
  select pg_catalog.jsonb_build_object('id', s.id, 'context', s.context, 'updated_at', s.updated_at)
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
  select pg_catalog.jsonb_build_object('id', s.id, 'context', s.context, 'updated_at', s.updated_at)
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
  select pg_catalog.to_jsonb(m) || pg_catalog.jsonb_build_object('limit_bytes', public.pam_limit('session_context_bytes'))
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
  select pg_catalog.to_jsonb(m) from public.log_pam_message(p_session_id, p_role, p_content, p_metadata) as m
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
           'id', m.id, 'session_id', m.session_id, 'role', m.role, 'content', m.content, 'created_at', m.created_at)
           order by m.created_at, m.id), '[]'::jsonb)
    from (select x.id, x.session_id, x.role, x.content, x.created_at
            from public.pam_messages as x
           where x.user_id = (select auth.uid()) and x.session_id = p_session_id
           order by x.created_at desc, x.id desc
           limit least(greatest(coalesce(p_limit, 0), 0), public.pam_limit('context_messages'))) as m
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
           'id', e.id, 'title', e.title, 'starts_at', e.starts_at, 'ends_at', e.ends_at, 'all_day', e.all_day,
           'location', e.location) order by e.starts_at), '[]'::jsonb)
    from (select c.id, c.title, c.starts_at, c.ends_at, c.all_day, c.location
            from public.calendar_events as c
           where c.user_id = (select auth.uid()) and coalesce(c.ends_at, c.starts_at) >= p_after
           order by c.starts_at
           limit least(greatest(coalesce(p_limit, 0), 0), 100)) as e
$$;

-- get_context: context_snapshot for the person's current month, with that month and today.
create or replace function public.pam_context(p_session_id uuid, p_message_limit integer, p_now timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_day record := public.pam_today(p_now);
  v_month date := date_trunc('month', v_day.today)::date;
begin
  return public.context_snapshot(p_session_id, p_message_limit, v_month,
                                 (v_month + interval '1 month - 1 day')::date, coalesce(p_now, pg_catalog.now()))
         || pg_catalog.jsonb_build_object('month_start', v_month, 'today', v_day.today,
                                          'refused_zone', v_day.refused_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- guardrails
-- ---------------------------------------------------------------------------
create or replace function public.pam_safety_level()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select pg_catalog.to_jsonb(coalesce(
    (select g.safety_level::text from public.pam_guardrails_config as g where g.user_id = (select auth.uid())),
    'medium'))
$$;

create or replace function public.pam_guardrail_settings()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'level', coalesce((select g.safety_level::text from public.pam_guardrails_config as g
                        where g.user_id = (select auth.uid())), 'medium'),
    'country', (select p.country_code from public.profiles as p where p.id = (select auth.uid())))
$$;

create or replace function public.pam_set_safety_level(p_level text)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  -- The level it replaced ('medium', the default, when none was set).
  select pg_catalog.to_jsonb(coalesce(public.set_safety_level(p_level), 'medium'))
$$;

create or replace function public.pam_insert_safety_event(p_event_type text, p_severity text, p_details jsonb)
returns jsonb
language sql
volatile
security invoker
set search_path = ''
as $$
  insert into public.safety_events as s (event_type, severity, details)
  values (p_event_type, p_severity, coalesce(p_details, '{}'::jsonb))
  returning pg_catalog.to_jsonb(s.id)
$$;

-- ---------------------------------------------------------------------------
-- schema (for developers): describe_schema as one document.
-- ---------------------------------------------------------------------------
create or replace function public.pam_schema()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(d) order by d.name), '[]'::jsonb)
    from public.describe_schema() as d
$$;

-- ---------------------------------------------------------------------------
-- What each one is for (pam://schema and the Supabase dashboard show these).
-- ---------------------------------------------------------------------------
comment on function public.pam_insert_trip(text, timestamptz, timestamptz, jsonb, jsonb, text, numeric) is
  'Records a trip of auth.uid(); returns it as a brief (route points and stops counted).';
comment on function public.pam_get_trip(uuid) is
  'One trip of auth.uid() with notes and stops, its route counted; null when not theirs or missing.';
comment on function public.pam_recent_trips(integer) is
  'The latest trips of auth.uid() as briefs, newest first, at most pam_limit(''recent_trips'').';
comment on function public.pam_record_saving(numeric, text, text, date, text, timestamptz) is
  'Records a saving (default date: the person''s today; not after tomorrow); returns the month''s total and today.';
comment on function public.pam_month_savings(date, integer, timestamptz) is
  'A month''s total saved and its latest savings (at most 1001), with the person''s today.';
comment on function public.pam_expense_page(date, date, text[], date, uuid, integer) is
  'A page of expenses of auth.uid(), newest first, after (p_after_day, p_after_id); at most 101.';
comment on function public.pam_expense_report(date, date, text[], text, date, uuid, integer, timestamptz) is
  'Spending grouped as asked (default: the person''s month; at most 3 x 366 days), budgets, category totals and optionally a page.';
comment on function public.pam_log_expense(numeric, text, text, date, uuid, text, timestamptz) is
  'Records an expense (default date: the person''s today; client_ref counts a retry once) and totals its month for its category.';
comment on function public.pam_profile() is
  'The profile of auth.uid(), or null.';
comment on function public.pam_timezone() is
  'The time zone name of auth.uid()''s profile, or null.';
comment on function public.pam_session(uuid) is
  'One PAM session of auth.uid(), or null.';
comment on function public.pam_latest_session() is
  'The most recently used PAM session of auth.uid(), or null.';
comment on function public.pam_merge_context(uuid, jsonb, text[]) is
  'merge_session_context as one document (null: no such session; stored false: over the cap).';
comment on function public.pam_log_message(uuid, text, text, jsonb) is
  'log_pam_message as one document (null: no such session).';
comment on function public.pam_recent_messages(uuid, integer) is
  'The latest messages of a session of auth.uid(), oldest first, at most pam_limit(''context_messages'').';
comment on function public.pam_upcoming_events(timestamptz, integer) is
  'Calendar events of auth.uid() not yet over at p_after, soonest first, at most 100.';
comment on function public.pam_context(uuid, integer, timestamptz) is
  'context_snapshot for the person''s current month, with month_start and today.';
comment on function public.pam_safety_level() is
  'The guardrail level of auth.uid() (medium when unset).';
comment on function public.pam_guardrail_settings() is
  'The guardrail level and the profile''s country code of auth.uid().';
comment on function public.pam_set_safety_level(text) is
  'Sets the guardrail level of auth.uid(); returns the level it replaced (medium when unset).';
comment on function public.pam_insert_safety_event(text, text, jsonb) is
  'Adds an entry to auth.uid()''s safety log; returns its id.';
comment on function public.pam_schema() is
  'describe_schema as one document.';

-- ---------------------------------------------------------------------------
-- Who may call them: authenticated only.
-- ---------------------------------------------------------------------------
do $$
declare
  v_fn regprocedure;
begin
  for v_fn in
    select p.oid::regprocedure from pg_catalog.pg_proc as p
     where p.pronamespace = 'public'::regnamespace and p.proname like 'pam\_%' and p.proname <> 'pam_limit'
       and p.prokind = 'f'
  loop
    execute pg_catalog.format('revoke execute on function %s from public, anon, service_role', v_fn);
    execute pg_catalog.format('grant execute on function %s to authenticated', v_fn);
  end loop;
end;
$$;
