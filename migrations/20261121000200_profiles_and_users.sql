-- Profiles and sessions of the people who use PAM.
--
-- profiles follows the Supabase convention: its primary key IS the auth.users id.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.profiles  (own)
-- ===========================================================================

create table if not exists public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text check (display_name is null or char_length(display_name) between 1 and 100),
  avatar_url text,
  country_code char(2) check (country_code is null or country_code ~ '^[A-Z]{2}$'),
  timezone text check (timezone is null or char_length(timezone) between 1 and 64),
  currency char(3) not null default 'AUD' check (currency ~ '^[A-Z]{3}$'),
  home_base text,
  rv_type text check (rv_type is null or rv_type in ('motorhome', 'campervan', 'caravan', 'fifth_wheel', 'travel_trailer', 'truck_camper', 'bus', 'other')),
  rv_length_m numeric(5,2) check (rv_length_m is null or (rv_length_m > 0 and rv_length_m <= 30)),
  preferences jsonb not null default '{}'::jsonb check (jsonb_typeof(preferences) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

drop trigger if exists set_updated_at on public.profiles;
create trigger set_updated_at before update on public.profiles
  for each row execute function public.set_updated_at();

alter table public.profiles enable row level security;

revoke all on table public.profiles from anon, authenticated;
grant select, insert, update, delete on table public.profiles to authenticated;
grant all on table public.profiles to service_role;

drop policy if exists "Users can read their own profile" on public.profiles;
create policy "Users can read their own profile" on public.profiles
  for select to authenticated
  using ((select auth.uid()) = id);

drop policy if exists "Users can add their own profile" on public.profiles;
create policy "Users can add their own profile" on public.profiles
  for insert to authenticated
  with check ((select auth.uid()) = id);

drop policy if exists "Users can update their own profile" on public.profiles;
create policy "Users can update their own profile" on public.profiles
  for update to authenticated
  using ((select auth.uid()) = id)
  with check ((select auth.uid()) = id);

drop policy if exists "Users can delete their own profile" on public.profiles;
create policy "Users can delete their own profile" on public.profiles
  for delete to authenticated
  using ((select auth.uid()) = id);

comment on table public.profiles is 'own: one profile per auth user (display name, country, currency, RV details, preferences)';

comment on column public.profiles.country_code is
  'ISO 3166-1 alpha-2, upper case; picks the emergency number (000 in AU, 111 in NZ, 911 in US/CA, 112 in EU).';
comment on column public.profiles.timezone is 'IANA time zone name, e.g. Australia/Brisbane.';
comment on column public.profiles.currency is 'ISO 4217 code the user budgets in; all money columns are in it.';

-- ===========================================================================
-- public.user_active_sessions  (own)
-- ===========================================================================

create table if not exists public.user_active_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  client_name text check (client_name is null or char_length(client_name) <= 200),
  transport text not null default 'other' check (transport in ('stdio', 'http', 'web', 'mobile', 'other')),
  user_agent text,
  ip_address inet,
  started_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (last_seen_at >= started_at),
  check (expires_at is null or expires_at > started_at)
);

create index if not exists user_active_sessions_user_last_seen_idx on public.user_active_sessions (user_id, last_seen_at desc);

drop trigger if exists set_updated_at on public.user_active_sessions;
create trigger set_updated_at before update on public.user_active_sessions
  for each row execute function public.set_updated_at();

alter table public.user_active_sessions enable row level security;

revoke all on table public.user_active_sessions from anon, authenticated;
grant select, insert, update, delete on table public.user_active_sessions to authenticated;
grant all on table public.user_active_sessions to service_role;

drop policy if exists "Users can read their own active sessions" on public.user_active_sessions;
create policy "Users can read their own active sessions" on public.user_active_sessions
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own active sessions" on public.user_active_sessions;
create policy "Users can add their own active sessions" on public.user_active_sessions
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own active sessions" on public.user_active_sessions;
create policy "Users can update their own active sessions" on public.user_active_sessions
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own active sessions" on public.user_active_sessions;
create policy "Users can delete their own active sessions" on public.user_active_sessions
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.user_active_sessions is 'own: the devices and MCP clients a user is currently signed in from';
