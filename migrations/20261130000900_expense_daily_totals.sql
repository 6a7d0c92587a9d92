-- Spending totals that cost what the answer costs: a rollup per person, day and category.
--
-- expense_summary (query_expenses, the budget comparisons of log_expense and get_context,
-- pam://expenses) used to add up the person's expense rows, so its cost grew with every row
-- in the range (14 ms for a person with 10,000 rows in a month). From here on it reads
-- public.expense_daily_totals: at most one row per day and category the person spent in,
-- kept by triggers on public.expenses, so a month is at most 31 x 11 rows whatever the
-- number of expenses.
--
-- Who writes the rollup: only the triggers. Signed-in users may read their own rows and
-- nothing else (select policy only, no insert/update/delete grant): a total they could edit
-- would disagree with their expenses. The trigger functions are therefore SECURITY DEFINER,
-- as add_saving_to_month is (20261121001800_savings_integrity.sql): they run as the table's
-- owner because the user whose write fires them may not write the rollup. They are safe
-- because they only apply the change the firing statement made to public.expenses, read from
-- the statement's own transition tables: those hold exactly the rows that statement
-- inserted, updated or deleted, which row level security on expenses has already limited to
-- the caller's own rows (user_id = auth.uid() on read, insert and update; a row failing the
-- policy aborts the statement before any AFTER trigger). They take no argument, pin
-- search_path = '' (every name schema-qualified), and no API role may execute them.
--
-- Statement-level triggers with transition tables, not row-level: one grouped upsert per
-- statement, so a bulk insert or COPY of n rows costs one pass over the rows touching each
-- (user, day, category) once. Measured on single-row inserts, each its own transaction as a
-- user (interleaved over three databases, 3,000 each, medians): 1.76 ms with this insert
-- trigger, 1.72 ms with a row-level one, 1.60 ms with none (4.32 / 4.58 / 4.12 ms in a run
-- on a busier machine): a row-level trigger is no cheaper for one row and far dearer for many.
-- Rows whose count reaches 0 are deleted, so every row is a non-empty group.
--
-- Concurrent writers: every write adds a change (total = total + excluded.total) under the
-- row's lock, never reads then writes, so two transactions adding to the same day and
-- category both count; the rows a statement touches are locked in (user_id, day, category)
-- order so two statements touching the same keys cannot deadlock. A group emptied by a
-- delete reaches count 0 and is deleted by the next statement in the same trigger call.
--
-- Re-runnable: create ... if not exists, create or replace, drop ... if exists, idempotent
-- grants; the backfill rebuilds the rollup from public.expenses while writes to expenses
-- wait.

create table if not exists public.expense_daily_totals (
  user_id uuid not null references auth.users (id) on delete cascade,
  day date not null,
  category text not null,
  total numeric not null check (total >= 0),
  count bigint not null check (count >= 0),
  primary key (user_id, day, category),
  -- The same rules as every other number and date (20261130000200_sane_numbers_and_dates.sql),
  -- for the only writers there are: the triggers below and the owner's maintenance (a
  -- backfill, a repair by hand). No API role, the service role included, may write it.
  constraint expense_daily_totals_total_finite check (total not in ('NaN', 'Infinity', '-Infinity')),
  constraint expense_daily_totals_day_in_range
    check (isfinite(day) and day >= '2000-01-01' and day < '2100-01-01')
);

alter table public.expense_daily_totals enable row level security;

-- Read-only for people: select to authenticated (and the service role, for admin reads);
-- Supabase's default privileges would otherwise grant everything to every API role.
revoke all on table public.expense_daily_totals from public, anon, authenticated, service_role;
grant select on table public.expense_daily_totals to authenticated, service_role;

drop policy if exists "Users can read their own daily spending totals" on public.expense_daily_totals;
create policy "Users can read their own daily spending totals" on public.expense_daily_totals
  for select to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.expense_daily_totals is
  'own: spending per user, day and category (total, count of expenses); read-only for users, kept by triggers on expenses';

