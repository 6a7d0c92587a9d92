"""The spending rollup (public.expense_daily_totals) always equals the sum of the person's
expenses, whatever writes reach public.expenses, including concurrent ones; people can read
their own rollup rows and nobody else's, and cannot write it.

Writes go in as PostgREST sends them: a transaction with role ``authenticated`` and the
person's claims (``Database.as_user``), one SQL statement per request.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import anyio
import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.client import Client

from pam_mcp.errors import Forbidden
from pam_mcp.migrate import migrations_dir
from pam_mcp.server import App, build_server
from pam_mcp.store.postgres import Database
from tests.conftest import NewUser

DAY0 = dt.date(2026, 10, 30)  # the days used straddle a month end and a week start
DAYS = [DAY0 + dt.timedelta(days=d) for d in range(4)]
CATEGORIES = ["fuel", "food", "propane"]


async def _rollup(db: Database, users: list[uuid.UUID]) -> dict[tuple[Any, ...], tuple[Decimal, int]]:
    async with db.as_owner() as tx:
        rows = await tx.fetch(
            "select user_id, day, category, total, count from public.expense_daily_totals where user_id = any($1)",
            users,
        )
    return {(r["user_id"], r["day"], r["category"]): (r["total"], r["count"]) for r in rows}


async def _row_by_row(db: Database, users: list[uuid.UUID]) -> dict[tuple[Any, ...], tuple[Decimal, int]]:
    async with db.as_owner() as tx:
        rows = await tx.fetch(
            "select user_id, spent_on, category, sum(amount) as total, count(*) as count"
            " from public.expenses where user_id = any($1) group by 1, 2, 3",
            users,
        )
    return {(r["user_id"], r["spent_on"], r["category"]): (r["total"], r["count"]) for r in rows}


async def _summaries(db: Database, user: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """What expense_summary answers the person, in every grouping, over all the days used."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.as_user(user) as tx:
        for group_by in ("category", "month", "week", "day", "none"):
            rows = await tx.fetch(
                "select key, total, count from public.expense_summary($1, $2, $3, $4)",
                DAYS[0],
                DAYS[-1],
                None,
                group_by,
            )
            out[group_by] = [(r["key"], r["total"], r["count"]) for r in rows]
        rows = await tx.fetch(
            "select key, total, count from public.expense_summary($1, $2, $3, 'category')",
            DAYS[1],
            DAYS[2],
            ["fuel", "food"],
        )
        out["filtered"] = [(r["key"], r["total"], r["count"]) for r in rows]
    return out


