-- Supabase stand-in for a plain PostgreSQL (local development, CI, the embedded server).
--
-- Applied ONLY when the database has no Supabase auth schema
-- (the runner checks `to_regclass('auth.users') is null` first). Never run it on a real
-- Supabase project: there, everything below already exists and is owned by Supabase.
--
-- It reproduces exactly what the migrations and the server rely on:
--   * the API roles anon / authenticated / service_role (service_role bypasses RLS);
--   * auth.users and the auth.uid() / auth.role() / auth.email() / auth.jwt() helpers,
--     defined as Supabase defines them (they read the request.jwt.* settings that
--     PostgREST -- and pam-mcp -- set transaction-locally);
--   * Supabase's grants on schema public, including its default privileges.
--
-- Re-runnable: every statement checks first or is idempotent.

-- ---------------------------------------------------------------------------
-- API roles
-- ---------------------------------------------------------------------------
do $$
declare
  can_bypassrls boolean;
begin
  select r.rolsuper or r.rolbypassrls into can_bypassrls
    from pg_catalog.pg_roles r where r.rolname = current_user;

  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    if can_bypassrls then
      create role service_role nologin noinherit bypassrls;
    else
      -- Only a superuser (or, on PG16+, a role that itself has BYPASSRLS) may hand out
      -- BYPASSRLS. Without it the service_only policies still let service_role in.
      create role service_role nologin noinherit;
      raise warning 'service_role created without BYPASSRLS: run this file as a superuser to match Supabase';
    end if;
  end if;
end
$$;

-- Let the pooled login switch to the API roles with set_config('role', ..., true),
-- as PostgREST's authenticator does. A superuser can already SET ROLE to anything, but an
-- explicit membership keeps the setup identical whichever login runs the server.
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (
      select 1
        from pg_catalog.pg_auth_members m
        join pg_catalog.pg_roles g on g.oid = m.roleid
        join pg_catalog.pg_roles u on u.oid = m.member
       where g.rolname = r and u.rolname = current_user
    ) then
      begin
        execute format('grant %I to %I', r, current_user);
      exception when others then
        raise notice 'could not grant % to %: % (a superuser can SET ROLE anyway)', r, current_user, sqlerrm;
      end;
    end if;
  end loop;
end
$$;

-- ---------------------------------------------------------------------------
-- Supabase's grants on schema public
-- ---------------------------------------------------------------------------
-- Supabase grants everything to the API roles by default and relies on RLS (and each
-- migration's explicit revoke/grant) to narrow it. Reproduce that, so a migration that
-- forgets its revoke fails the same way here as on Supabase.
grant usage on schema public to anon, authenticated, service_role;

alter default privileges in schema public grant all on tables    to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

-- The same for objects that already exist -- but only on the first run (before auth.users
-- exists), as Supabase does once at project creation. A re-run after the migrations must
-- not undo their per-table revokes.
do $$
begin
  if to_regclass('auth.users') is null then
    grant all on all tables    in schema public to anon, authenticated, service_role;
    grant all on all sequences in schema public to anon, authenticated, service_role;
    grant all on all functions in schema public to anon, authenticated, service_role;
  end if;
end
$$;

-- ---------------------------------------------------------------------------
-- auth schema and auth.users
-- ---------------------------------------------------------------------------
create schema if not exists auth;

create table if not exists auth.users (
  id                 uuid primary key default gen_random_uuid(),
  email              text unique,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  role               text default 'authenticated',
  aud                text default 'authenticated',
  created_at         timestamptz default now(),
  updated_at         timestamptz default now()
);

-- As on Supabase: the API roles get nothing on auth.users.
revoke all on table auth.users from anon, authenticated;

-- ---------------------------------------------------------------------------
-- auth helpers, as Supabase defines them
-- ---------------------------------------------------------------------------
create or replace function auth.uid()
returns uuid
language sql stable
as $$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$$;

create or replace function auth.role()
returns text
language sql stable
as $$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.role', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$$;

create or replace function auth.email()
returns text
language sql stable
as $$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.email', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$$;

create or replace function auth.jwt()
returns jsonb
language sql stable
as $$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;
