-- Budgets: set or remove a monthly budget per category; a month's budgets against what was spent.
--
-- public.budgets (20261121000700_finance.sql) holds one limit per person and category; the
-- limits and the category domain are its CHECKs. What was spent comes from the rollup
-- public.expense_daily_totals (20261130000900), so a month costs at most 31 x 11 rows.
--
-- Re-runnable: create or replace, idempotent grants.

-- Sets (p_monthly_limit) or removes (null) the budget of one category; returns what it was and
-- what it is now, so a change is never silent.
create or replace function public.pam_set_budget(p_category text, p_monthly_limit numeric)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_category public.expense_category;
  v_previous numeric;
  v_current numeric;
begin
  begin
    v_category := p_category;
  exception when check_violation or not_null_violation then
    raise exception 'category must be one of fuel, food, campground, maintenance, entertainment, propane, utilities, shopping, insurance, registration, other'
      using errcode = 'PAM01';
  end;
  if v_category is null then
    raise exception 'category is required: one of fuel, food, campground, maintenance, entertainment, propane, utilities, shopping, insurance, registration, other'
      using errcode = 'PAM01';
  end if;
  if p_monthly_limit is not null
     and (p_monthly_limit = 'NaN' or p_monthly_limit <= 0 or p_monthly_limit > 1000000
          or p_monthly_limit <> pg_catalog.round(p_monthly_limit, 2)) then
    raise exception 'monthly_limit must be above 0 and at most 1000000, with up to 2 decimals (or null to remove the budget)'
      using errcode = 'PAM01';
  end if;

  select b.monthly_limit into v_previous
    from public.budgets as b where b.user_id = v_uid and b.category = v_category for update;
  if p_monthly_limit is null then
    delete from public.budgets as b where b.user_id = v_uid and b.category = v_category;
  else
    insert into public.budgets as b (category, monthly_limit) values (v_category, p_monthly_limit)
    on conflict (user_id, category) do update set monthly_limit = excluded.monthly_limit
    returning b.monthly_limit into v_current;
  end if;
  return pg_catalog.jsonb_build_object('category', v_category::text, 'previous', v_previous, 'current', v_current);
end;
$$;

-- Every budget of the person with what they spent in its category in one month (default: the
-- person's current month), their currency and today.
create or replace function public.pam_list_budgets(p_month date, p_now timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_day record := public.pam_today(p_now);
  v_month date := date_trunc('month', coalesce(p_month, v_day.today))::date;
  v_end date;
begin
  if v_month < '2000-01-01' or v_month >= '2100-01-01' then
    raise exception 'month must be from 2000-01 to 2099-12 (YYYY-MM)' using errcode = 'PAM01';
  end if;
  v_end := (v_month + interval '1 month - 1 day')::date;
  return pg_catalog.jsonb_build_object(
    'month', v_month, 'end', v_end, 'today', v_day.today, 'refused_zone', v_day.refused_zone,
    'currency', (select p.currency from public.profiles as p where p.id = v_uid),
    'budgets', coalesce((
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'category', b.category, 'monthly_limit', b.monthly_limit,
               'spent', coalesce((select pg_catalog.sum(t.total) from public.expense_daily_totals as t
                                   where t.user_id = v_uid and t.category = b.category
                                     and t.day between v_month and v_end), 0.00))
             order by b.category)
        from public.budgets as b where b.user_id = v_uid
    ), '[]'::jsonb));
end;
$$;

comment on function public.pam_set_budget(text, numeric) is
  'Sets (or with null removes) auth.uid()''s monthly budget for a category; returns the previous and current limit.';
comment on function public.pam_list_budgets(date, timestamptz) is
  'Every budget of auth.uid() with the spending of one month (default: the person''s current month) and their currency.';

revoke all on function public.pam_set_budget(text, numeric) from public, anon, service_role;
grant execute on function public.pam_set_budget(text, numeric) to authenticated;
revoke all on function public.pam_list_budgets(date, timestamptz) from public, anon, service_role;
grant execute on function public.pam_list_budgets(date, timestamptz) to authenticated;