async def _summaries_row_by_row(db: Database, user: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """The same answers, added up from the expense rows."""
    keys = {
        "category": "category",
        "month": "to_char(spent_on, 'YYYY-MM')",
        "week": "to_char(date_trunc('week', spent_on), 'YYYY-MM-DD')",
        "day": "to_char(spent_on, 'YYYY-MM-DD')",
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.as_user(user) as tx:
        for group_by, key in keys.items():
            rows = await tx.fetch(
                f"select {key} as key, sum(amount) as total, count(*) as count from public.expenses"
                " where spent_on between $1 and $2 group by 1 order by 1",
                DAYS[0],
                DAYS[-1],
            )
            out[group_by] = [(r["key"], r["total"], r["count"]) for r in rows]
        row = await tx.fetchrow(
            "select coalesce(sum(amount), 0) as total, count(*) as count from public.expenses"
            " where spent_on between $1 and $2",
            DAYS[0],
            DAYS[-1],
        )
        assert row is not None
        out["none"] = [(None, row["total"], row["count"])]
        rows = await tx.fetch(
            "select category as key, sum(amount) as total, count(*) as count from public.expenses"
            " where spent_on between $1 and $2 and category = any($3) group by 1 order by 1",
            DAYS[1],
            DAYS[2],
            ["fuel", "food"],
        )
        out["filtered"] = [(r["key"], r["total"], r["count"]) for r in rows]
    return out


# -- the writes a person's app can send, as statements -------------------------------------

cents = st.integers(min_value=1, max_value=50_000)
category = st.sampled_from(CATEGORIES)
day = st.sampled_from(DAYS)
person = st.integers(min_value=0, max_value=1)
pick = st.integers(min_value=0, max_value=1_000)

Op = tuple[Any, ...]
ops = st.one_of(
    st.tuples(st.just("insert"), person, st.lists(st.tuples(cents, category, day), min_size=1, max_size=4)),
    st.tuples(
        st.just("update"), person, pick, st.none() | cents, st.none() | category, st.none() | day
    ),  # any of amount, category, day; all None changes only the description
    st.tuples(st.just("move_day"), person, category, day, day),  # every expense of a category on a day
    st.tuples(st.just("delete"), person, pick),
    st.tuples(st.just("delete_day"), person, day),
)


async def _apply(db: Database, users: list[uuid.UUID], op: Op) -> None:
    kind, who = op[0], users[op[1]]
    async with db.as_user(who) as tx:
        if kind == "insert":
            rows = op[2]
            await tx.execute(
                "insert into public.expenses (amount, category, spent_on)"
                " select * from unnest($1::numeric[], $2::text[], $3::date[])",
                [Decimal(c) / 100 for c, _, _ in rows],
                [c for _, c, _ in rows],
                [d for _, _, d in rows],
            )
            return
        if kind == "move_day":
            await tx.execute(
                "update public.expenses set spent_on = $3 where category = $1 and spent_on = $2", op[2], op[3], op[4]
            )
            return
        if kind == "delete_day":
            await tx.execute("delete from public.expenses where spent_on = $1", op[2])
            return
        ids = [r["id"] for r in await tx.fetch("select id from public.expenses order by id")]
        if not ids:
            return
        target = ids[op[2] % len(ids)]
        if kind == "delete":
            await tx.execute("delete from public.expenses where id = $1", target)
            return
        amount = None if op[3] is None else Decimal(op[3]) / 100
        await tx.execute(
            "update public.expenses set amount = coalesce($2, amount), category = coalesce($3, category),"
            " spent_on = coalesce($4, spent_on), description = 'edited' where id = $1",
            target,
            amount,
            op[4],
            op[5],
        )


async def _new_users(db: Database, n: int) -> list[uuid.UUID]:
    users = [uuid.uuid4() for _ in range(n)]
    async with db.as_owner() as tx:
        await tx.executemany(
            "insert into auth.users (id, email) values ($1, $2)", [(u, f"{u.hex[:12]}@rollup.test") for u in users]
        )
    return users


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(ops, min_size=1, max_size=12))
def test_the_rollup_equals_the_row_by_row_totals_after_any_sequence_of_writes(
    database_url: str, sequence: list[Op]
) -> None:
    async def scenario() -> None:
        db = await Database.connect(database_url, min_size=1, max_size=1)
        try:
            users = await _new_users(db, 2)
            for op in sequence:
                await _apply(db, users, op)
                assert await _rollup(db, users) == await _row_by_row(db, users), op
            for user in users:
                assert await _summaries(db, user) == await _summaries_row_by_row(db, user)
        finally:
            await db.close()

    anyio.run(scenario)


@pytest.mark.anyio
async def test_concurrent_writers_to_the_same_day_and_category_all_count(database_url: str) -> None:
    """Eight connections add, edit, move and delete the same person's fuel on the same day at once."""
    db = await Database.connect(database_url, min_size=8, max_size=8)
    try:
        (user,) = await _new_users(db, 1)
        target = DAYS[1]

        async def writer(n: int) -> None:
            for i in range(30):
                async with db.as_user(user) as tx:
                    step = (n + i) % 5
                    if step in (0, 1, 2):
                        await tx.execute(
                            "insert into public.expenses (amount, category, spent_on) values ($1, 'fuel', $2)",
                            Decimal(n * 100 + i + 1) / 100,
                            target,
                        )
                    elif step == 3:  # edit or move one of today's fuel expenses, whichever comes first
                        await tx.execute(
                            "update public.expenses set amount = amount + 1,"
                            " spent_on = case when $2 then spent_on + 1 else spent_on end"
                            " where id = (select id from public.expenses where category = 'fuel' and spent_on = $1"
                            " order by id limit 1 for update skip locked)",
                            target,
                            i % 2 == 0,
                        )
                    else:
                        await tx.execute(
                            "delete from public.expenses where id = (select id from public.expenses"
                            " where category = 'fuel' and spent_on = $1 order by id desc limit 1"
                            " for update skip locked)",
                            target,
                        )

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for n in range(8):
                    tg.start_soon(writer, n)
        rolled, counted = await _rollup(db, [user]), await _row_by_row(db, [user])
        assert rolled == counted
        assert sum(c for _, c in counted.values()) > 0  # the check compared real rows
    finally:
        await db.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "statement",
    [
        "insert into public.expense_daily_totals (user_id, day, category, total, count)"
        " values ((select auth.uid()), '2026-10-31', 'fuel', 1, 1)",
        "update public.expense_daily_totals set total = 0",
        "delete from public.expense_daily_totals",
    ],
)
async def test_a_person_cannot_write_their_rollup_directly(db: Database, new_user: NewUser, statement: str) -> None:
    user = await new_user()
    async with db.as_user(user) as tx:
        await tx.execute("insert into public.expenses (amount, category, spent_on) values (40, 'fuel', '2026-10-31')")
    before = await _rollup(db, [user])
    with pytest.raises(Forbidden):
        async with db.as_user(user) as tx:
            await tx.execute(statement)
    assert await _rollup(db, [user]) == before == {(user, dt.date(2026, 10, 31), "fuel"): (Decimal("40.00"), 1)}


