-- The spending dashboard's overview (MCP App ui://pam/spending) as one operation: the range
-- (default the person's month), their currency, totals by category, the budgets, and the trend
-- by day (ranges up to 62 days), week (up to 400) or month — one transaction, read from the
-- per person/day/category rollup (expense_daily_totals) through expense_summary.
--
-- Re-runnable: create or replace, idempotent grants.

create or replace function public.pam_spending_overview(p_start date, p_end date, p_categories text[], p_now timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_report jsonb := public.pam_expense_report(p_start, p_end, p_categories, 'category', null, null, null, p_now);
  v_start date := (v_report->>'start')::date;
  v_end date := (v_report->>'end')::date;
  v_trend_by text := case when v_end - v_start + 1 <= 62 then 'day'
                          when v_end - v_start + 1 <= 400 then 'week'
                          else 'month' end;
begin
  return v_report || pg_catalog.jsonb_build_object(
    'currency', coalesce((select p.currency from public.profiles as p where p.id = (select auth.uid())), 'AUD'),
    'trend_by', v_trend_by,
    'trend', coalesce((
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('key', g.key, 'total', g.total, 'count', g.count)
                                  order by g.key)
        from public.expense_summary(v_start, v_end, p_categories, v_trend_by) as g
       where g.count > 0
    ), '[]'::jsonb));
end;
$$;

comment on function public.pam_spending_overview(date, date, text[], timestamptz) is
  'The spending dashboard in one read: pam_expense_report by category, the person''s currency, and the trend by day, week or month.';

revoke all on function public.pam_spending_overview(date, date, text[], timestamptz) from public, anon, service_role;
grant execute on function public.pam_spending_overview(date, date, text[], timestamptz) to authenticated;
