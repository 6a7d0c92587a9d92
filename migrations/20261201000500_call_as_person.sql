-- One round trip per call, still as the person: pam_internal.call_as(person, operation, arguments).
--
-- Database.as_user acts for a person in an open transaction: BEGIN with
-- set_config('role', 'authenticated', true) and set_config('request.jwt.claims', ..., true),
-- the statement, COMMIT -- three round trips. call_as does the same in ONE statement, which is
-- its own transaction: it sets the same two settings transaction-locally, exactly as PostgREST
-- does behind Supabase's API, and then calls public.<operation>(named arguments). From the
-- set_config on, current_user is `authenticated` and auth.uid() is the person, so row level
-- security decides what the operation may touch, as it does for as_user and for POST /rpc/<name>.
-- The security review is docs/security-call-as-person.md. In short:
--
--   * NOT security definer: it runs as whoever calls it, and only the server's login role may
--     (the schema and the function are revoked from PUBLIC, anon, authenticated and
--     service_role; the owner -- the role that ran the migrations, the login role -- keeps
--     EXECUTE as owner). Switching to `authenticated` needs the session user to be a member
--     of it, which the login role already must be for as_user.
--   * It can only LOWER privilege: role `authenticated` and claims naming the given person.
--     Who the person is comes from the server (the transport's verified identity).
--   * It calls only an operation a person could call through Supabase's API themselves: a
--     function in schema public, not a procedure or trigger, that `authenticated` may
--     EXECUTE, that is NOT security definer, that has no overload, and that the same role
--     owns as this wrapper (the migrations' own functions: code that runs with the login
--     role as session user must be the project's reviewed code, never a function some other
--     role managed to create in public).
--   * No SQL injection: the operation's name and the argument names are looked up in the
--     catalog and spliced only with format('%I'); argument values are bound ($1), never text
--     of the statement. An unknown operation or argument name is refused with 42883.
--
-- Arguments: one JSON object, keys = the function's parameter names (p_...), values read by
-- jsonb_to_record into the parameters' own types (numbers given as strings keep every digit).
-- A parameter left out takes its default. Result: the function's value as jsonb (a jsonb
-- function's value as is); a set-returning function's rows as an array of objects.
--
-- Re-runnable: create ... if not exists, create or replace, idempotent grants and revokes.

create schema if not exists pam_internal;

comment on schema pam_internal is
  'pam-mcp server internals: never exposed through the API; usable by the login role (the owner) only.';

revoke all on schema pam_internal from public, anon, authenticated, service_role;
-- Functions created here later start closed too (PostgreSQL grants EXECUTE to PUBLIC by default).
alter default privileges in schema pam_internal revoke execute on functions from public;

create or replace function pam_internal.call_as(p_user uuid, p_function text, p_args jsonb default '{}')
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_sql text;
  v_result jsonb;
  -- Who called, restored after the operation: inside an enclosing transaction (never how
  -- pam-mcp calls it: one autocommit statement), nothing after it may run as the person.
  v_role text := pg_catalog.current_setting('role');
  v_claims text := pg_catalog.current_setting('request.jwt.claims', true);
begin
  -- EXECUTE is revoked from these roles; this refuses even after a mistaken grant.
  if current_user in ('anon', 'authenticated', 'service_role') then
    raise exception 'call_as: only the server''s login role may act for a person' using errcode = '42501';
  end if;
  if p_user is null or p_args is null or pg_catalog.jsonb_typeof(p_args) <> 'object' then
    raise exception 'call_as: a person and one JSON object of arguments are needed' using errcode = '42883';
  end if;

  -- The allow-list and the statement, in one catalog query read as the login role (pg_proc is
  -- readable by every role). Each key of p_args must be an input parameter of the function;
  -- names come from the catalog (keys are compared with them, never spliced) and are quoted
  -- with %I; types come from format_type. The values stay in p_args, bound as $1.
  select pg_catalog.format(
           case when p.proretset
                then 'select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(f.f)), ''[]'')'
                     ' from (select public.%I(%s) as f %s) as f'
                else 'select pg_catalog.to_jsonb(public.%I(%s)) %s' end,
           p.proname,
           coalesce(a.call, ''),
           case when a.cols is null then ''
                else pg_catalog.format('from pg_catalog.jsonb_to_record($1) as r(%s)', a.cols) end)
    into v_sql
    from pg_catalog.pg_proc as p
    cross join lateral (
      select pg_catalog.string_agg(pg_catalog.format('%I %s', k.key, pg_catalog.format_type(t.type, -1)), ', ') as cols,
             pg_catalog.string_agg(pg_catalog.format('%I => r.%I', k.key, k.key), ', ') as call,
             pg_catalog.count(*) filter (where t.type is null) as unknown
        from pg_catalog.jsonb_object_keys(p_args) as k(key)
        left join rows from (
                    pg_catalog.unnest(p.proargnames),
                    pg_catalog.unnest(coalesce(p.proallargtypes,
                                               pg_catalog.string_to_array(p.proargtypes::text, ' ')::oid[])),
                    pg_catalog.unnest(p.proargmodes)) as t(name, type, mode)
               on t.name = k.key and coalesce(t.mode, 'i') in ('i', 'b')
    ) as a
   where p.pronamespace = 'public'::pg_catalog.regnamespace
     and p.proname = p_function
     and p.prokind = 'f'
     and not p.prosecdef
     and p.prorettype not in ('pg_catalog.trigger'::pg_catalog.regtype, 'pg_catalog.event_trigger'::pg_catalog.regtype)
     and p.proowner = (select w.proowner from pg_catalog.pg_proc as w
                        where w.oid = 'pam_internal.call_as(uuid, text, jsonb)'::pg_catalog.regprocedure)
     and a.unknown = 0
     and not exists (select from pg_catalog.pg_proc as o
                      where o.pronamespace = p.pronamespace and o.proname = p.proname and o.oid <> p.oid);
  if v_sql is null then
    raise exception 'call_as: % is not an operation a person may call, or it takes no argument named %',
      pg_catalog.quote_literal(p_function),
      (select pg_catalog.string_agg(k, ', ') from pg_catalog.jsonb_object_keys(p_args) as k)
      using errcode = '42883';
  end if;

  -- From here to the operation's end: the person, as PostgREST would set them. Whether
  -- `authenticated` may EXECUTE the function, PostgreSQL checks now, as that role.
  perform pg_catalog.set_config('role', 'authenticated', true);
  perform pg_catalog.set_config(
    'request.jwt.claims',
    pg_catalog.jsonb_build_object('sub', p_user, 'role', 'authenticated', 'aud', 'authenticated')::text,
    true);
  execute v_sql into v_result using p_args;
  -- SET ROLE is checked against the session user (the login role), so it may switch back.
  perform pg_catalog.set_config('role', v_role, true);
  perform pg_catalog.set_config('request.jwt.claims', coalesce(v_claims, ''), true);
  return v_result;
end;
$$;

comment on function pam_internal.call_as(uuid, text, jsonb) is
  'Calls public.<p_function>(named p_args) as role authenticated with claims for p_user, in one statement. '
  'Not security definer; executable by the owner (the server''s login role) only. '
  'See docs/security-call-as-person.md.';

revoke all on function pam_internal.call_as(uuid, text, jsonb) from public, anon, authenticated, service_role;
