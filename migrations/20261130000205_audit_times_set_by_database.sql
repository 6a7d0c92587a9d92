-- Audit times are set by the database, never by the writer.
--
-- Through Supabase's REST API anyone could insert a safety event or a saving with a
-- created_at of their choosing (last year, or 2099), and the audit trail would lie about
-- when it was written. From here on, in every table with created_at and updated_at, for
-- the API roles (authenticated, anon: every request through Supabase's API or pam-mcp):
--   * on INSERT both are now(), whatever the row said;
--   * on UPDATE created_at keeps its old value (set_updated_at already sets updated_at).
-- The service role and the schema owner keep what they write: back-office imports and
-- corrections may need to carry the original times, and neither role acts for a person.
--
-- The tables are pam-mcp's own, read from the catalog. A table created later gets the trigger from its
-- own migration (tests/test_database_invariants.py fails when one has not).
--
-- Re-runnable: create or replace, drop trigger if exists.

create or replace function public.keep_audit_times()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- current_user is the role the request runs as (this function is SECURITY INVOKER).
  if current_user not in ('authenticated', 'anon') then
    return new;
  end if;
  if tg_op = 'INSERT' then
    new.created_at := now();
    new.updated_at := now();
  else
    new.created_at := old.created_at;
  end if;
  return new;
end;
$$;

comment on function public.keep_audit_times() is
  'Trigger function: for the API roles, created_at and updated_at are now() on INSERT and created_at never changes on UPDATE.';

-- Only triggers call it (EXECUTE is checked when a trigger is created, not when it fires).
revoke execute on function public.keep_audit_times() from public, anon, authenticated;
grant execute on function public.keep_audit_times() to service_role;

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

do $$
declare
  t record;
begin
  for t in
    select c.oid::regclass as tbl
      from pg_catalog.pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
       and c.relname = any (pg_temp.pam_mcp_tables())
       and exists (select 1 from pg_catalog.pg_attribute a
                    where a.attrelid = c.oid and a.attname = 'created_at' and not a.attisdropped)
       and exists (select 1 from pg_catalog.pg_attribute a
                    where a.attrelid = c.oid and a.attname = 'updated_at' and not a.attisdropped)
     order by c.relname
  loop
    -- Named to fire before set_updated_at (triggers fire in name order).
    execute format('drop trigger if exists keep_audit_times on %s', t.tbl);
    execute format(
      'create trigger keep_audit_times before insert or update on %s '
      'for each row execute function public.keep_audit_times()', t.tbl);
  end loop;
end
$$;

drop function pg_temp.pam_mcp_tables();
