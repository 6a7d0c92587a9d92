-- Sane numbers and dates in every table, enforced by the database.
--
-- People write every table through Supabase's REST API without pam-mcp, so these are CHECK
-- constraints, not Python checks:
--
--   * Every numeric and floating-point column rejects NaN, and ±Infinity where the type can
--     hold it. NaN passes `amount > 0` (PostgreSQL sorts 'NaN' above every number) and one
--     NaN makes every sum over it NaN for ever: a single 'NaN' saving poisoned its month's
--     total in pam_savings, and record_saving, get_context and pam://savings then failed
--     for that person. The columns are read from the catalog (every numeric, real and
--     double precision column of pam-mcp's tables), not listed by hand.
--   * Money per row is at most 1,000,000, the same bound as the tools' `Money` argument
--     (pam_mcp/tools/common.py): no single expense, income, saving, budget, fill-up, repair
--     or product price of a person on the road comes near it, so a bigger value is a typo or
--     a forgery, and the bound keeps sums far from numeric(12,2)'s 10^10 ceiling (pam_savings
--     totals are kept by a trigger, and an overflow there would block the month).
--   * Every date and timestamptz column holds a finite value from 2000-01-01 to before
--     2100-01-01: 'infinity' and year 9999 are refused everywhere.
--   * Dates of things that already happened (a saving, an expense, income, a fill-up, a
--     service) are at most two days past today in UTC. The tools allow "today in the
--     person's time zone, plus one day"; the widest zone is UTC+14, hence two days. Savings
--     dated 2099 would otherwise sit in a month nobody has reached. The bound moves only
--     forward with time, so a row valid when written stays valid.
--   * A trip starts at most a year ahead (a trip is driven or under way; a year covers a
--     trip logged ahead by mistake without letting a date decades away in).
--
-- Rows that already break a rule: the migration fails, in one transaction, naming the table,
-- the rule, how many rows break it and the query that lists them. Nothing is changed
-- silently: NaN money cannot be repaired by guessing, and deleting a person's rows is a
-- decision for whoever runs the project (with the service role), after which this file
-- runs again. (NOT VALID would leave a poisoned total in place: every later update of that
-- row would fail the new check, so the person would still be stuck.)
--
-- Re-runnable: each constraint is added only when missing; the helper is a temporary
-- function (pg_temp), gone when the session ends, so nothing is exposed through the API.

create or replace function pg_temp.add_rule(p_table regclass, p_name text, p_check text)
returns void
language plpgsql
as $$
declare
  v_bad bigint;
begin
  if exists (select 1 from pg_catalog.pg_constraint where conrelid = p_table and conname = p_name) then
    return;
  end if;
  execute format('select count(*) from %s where not (%s)', p_table, p_check) into v_bad;
  if v_bad > 0 then
    raise exception '% row(s) of % break the rule % (%)', v_bad, p_table, p_name, p_check
      using errcode = '23514',
            hint = format('List them with: select * from %s where not (%s); correct or delete them '
                          '(as the service role), then run this migration again.', p_table, p_check);
  end if;
  execute format('alter table %s add constraint %I check (%s)', p_table, p_name, p_check);
end;
$$;

-- pam-mcp's own tables (those its migrations create, up to this file). The loops below touch
-- only these: a Supabase project may keep tables of its own in public, and their rules are
-- not pam-mcp's to change. A table added later carries its rules in its own migration.
create or replace function pg_temp.pam_mcp_tables()
returns text[]
language sql
immutable
as $$
  select
      '{active_recommendations,admin_users,affiliate_sales,analytics_daily,analytics_summary,
        audio_cache,budget_categories,budgets,calendar_events,camping_locations,chat_sessions,
        expenses,fuel_log,fuel_stations,group_memberships,hustle_ideas,income_entries,local_events,
        maintenance_records,pam_analytics_logs,pam_conversation_memory,pam_conversation_sessions,
        pam_guardrails_config,pam_memory,pam_messages,pam_savings,pam_savings_events,pam_sessions,
        pam_test_data,pam_user_context,profiles,safety_events,shop_orders,shop_products,
        social_groups,social_posts,trips,user_active_sessions,user_hustle_attempts,youtube_hustles}'::text[]
$$;

-- 1. No NaN or Infinity in any numeric or floating-point column.
do $$
declare
  col record;
  specials text;
