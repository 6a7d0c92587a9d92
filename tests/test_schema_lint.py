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


# Supabase's linter (splinter, rule 0001): a foreign key is covered only when its columns, in
# its order, lead one valid index. A probe table with a key on (trip, owner) -> trips (id, user_id).
_COMPOSITE_FKEY = (
    "create table public.lint_probe (id int, owner uuid, trip uuid, noted_at timestamptz,"
    " constraint lint_probe_trip_fkey foreign key (trip, owner) references public.trips (id, user_id));"
    " alter table public.lint_probe enable row level security;"
    " create policy p on public.lint_probe for select to authenticated using (true);"
    " comment on table public.lint_probe is 'own: probe';"
)


async def _fkey_problems(db: Database, ddl: str) -> list[str]:
    found: list[str] = []
    with pytest.raises(_Rollback):
        async with db.as_owner() as tx:
            await tx.execute(_COMPOSITE_FKEY + ddl)
            found = [p.detail for p in await lint(tx) if p.table.endswith("lint_probe")]
            raise _Rollback
    return found


@pytest.mark.parametrize(
    "ddl",
    [
        pytest.param("create index on public.lint_probe (owner, trip)", id="the same columns in the other order"),
        pytest.param("create index on public.lint_probe (owner, trip, noted_at)", id="led by the other column"),
        pytest.param("create index on public.lint_probe (trip)", id="only the first column"),
        pytest.param("create index on public.lint_probe (trip, noted_at, owner)", id="not adjacent"),
        pytest.param(
            "create index lint_probe_idx on public.lint_probe (trip, owner);"
            " update pg_catalog.pg_index set indisvalid = false where indexrelid = 'public.lint_probe_idx'::regclass",
            id="an invalid index (a failed create index concurrently)",
        ),
    ],
)
async def test_a_foreign_key_whose_columns_do_not_lead_one_valid_index_in_order_is_reported(
    db: Database, ddl: str
) -> None:
    assert await _fkey_problems(db, ddl) == [
        "foreign key lint_probe_trip_fkey (trip, owner) is not the leading columns, in order, of any valid index"
    ]


@pytest.mark.parametrize(
    "ddl",
    [
        "create index on public.lint_probe (trip, owner)",
        "create index on public.lint_probe (trip, owner, noted_at desc)",
        "create unique index on public.lint_probe (trip, owner, id)",
    ],
)
async def test_an_index_led_by_the_foreign_key_columns_in_order_covers_it(db: Database, ddl: str) -> None:
    assert await _fkey_problems(db, ddl) == []
