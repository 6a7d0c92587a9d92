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
-- The tables are read from the catalog. A table created later gets the trigger from its
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

do $$
declare
  t record;
begin
  for t in
    select c.oid::regclass as tbl
      from pg_catalog.pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
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
