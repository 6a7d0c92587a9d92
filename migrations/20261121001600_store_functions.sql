-- Store functions: PAM's multi-statement operations as SQL functions, so that each is one
-- round trip and one transaction for both stores (the Postgres store calls them over its
-- connection; the Supabase REST store calls them as POST /rest/v1/rpc/<name>).
--
-- Every function here is SECURITY INVOKER (row level security decides, exactly as for the
-- caller's own statements), pins search_path = '' (every name is schema-qualified), acts
-- for auth.uid() only, and is executable by `authenticated` only.
--
-- "Not found" and "too large" are results, not errors: a function returns no row, or a
-- row that says why nothing was written, so each store words the error itself and no
-- PostgreSQL message text has to be parsed or passed on.
--
-- Re-runnable: create or replace, and idempotent grants.

-- ---------------------------------------------------------------------------
-- public.expense_summary: spending totals for auth.uid() between two dates (inclusive),
-- optionally only some categories, grouped by category | month | week | day | none.
-- 'none' always returns exactly one row (total 0, count 0 when nothing matched); the other
-- groupings return one row per non-empty group, ordered by key. Reads through the
-- (user_id, spent_on) index, so the cost follows this user's matching rows.
-- ---------------------------------------------------------------------------
create or replace function public.expense_summary(
  p_start date,
  p_end date,
  p_categories text[] default null,
  p_group_by text default 'category'
)
returns table (key text, total numeric, count bigint)
language plpgsql
stable
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_uid uuid := (select auth.uid());
begin
  if p_group_by is null or p_group_by not in ('category', 'month', 'week', 'day', 'none') then
    raise exception 'expense_summary: unknown grouping %', p_group_by
      using errcode = '22023', hint = 'Use category, month, week, day or none.';
  end if;
  if p_group_by = 'none' then
    return query
      select null::text, coalesce(sum(e.amount), 0)::numeric, count(*)
        from public.expenses as e
       where e.user_id = v_uid and e.spent_on between p_start and p_end
         and (p_categories is null or e.category = any (p_categories));
    return;
  end if;
  return query
    select g.key, sum(g.amount)::numeric, count(*)
      from (
        select case p_group_by
                 when 'category' then e.category
                 when 'month' then to_char(e.spent_on, 'YYYY-MM')
                 when 'week' then to_char(date_trunc('week', e.spent_on), 'YYYY-MM-DD')
                 else to_char(e.spent_on, 'YYYY-MM-DD')
               end as key,
               e.amount
          from public.expenses as e
         where e.user_id = v_uid and e.spent_on between p_start and p_end
           and (p_categories is null or e.category = any (p_categories))
      ) as g
     group by g.key
     order by g.key;
end;
$$;

comment on function public.expense_summary(date, date, text[], text) is
  'Spending totals (key, total, count) for auth.uid() between p_start and p_end, grouped by category, month, week, day or none.';

revoke execute on function public.expense_summary(date, date, text[], text) from public, anon, service_role;
grant execute on function public.expense_summary(date, date, text[], text) to authenticated;

-- ---------------------------------------------------------------------------
-- public.merge_session_context: merge p_facts into a session's context and drop the keys in
-- p_remove; a new session when p_session_id is null. The session row is locked while it is
-- read and written, so two concurrent merges cannot lose each other's keys.
--   * no row at all: the session does not exist or is not the caller's;
--   * stored = false: the merged context would exceed p_max_bytes (size_bytes says how big);
--     nothing was written;
--   * stored = true: the row as written.
-- size_bytes is the length in bytes of the context as PostgreSQL stores it (jsonb text).
-- ---------------------------------------------------------------------------
create or replace function public.merge_session_context(
  p_session_id uuid,
  p_facts jsonb,
  p_remove text[],
  p_max_bytes integer
)
returns table (id uuid, context jsonb, updated_at timestamptz, size_bytes integer, stored boolean)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_current jsonb := '{}'::jsonb;
  v_merged jsonb;
  v_size integer;
begin
  if p_session_id is not null then
    select s.context into v_current
      from public.pam_sessions as s
     where s.id = p_session_id
       for update;
    if not found then
      return;
    end if;
  end if;
  v_merged := (v_current || coalesce(p_facts, '{}'::jsonb)) - coalesce(p_remove, '{}'::text[]);
  v_size := octet_length(v_merged::text);
  if v_size > p_max_bytes then
    return query select p_session_id, null::jsonb, null::timestamptz, v_size, false;
    return;
  end if;
  if p_session_id is null then
    return query
      insert into public.pam_sessions as s (context) values (v_merged)
      returning s.id, s.context, s.updated_at, v_size, true;
  else
    return query
      update public.pam_sessions as s set context = v_merged
       where s.id = p_session_id
      returning s.id, s.context, s.updated_at, v_size, true;
  end if;
end;
$$;

comment on function public.merge_session_context(uuid, jsonb, text[], integer) is
  'Merges facts into (and removes keys from) a PAM session context of auth.uid(), or starts a session; refuses contexts over p_max_bytes.';

revoke execute on function public.merge_session_context(uuid, jsonb, text[], integer) from public, anon, service_role;
grant execute on function public.merge_session_context(uuid, jsonb, text[], integer) to authenticated;

-- ---------------------------------------------------------------------------
-- public.log_pam_message: add a message to one of the caller's sessions and mark the
-- session as used (updated_at). No row when the session does not exist or is not theirs.
-- ---------------------------------------------------------------------------
create or replace function public.log_pam_message(
  p_session_id uuid,
  p_role text,
  p_content text,
  p_metadata jsonb default '{}'::jsonb
)
returns table (id uuid, session_id uuid, role text, content text, created_at timestamptz)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
begin
  -- Touching the session first both checks that it is the caller's (RLS hides it
  -- otherwise) and records that it was used.
  update public.pam_sessions as s set updated_at = now() where s.id = p_session_id;
  if not found then
    return;
  end if;
  return query
    insert into public.pam_messages as m (session_id, role, content, metadata)
    values (p_session_id, p_role, p_content, coalesce(p_metadata, '{}'::jsonb))
    returning m.id, m.session_id, m.role, m.content, m.created_at;
