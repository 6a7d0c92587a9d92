-- Back-office tables, reachable only with the service role.
--
-- Seed defect fixed: pam_test_data had no RLS at all (readable and writable with the public
-- anon key); it is now service_only with RLS enabled and no grants to anon/authenticated.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.admin_users  (service_only)
-- ===========================================================================

create table if not exists public.admin_users (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'admin' check (role in ('admin', 'support', 'super_admin')),
  notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint admin_users_user_id_key unique (user_id)
);

drop trigger if exists set_updated_at on public.admin_users;
create trigger set_updated_at before update on public.admin_users
  for each row execute function public.set_updated_at();

alter table public.admin_users enable row level security;

revoke all on table public.admin_users from anon, authenticated;
grant all on table public.admin_users to service_role;

drop policy if exists "Only the service role can access admin users" on public.admin_users;
create policy "Only the service role can access admin users" on public.admin_users
  for all to service_role
  using (true)
  with check (true);

comment on table public.admin_users is 'service_only: who has administrative rights (one row per user)';

-- ===========================================================================
-- public.pam_test_data  (service_only)
-- ===========================================================================

create table if not exists public.pam_test_data (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references auth.users (id) on delete cascade,
  test_name text not null check (char_length(test_name) between 1 and 200),
  payload jsonb not null default '{}'::jsonb check (jsonb_typeof(payload) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists pam_test_data_user_id_idx on public.pam_test_data (user_id);

create index if not exists pam_test_data_test_name_idx on public.pam_test_data (test_name);

drop trigger if exists set_updated_at on public.pam_test_data;
create trigger set_updated_at before update on public.pam_test_data
  for each row execute function public.set_updated_at();

alter table public.pam_test_data enable row level security;

revoke all on table public.pam_test_data from anon, authenticated;
grant all on table public.pam_test_data to service_role;

drop policy if exists "Only the service role can access test data" on public.pam_test_data;
create policy "Only the service role can access test data" on public.pam_test_data
  for all to service_role
  using (true)
  with check (true);

comment on table public.pam_test_data is 'service_only: fixtures for staging and automated tests';
