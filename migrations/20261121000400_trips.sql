-- Passive trip logger (playbook phase 4, "Wheels").
--
-- Seed defect fixed: the playbook's columns `start`/`end` cannot be created (END is a
-- reserved word); they are started_at / ended_at here, with an ordering check. route and
-- stops are JSON arrays. UPDATE/DELETE policies added.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.trips  (own)
-- ===========================================================================

create table if not exists public.trips (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text check (title is null or char_length(title) <= 200),
  started_at timestamptz not null,
  ended_at timestamptz,
  route jsonb not null default '[]'::jsonb check (jsonb_typeof(route) = 'array'),
  stops jsonb not null default '[]'::jsonb check (jsonb_typeof(stops) = 'array'),
  notes text,
  distance_km numeric(10,2) check (distance_km is null or distance_km >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint trips_id_user_id_key unique (id, user_id),
  constraint trips_ended_after_started check (ended_at is null or ended_at >= started_at)
);

create index if not exists trips_user_started_idx on public.trips (user_id, started_at desc);

drop trigger if exists set_updated_at on public.trips;
create trigger set_updated_at before update on public.trips
  for each row execute function public.set_updated_at();

alter table public.trips enable row level security;

revoke all on table public.trips from anon, authenticated;
grant select, insert, update, delete on table public.trips to authenticated;
grant all on table public.trips to service_role;

drop policy if exists "Users can read their own trips" on public.trips;
create policy "Users can read their own trips" on public.trips
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own trips" on public.trips;
create policy "Users can add their own trips" on public.trips
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own trips" on public.trips;
create policy "Users can update their own trips" on public.trips
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own trips" on public.trips;
create policy "Users can delete their own trips" on public.trips
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.trips is 'own: trips the user has driven or is driving (route and stops as JSON arrays)';

comment on column public.trips.ended_at is 'null while the trip is under way.';
comment on column public.trips.route is 'JSON array of points, e.g. [{"lat": -27.47, "lon": 153.02}, ...].';
comment on column public.trips.stops is 'JSON array of stops, e.g. [{"name": "...", "lat": ..., "lon": ..., "arrived_at": "..."}].';
