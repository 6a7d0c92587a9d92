-- Corrections: change or delete an expense, change or delete a trip. Each is one SQL function
-- (the shape of 20261201000100_operations.sql) that returns what was there before and what is
-- there after (or what was deleted), so nothing is ever overwritten silently; null when the
-- person has no such row (row level security makes another person's id look the same).
--
-- Spending totals follow by themselves: the statement-level triggers on public.expenses
-- (20261130000900_expense_daily_totals.sql) move an updated expense's amount between days and
-- categories and take a deleted one out. A deleted trip's expenses stay, unlinked: the
-- foreign key expenses_trip_fkey is ON DELETE SET NULL (trip_id).
--
-- Re-runnable: create or replace, idempotent grants.

-- One expense as the correction tools show it (the same fields as log_expense's answer).
create or replace function public.expense_document(p_expense public.expenses)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'id', (p_expense).id, 'amount', (p_expense).amount, 'category', (p_expense).category,
    'description', (p_expense).description, 'spent_on', (p_expense).spent_on, 'trip_id', (p_expense).trip_id)
$$;

comment on function public.expense_document(public.expenses) is
  'One expense as the correction tools answer it.';

-- One trip as the correction tools show it: times in zone p_zone, the route counted.
create or replace function public.trip_document(p_trip public.trips, p_zone text)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'trip_id', (p_trip).id, 'title', (p_trip).title,
    'started_at', public.pam_local_time((p_trip).started_at, p_zone),
    'ended_at', public.pam_local_time((p_trip).ended_at, p_zone),
    'notes', (p_trip).notes, 'distance_km', (p_trip).distance_km,
    'stop_count', pg_catalog.jsonb_array_length((p_trip).stops),
    'route_points', pg_catalog.jsonb_array_length((p_trip).route))
$$;

comment on function public.trip_document(public.trips, text) is
  'One trip as the correction tools answer it: times in zone p_zone, stops and route points counted.';

