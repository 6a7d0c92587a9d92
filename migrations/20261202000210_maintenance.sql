-- Maintenance: a service with its intervals, and what is due by date or odometer.
--
-- A service's next due date and reading follow from its intervals (performed_on + months,
-- odometer + km); the table holds that rule. What is due for each kind of service comes from
-- its latest record; the current odometer is the one given, else the highest known reading
-- (fill-ups and services up to that day). Stored in kilometres; the operations take and give
-- distances in the person's unit (public.vehicle_units(), 20261202000200_fuel.sql).
--
-- Re-runnable: if not exists / drop-if-exists / or replace.

alter table public.maintenance_records
  add column if not exists interval_km integer,
  add column if not exists interval_months integer,
  add column if not exists client_ref text;

alter table public.maintenance_records drop constraint if exists maintenance_records_interval_rules;
alter table public.maintenance_records add constraint maintenance_records_interval_rules check (
  (interval_km is null or interval_km between 1 and 1000000)
  and (interval_months is null or interval_months between 1 and 240)
  and (client_ref is null or char_length(client_ref) between 1 and 200)
  and (description is null or char_length(description) <= 4000)
  and (provider is null or char_length(provider) <= 200)
  and odometer_km <= 10000000
  and (interval_months is null or next_due_on = (performed_on + pg_catalog.make_interval(months => interval_months))::date)
  and (interval_km is null or odometer_km is null or next_due_km = odometer_km + interval_km)
);

alter table public.maintenance_records drop constraint if exists maintenance_records_user_id_client_ref_key;
alter table public.maintenance_records add constraint maintenance_records_user_id_client_ref_key
  unique (user_id, client_ref);

-- ---------------------------------------------------------------------------
-- What is due: each kind of service (by name, case and spaces ignored), its latest record
-- on or before p_as_of, and where it stands. p_only_due: only overdue and due (get_context).
-- Due: within 30 days or 1,000 km of its date or reading (or today); overdue: past either.
-- ---------------------------------------------------------------------------
create or replace function public.maintenance_due_items(
  p_as_of date, p_odometer_km integer, p_only_due boolean, p_limit integer
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_units record := public.vehicle_units();
  v_km_per numeric := case when v_units.distance_unit = 'mi' then 1.609344 else 1 end;
  v_current integer := p_odometer_km;
  v_source text := case when p_odometer_km is null then null else 'given' end;
  v_limit integer := least(greatest(coalesce(p_limit, 0), 0), 50);
  v_items jsonb;
  v_count integer;
begin
  if v_current is null then
    select greatest(
             (select max(f.odometer_km) from public.fuel_log as f where f.user_id = v_uid and f.filled_on <= p_as_of),
             (select max(m.odometer_km) from public.maintenance_records as m
               where m.user_id = v_uid and m.performed_on <= p_as_of))
      into v_current;
    v_source := case when v_current is null then null else 'latest fill-up or service' end;
  end if;
  with latest as (
    select distinct on (pg_catalog.lower(pg_catalog.btrim(m.service_type)))
           m.service_type, m.performed_on, m.odometer_km, m.interval_km, m.interval_months
      from public.maintenance_records as m
     where m.user_id = v_uid and m.performed_on <= p_as_of
     order by pg_catalog.lower(pg_catalog.btrim(m.service_type)), m.performed_on desc,
              m.odometer_km desc nulls last, m.created_at desc
  ), placed as (
    select l.*,
           (l.performed_on + pg_catalog.make_interval(months => l.interval_months))::date as due_on,
           l.odometer_km + l.interval_km as due_km
      from latest as l
  ), rated as (
    select p.*, p.due_on - p_as_of as days_left, p.due_km - v_current as km_left,
           case
             when p.interval_months is null and (p.interval_km is null or p.odometer_km is null) then 'no_interval'
             when p.due_on < p_as_of or p.due_km < v_current then 'overdue'
             when p.due_on - p_as_of <= 30 or p.due_km - v_current <= 1000 then 'due'
             when p.interval_months is null and v_current is null then 'unknown_odometer'
             else 'ok'
           end as status
      from placed as p
  ), chosen as (
    select r.* from rated as r where not coalesce(p_only_due, false) or r.status in ('overdue', 'due')
  )
  select (select count(*) from chosen),
         coalesce((
           select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    'service', c.service_type, 'status', c.status, 'last_done_on', c.performed_on,
                    'distance_unit', v_units.distance_unit,
                    'last_odometer', round(c.odometer_km / v_km_per),
                    'interval_distance', round(c.interval_km / v_km_per), 'interval_months', c.interval_months,
                    'due_on', c.due_on, 'due_odometer', round(c.due_km / v_km_per),
                    'days_left', c.days_left, 'distance_left', round(c.km_left / v_km_per))
                  order by c.rank, c.due_on nulls last, c.service_type)
             from (select x.*, case x.status when 'overdue' then 0 when 'due' then 1 when 'ok' then 2 else 3 end as rank
                     from chosen as x
                    order by rank, x.due_on nulls last, x.service_type
                    limit v_limit) as c
         ), '[]'::jsonb)
    into v_count, v_items;
  return pg_catalog.jsonb_build_object(
    'items', v_items, 'count', v_count, 'distance_unit', v_units.distance_unit,
    'current_odometer', round(v_current / v_km_per), 'odometer_source', v_source);
