-- Income: log money received (work camping, hustles, a pension...), and cash flow over a range.
--
-- public.income_entries (20261121000700_finance.sql) keeps what was received. It gains
-- client_ref, an optional idempotency key unique per person (NULLs never conflict), so a
-- retried log_income counts once, as log_expense does. Its `source` holds the kind of income
-- pam-mcp records (work_camping, hustle, pension, salary, refund, other; the app may write
-- free text there) and `category` the app's coarser class of it.
--
-- Cash flow is income minus spending per calendar month of a range: income from
-- income_entries through its (user_id, received_on) index, spending from the rollup
-- public.expense_daily_totals.
--
-- Re-runnable: add column if not exists, drop/add constraint, create or replace, idempotent grants.

alter table public.income_entries add column if not exists client_ref text;
alter table public.income_entries drop constraint if exists income_entries_client_ref_length;
alter table public.income_entries add constraint income_entries_client_ref_length
  check (client_ref is null or char_length(client_ref) between 1 and 200);
alter table public.income_entries drop constraint if exists income_entries_description_cap;
alter table public.income_entries add constraint income_entries_description_cap
  check (description is null or char_length(description) <= 500) not valid;  -- rows written before keep theirs
do $$
begin
  begin
    alter table public.income_entries validate constraint income_entries_description_cap;
  exception when check_violation then
    raise notice 'income_entries_description_cap stays NOT VALID: existing rows are over the cap (new rows are held to it)';
  end;
  if not exists (select 1 from pg_catalog.pg_constraint
                  where conname = 'income_entries_user_id_client_ref_key'
                    and conrelid = 'public.income_entries'::pg_catalog.regclass) then
    alter table public.income_entries add constraint income_entries_user_id_client_ref_key unique (user_id, client_ref);
  end if;
end;
$$;

comment on column public.income_entries.client_ref is
  'Optional idempotency key from the client: a retry with the same key records the income once.';

