-- Savings tracker (playbook phase 5, "Wins").
--
-- pam_savings_events holds every individual saving, so no saving is lost in a sum and a
-- retried call (same client_ref) is recorded once. pam_savings holds one row per user and
-- calendar month (month = first day of the month) with the running total.
-- A month is "free" when what PAM saved in it is BELOW the subscription price (the
-- guarantee pays out); the price is configuration, the flag is set by the server.
--
-- Seed defects fixed: pam_savings gets UNIQUE (user_id, month), a first-of-month check,
-- numeric(12,2) with total >= 0, and a DELETE policy.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.pam_savings  (own)
-- ===========================================================================

create table if not exists public.pam_savings (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  month date not null check (month = date_trunc('month', month)::date),
  total_saved numeric(12,2) not null default 0 check (total_saved >= 0),
  free_month boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pam_savings_user_id_month_key unique (user_id, month)
);

drop trigger if exists set_updated_at on public.pam_savings;
create trigger set_updated_at before update on public.pam_savings
  for each row execute function public.set_updated_at();

alter table public.pam_savings enable row level security;

revoke all on table public.pam_savings from anon, authenticated;
grant select, insert, update, delete on table public.pam_savings to authenticated;
grant all on table public.pam_savings to service_role;

drop policy if exists "Users can read their own monthly savings" on public.pam_savings;
create policy "Users can read their own monthly savings" on public.pam_savings
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own monthly savings" on public.pam_savings;
create policy "Users can add their own monthly savings" on public.pam_savings
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own monthly savings" on public.pam_savings;
create policy "Users can update their own monthly savings" on public.pam_savings
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own monthly savings" on public.pam_savings;
create policy "Users can delete their own monthly savings" on public.pam_savings
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.pam_savings is 'own: one row per user and calendar month: the total PAM saved and whether the month is free';

comment on column public.pam_savings.month is 'First day of the calendar month.';
comment on column public.pam_savings.free_month is
  'true when total_saved is below the subscription price (the savings guarantee pays out); set by the server.';

-- ===========================================================================
-- public.pam_savings_events  (own)
-- ===========================================================================

create table if not exists public.pam_savings_events (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  amount numeric(12,2) not null check (amount > 0),
  category text not null check (category in ('fuel', 'campground', 'food', 'route', 'maintenance', 'other')),
  description text not null check (char_length(description) between 1 and 500),
  saved_on date not null default current_date,
  client_ref text check (client_ref is null or char_length(client_ref) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pam_savings_events_user_id_client_ref_key unique (user_id, client_ref)
);

create index if not exists pam_savings_events_user_saved_on_idx on public.pam_savings_events (user_id, saved_on);

drop trigger if exists set_updated_at on public.pam_savings_events;
create trigger set_updated_at before update on public.pam_savings_events
  for each row execute function public.set_updated_at();

alter table public.pam_savings_events enable row level security;

revoke all on table public.pam_savings_events from anon, authenticated;
grant select, insert, update, delete on table public.pam_savings_events to authenticated;
grant all on table public.pam_savings_events to service_role;

drop policy if exists "Users can read their own savings events" on public.pam_savings_events;
create policy "Users can read their own savings events" on public.pam_savings_events
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own savings events" on public.pam_savings_events;
create policy "Users can add their own savings events" on public.pam_savings_events
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own savings events" on public.pam_savings_events;
create policy "Users can update their own savings events" on public.pam_savings_events
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own savings events" on public.pam_savings_events;
create policy "Users can delete their own savings events" on public.pam_savings_events
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.pam_savings_events is 'own: each individual saving PAM found for the user (the audit trail behind pam_savings)';

comment on column public.pam_savings_events.client_ref is
  'Optional idempotency key from the caller; unique per user. NULL never conflicts.';


-- ---------------------------------------------------------------------------
-- public.record_saving: the one way the server records a saving.
-- Inserts the event for auth.uid(); only if it was new, adds the amount to that month's
-- pam_savings row (created on first saving). A repeated p_client_ref is a no-op that
-- returns the original event (duplicate = true). Always returns the month's current total.
-- SECURITY INVOKER: RLS applies; it can only ever touch the caller's rows.
-- ---------------------------------------------------------------------------
create or replace function public.record_saving(
  p_amount numeric,
  p_category text,
  p_description text,
  p_saved_on date,
  p_client_ref text default null
)
returns table (event_id uuid, month date, month_total numeric, duplicate boolean)
language plpgsql
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_uid uuid := auth.uid();
  v_id uuid;
  v_saved_on date := coalesce(p_saved_on, current_date);
  v_month date;
  v_dup boolean := false;
  v_total numeric;
begin
  if v_uid is null then
    raise exception 'record_saving: not authenticated (auth.uid() is null)'
      using errcode = '28000',
            hint = 'Call it inside a transaction with role authenticated and request.jwt.claims set.';
  end if;

  insert into public.pam_savings_events as e
         (user_id, amount, category, description, saved_on, client_ref)
  values (v_uid, p_amount, p_category, p_description, v_saved_on, p_client_ref)
  on conflict (user_id, client_ref) do nothing
  returning e.id into v_id;

  if v_id is null then
    -- Only a non-null client_ref can conflict (NULLs are distinct in a unique constraint).
    v_dup := true;
    select e.id, e.saved_on into v_id, v_saved_on
      from public.pam_savings_events as e
     where e.user_id = v_uid and e.client_ref = p_client_ref;
    v_month := date_trunc('month', v_saved_on)::date;
  else
    v_month := date_trunc('month', v_saved_on)::date;
    insert into public.pam_savings as s (user_id, month, total_saved)
    values (v_uid, v_month, p_amount)
    on conflict (user_id, month)
    do update set total_saved = s.total_saved + excluded.total_saved;
  end if;

  select s.total_saved into v_total
    from public.pam_savings as s
   where s.user_id = v_uid and s.month = v_month;

  event_id := v_id;
  month := v_month;
  month_total := coalesce(v_total, 0);
  duplicate := v_dup;
  return next;
end;
$$;

comment on function public.record_saving(numeric, text, text, date, text) is
  'Records one saving for auth.uid() and adds it to the month total, idempotently per client_ref. Returns (event_id, month, month_total, duplicate).';

revoke execute on function public.record_saving(numeric, text, text, date, text) from public, anon;
grant execute on function public.record_saving(numeric, text, text, date, text) to authenticated, service_role;
