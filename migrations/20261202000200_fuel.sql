-- Fuel: a fill-up is also the fuel expense, counted once, never twice.
--
-- The database keeps the link, whoever writes (pam-mcp or Supabase's REST API):
--   * every fill-up has exactly one expense (category fuel) carrying fuel_log_id; a trigger on
--     fuel_log writes it on insert and keeps its amount, date and trip in step on update;
--     deleting the fill-up deletes it (the foreign key cascades);
--   * that expense cannot be changed or deleted on its own (it would drift from its fill-up):
--     only through its fill-up (correct_fillup / delete_fillup);
--   * a retry of log_fillup with the same client_ref adds neither twice (unique per person).
-- Volumes and odometers are stored in litres and kilometres; the operations take and give them
-- in the person's own units (profiles.distance_unit 'km'|'mi', volume_unit 'L'|'gal'; read as
-- km and L when the profile has no such columns or values).
--
-- Re-runnable: if not exists / drop-if-exists / or replace.

-- ---------------------------------------------------------------------------
-- fuel_log: what a fill-up needs beyond the seed's columns.
-- ---------------------------------------------------------------------------
alter table public.fuel_log
  alter column liters type numeric(10,3),  -- a gallon figure converted to litres keeps its digits
  alter column price_per_liter type numeric(10,4),
  add column if not exists full_tank boolean not null default true,
  add column if not exists station_name text,
  add column if not exists place text,
  add column if not exists lat numeric(9,6),
  add column if not exists lon numeric(9,6),
  add column if not exists trip_id uuid,
  add column if not exists client_ref text;

alter table public.fuel_log drop constraint if exists fuel_log_vehicle_rules;
alter table public.fuel_log add constraint fuel_log_vehicle_rules check (
  (station_name is null or char_length(station_name) between 1 and 200)
  and (place is null or char_length(place) between 1 and 200)
  and (notes is null or char_length(notes) <= 4000)
  and (client_ref is null or char_length(client_ref) between 1 and 200)
  and ((lat is null) = (lon is null))
  and (lat is null or lat between -90 and 90)
  and (lon is null or lon between -180 and 180)
  and odometer_km <= 10000000
);

do $$
begin
  -- Referenced by expenses_fuel_log_fkey below, so added once rather than dropped and re-added.
  if not exists (select 1 from pg_catalog.pg_constraint
                  where conrelid = 'public.fuel_log'::regclass and conname = 'fuel_log_id_user_id_key') then
    alter table public.fuel_log add constraint fuel_log_id_user_id_key unique (id, user_id);
  end if;
end;
$$;
alter table public.fuel_log drop constraint if exists fuel_log_user_id_client_ref_key;
alter table public.fuel_log add constraint fuel_log_user_id_client_ref_key unique (user_id, client_ref);
alter table public.fuel_log drop constraint if exists fuel_log_trip_fkey;
alter table public.fuel_log add constraint fuel_log_trip_fkey foreign key (trip_id, user_id)
  references public.trips (id, user_id) on delete set null (trip_id);
create index if not exists fuel_log_trip_user_idx on public.fuel_log (trip_id, user_id);