begin
  for col in
    select c.oid::regclass as tbl, c.relname, a.attname, a.atttypid::regtype::text as kind
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_class c on c.oid = a.attrelid
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
       and c.relname = any (pg_temp.pam_mcp_tables())
       and a.attnum > 0 and not a.attisdropped
       and a.atttypid in ('numeric'::regtype, 'real'::regtype, 'double precision'::regtype)
     order by c.relname, a.attnum
  loop
    -- numeric holds ±Infinity only from PostgreSQL 14 on (and never with a declared precision);
    -- the literal 'Infinity'::numeric does not parse before 14.
    specials := case
      when col.kind <> 'numeric' or current_setting('server_version_num')::int >= 140000
        then '''NaN'', ''Infinity'', ''-Infinity'''
      else '''NaN'''
    end;
    perform pg_temp.add_rule(
      col.tbl,
      left(format('%s_%s_finite', col.relname, col.attname), 63),
      format('%I not in (%s)', col.attname, specials)
    );
  end loop;
end
$$;

-- 2. Money per row: at most 1,000,000 (see above). earned_total is a running total over
-- months of a hustle, so it gets a hundred times that.
do $$
declare
  r record;
begin
  for r in
    select * from (values
      ('public.expenses', 'amount', 1000000),
      ('public.income_entries', 'amount', 1000000),
      ('public.pam_savings_events', 'amount', 1000000),
      ('public.budgets', 'monthly_limit', 1000000),
      ('public.fuel_log', 'total_cost', 1000000),
      ('public.maintenance_records', 'cost', 1000000),
      ('public.shop_products', 'price', 1000000),
      ('public.camping_locations', 'price_per_night', 1000000),
      ('public.hustle_ideas', 'startup_cost', 1000000),
      ('public.hustle_ideas', 'est_monthly_income', 1000000),
      ('public.affiliate_sales', 'sale_amount', 1000000),
      ('public.affiliate_sales', 'commission', 1000000),
      ('public.user_hustle_attempts', 'earned_total', 100000000)
    ) as v(tbl, col, maximum)
  loop
    perform pg_temp.add_rule(
      r.tbl::regclass,
      format('%s_%s_at_most', split_part(r.tbl, '.', 2), r.col),
      format('%I <= %s', r.col, r.maximum)
    );
  end loop;
end
$$;

-- A fill-up is at most 2,000 litres: the biggest coach and truck tanks hold well under that.
select pg_temp.add_rule('public.fuel_log', 'fuel_log_liters_at_most', 'liters <= 2000');

-- 3. Every date and timestamp: finite, from 2000 to before 2100.
do $$
declare
  col record;
  low text;
  high text;
begin
  for col in
    select c.oid::regclass as tbl, c.relname, a.attname, a.atttypid::regtype::text as kind
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_class c on c.oid = a.attrelid
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
       and c.relname = any (pg_temp.pam_mcp_tables())
       and a.attnum > 0 and not a.attisdropped
       and a.atttypid in ('date'::regtype, 'timestamp with time zone'::regtype,
                          'timestamp without time zone'::regtype)
     order by c.relname, a.attnum
  loop
    -- Bounds typed like the column, written in UTC, so the rule does not depend on the
    -- session's TimeZone.
    low := case col.kind when 'timestamp with time zone' then '''2000-01-01 00:00:00+00''' else '''2000-01-01''' end;
    high := case col.kind when 'timestamp with time zone' then '''2100-01-01 00:00:00+00''' else '''2100-01-01''' end;
    perform pg_temp.add_rule(
      col.tbl,
      left(format('%s_%s_in_range', col.relname, col.attname), 63),
      format('isfinite(%1$I) and %1$I >= %2$s and %1$I < %3$s', col.attname, low, high)
    );
  end loop;
end
$$;

-- 4. Things that already happened are not dated after tomorrow anywhere on Earth.
do $$
declare
  r record;
begin
  for r in
    select * from (values
      ('public.pam_savings_events', 'saved_on'),
      ('public.pam_savings', 'month'),
      ('public.expenses', 'spent_on'),
      ('public.income_entries', 'received_on'),
      ('public.fuel_log', 'filled_on'),
      ('public.maintenance_records', 'performed_on')
    ) as v(tbl, col)
  loop
    perform pg_temp.add_rule(
      r.tbl::regclass,
      format('%s_%s_not_ahead', split_part(r.tbl, '.', 2), r.col),
      format('%I <= (now() at time zone ''UTC'')::date + 2', r.col)
    );
  end loop;
end
$$;

select pg_temp.add_rule(
  'public.trips', 'trips_started_at_not_ahead', 'started_at <= now() + interval ''1 year'''
);

drop function pg_temp.add_rule(regclass, text, text);
drop function pg_temp.pam_mcp_tables();