-- ---------------------------------------------------------------------------
-- log_income
-- ---------------------------------------------------------------------------
create or replace function public.pam_log_income(
  p_amount numeric, p_source text, p_description text, p_received_on date, p_client_ref text, p_now timestamptz
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
  v_received_on date := coalesce(p_received_on, v_day.today);
  v_income jsonb;
  v_duplicate boolean := false;
  v_month date;
begin
  if p_amount is null or p_amount = 'NaN' or p_amount <= 0 or p_amount > 1000000
     or p_amount <> pg_catalog.round(p_amount, 2) then
    raise exception 'amount must be above 0 and at most 1000000, with up to 2 decimals' using errcode = 'PAM01';
  end if;
  if p_source is null or p_source not in ('work_camping', 'hustle', 'pension', 'salary', 'refund', 'other') then
    raise exception 'source must be one of work_camping, hustle, pension, salary, refund, other' using errcode = 'PAM01';
  end if;
  if v_received_on > v_day.today + 1 then
    raise exception 'received_on is in the future; log income when it arrives (YYYY-MM-DD, today or earlier)'
      using errcode = 'PAM01';
  end if;
  if v_received_on < '2000-01-01' then
    raise exception 'received_on must be 2000-01-01 or later (YYYY-MM-DD)' using errcode = 'PAM01';
  end if;
  insert into public.income_entries as i (amount, source, category, description, received_on, client_ref)
  values (p_amount, p_source,
          case p_source when 'work_camping' then 'work' when 'salary' then 'work' else p_source end,
          p_description, v_received_on, p_client_ref)
  on conflict (user_id, client_ref) do nothing
  returning pg_catalog.jsonb_build_object('id', i.id, 'amount', i.amount, 'source', i.source,
    'description', i.description, 'received_on', i.received_on)
  into v_income;
  if v_income is null then
    -- Only a non-null client_ref can conflict: the income recorded by the first try.
    v_duplicate := true;
    select pg_catalog.jsonb_build_object('id', i.id, 'amount', i.amount, 'source', i.source,
             'description', i.description, 'received_on', i.received_on)
      into v_income
      from public.income_entries as i
     where i.user_id = v_uid and i.client_ref = p_client_ref;
  end if;
  v_month := date_trunc('month', (v_income ->> 'received_on')::date)::date;
  return pg_catalog.jsonb_build_object(
    'id', v_income ->> 'id', 'income', v_income, 'duplicate', v_duplicate,
    'month_income', (select coalesce(pg_catalog.sum(i.amount), 0.00) from public.income_entries as i
                      where i.user_id = v_uid and i.received_on >= v_month
                        and i.received_on < v_month + interval '1 month'),
    'currency', (select p.currency from public.profiles as p where p.id = v_uid),
    'today', v_day.today, 'refused_zone', v_day.refused_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- cash_flow: income and spending per calendar month of [start, end].
-- Default start: the 1st of the person's current month. Default end: the later of the last
-- day of start's month and of the current month, at most 3 x 366 days after start.
-- ---------------------------------------------------------------------------
create or replace function public.pam_cash_flow(p_start date, p_end date, p_now timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_day record := public.pam_today(p_now);
  v_start date := coalesce(p_start, date_trunc('month', v_day.today)::date);
  v_end date := p_end;
begin
  if v_end is null then
    v_end := least(greatest((date_trunc('month', v_start) + interval '1 month - 1 day')::date,
                            (date_trunc('month', v_day.today) + interval '1 month - 1 day')::date),
                   v_start + 3 * 366);
  end if;
  if v_end < v_start then
    raise exception 'end is before start; give start and end as YYYY-MM-DD with start first' using errcode = 'PAM01';
  end if;
  if v_end - v_start > 3 * 366 then
    raise exception 'the range from start to end is longer than % days; ask for a shorter period', 3 * 366
      using errcode = 'PAM01';
  end if;
  if v_start < '2000-01-01' or v_end >= '2100-01-01' then
    raise exception 'start and end must fall from 2000-01-01 to 2099-12-31 (YYYY-MM-DD)' using errcode = 'PAM01';
  end if;
  return pg_catalog.jsonb_build_object(
    'start', v_start, 'end', v_end, 'today', v_day.today, 'refused_zone', v_day.refused_zone,
    'currency', (select p.currency from public.profiles as p where p.id = v_uid),
    'months', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'month', pg_catalog.to_char(m.first, 'YYYY-MM'),
               'income', coalesce((select pg_catalog.sum(i.amount) from public.income_entries as i
                                    where i.user_id = v_uid
                                      and i.received_on between greatest(m.first, v_start) and least(m.last, v_end)),
                                  0.00),
               'spending', coalesce((select pg_catalog.sum(t.total) from public.expense_daily_totals as t
                                      where t.user_id = v_uid
                                        and t.day between greatest(m.first, v_start) and least(m.last, v_end)),
                                    0.00))
             order by m.first)
        from (select g::date as first, (g + interval '1 month - 1 day')::date as last
                from pg_catalog.generate_series(date_trunc('month', v_start::timestamp), v_end::timestamp, interval '1 month') as g) as m));
end;
$$;

comment on function public.pam_log_income(numeric, text, text, date, text, timestamptz) is
  'Records income of auth.uid() (default date: the person''s today; client_ref counts a retry once); returns it and its month''s income.';
comment on function public.pam_cash_flow(date, date, timestamptz) is
  'Income and spending of auth.uid() per calendar month of a range (default: the person''s current month; at most 3 x 366 days).';

revoke all on function public.pam_log_income(numeric, text, text, date, text, timestamptz) from public, anon, service_role;
grant execute on function public.pam_log_income(numeric, text, text, date, text, timestamptz) to authenticated;
revoke all on function public.pam_cash_flow(date, date, timestamptz) from public, anon, service_role;
grant execute on function public.pam_cash_flow(date, date, timestamptz) to authenticated;
