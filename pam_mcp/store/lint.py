"""Schema checks after Supabase's database linter: the rules that keep RLS doing its job.

Used by the test suite (which fails on any problem) and meant for ``pam-mcp doctor``.
Each rule is one catalog query over schema ``public``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pam_mcp.store.postgres import UserTx

ACCESS_CLASSES = ("own", "shared_read", "community", "service_only")


@dataclass(frozen=True)
class Problem:
    rule: str
    table: str
    detail: str


_RULES: dict[str, str] = {
    # Supabase lint 0013: a table in an exposed schema without RLS is open to every API key.
    "rls_disabled_in_public": """
        select c.relname as table, 'row level security is off' as detail
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity""",
    # Supabase lint 0008: RLS on but no policy means the table silently returns nothing.
    "rls_enabled_no_policy": """
        select c.relname, 'row level security is on but no policy exists'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relrowsecurity
          and not exists (select 1 from pg_policy p where p.polrelid = c.oid)""",
    # Supabase lint 0003: auth.uid() unwrapped is re-evaluated per row and defeats indexes.
    "auth_rls_initplan": """
        select tablename, 'policy "' || policyname || '" calls auth functions without (select ...)'
        from pg_policies
        where schemaname = 'public'
          and (regexp_replace(coalesce(qual, '') || ' ' || coalesce(with_check, ''),
                              '\\(\\s*SELECT\\s+auth\\.\\w+\\(\\)', '', 'gi') ~* 'auth\\.\\w+\\(\\)')""",
    # Supabase lint 0006: two permissive policies for one role and action are both evaluated.
    "multiple_permissive_policies": """
        with expanded as (
          select p.tablename, r.role, a.action, p.policyname
          from pg_policies p
          cross join lateral unnest(p.roles) as r(role)
          cross join lateral unnest(case when p.cmd = 'ALL'
                                    then array['SELECT', 'INSERT', 'UPDATE', 'DELETE']
                                    else array[p.cmd] end) as a(action)
          where p.schemaname = 'public' and p.permissive = 'PERMISSIVE')
        select tablename, role || ' ' || action || ': ' || string_agg(policyname, ', ')
        from expanded group by tablename, role, action having count(*) > 1""",
    # Our rule: policies name their role; a policy for PUBLIC also applies to anon.
    "policy_for_public": """
        select tablename, 'policy "' || policyname || '" applies to every role'
        from pg_policies where schemaname = 'public' and roles = '{public}'""",
    # Supabase lint 0001: a foreign key without a covering index makes deletes scan. As
    # splinter decides it: covered only when the key's columns, in the key's order, are the
    # leading columns of one valid index (an index on (user_id, trip_id) does not cover a key
    # on (trip_id, user_id)). indkey lists key then INCLUDE columns, as splinter reads it;
    # as int2[] it is 0-based, and a slice is 1-based, as conkey is, so `=` compares in order.
    "unindexed_foreign_keys": """
        select c.conrelid::regclass::text,
               'foreign key ' || c.conname || ' (' || (
                 select string_agg(a.attname, ', ' order by k.ord)
                 from unnest(c.conkey) with ordinality as k(attnum, ord)
                 join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
               ) || ') is not the leading columns, in order, of any valid index'
        from pg_constraint c join pg_namespace n on n.oid = c.connamespace
        where c.contype = 'f' and n.nspname = 'public'
          and not exists (
            select 1 from pg_index i
            where i.indrelid = c.conrelid and i.indisvalid
              and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)""",
    # Supabase lint 0010: a view without security_invoker runs as its owner, bypassing RLS.
    "security_definer_view": """
        select c.relname, 'view does not say security_invoker = true'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'v'
          and not coalesce(c.reloptions @> array['security_invoker=true'], false)""",
    # Our rule: every table states its access class in its comment (README, schema resource).
    "missing_access_class": """
        select c.relname, 'comment does not start with an access class'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p')
          and coalesce(split_part(obj_description(c.oid, 'pg_class'), ':', 1), '')
              not in ('own', 'shared_read', 'community', 'service_only')""",
}


async def lint(tx: UserTx) -> list[Problem]:
    """Every problem found in schema ``public``; empty when the schema is clean."""
    problems: list[Problem] = []
    for rule, sql in _RULES.items():
        for row in await tx.fetch(sql):
            problems.append(Problem(rule, str(row[0]), str(row[1])))
    return problems