end;
$$;

-- ---------------------------------------------------------------------------
-- log_service
-- ---------------------------------------------------------------------------
create or replace function public.pam_log_service(
  p_service text, p_done_on date, p_odometer numeric, p_cost numeric, p_interval_distance numeric,
  p_interval_months integer, p_notes text, p_client_ref text, p_now timestamptz
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
  v_units record := public.vehicle_units();
  v_km_per numeric := case when v_units.distance_unit = 'mi' then 1.609344 else 1 end;
  v_done_on date := coalesce(p_done_on, v_day.today);
  v_odometer integer := round(p_odometer * v_km_per)::integer;
  v_interval_km integer := round(p_interval_distance * v_km_per)::integer;
  v_id uuid;
  v_duplicate boolean := false;
  v_row public.maintenance_records;
begin
  if p_service is null or pg_catalog.btrim(p_service) = '' then
    raise exception 'service names what was done, e.g. ''oil change''' using errcode = 'PAM01';
  end if;
  if v_done_on > v_day.today + 1 then
    raise exception 'done_on is in the future; log a service when it is done (YYYY-MM-DD)' using errcode = 'PAM01';
  end if;
  insert into public.maintenance_records as m (service_type, description, performed_on, odometer_km, cost,
                                               interval_km, interval_months, next_due_on, next_due_km, client_ref)
  values (pg_catalog.btrim(p_service), p_notes, v_done_on, v_odometer, p_cost, v_interval_km, p_interval_months,
          (v_done_on + pg_catalog.make_interval(months => p_interval_months))::date, v_odometer + v_interval_km,
          p_client_ref)
  on conflict (user_id, client_ref) do nothing
  returning m.id into v_id;
  if v_id is null then
    v_duplicate := true;
    select m.id into v_id from public.maintenance_records as m where m.user_id = v_uid and m.client_ref = p_client_ref;
  end if;
  select * into v_row from public.maintenance_records as m where m.id = v_id;
  return pg_catalog.jsonb_build_object(
    'id', v_row.id, 'service', v_row.service_type, 'done_on', v_row.performed_on,
    'odometer', round(v_row.odometer_km / v_km_per), 'cost', v_row.cost,
    'interval_distance', round(v_row.interval_km / v_km_per), 'interval_months', v_row.interval_months,
    'notes', v_row.description, 'next_due_on', v_row.next_due_on,
    'next_due_odometer', round(v_row.next_due_km / v_km_per), 'distance_unit', v_units.distance_unit,
    'duplicate', v_duplicate, 'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- maintenance_due
-- ---------------------------------------------------------------------------
create or replace function public.pam_maintenance_due(p_as_of date, p_odometer numeric, p_now timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_day record := public.pam_today(p_now);
  v_units record := public.vehicle_units();
  v_as_of date := coalesce(p_as_of, v_day.today);
begin
  return public.maintenance_due_items(
           v_as_of,
           round(p_odometer * case when v_units.distance_unit = 'mi' then 1.609344 else 1 end)::integer,
           false, 50)
         || pg_catalog.jsonb_build_object('as_of', v_as_of, 'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

comment on function public.maintenance_due_items(date, integer, boolean, integer) is
  'Each kind of service of auth.uid(): its latest record on or before p_as_of and whether it is overdue, due or ok; at most 50.';
comment on function public.pam_log_service(text, date, numeric, numeric, numeric, integer, text, text, timestamptz) is
  'Records a service (default date: the person''s today) with its intervals and next due date and reading; client_ref counts a retry once.';
comment on function public.pam_maintenance_due(date, numeric, timestamptz) is
  'What service is overdue, due or ok as of a day (default the person''s today), by date and odometer.';

revoke all on function public.maintenance_due_items(date, integer, boolean, integer),
  public.pam_log_service(text, date, numeric, numeric, numeric, integer, text, text, timestamptz),
  public.pam_maintenance_due(date, numeric, timestamptz)
  from public, anon, service_role;
grant execute on function public.maintenance_due_items(date, integer, boolean, integer),
  public.pam_log_service(text, date, numeric, numeric, numeric, integer, text, text, timestamptz),
  public.pam_maintenance_due(date, numeric, timestamptz)
  to authenticated;
