-- Money: expenses, monthly budgets per category, the category catalog and income.
--
-- Amounts are numeric(12,2) in the user's profile currency. expenses.client_ref is an
-- optional idempotency key (unique per user; NULL never conflicts). An expense may point at
-- one of the user's own trips (composite foreign key: never another user's trip); deleting
-- the trip clears the link, not the expense.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.budget_categories  (shared_read)
-- ===========================================================================

create table if not exists public.budget_categories (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (name ~ '^[a-z_]{1,40}$'),
  description text,
  icon text,
  sort_order integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

drop trigger if exists set_updated_at on public.budget_categories;
create trigger set_updated_at before update on public.budget_categories
  for each row execute function public.set_updated_at();

alter table public.budget_categories enable row level security;

revoke all on table public.budget_categories from anon, authenticated;
grant select on table public.budget_categories to authenticated;
grant all on table public.budget_categories to service_role;

drop policy if exists "Signed-in users can read budget categories" on public.budget_categories;
create policy "Signed-in users can read budget categories" on public.budget_categories
  for select to authenticated
  using (true);

comment on table public.budget_categories is 'shared_read: the catalog of spending categories (same names as expenses.category)';

insert into public.budget_categories (name, description, icon, sort_order) values
  ('fuel',          'Diesel, petrol and AdBlue',               'fuel',       10),
  ('food',          'Groceries and eating out',                'utensils',   20),
  ('campground',    'Campgrounds, caravan parks, site fees',   'tent',       30),
  ('maintenance',   'Servicing, repairs, tyres and parts',     'wrench',     40),
  ('entertainment', 'Attractions, tours and activities',       'ticket',     50),
  ('propane',       'LPG and gas refills',                     'flame',      60),
  ('utilities',     'Phone, internet, power and water',        'wifi',       70),
  ('shopping',      'Gear, supplies and other purchases',      'bag',        80),
  ('insurance',     'Vehicle, contents and travel insurance',  'shield',     90),
  ('registration',  'Vehicle registration and tolls',          'id-card',   100),
  ('other',         'Everything else',                         'dots',      110)
on conflict (name) do nothing;

-- ===========================================================================
-- public.expenses  (own)
-- ===========================================================================

create table if not exists public.expenses (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  amount numeric(12,2) not null check (amount > 0),
  category text not null check (category in ('fuel', 'food', 'campground', 'maintenance', 'entertainment', 'propane', 'utilities', 'shopping', 'insurance', 'registration', 'other')),
  description text check (description is null or char_length(description) <= 500),
  spent_on date not null default current_date,
  trip_id uuid,
  client_ref text check (client_ref is null or char_length(client_ref) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint expenses_user_id_client_ref_key unique (user_id, client_ref),
  constraint expenses_trip_fkey foreign key (trip_id, user_id)
    references public.trips (id, user_id) on delete set null (trip_id)
);

create index if not exists expenses_user_spent_on_idx on public.expenses (user_id, spent_on);

create index if not exists expenses_user_category_spent_on_idx on public.expenses (user_id, category, spent_on);

create index if not exists expenses_user_trip_idx on public.expenses (user_id, trip_id);

drop trigger if exists set_updated_at on public.expenses;
create trigger set_updated_at before update on public.expenses
  for each row execute function public.set_updated_at();

alter table public.expenses enable row level security;

revoke all on table public.expenses from anon, authenticated;
grant select, insert, update, delete on table public.expenses to authenticated;
grant all on table public.expenses to service_role;

drop policy if exists "Users can read their own expenses" on public.expenses;
create policy "Users can read their own expenses" on public.expenses
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own expenses" on public.expenses;
create policy "Users can add their own expenses" on public.expenses
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own expenses" on public.expenses;
create policy "Users can update their own expenses" on public.expenses
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own expenses" on public.expenses;
create policy "Users can delete their own expenses" on public.expenses
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.expenses is 'own: what the user spent, by category and day, optionally linked to a trip';

-- ===========================================================================
-- public.budgets  (own)
-- ===========================================================================

create table if not exists public.budgets (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  category text not null check (category in ('fuel', 'food', 'campground', 'maintenance', 'entertainment', 'propane', 'utilities', 'shopping', 'insurance', 'registration', 'other')),
  monthly_limit numeric(12,2) not null check (monthly_limit > 0),
  alert_at_percent smallint not null default 80 check (alert_at_percent between 1 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint budgets_user_id_category_key unique (user_id, category)
);

drop trigger if exists set_updated_at on public.budgets;
create trigger set_updated_at before update on public.budgets
  for each row execute function public.set_updated_at();

alter table public.budgets enable row level security;

revoke all on table public.budgets from anon, authenticated;
grant select, insert, update, delete on table public.budgets to authenticated;
grant all on table public.budgets to service_role;

drop policy if exists "Users can read their own budgets" on public.budgets;
create policy "Users can read their own budgets" on public.budgets
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own budgets" on public.budgets;
create policy "Users can add their own budgets" on public.budgets
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own budgets" on public.budgets;
create policy "Users can update their own budgets" on public.budgets
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own budgets" on public.budgets;
create policy "Users can delete their own budgets" on public.budgets
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.budgets is 'own: the user''s monthly spending limit per category (one per category)';

-- ===========================================================================
-- public.income_entries  (own)
-- ===========================================================================

create table if not exists public.income_entries (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  amount numeric(12,2) not null check (amount > 0),
  source text not null check (char_length(source) between 1 and 200),
  category text not null default 'other' check (category in ('work', 'hustle', 'pension', 'investment', 'refund', 'other')),
  description text,
  received_on date not null default current_date,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists income_entries_user_received_on_idx on public.income_entries (user_id, received_on);

drop trigger if exists set_updated_at on public.income_entries;
create trigger set_updated_at before update on public.income_entries
  for each row execute function public.set_updated_at();

alter table public.income_entries enable row level security;

revoke all on table public.income_entries from anon, authenticated;
grant select, insert, update, delete on table public.income_entries to authenticated;
grant all on table public.income_entries to service_role;

drop policy if exists "Users can read their own income entries" on public.income_entries;
create policy "Users can read their own income entries" on public.income_entries
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own income entries" on public.income_entries;
create policy "Users can add their own income entries" on public.income_entries
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own income entries" on public.income_entries;
create policy "Users can update their own income entries" on public.income_entries
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own income entries" on public.income_entries;
create policy "Users can delete their own income entries" on public.income_entries
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.income_entries is 'own: money the user received (work, hustles, pension, refunds)';