-- ---------------------------------------------------------------------------
-- correct_expense: the fields given change, those in p_clear (description, trip_id) are
-- removed, the rest stay. The same date rule as log_expense: not after the person's tomorrow.
-- ---------------------------------------------------------------------------
create or replace function public.pam_correct_expense(
  p_expense_id uuid, p_amount numeric, p_category text, p_description text, p_spent_on date, p_trip_id uuid,
  p_clear text[], p_now timestamptz
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_clear text[] := coalesce(p_clear, '{}');
  v_old public.expenses;
  v_new public.expenses;
begin
  if p_spent_on is not null and p_spent_on > (public.pam_today(p_now)).today + 1 then
    raise exception 'spent_on is in the future; an expense is dated the day it was spent (YYYY-MM-DD)'
      using errcode = 'PAM01';
  end if;
  if p_description is not null and 'description' = any (v_clear) then
    raise exception 'description is both given and in clear; do one or the other' using errcode = 'PAM01';
  end if;
  if p_trip_id is not null and 'trip_id' = any (v_clear) then
    raise exception 'trip_id is both given and in clear; do one or the other' using errcode = 'PAM01';
  end if;
  select e.* into v_old from public.expenses as e where e.id = p_expense_id for update;
  if v_old.id is null then
    return null;
  end if;
  update public.expenses as e
     set amount = coalesce(p_amount, e.amount),
         category = coalesce(p_category, e.category),
         description = case when 'description' = any (v_clear) then null else coalesce(p_description, e.description) end,
         spent_on = coalesce(p_spent_on, e.spent_on),
         trip_id = case when 'trip_id' = any (v_clear) then null else coalesce(p_trip_id, e.trip_id) end
   where e.id = v_old.id
  returning e.* into v_new;
  return pg_catalog.jsonb_build_object(
    'id', v_new.id, 'before', public.expense_document(v_old), 'after', public.expense_document(v_new));
end;
$$;

-- ---------------------------------------------------------------------------
-- delete_expense: the expense as it was. Null: no such expense of the person's.
-- ---------------------------------------------------------------------------
create or replace function public.pam_delete_expense(p_expense_id uuid)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_old public.expenses;
begin
  delete from public.expenses as e where e.id = p_expense_id returning e.* into v_old;
  if v_old.id is null then
    return null;
  end if;
  return pg_catalog.jsonb_build_object('id', v_old.id, 'deleted', public.expense_document(v_old));
end;
$$;

-- ---------------------------------------------------------------------------
-- update_trip: title, end and notes (p_clear: title, ended_at, notes removed; a cleared end
-- puts the trip back under way). The end is not before the start (trips_ended_after_started
-- holds it too).
-- ---------------------------------------------------------------------------
create or replace function public.pam_update_trip(
  p_trip_id uuid, p_title text, p_ended_at timestamptz, p_notes text, p_clear text[]
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_zone text := public.pam_zone();
  v_clear text[] := coalesce(p_clear, '{}');
  v_old public.trips;
  v_new public.trips;
begin
  if p_ended_at is not null and 'ended_at' = any (v_clear) then
    raise exception 'ended_at is both given and in clear; do one or the other' using errcode = 'PAM01';
  end if;
  if p_ended_at is not null and (p_ended_at < timestamptz '2000-01-01 00:00+00'
                                 or p_ended_at >= timestamptz '2100-01-01 00:00+00') then
    raise exception 'ended_at must fall between 2000-01-01 and 2099-12-31 (ISO 8601 with offset)' using errcode = 'PAM01';
  end if;
  select t.* into v_old from public.trips as t where t.id = p_trip_id for update;
  if v_old.id is null then
    return null;
  end if;
  if p_ended_at < v_old.started_at then
    raise exception 'ended_at is before the trip started (%)', public.pam_local_time(v_old.started_at, v_zone)
      using errcode = 'PAM01';
  end if;
  update public.trips as t
     set title = case when 'title' = any (v_clear) then null else coalesce(p_title, t.title) end,
         ended_at = case when 'ended_at' = any (v_clear) then null else coalesce(p_ended_at, t.ended_at) end,
         notes = case when 'notes' = any (v_clear) then null else coalesce(p_notes, t.notes) end
   where t.id = v_old.id
  returning t.* into v_new;
  return pg_catalog.jsonb_build_object(
    'id', v_new.id, 'before', public.trip_document(v_old, v_zone), 'after', public.trip_document(v_new, v_zone));
end;
$$;

-- ---------------------------------------------------------------------------
-- delete_trip: the trip as it was and how many of its expenses were unlinked (they stay).
-- ---------------------------------------------------------------------------
create or replace function public.pam_delete_trip(p_trip_id uuid)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_zone text := public.pam_zone();
  v_old public.trips;
  v_linked bigint;
begin
  -- Counted before the delete: ON DELETE SET NULL unlinks them within it.
  select pg_catalog.count(*) into v_linked
    from public.expenses as e where e.user_id = (select auth.uid()) and e.trip_id = p_trip_id;
  delete from public.trips as t where t.id = p_trip_id returning t.* into v_old;
  if v_old.id is null then
    return null;
  end if;
  return pg_catalog.jsonb_build_object(
    'id', v_old.id, 'deleted', public.trip_document(v_old, v_zone), 'expenses_unlinked', v_linked);
end;
$$;

comment on function public.pam_correct_expense(uuid, numeric, text, text, date, uuid, text[], timestamptz) is
  'Corrects one expense of auth.uid() (spending totals follow by trigger); returns it before and after, or null when there is no such expense.';
comment on function public.pam_delete_expense(uuid) is
  'Deletes one expense of auth.uid(); returns it as it was, or null when there is no such expense.';
comment on function public.pam_update_trip(uuid, text, timestamptz, text, text[]) is
  'Changes the title, end or notes of one trip of auth.uid(); returns it before and after, or null when there is no such trip.';
comment on function public.pam_delete_trip(uuid) is
  'Deletes one trip of auth.uid(), its expenses kept unlinked; returns it as it was and how many expenses were unlinked, or null.';

revoke all on function public.expense_document(public.expenses), public.trip_document(public.trips, text),
  public.pam_correct_expense(uuid, numeric, text, text, date, uuid, text[], timestamptz),
  public.pam_delete_expense(uuid),
  public.pam_update_trip(uuid, text, timestamptz, text, text[]),
  public.pam_delete_trip(uuid)
  from public, anon, service_role;
grant execute on function public.expense_document(public.expenses), public.trip_document(public.trips, text),
  public.pam_correct_expense(uuid, numeric, text, text, date, uuid, text[], timestamptz),
  public.pam_delete_expense(uuid),
  public.pam_update_trip(uuid, text, timestamptz, text, text[]),
  public.pam_delete_trip(uuid)
  to authenticated;