-- ---------------------------------------------------------------------------
-- expenses.fuel_log_id: the expense a fill-up is (one per fill-up, the person's own).
-- ---------------------------------------------------------------------------
alter table public.expenses add column if not exists fuel_log_id uuid;
alter table public.expenses drop constraint if exists expenses_fuel_log_fkey;
alter table public.expenses add constraint expenses_fuel_log_fkey foreign key (fuel_log_id, user_id)
  references public.fuel_log (id, user_id) on delete cascade;
create unique index if not exists expenses_fuel_log_user_key on public.expenses (fuel_log_id, user_id);
alter table public.expenses drop constraint if exists expenses_fuel_log_is_fuel;
alter table public.expenses add constraint expenses_fuel_log_is_fuel
  check (fuel_log_id is null or category = 'fuel');

-- The fill-up's expense, written and kept in step by the database.
create or replace function public.fuel_log_sync_expense()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_description text := pg_catalog.left('Fuel' || coalesce(' at ' || coalesce(new.station_name, new.place), ''), 500);
begin
  update public.expenses as e
     set amount = new.total_cost, spent_on = new.filled_on, trip_id = new.trip_id, description = v_description
   where e.fuel_log_id = new.id and e.user_id = new.user_id;
  if not found then
    insert into public.expenses (user_id, amount, category, description, spent_on, trip_id, fuel_log_id)
    values (new.user_id, new.total_cost, 'fuel', v_description, new.filled_on, new.trip_id, new.id);
  end if;
  return null;
end;
$$;

drop trigger if exists fuel_log_sync_expense on public.fuel_log;
create trigger fuel_log_sync_expense after insert or update of total_cost, filled_on, trip_id, station_name, place
  on public.fuel_log for each row execute function public.fuel_log_sync_expense();

-- A fill-up's expense changes only with its fill-up (the triggers above run one level deeper).
create or replace function public.expenses_keep_fuel_link()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if pg_catalog.pg_trigger_depth() < 2 then
    raise exception 'this expense is the fill-up %: change it with correct_fillup, or delete_fillup', old.fuel_log_id
      using errcode = 'PAM01';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;

drop trigger if exists expenses_keep_fuel_link on public.expenses;
create trigger expenses_keep_fuel_link before update or delete on public.expenses
  for each row when (old.fuel_log_id is not null) execute function public.expenses_keep_fuel_link();

-- ---------------------------------------------------------------------------
-- The person's units, and a fill-up as they read it.
-- ---------------------------------------------------------------------------
create or replace function public.vehicle_units(out distance_unit text, out volume_unit text)
language sql
stable
security invoker
set search_path = ''
as $$
  -- Read through to_jsonb so this holds whether or not the profile has unit columns yet.
  select case when j ->> 'distance_unit' = 'mi' then 'mi' else 'km' end,
         case when j ->> 'volume_unit' = 'gal' then 'gal' else 'L' end
    from (select (select pg_catalog.to_jsonb(p) from public.profiles as p where p.id = (select auth.uid())) as j) as s
$$;

create or replace function public.fillup_json(p_id uuid, p_distance_unit text, p_volume_unit text)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
           'id', f.id, 'filled_on', f.filled_on,
           'volume', round(f.liters / case when p_volume_unit = 'gal' then 3.785411784 else 1 end, 2),
           'price_per_unit', round(f.price_per_liter * case when p_volume_unit = 'gal' then 3.785411784 else 1 end, 3),
           'total_cost', f.total_cost,
           'odometer', round(f.odometer_km / case when p_distance_unit = 'mi' then 1.609344 else 1 end),
           'volume_unit', p_volume_unit, 'distance_unit', p_distance_unit, 'fuel_type', f.fuel_type,
           'station', f.station_name, 'place', f.place, 'lat', f.lat, 'lon', f.lon, 'trip_id', f.trip_id,
           'full_tank', f.full_tank,
           'expense_id', (select e.id from public.expenses as e where e.fuel_log_id = f.id and e.user_id = f.user_id))
    from public.fuel_log as f
   where f.id = p_id and f.user_id = (select auth.uid())
$$;

