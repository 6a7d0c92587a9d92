-- Places along the road: fuel stations, camping locations and local events.
-- Catalog data, readable by every signed-in user and maintained by the service role.
-- No PostGIS is assumed; (lat, lon) b-tree indexes serve bounding-box queries.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.fuel_stations  (shared_read)
-- ===========================================================================

create table if not exists public.fuel_stations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 200),
  brand text,
  lat double precision not null check (lat between -90 and 90),
  lon double precision not null check (lon between -180 and 180),
  address text,
  amenities jsonb not null default '[]'::jsonb check (jsonb_typeof(amenities) = 'array'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists fuel_stations_lat_lon_idx on public.fuel_stations (lat, lon);

drop trigger if exists set_updated_at on public.fuel_stations;
create trigger set_updated_at before update on public.fuel_stations
  for each row execute function public.set_updated_at();

alter table public.fuel_stations enable row level security;

revoke all on table public.fuel_stations from anon, authenticated;
grant select on table public.fuel_stations to authenticated;
grant all on table public.fuel_stations to service_role;

drop policy if exists "Signed-in users can read fuel stations" on public.fuel_stations;
create policy "Signed-in users can read fuel stations" on public.fuel_stations
  for select to authenticated
  using (true);

comment on table public.fuel_stations is 'shared_read: fuel stations (location, brand, amenities)';

-- ===========================================================================
-- public.camping_locations  (shared_read)
-- ===========================================================================

create table if not exists public.camping_locations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 200),
  kind text not null default 'campground' check (kind in ('campground', 'caravan_park', 'free_camp', 'rest_area', 'national_park', 'showground', 'station_stay', 'other')),
  lat double precision not null check (lat between -90 and 90),
  lon double precision not null check (lon between -180 and 180),
  address text,
  description text,
  price_per_night numeric(12,2) check (price_per_night is null or price_per_night >= 0),
  amenities jsonb not null default '[]'::jsonb check (jsonb_typeof(amenities) = 'array'),
  rating numeric(2,1) check (rating is null or rating between 0 and 5),
  max_rv_length_m numeric(5,2) check (max_rv_length_m is null or max_rv_length_m > 0),
  pet_friendly boolean,
  website text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists camping_locations_lat_lon_idx on public.camping_locations (lat, lon);

create index if not exists camping_locations_kind_idx on public.camping_locations (kind);

drop trigger if exists set_updated_at on public.camping_locations;
create trigger set_updated_at before update on public.camping_locations
  for each row execute function public.set_updated_at();

alter table public.camping_locations enable row level security;

revoke all on table public.camping_locations from anon, authenticated;
grant select on table public.camping_locations to authenticated;
grant all on table public.camping_locations to service_role;

drop policy if exists "Signed-in users can read camping locations" on public.camping_locations;
create policy "Signed-in users can read camping locations" on public.camping_locations
  for select to authenticated
  using (true);

comment on table public.camping_locations is 'shared_read: campgrounds, caravan parks, free camps and rest areas';

-- ===========================================================================
-- public.local_events  (shared_read)
-- ===========================================================================

create table if not exists public.local_events (
  id uuid primary key default gen_random_uuid(),
  title text not null check (char_length(title) between 1 and 200),
  description text,
  category text not null default 'other' check (category in ('market', 'festival', 'music', 'sport', 'community', 'food', 'outdoor', 'other')),
  starts_at timestamptz not null,
  ends_at timestamptz,
  venue text,
  lat double precision check (lat between -90 and 90),
  lon double precision check (lon between -180 and 180),
  url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (ends_at is null or ends_at >= starts_at),
  check ((lat is null) = (lon is null))
);

create index if not exists local_events_starts_at_idx on public.local_events (starts_at);

create index if not exists local_events_lat_lon_idx on public.local_events (lat, lon);

drop trigger if exists set_updated_at on public.local_events;
create trigger set_updated_at before update on public.local_events
  for each row execute function public.set_updated_at();

alter table public.local_events enable row level security;

revoke all on table public.local_events from anon, authenticated;
grant select on table public.local_events to authenticated;
grant all on table public.local_events to service_role;

drop policy if exists "Signed-in users can read local events" on public.local_events;
create policy "Signed-in users can read local events" on public.local_events
  for select to authenticated
  using (true);

comment on table public.local_events is 'shared_read: markets, festivals and other local events near the road';
