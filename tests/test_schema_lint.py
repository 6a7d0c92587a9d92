"""The schema is clean under Supabase's database linter rules, and the lint catches breakage."""

from __future__ import annotations

import pytest

from pam_mcp.store.lint import lint
from pam_mcp.store.postgres import Database

pytestmark = pytest.mark.anyio


async def test_the_migrated_schema_has_no_lint_problems(db: Database) -> None:
    async with db.as_owner() as tx:
        problems = await lint(tx)
    assert problems == []


class _Rollback(Exception):
    pass


@pytest.mark.parametrize(
    ("ddl", "rule"),
    [
        ("create table public.lint_probe (id int)", "rls_disabled_in_public"),
        (
            "create table public.lint_probe (id int); alter table public.lint_probe enable row level security",
            "rls_enabled_no_policy",
        ),
        (
            "create table public.lint_probe (id int, user_id uuid);"
            " alter table public.lint_probe enable row level security;"
            " create policy p on public.lint_probe for select to authenticated using (auth.uid() = user_id)",
            "auth_rls_initplan",
        ),
        (
            "create table public.lint_probe (id int); alter table public.lint_probe enable row level security;"
            " create policy p1 on public.lint_probe for select to authenticated using (true);"
            " create policy p2 on public.lint_probe for all to authenticated using (true)",
            "multiple_permissive_policies",
        ),
        (
            "create table public.lint_probe (id int); alter table public.lint_probe enable row level security;"
            " create policy p on public.lint_probe for select using (true)",
            "policy_for_public",
        ),
        (
            "create table public.lint_probe (id int, trip uuid references public.trips(id));"
            " alter table public.lint_probe enable row level security;"
            " create policy p on public.lint_probe for select to authenticated using (true)",
            "unindexed_foreign_keys",
        ),
        ("create view public.lint_probe as select 1 as x", "security_definer_view"),
        (
            "create table public.lint_probe (id int); alter table public.lint_probe enable row level security;"
            " create policy p on public.lint_probe for select to authenticated using (true);"
            " comment on table public.lint_probe is 'no class here'",
            "missing_access_class",
        ),
    ],
)
async def test_the_lint_reports_each_broken_rule(db: Database, ddl: str, rule: str) -> None:
    found: list[str] = []
    with pytest.raises(_Rollback):
        async with db.as_owner() as tx:
            await tx.execute(ddl)
            found = [p.rule for p in await lint(tx) if p.table.endswith("lint_probe")]
            raise _Rollback
    assert rule in found