end;
$$;

comment on function public.log_pam_message(uuid, text, text, jsonb) is
  'Adds a message to a PAM session of auth.uid() and bumps the session''s updated_at; no row when the session is not theirs.';

revoke execute on function public.log_pam_message(uuid, text, text, jsonb) from public, anon, service_role;
grant execute on function public.log_pam_message(uuid, text, text, jsonb) to authenticated;

-- ---------------------------------------------------------------------------
-- public.set_safety_level: set the caller's guardrail level; returns the level it replaced
-- (null when none was set, which means the default, 'medium').
-- ---------------------------------------------------------------------------
create or replace function public.set_safety_level(p_level text)
returns text
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_previous text;
begin
  select g.safety_level::text into v_previous
    from public.pam_guardrails_config as g
   where g.user_id = (select auth.uid())
     for update;
  insert into public.pam_guardrails_config as g (safety_level)
  values (p_level::public.safety_level)
  on conflict (user_id) do update set safety_level = excluded.safety_level;
  return v_previous;
end;
$$;

comment on function public.set_safety_level(text) is
  'Sets the guardrail level (low, medium, high) of auth.uid(); returns the previous level or null.';

revoke execute on function public.set_safety_level(text) from public, anon, service_role;
grant execute on function public.set_safety_level(text) to authenticated;

-- ---------------------------------------------------------------------------
-- public.describe_schema: the tables and views of schema public with their comments (which
-- start with the access class) and columns, for the pam://schema resource. The catalog is
-- readable by every role; this exposes no row of anyone's data.
-- ---------------------------------------------------------------------------
create or replace function public.describe_schema()
returns table (name text, comment text, columns json)
language sql
stable
security invoker
set search_path = ''
as $$
  select c.relname::text,
         coalesce(pg_catalog.obj_description(c.oid, 'pg_class'), ''),
         pg_catalog.json_agg(pg_catalog.json_build_object(
           'name', a.attname,
           'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
           'nullable', not a.attnotnull) order by a.attnum)
    from pg_catalog.pg_class as c
    join pg_catalog.pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v')
   group by c.oid, c.relname
   order by c.relname;
$$;

comment on function public.describe_schema() is
  'Tables and views of schema public: name, comment (access class: description) and columns.';

revoke execute on function public.describe_schema() from public, anon, service_role;
grant execute on function public.describe_schema() to authenticated;
