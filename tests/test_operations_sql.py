"""Every operation function (public.pam_*) has the shape migrations/20261201000100_operations.sql
promises: it runs as the caller (SECURITY INVOKER, so row level security decides), pins its
search_path, returns one jsonb value, and only a signed-in person may call it (not anon, not
PUBLIC, not the service role). Every one the stores call exists, and every one that exists
is called.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from pam_mcp.store import operations
from pam_mcp.store.postgres import Database

pytestmark = pytest.mark.anyio

# Called by the operations, not by the stores: the person's today, zone and local times.
HELPERS = {"pam_today", "pam_zone", "pam_local_time"}
TOOLS_DIR = Path(operations.__file__).parents[1] / "tools"


async def test_every_operation_runs_as_the_caller_with_a_pinned_search_path_and_only_for_signed_in_people(
    db: Database,
) -> None:
    async with db.as_owner() as tx:
        rows = await tx.fetch(
            """
            select p.proname, p.prosecdef, p.proconfig, format_type(p.prorettype, null) as returns,
                   has_function_privilege('anon', p.oid, 'execute') as anon,
                   has_function_privilege('service_role', p.oid, 'execute') as service_role,
                   has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
                   exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                            where a.grantee = 0 and a.privilege_type = 'EXECUTE') as public
              from pg_proc p
             where p.pronamespace = 'public'::regnamespace and p.proname like 'pam\\_%' and p.proname <> 'pam_limit'
            """
        )
    assert len(rows) > 20
    wrong = [
        r["proname"]
        for r in rows
        if r["prosecdef"]
        or 'search_path=""' not in (r["proconfig"] or [])
        or r["anon"]
        or r["service_role"]
        or r["public"]
        or not r["authenticated"]
        or (r["returns"] != "jsonb" and r["proname"] not in HELPERS)
    ]
    assert wrong == []


async def test_the_stores_call_every_operation_and_only_those(db: Database) -> None:
    # The store contract's operations, and those capabilities call through Store.call.
    sources = [inspect.getsource(operations), *(f.read_text(encoding="utf-8") for f in TOOLS_DIR.glob("*.py"))]
    called = {name for source in sources for name in re.findall(r'"(pam_(?!mcp_)[a-z_]+)"', source)}
    async with db.as_owner() as tx:
        defined = {
            r[0]
            for r in await tx.fetch(
                "select proname from pg_proc where pronamespace = 'public'::regnamespace"
                " and proname like 'pam\\_%' and proname <> 'pam_limit'"
            )
        }
    assert called == defined - HELPERS