-- ---------------------------------------------------------------------------
-- Update and delete: the net change per key. A trigger with transition tables may name one
-- event only, so the update and delete triggers share this function; inserts have their own
-- one-statement function below.
-- ---------------------------------------------------------------------------
create or replace function public.roll_up_expenses()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  -- The rows the statement changed, as (user, day, category, amount, count): + each new row,
  -- - each old row. A delete has no new_rows, and a query naming a transition table the
  -- trigger lacks fails to plan, so the source is chosen here and run with EXECUTE (which
  -- sees the transition tables too); the fixed text leaves nothing to inject. Planning it
  -- each time costs little on these rarer writes (inserts have their own function): on a
  -- busy 2-core machine, +0.4 ms per statement in a loop of 2,000 updates in one
  -- transaction; with each update its own transaction (pgbench, 5 x 1,500, interleaved with
  -- the static-query version) below the noise, median latency 3.8 ms against 4.0 ms.
  v_changes text := case tg_op
    when 'UPDATE' then
      'select n.user_id, n.spent_on, n.category, n.amount, 1 from new_rows as n '
      'union all select o.user_id, o.spent_on, o.category, -o.amount, -1 from old_rows as o'
    else
      'select o.user_id, o.spent_on, o.category, -o.amount, -1 from old_rows as o'
  end;
  -- The statement's change per (user, day, category), in key order. Arrays, not a temporary
  -- table: no catalog work per write.
  v_users uuid[];
  v_days date[];
  v_categories text[];
  v_totals numeric[];
  v_counts bigint[];
