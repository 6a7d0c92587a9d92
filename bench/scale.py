"""3. Scale: query_expenses for one user's month by category as the table grows.

Three databases hold 1,000 / 100,000 / 1,000,000 expense rows (quick: 1,000 / 10,000 /
100,000) across 10,000 users, loaded with COPY and ANALYZEd. The same user, with the same
100 rows in the month queried, asks the same question of each, in turn, through the SDK
client (in memory): the median should stay flat (largest over smallest at most 1.5x). In the
largest table, a user with 10,000 rows in the month is asked too, next to the naive way:
fetch the month's rows and total them in Python, in the same kind of user transaction.

Targets for the heavy user (issue 13): the store's totals (what query_expenses runs, read from
the per person/day/category rollup) at least 10x faster than the naive fetch-and-sum, both in
one user transaction; and query_expenses through the SDK at most 2x the time it takes for the
user with 100 rows in the same table. The row scan the rollup replaced is timed beside them.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from mcp.client import Client

from bench.env import UNLIMITED, Bench, month_bounds, note
from bench.overhead import tool_op
from bench.stats import Op, interleaved
from pam_mcp.ratelimit import RateLimiter
from pam_mcp.runtime import redis_client
from pam_mcp.server import build_server, new_app
from pam_mcp.store.base import Caller
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore

USERS = 10_000
PROBE_ROWS = 100
HEAVY_ROWS = 10_000
CATEGORIES = ["fuel", "food", "campground", "maintenance", "entertainment", "propane", "utilities", "shopping"]
AMOUNTS = [Decimal(cents) / 100 for cents in range(150, 25_000, 397)]


def _label(rows: int) -> str:
    return f"{rows // 1_000_000}m" if rows >= 1_000_000 else f"{rows // 1_000}k"


async def _load(db: Database, rows: int, probe: uuid.UUID, heavy: uuid.UUID | None, month: dt.date) -> None:
    """10,000 users, then ``rows`` expenses: the probe's (and the heavy user's) month, the rest spread
    over a year across everyone. COPY as the owner; ANALYZE so the planner sees the real table."""
    rng = random.Random(rows)
    first, last = month_bounds(month)
    days = [last - dt.timedelta(days=d) for d in range(365)]
    in_month = [first + dt.timedelta(days=d) for d in range(last.day)]
    special = [probe] + ([heavy] if heavy else [])
    async with db.as_owner() as tx:
        await tx.executemany(
            "insert into auth.users (id, email) values ($1, $2)", [(u, f"{u}@bench.invalid") for u in special]
        )
        await tx.execute(
            "insert into auth.users (email) select 'filler' || g || '@bench.invalid' from generate_series(1, $1) g",
            USERS - len(special),
        )
        users = [r["id"] for r in await tx.fetch("select id from auth.users")]
        await tx.executemany(
            "insert into public.budgets (user_id, category, monthly_limit) values ($1, $2, 600)",
            [(u, c) for u in special for c in CATEGORIES[:3]],
        )

    def mine(user: uuid.UUID, n: int) -> list[tuple[Any, ...]]:
        return [
            (user, rng.choice(AMOUNTS), CATEGORIES[i % len(CATEGORIES)], in_month[i % len(in_month)]) for i in range(n)
        ]

    records = mine(probe, PROBE_ROWS) + (mine(heavy, HEAVY_ROWS) if heavy else [])
    filler = rows - len(records)
    records += [
        (rng.choice(users), rng.choice(AMOUNTS), rng.choice(CATEGORIES), rng.choice(days)) for _ in range(filler)
    ]
    conn = await db.pool.acquire()
    try:
        await conn.copy_records_to_table(
            "expenses",
            schema_name="public",
            records=records,
            columns=["user_id", "amount", "category", "spent_on"],
            timeout=600,  # a million rows on a busy machine outlast the pool's 30 s command timeout
        )
        await conn.execute("analyze auth.users; analyze public.expenses; analyze public.budgets", timeout=600)
    finally:
        await db.pool.release(conn)


def naive_op(db: Database, user: uuid.UUID, first: dt.date, last: dt.date) -> Op:
    """What the store must not do: ship every row to Python and add them up there."""

    async def op() -> None:
        async with db.as_user(user) as tx:
            rows = await tx.fetch(
                "select category, amount from public.expenses where user_id = $1 and spent_on between $2 and $3",
                user,
                first,
                last,
            )
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            totals[row["category"]] += row["amount"]

    return op


def row_scan_op(db: Database, user: uuid.UUID, first: dt.date, last: dt.date) -> Op:
    """How the totals were computed before the rollup: a sum over the month's expense rows, in SQL."""

    async def op() -> None:
        async with db.as_user(user) as tx:
            await tx.fetch(
                "select category, sum(amount), count(*) from public.expenses"
                " where user_id = $1 and spent_on between $2 and $3 group by category order by category",
                user,
                first,
                last,
            )

    return op


def sql_op(store: PostgresStore, user: uuid.UUID, first: dt.date, last: dt.date) -> Op:
    async def op() -> None:
        await store.expense_report(Caller(user), first, last, None, "category")

    return op


async def run(bench: Bench) -> dict[str, Any]:
    sizes = [1_000, 10_000, 100_000] if bench.quick else [1_000, 100_000, 1_000_000]
    rounds, warmup = (60, 5) if bench.quick else (200, 10)
    month = month_bounds(dt.date.today())[0] - dt.timedelta(days=1)  # last month: a whole month
    first, last = month_bounds(month)
    probe, heavy = uuid.uuid4(), uuid.uuid4()
    redis = redis_client(bench.redis_url)
    databases: list[Database] = []
    try:
        for rows in sizes:
            note(f"scale: loading {rows:,} expense rows across {USERS:,} users")
            db = await Database.connect(await bench.database(f"scale_{_label(rows)}"), max_size=4)
            databases.append(db)
            await _load(db, rows, probe, heavy if rows == sizes[-1] else None, month)
        limiter = RateLimiter(redis, key_prefix=bench.key_prefix)
        question = {"start": str(first), "end": str(last), "group_by": "category"}

        def server(db: Database, user: uuid.UUID) -> Client:
            app = new_app(store=PostgresStore(db), limiter=limiter, rate=UNLIMITED, stdio_user=user)
            return Client(build_server(app))

        big = databases[-1]
        async with (
            server(databases[0], probe) as small_client,
            server(databases[1], probe) as middle_client,
            server(big, probe) as large_client,
            server(big, heavy) as heavy_client,
        ):
            ops: dict[str, Op] = {
                f"rows_{_label(size)}": tool_op(client, "query_expenses", question)
                for size, client in zip(sizes, [small_client, middle_client, large_client], strict=True)
            }
            ops |= {
                "heavy_tool": tool_op(heavy_client, "query_expenses", question),
                "heavy_store_sql": sql_op(PostgresStore(big), heavy, first, last),
                "heavy_row_scan_sql": row_scan_op(big, heavy, first, last),
                "heavy_naive_python": naive_op(big, heavy, first, last),
                "probe_store_sql": sql_op(PostgresStore(big), probe, first, last),
            }
            note(f"scale: {rounds} interleaved rounds")
            timings = await interleaved(ops, rounds, warmup)
        return {
            "sizes": sizes,
            "users": USERS,
            "probe_rows_in_month": PROBE_ROWS,
            "heavy_rows_in_month": HEAVY_ROWS,
            "month": f"{first:%Y-%m}",
            "timings": {k: v.as_dict() for k, v in timings.items()},
        }
    finally:
        for db in databases:
            await db.close()
        await redis.aclose()
