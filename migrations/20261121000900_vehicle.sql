-- The rig: maintenance records and the fuel log.
-- Deleting a fuel station keeps the fill-up and clears the link.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.maintenance_records  (own)
-- ===========================================================================

create table if not exists public.maintenance_records (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  service_type text not null check (char_length(service_type) between 1 and 100),
  description text,
  performed_on date not null default current_date,
  odometer_km integer check (odometer_km is null or odometer_km >= 0),
  cost numeric(12,2) check (cost is null or cost >= 0),
  provider text,
  next_due_on date,
  next_due_km integer check (next_due_km is null or next_due_km >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (next_due_on is null or next_due_on >= performed_on)
);

create index if not exists maintenance_records_user_performed_on_idx on public.maintenance_records (user_id, performed_on);

create index if not exists maintenance_records_user_next_due_on_idx on public.maintenance_records (user_id, next_due_on);

drop trigger if exists set_updated_at on public.maintenance_records;
create trigger set_updated_at before update on public.maintenance_records
  for each row execute function public.set_updated_at();

alter table public.maintenance_records enable row level security;

revoke all on table public.maintenance_records from anon, authenticated;
grant select, insert, update, delete on table public.maintenance_records to authenticated;
grant all on table public.maintenance_records to service_role;

drop policy if exists "Users can read their own maintenance records" on public.maintenance_records;
create policy "Users can read their own maintenance records" on public.maintenance_records
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own maintenance records" on public.maintenance_records;
create policy "Users can add their own maintenance records" on public.maintenance_records
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own maintenance records" on public.maintenance_records;
create policy "Users can update their own maintenance records" on public.maintenance_records
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own maintenance records" on public.maintenance_records;
create policy "Users can delete their own maintenance records" on public.maintenance_records
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.maintenance_records is 'own: servicing and repairs done on the user''s vehicle, and when the next is due';

-- ===========================================================================
-- public.fuel_log  (own)
-- ===========================================================================

create table if not exists public.fuel_log (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  filled_on date not null default current_date,
  liters numeric(8,2) not null check (liters > 0),
  price_per_liter numeric(8,3) not null check (price_per_liter > 0),
  total_cost numeric(12,2) not null check (total_cost > 0),
  fuel_type text not null default 'diesel' check (fuel_type in ('diesel', 'unleaded', 'premium_unleaded', 'e10', 'lpg', 'other')),
  odometer_km integer check (odometer_km is null or odometer_km >= 0),
  station_id uuid references public.fuel_stations (id) on delete set null,
  notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists fuel_log_user_filled_on_idx on public.fuel_log (user_id, filled_on);

create index if not exists fuel_log_station_id_idx on public.fuel_log (station_id);

drop trigger if exists set_updated_at on public.fuel_log;
create trigger set_updated_at before update on public.fuel_log
  for each row execute function public.set_updated_at();

alter table public.fuel_log enable row level security;

revoke all on table public.fuel_log from anon, authenticated;
grant select, insert, update, delete on table public.fuel_log to authenticated;
grant all on table public.fuel_log to service_role;

drop policy if exists "Users can read their own fuel log entries" on public.fuel_log;
create policy "Users can read their own fuel log entries" on public.fuel_log
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own fuel log entries" on public.fuel_log;
create policy "Users can add their own fuel log entries" on public.fuel_log
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own fuel log entries" on public.fuel_log;
create policy "Users can update their own fuel log entries" on public.fuel_log
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own fuel log entries" on public.fuel_log;
create policy "Users can delete their own fuel log entries" on public.fuel_log
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.fuel_log is 'own: the user''s fill-ups (litres, price, odometer, station)';