begin
  -- A change that nets to zero (an update that moves nothing, or only edits the note) is dropped.
  execute format(
    'select array_agg(d.user_id order by d.user_id, d.day, d.category),
            array_agg(d.day order by d.user_id, d.day, d.category),
            array_agg(d.category order by d.user_id, d.day, d.category),
            array_agg(d.total order by d.user_id, d.day, d.category),
            array_agg(d.count order by d.user_id, d.day, d.category)
       from (select c.user_id, c.day, c.category, sum(c.total) as total, sum(c.count)::bigint as count
               from (%s) as c(user_id, day, category, total, count)
              group by 1, 2, 3
             having sum(c.total) <> 0 or sum(c.count) <> 0) as d', v_changes)
    into v_users, v_days, v_categories, v_totals, v_counts;
  if v_users is null then
    return null;
  end if;

  -- Lock the existing rows first, in key order, so two statements touching the same keys
  -- (say, one moving an expense from A to B and another from B to A) cannot deadlock.
  perform 1
     from public.expense_daily_totals as t
     join unnest(v_users, v_days, v_categories) as k(user_id, day, category)
       on t.user_id = k.user_id and t.day = k.day and t.category = k.category
    order by t.user_id, t.day, t.category
      for update of t;

  -- Groups that gain expenses: add the change, creating the row for a group's first expense.
  insert into public.expense_daily_totals as t (user_id, day, category, total, count)
  select d.user_id, d.day, d.category, d.total, d.count
    from unnest(v_users, v_days, v_categories, v_totals, v_counts) as d(user_id, day, category, total, count)
   where d.count > 0
   order by d.user_id, d.day, d.category
  on conflict (user_id, day, category)
  do update set total = t.total + excluded.total, count = t.count + excluded.count;

  -- Groups that lose expenses (or only change amount): the row exists, unless the user is
  -- being deleted and auth.users' cascade removed it first; then there is nothing to do.
  update public.expense_daily_totals as t
     set total = t.total + d.total, count = t.count + d.count
    from unnest(v_users, v_days, v_categories, v_totals, v_counts) as d(user_id, day, category, total, count)
   where d.count <= 0
     and t.user_id = d.user_id and t.day = d.day and t.category = d.category;

  -- A group left without expenses goes (a separate statement: it must see the update).
  delete from public.expense_daily_totals as t
   using unnest(v_users, v_days, v_categories, v_counts) as d(user_id, day, category, count)
   where d.count < 0
     and t.user_id = d.user_id and t.day = d.day and t.category = d.category
     and t.count = 0;
  return null;
end;
$$;

revoke all on function public.roll_up_expenses() from public, anon, authenticated, service_role;

-- Inserts, the hot path (log_expense, the app's "add expense"), only ever add: one grouped
-- upsert in key order, nothing else. Measured on a busy machine: a general change-set
-- function like the one above cost a single-row insert about 1.8 ms more than no trigger;
-- this one 0.2 ms.
create or replace function public.roll_up_inserted_expenses()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.expense_daily_totals as t (user_id, day, category, total, count)
  select n.user_id, n.spent_on, n.category, sum(n.amount), count(*)
    from new_rows as n
   group by n.user_id, n.spent_on, n.category
   order by n.user_id, n.spent_on, n.category
  on conflict (user_id, day, category)
  do update set total = t.total + excluded.total, count = t.count + excluded.count;
  return null;
end;
$$;

revoke all on function public.roll_up_inserted_expenses() from public, anon, authenticated, service_role;

drop trigger if exists roll_up_inserted_expenses on public.expenses;
create trigger roll_up_inserted_expenses after insert on public.expenses
  referencing new table as new_rows
  for each statement execute function public.roll_up_inserted_expenses();

drop trigger if exists roll_up_updated_expenses on public.expenses;
create trigger roll_up_updated_expenses after update on public.expenses
  referencing old table as old_rows new table as new_rows
  for each statement execute function public.roll_up_expenses();

drop trigger if exists roll_up_deleted_expenses on public.expenses;
create trigger roll_up_deleted_expenses after delete on public.expenses
  referencing old table as old_rows
  for each statement execute function public.roll_up_expenses();

-- TRUNCATE (the owner's and the service role's only) empties the rollup with the expenses.
create or replace function public.clear_expense_rollup()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from public.expense_daily_totals;
  return null;
end;
$$;

revoke all on function public.clear_expense_rollup() from public, anon, authenticated, service_role;

drop trigger if exists clear_expense_rollup on public.expenses;
create trigger clear_expense_rollup after truncate on public.expenses
  for each statement execute function public.clear_expense_rollup();

-- Backfill: rebuild from every existing expense, with writes to expenses waiting (reads
-- go on) so none is counted twice or missed. One DO block, so the lock and the rebuild are
-- one transaction even where a runner sends each statement on its own (the Supabase CLI
-- does: a bare LOCK TABLE fails there with 25P01).
do $$
begin
  lock table public.expenses in share row exclusive mode;
  delete from public.expense_daily_totals;
  insert into public.expense_daily_totals (user_id, day, category, total, count)
  select e.user_id, e.spent_on, e.category, sum(e.amount), count(*)
    from public.expenses as e
   group by 1, 2, 3;
end;
$$;

-- ---------------------------------------------------------------------------
-- public.expense_summary, redefined to read the rollup: same signature, same results
-- (key, total, count): 'none' always one row (0, 0 when nothing matched); the other
-- groupings one row per non-empty group, ordered by key. The cost follows the number of
-- days and categories in the range, not the number of expenses.
-- ---------------------------------------------------------------------------
create or replace function public.expense_summary(
  p_start date,
  p_end date,
  p_categories text[] default null,
  p_group_by text default 'category'
)
returns table (key text, total numeric, count bigint)
language plpgsql
stable
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_uid uuid := (select auth.uid());
begin
  if p_group_by is null or p_group_by not in ('category', 'month', 'week', 'day', 'none') then
    raise exception 'expense_summary: unknown grouping %', p_group_by
      using errcode = '22023', hint = 'Use category, month, week, day or none.';
  end if;
  if p_group_by = 'none' then
    return query
      select null::text, coalesce(sum(t.total), 0)::numeric, coalesce(sum(t.count), 0)::bigint
        from public.expense_daily_totals as t
       where t.user_id = v_uid and t.day between p_start and p_end
         and (p_categories is null or t.category = any (p_categories));
    return;
  end if;
  return query
    select g.key, sum(g.total)::numeric, sum(g.count)::bigint
      from (
        select case p_group_by
                 when 'category' then t.category
                 when 'month' then to_char(t.day, 'YYYY-MM')
                 when 'week' then to_char(date_trunc('week', t.day), 'YYYY-MM-DD')
                 else to_char(t.day, 'YYYY-MM-DD')
               end as key,
               t.total,
               t.count
          from public.expense_daily_totals as t
         where t.user_id = v_uid and t.day between p_start and p_end
           and (p_categories is null or t.category = any (p_categories))
      ) as g
     group by g.key
     order by g.key;
end;
$$;

comment on function public.expense_summary(date, date, text[], text) is
  'Spending totals (key, total, count) for auth.uid() between p_start and p_end, grouped by category, month, week, day or none; read from expense_daily_totals.';

revoke execute on function public.expense_summary(date, date, text[], text) from public, anon, service_role;
grant execute on function public.expense_summary(date, date, text[], text) to authenticated;
