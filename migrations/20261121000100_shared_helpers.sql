-- Shared helpers used by every later migration.
--
-- public.set_updated_at(): the BEFORE UPDATE trigger function that keeps every table's
-- updated_at current. search_path is pinned to '' (Supabase linter: function_search_path_mutable).
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

create or replace function public.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

comment on function public.set_updated_at() is
  'Trigger function: sets updated_at = now() on every UPDATE.';

-- Only triggers call it (EXECUTE is checked when a trigger is created, not when it fires),
-- so nobody needs to call it directly through the API.
revoke execute on function public.set_updated_at() from public, anon, authenticated;
grant execute on function public.set_updated_at() to service_role;