@pytest.mark.anyio
async def test_a_person_reads_their_own_rollup_rows_and_nobody_elses(
    db: Database, new_user: NewUser, database_url: str
) -> None:
    me, other = await new_user(), await new_user()
    for user, amount in ((me, 12), (other, 99)):
        async with db.as_user(user) as tx:
            await tx.execute(
                "insert into public.expenses (amount, category, spent_on) values ($1, 'food', '2026-10-31')", amount
            )
    async with db.as_user(me) as tx:
        seen = await tx.fetch("select user_id, total from public.expense_daily_totals")
        asked = await tx.fetch("select total from public.expense_daily_totals where user_id = $1", other)
        summary = await tx.fetchval(
            "select total from public.expense_summary('2026-10-01', '2026-10-31', null, 'none')"
        )
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                "select set_config('role', 'anon', true), set_config('request.jwt.claims', '{\"role\": \"anon\"}', true)"
            )
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval("select count(*) from public.expense_daily_totals")
    finally:
        await conn.close()
    assert [(r["user_id"], r["total"]) for r in seen] == [(me, Decimal("12.00"))]
    assert asked == []
    assert summary == Decimal("12.00")


@pytest.mark.anyio
async def test_the_trigger_functions_are_not_callable_by_any_api_role(db: Database) -> None:
    async with db.as_owner() as tx:
        callable_by = await tx.fetch(
            "select r.rolname, p.proname from pg_proc p cross join pg_roles r"
            " where p.proname in ('roll_up_expenses', 'clear_expense_rollup')"
            " and r.rolname in ('anon', 'authenticated', 'service_role')"
            " and has_function_privilege(r.oid, p.oid, 'execute')"
        )
    assert callable_by == []


@pytest.mark.anyio
async def test_query_expenses_follows_an_expense_the_app_moved_or_deleted(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    """The app edits expenses through Supabase's REST API; PAM's totals follow at once."""
    user = await new_user()
    async with Client(build_server(make_app(user))) as client:
        for amount, cat in (("30.00", "fuel"), ("20.00", "fuel"), ("5.00", "food")):
            result = await client.call_tool(
                "log_expense", {"amount": amount, "category": cat, "spent_on": "2026-10-20"}
            )
            assert not result.is_error
        async with db.as_user(user) as tx:
            await tx.execute(
                "update public.expenses set category = 'propane', spent_on = '2026-11-02' where amount = 30"
            )
            await tx.execute("delete from public.expenses where category = 'food'")
        october = await client.call_tool("query_expenses", {"start": "2026-10-01", "end": "2026-10-31"})
        november = await client.call_tool("query_expenses", {"start": "2026-11-01", "end": "2026-11-30"})
    assert october.structured_content is not None and november.structured_content is not None
    assert {g["key"]: g["total"] for g in october.structured_content["groups"]} == {"fuel": "20.00"}
    assert {g["key"]: g["total"] for g in november.structured_content["groups"]} == {"propane": "30.00"}
    assert (october.structured_content["count"], november.structured_content["count"]) == (1, 1)


@pytest.mark.anyio
async def test_the_migration_backfills_the_rollup_from_expenses_already_there(db: Database) -> None:
    """Expenses that predate the rollup (here: the rollup emptied) are counted when the file runs."""
    users = await _new_users(db, 2)
    for user, cents_list in zip(users, ([1250, 399, 10_000], [7]), strict=True):
        await _apply(db, [user], ("insert", 0, [(c, CATEGORIES[c % 3], DAYS[c % 4]) for c in cents_list]))
    expected = await _row_by_row(db, users)
    async with db.as_owner() as tx:
        await tx.execute("delete from public.expense_daily_totals")
    assert await _rollup(db, users) == {}
    sql = (migrations_dir() / "20261130000900_expense_daily_totals.sql").read_text(encoding="utf-8")
    async with db.as_owner() as tx:
        await tx.execute(sql)
    assert await _rollup(db, users) == expected
    assert sum(c for _, c in expected.values()) == 4


@pytest.mark.anyio
async def test_deleting_a_person_removes_their_expenses_and_rollup_rows(db: Database) -> None:
    """auth.users' cascade reaches the rollup and the expenses in either order; neither blocks it."""
    users = await _new_users(db, 2)
    for user in users:
        await _apply(db, [user], ("insert", 0, [(500, "fuel", DAYS[0]), (700, "food", DAYS[1])]))
    async with db.as_owner() as tx:
        await tx.execute("delete from auth.users where id = $1", users[0])
    rolled = await _rollup(db, users)
    assert rolled == await _row_by_row(db, users)
    assert {key[0] for key in rolled} == {users[1]}