-- ---------------------------------------------------------------------------
-- log_fillup
-- ---------------------------------------------------------------------------
create or replace function public.pam_log_fillup(
  p_volume numeric, p_price_per_unit numeric, p_total_cost numeric, p_odometer numeric, p_station text,
  p_place text, p_lat numeric, p_lon numeric, p_filled_on date, p_trip_id uuid, p_full_tank boolean,
  p_client_ref text, p_now timestamptz
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
  v_litres_per numeric := case when v_units.volume_unit = 'gal' then 3.785411784 else 1 end;
  v_km_per numeric := case when v_units.distance_unit = 'mi' then 1.609344 else 1 end;
  v_filled_on date := coalesce(p_filled_on, v_day.today);
  v_total numeric;
  v_id uuid;
  v_duplicate boolean := false;
  v_month date;
begin
  if p_volume is null or p_volume <= 0 or p_volume * v_litres_per > 2000 then
    raise exception 'volume must be a positive number of % up to 2000 litres', v_units.volume_unit
      using errcode = 'PAM01';
  end if;
  if v_filled_on > v_day.today + 1 then
    raise exception 'filled_on is in the future; log fill-ups when they happen (YYYY-MM-DD)' using errcode = 'PAM01';
  end if;
  if p_price_per_unit is null and p_total_cost is null then
    raise exception 'give price_per_unit (per %) or total_cost', v_units.volume_unit using errcode = 'PAM01';
  end if;
  if p_price_per_unit is not null and p_total_cost is not null
     and abs(round(p_price_per_unit * p_volume, 2) - p_total_cost) > 0.02 then
    raise exception 'price_per_unit x volume is % but total_cost is %; give one of them, or both that agree',
      round(p_price_per_unit * p_volume, 2), p_total_cost using errcode = 'PAM01';
  end if;
  if (p_lat is null) <> (p_lon is null) then
    raise exception 'give lat and lon together (decimal degrees), or neither' using errcode = 'PAM01';
  end if;
  if p_trip_id is not null and not exists (select 1 from public.trips as t where t.id = p_trip_id) then
    raise exception 'trip_id % is not one of your trips; use an id from log_trip or pam://trips', p_trip_id
      using errcode = 'PAM01';
  end if;
  v_total := coalesce(p_total_cost, round(p_price_per_unit * p_volume, 2));
  insert into public.fuel_log as f (filled_on, liters, price_per_liter, total_cost, fuel_type, odometer_km,
                                    station_name, place, lat, lon, trip_id, full_tank, client_ref)
  values (v_filled_on, round(p_volume * v_litres_per, 3),
          round(coalesce(p_price_per_unit, v_total / p_volume) / v_litres_per, 4), v_total,
          coalesce((select case pg_catalog.to_jsonb(p) ->> 'fuel_type'
                             when 'diesel' then 'diesel' when 'petrol' then 'unleaded' when 'lpg' then 'lpg'
                             when 'other' then 'other' when 'electric' then 'other' end
                      from public.profiles as p where p.id = v_uid), 'diesel'),
          round(p_odometer * v_km_per)::integer, p_station, p_place, p_lat, p_lon, p_trip_id,
          coalesce(p_full_tank, true), p_client_ref)
  on conflict (user_id, client_ref) do nothing
  returning f.id into v_id;
  if v_id is null then
    -- Only a non-null client_ref can conflict (NULLs are distinct in a unique constraint).
    v_duplicate := true;
    select f.id into v_id from public.fuel_log as f where f.user_id = v_uid and f.client_ref = p_client_ref;
  end if;
  select date_trunc('month', f.filled_on)::date into v_month from public.fuel_log as f where f.id = v_id;
  return pg_catalog.jsonb_build_object(
    'fillup', public.fillup_json(v_id, v_units.distance_unit, v_units.volume_unit),
    'duplicate', v_duplicate,
    'month', pg_catalog.to_char(v_month, 'YYYY-MM'),
    'month_fuel_total', coalesce((
      select g.total from public.expense_summary(v_month, (v_month + interval '1 month - 1 day')::date,
                                                 array['fuel'], 'none') as g), 0.00),
    'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- correct_fillup: only the fields given change; returns the fill-up before and after.
-- With a new volume and neither price_per_unit nor total_cost, the price per unit is kept.
-- ---------------------------------------------------------------------------
create or replace function public.pam_correct_fillup(
  p_fillup_id uuid, p_volume numeric, p_price_per_unit numeric, p_total_cost numeric, p_odometer numeric,
  p_station text, p_place text, p_lat numeric, p_lon numeric, p_filled_on date, p_trip_id uuid,
  p_full_tank boolean, p_now timestamptz
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_day record := public.pam_today(p_now);
  v_units record := public.vehicle_units();
  v_litres_per numeric := case when v_units.volume_unit = 'gal' then 3.785411784 else 1 end;
  v_km_per numeric := case when v_units.distance_unit = 'mi' then 1.609344 else 1 end;
  v_old public.fuel_log;
  v_before jsonb;
  v_volume numeric;  -- in the person's unit
  v_price numeric;   -- per the person's unit
  v_total numeric;
begin
  select * into v_old from public.fuel_log as f where f.id = p_fillup_id for update;
  if not found then
    return null;
  end if;
  if num_nonnulls(p_volume, p_price_per_unit, p_total_cost, p_odometer, p_station, p_place, p_lat, p_lon,
                  p_filled_on, p_trip_id, p_full_tank) = 0 then
    raise exception 'give at least one field to change (volume, price_per_unit, total_cost, odometer, station, place, lat and lon, filled_on, trip_id, full_tank)'
      using errcode = 'PAM01';
  end if;
  if p_volume is not null and (p_volume <= 0 or p_volume * v_litres_per > 2000) then
    raise exception 'volume must be a positive number of % up to 2000 litres', v_units.volume_unit
      using errcode = 'PAM01';
  end if;
  if p_filled_on is not null and p_filled_on > v_day.today + 1 then
    raise exception 'filled_on is in the future; use the day of the fill-up (YYYY-MM-DD)' using errcode = 'PAM01';
  end if;
  if (p_lat is null) <> (p_lon is null) then
    raise exception 'give lat and lon together (decimal degrees), or neither' using errcode = 'PAM01';
  end if;
  if p_trip_id is not null and not exists (select 1 from public.trips as t where t.id = p_trip_id) then
    raise exception 'trip_id % is not one of your trips; use an id from log_trip or pam://trips', p_trip_id
      using errcode = 'PAM01';
  end if;
  v_before := public.fillup_json(p_fillup_id, v_units.distance_unit, v_units.volume_unit);
  v_volume := coalesce(p_volume, v_old.liters / v_litres_per);
  if p_price_per_unit is not null and p_total_cost is not null then
    if abs(round(p_price_per_unit * v_volume, 2) - p_total_cost) > 0.02 then
      raise exception 'price_per_unit x volume is % but total_cost is %; give one of them, or both that agree',
        round(p_price_per_unit * v_volume, 2), p_total_cost using errcode = 'PAM01';
    end if;
    v_price := p_price_per_unit;
    v_total := p_total_cost;
  elsif p_total_cost is not null then
    v_total := p_total_cost;
    v_price := p_total_cost / v_volume;
  else
    v_price := coalesce(p_price_per_unit, v_old.price_per_liter * v_litres_per);
    v_total := case when p_price_per_unit is null and p_volume is null then v_old.total_cost
                    else round(v_price * v_volume, 2) end;
  end if;
  update public.fuel_log as f
     set liters = case when p_volume is null then f.liters else round(p_volume * v_litres_per, 3) end,
         price_per_liter = case when p_price_per_unit is null and p_total_cost is null then f.price_per_liter
                                else round(v_price / v_litres_per, 4) end,
         total_cost = v_total,
         odometer_km = coalesce(round(p_odometer * v_km_per)::integer, f.odometer_km),
         station_name = coalesce(p_station, f.station_name),
         place = coalesce(p_place, f.place),
         lat = coalesce(p_lat, f.lat),
         lon = coalesce(p_lon, f.lon),
         filled_on = coalesce(p_filled_on, f.filled_on),
         trip_id = coalesce(p_trip_id, f.trip_id),
         full_tank = coalesce(p_full_tank, f.full_tank)
   where f.id = p_fillup_id;
  return pg_catalog.jsonb_build_object(
    'before', v_before, 'after', public.fillup_json(p_fillup_id, v_units.distance_unit, v_units.volume_unit));
end;
$$;

-- ---------------------------------------------------------------------------
-- delete_fillup: the fill-up and its expense go together (the foreign key cascades).
-- ---------------------------------------------------------------------------
create or replace function public.pam_delete_fillup(p_fillup_id uuid)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_units record := public.vehicle_units();
  v_gone jsonb := public.fillup_json(p_fillup_id, v_units.distance_unit, v_units.volume_unit);
begin
  if v_gone is null then
    return null;
  end if;
  delete from public.fuel_log as f where f.id = p_fillup_id;
  return pg_catalog.jsonb_build_object('deleted', v_gone);
end;
$$;

-- ---------------------------------------------------------------------------
-- fuel_economy: between consecutive full-tank fill-ups with odometer readings, the distance
-- driven and the fuel put in since the earlier one (partial fills between them included).
-- Default range: the 90 days to the person's today; at most 3 x 366 days.
-- ---------------------------------------------------------------------------
create or replace function public.pam_fuel_economy(p_start date, p_end date, p_now timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_day record := public.pam_today(p_now);
  v_units record := public.vehicle_units();
  v_end date := coalesce(p_end, v_day.today);
  v_start date := coalesce(p_start, v_end - 89);
  v_totals record;
  v_measured record;
begin
  if v_end < v_start then
    raise exception 'end is before start (both YYYY-MM-DD)' using errcode = 'PAM01';
  end if;
  if v_end - v_start > 3 * 366 then
    raise exception 'the range is longer than % days; ask for a shorter period', 3 * 366 using errcode = 'PAM01';
  end if;
  select count(*) as fillups, count(*) filter (where f.full_tank and f.odometer_km is not null) as anchors,
         coalesce(sum(f.liters), 0) as litres, coalesce(sum(f.total_cost), 0.00) as cost
    into v_totals
    from public.fuel_log as f
   where f.user_id = v_uid and f.filled_on between v_start and v_end;
  with f as (
    select x.liters, x.total_cost, x.full_tank, x.odometer_km,
           row_number() over (order by x.filled_on, x.odometer_km nulls first, x.created_at, x.id) as rn
      from public.fuel_log as x
     where x.user_id = v_uid and x.filled_on between v_start and v_end
  ), anchors as (
    select a.rn, a.odometer_km, lag(a.rn) over (order by a.rn) as prev_rn,
           lag(a.odometer_km) over (order by a.rn) as prev_km
      from f as a
     where a.full_tank and a.odometer_km is not null
  ), segments as (
    select s.odometer_km - s.prev_km as km,
           (select sum(g.liters) from f as g where g.rn > s.prev_rn and g.rn <= s.rn) as litres,
           (select sum(g.total_cost) from f as g where g.rn > s.prev_rn and g.rn <= s.rn) as cost
      from anchors as s
     where s.prev_rn is not null and s.odometer_km > s.prev_km
  )
  select count(*) as segments, coalesce(sum(km), 0) as km, coalesce(sum(litres), 0) as litres,
         coalesce(sum(cost), 0.00) as cost
    into v_measured
    from segments;
  return pg_catalog.jsonb_build_object(
    'start', v_start, 'end', v_end, 'distance_unit', v_units.distance_unit, 'volume_unit', v_units.volume_unit,
    'fillups', v_totals.fillups, 'full_tank_fillups_with_odometer', v_totals.anchors,
    'total_volume', round(v_totals.litres / case when v_units.volume_unit = 'gal' then 3.785411784 else 1 end, 2),
    'total_cost', v_totals.cost,
    'segments', v_measured.segments,
    'measured_distance', round(v_measured.km / case when v_units.distance_unit = 'mi' then 1.609344 else 1 end),
    'measured_litres', v_measured.litres, 'measured_km', v_measured.km, 'measured_cost', v_measured.cost,
    'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

comment on function public.vehicle_units() is
  'The distance and volume units of auth.uid()''s profile (km and L when unset).';
comment on function public.fillup_json(uuid, text, text) is
  'One fill-up of auth.uid() in the given units, with its expense id; null when not theirs or missing.';
comment on function public.fuel_log_sync_expense() is
  'Trigger: writes a fill-up''s fuel expense and keeps it in step (one per fill-up).';
comment on function public.expenses_keep_fuel_link() is
  'Trigger: a fill-up''s expense changes or goes only with its fill-up.';
comment on function public.pam_log_fillup(numeric, numeric, numeric, numeric, text, text, numeric, numeric, date, uuid, boolean, text, timestamptz) is
  'Records a fill-up (in the person''s units; default date: their today) and its fuel expense once; client_ref counts a retry once.';
comment on function public.pam_correct_fillup(uuid, numeric, numeric, numeric, numeric, text, text, numeric, numeric, date, uuid, boolean, timestamptz) is
  'Changes the given fields of a fill-up of auth.uid() and its expense; returns before and after; null when not theirs.';
comment on function public.pam_delete_fillup(uuid) is
  'Deletes a fill-up of auth.uid() and its expense; returns what was deleted; null when not theirs.';
comment on function public.pam_fuel_economy(date, date, timestamptz) is
  'Fill-up totals over a range (default the 90 days to today) and the distance and fuel between full-tank fill-ups.';

revoke all on function public.vehicle_units(), public.fillup_json(uuid, text, text),
  public.fuel_log_sync_expense(), public.expenses_keep_fuel_link(),
  public.pam_log_fillup(numeric, numeric, numeric, numeric, text, text, numeric, numeric, date, uuid, boolean, text, timestamptz),
  public.pam_correct_fillup(uuid, numeric, numeric, numeric, numeric, text, text, numeric, numeric, date, uuid, boolean, timestamptz),
  public.pam_delete_fillup(uuid), public.pam_fuel_economy(date, date, timestamptz)
  from public, anon, service_role;
grant execute on function public.vehicle_units(), public.fillup_json(uuid, text, text),
  public.fuel_log_sync_expense(), public.expenses_keep_fuel_link(),
  public.pam_log_fillup(numeric, numeric, numeric, numeric, text, text, numeric, numeric, date, uuid, boolean, text, timestamptz),
  public.pam_correct_fillup(uuid, numeric, numeric, numeric, numeric, text, text, numeric, numeric, date, uuid, boolean, timestamptz),
  public.pam_delete_fillup(uuid), public.pam_fuel_economy(date, date, timestamptz)
  to authenticated;
