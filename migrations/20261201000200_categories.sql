-- Categories defined once: a domain per list, used by every column that holds one.
--
-- The expense categories (11, the app's) were written out in three CHECK constraints
-- (expenses, budgets, and the rollup read them unchecked) and the saving categories in one;
-- pam-mcp's Python repeats each list as a Literal. From here on each list is one domain:
--   * public.expense_category: expenses.category, budgets.category, expense_daily_totals.category;
--   * public.saving_category: pam_savings_events.category.
-- The safety levels already are one type, the enum public.safety_level
-- (20261121000600_guardrails_and_safety.sql). tests/test_categories.py checks that pam-mcp's
-- Literals list exactly the values of these domains and that enum, in order.
--
-- The columns keep type text underneath (a domain over text), so PostgREST, the functions and
-- every query see text as before; the old per-table CHECK constraints are dropped, the
-- domain's own check now refuses the same values.
--
-- Re-runnable: the domains are created only when missing, the column changes and the
-- constraint drops are no-ops the second time.

do $$
begin
  if not exists (select 1 from pg_catalog.pg_type as t join pg_catalog.pg_namespace as n on n.oid = t.typnamespace
                  where n.nspname = 'public' and t.typname = 'expense_category') then
    create domain public.expense_category as text
      constraint expense_category_known check (value in (
        'fuel', 'food', 'campground', 'maintenance', 'entertainment', 'propane', 'utilities', 'shopping',
        'insurance', 'registration', 'other'));
  end if;
  if not exists (select 1 from pg_catalog.pg_type as t join pg_catalog.pg_namespace as n on n.oid = t.typnamespace
                  where n.nspname = 'public' and t.typname = 'saving_category') then
    create domain public.saving_category as text
      constraint saving_category_known check (value in ('fuel', 'campground', 'food', 'route', 'maintenance', 'other'));
  end if;
end;
$$;

comment on domain public.expense_category is
  'The app''s expense categories (expenses, budgets, spending totals); pam-mcp''s ExpenseCategory lists the same.';
comment on domain public.saving_category is
  'What a saving PAM found came from; pam-mcp''s SavingCategory lists the same.';

-- The inline CHECK constraints of 20261121000700_finance.sql and 20261121000500_savings.sql,
-- by the names PostgreSQL gave them.
alter table public.expenses drop constraint if exists expenses_category_check;
alter table public.budgets drop constraint if exists budgets_category_check;
alter table public.pam_savings_events drop constraint if exists pam_savings_events_category_check;

alter table public.expenses alter column category type public.expense_category;
alter table public.budgets alter column category type public.expense_category;
alter table public.expense_daily_totals alter column category type public.expense_category;
alter table public.pam_savings_events alter column category type public.saving_category;
