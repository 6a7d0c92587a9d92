"""7. One round trip per call: the same operation as ``as_user`` (3 round trips) and as ``call_as`` (1).

On the store's own kind of pool (``Database.connect``), the same person, interleaved:

- ``floor``: ``select 1`` on a pooled connection (one round trip, no transaction);
- ``commit floor``: a one-row insert into a scratch table, committed (one round trip and the
  write-ahead log's flush to disk that every durable write pays: what a write tool cannot go below);
- ``record_saving``: the write behind the record_saving tool, through ``as_user`` (BEGIN with the
  claims, ``select ... from public.record_saving(...)``, COMMIT) and through
  ``call_as("record_saving", ...)``;
- ``context_snapshot``: get_context's one read (nine reads in one statement), both ways.

With psycopg 3 installed (``pip install "psycopg[binary]>=3.3,<4"``; not a dependency of
pam-mcp), the alternative the issue names is timed beside them: psycopg's pipeline mode sending
BEGIN, the two set_config calls, the operation and COMMIT with one Sync (one round trip too).

Every figure is a median of samples taken in turn (A, B, A, B, ...), so the ratio of the two
ways is measured under the same load. Each record_saving sample adds a saving to a scratch
database that the run drops.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import uuid
from decimal import Decimal
from typing import Any

from bench.env import Bench, month_bounds, note
from bench.stats import Op, interleaved
from pam_mcp.store.postgres import Database, claims_for

OPERATIONS = ("record_saving", "context_snapshot")


def _psycopg() -> Any:
    try:
        return importlib.import_module("psycopg")  # optional: only for the comparison
    except ImportError:
        return None


def _ops(db: Database, person: uuid.UUID, pg: Any) -> dict[str, Op]:
    today = dt.date.today()
    first, last = month_bounds(today)
    now = dt.datetime.now(dt.UTC)
    saving: dict[str, Any] = {
        "p_amount": Decimal("2.50"),
        "p_category": "fuel",
        "p_description": "diesel 5c/L cheaper",
        "p_saved_on": today,
    }
    snapshot: dict[str, Any] = {
        "p_session_id": None,
        "p_message_limit": 20,
        "p_month_start": first,
        "p_month_end": last,
        "p_now": now,
    }

    async def floor() -> None:
        async with db.pool.acquire() as conn:
            await conn.fetchval("select 1")

    async def commit_floor() -> None:
        async with db.pool.acquire() as conn:
            await conn.execute("insert into bench_commit_floor default values")

    async def saving_as_user() -> None:
        async with db.as_user(person) as tx:
            await tx.fetchrow(
                "select event_id, month, month_total, duplicate from public.record_saving($1, $2, $3, $4)",
                *saving.values(),
            )

    async def saving_call_as() -> None:
        await db.call_as(person, "record_saving", saving)

    async def snapshot_as_user() -> None:
        async with db.as_user(person) as tx:
            text = await tx.fetchval("select public.context_snapshot($1, $2, $3, $4, $5)::text", *snapshot.values())
        json.loads(text, parse_float=Decimal)

    async def snapshot_call_as() -> None:
        await db.call_as(person, "context_snapshot", snapshot, writes=False)

    async def snapshot_pipeline() -> None:
        async with pg.pipeline():
            await pg.execute("begin")
            await pg.execute(
                "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)",
                (claims_for(person),),
            )
            cursor = await pg.execute(
                "select public.context_snapshot(%s, %s, %s, %s, %s)::text", tuple(snapshot.values())
            )
            await pg.execute("commit")
        row = await cursor.fetchone()
        json.loads(row[0], parse_float=Decimal)

    optional: dict[str, Op] = {"context_snapshot/psycopg_pipeline": snapshot_pipeline} if pg is not None else {}
    return optional | {
        "floor": floor,
        "commit_floor": commit_floor,
        "record_saving/as_user": saving_as_user,
        "record_saving/call_as": saving_call_as,
        "context_snapshot/as_user": snapshot_as_user,
        "context_snapshot/call_as": snapshot_call_as,
    }


async def run(bench: Bench) -> dict[str, Any]:
    dsn = await bench.database("round_trip")
    rounds, warmup = (300, 50) if bench.quick else (2000, 200)
    db = await Database.connect(dsn, min_size=1, max_size=1)  # one connection: every sample pays the same
    psycopg = _psycopg()
    pg = None if psycopg is None else await psycopg.AsyncConnection.connect(dsn, prepare_threshold=0, autocommit=True)
    try:
        person = await bench.new_user(db)
        async with db.pool.acquire() as conn:
            await conn.execute("create table if not exists bench_commit_floor (id bigint generated always as identity)")
        note(f"round trips: {rounds} rounds of {', '.join(OPERATIONS)}, as_user and call_as, interleaved")
        timings = await interleaved(_ops(db, person, pg), rounds, warmup)
    finally:
        await db.close()
        if pg is not None:
            await pg.close()
    result: dict[str, Any] = {"timings": {name: s.as_dict() for name, s in timings.items()}}
    result["saved_ms"] = {
        op: round(timings[f"{op}/as_user"].median - timings[f"{op}/call_as"].median, 4) for op in OPERATIONS
    }
    result["ratio"] = {
        op: round(timings[f"{op}/call_as"].median / timings[f"{op}/as_user"].median, 3) for op in OPERATIONS
    }
    return result


def verdicts(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Reference rows for the summary table: how much one round trip saves (no target of its own)."""
    t = r["timings"]
    rows = [
        {
            "measure": f"{op}: call_as (1 round trip) vs as_user (3), same pool",
            "result": f"{t[f'{op}/call_as']['median_ms']:.3f} vs {t[f'{op}/as_user']['median_ms']:.3f} ms"
            f" = {r['ratio'][op]:.2f}x (-{r['saved_ms'][op]:.3f} ms)",
            "target": "(reference)",
            "ratio": r["ratio"][op],
            "met": None,
        }
        for op in OPERATIONS
    ]
    if "commit_floor" in t:
        ours, commit = t["record_saving/call_as"]["median_ms"], t["commit_floor"]["median_ms"]
        rows.append({
            "measure": "record_saving through call_as vs the commit floor (a one-row insert, committed)",
            "result": f"{ours:.3f} vs {commit:.3f} ms = {ours / commit:.2f}x"
            f" (select 1: {t['floor']['median_ms']:.3f} ms)",
            "target": "(reference: what a write costs at least)",
            "ratio": round(ours / commit, 3),
            "met": None,
        })  # fmt: skip
    if "context_snapshot/psycopg_pipeline" in t:
        ours, theirs = t["context_snapshot/call_as"]["median_ms"], t["context_snapshot/psycopg_pipeline"]["median_ms"]
        rows.append({
            "measure": "context_snapshot: call_as (asyncpg) vs psycopg 3 pipeline mode, both one round trip",
            "result": f"{ours:.3f} vs {theirs:.3f} ms = {ours / theirs:.2f}x",
            "target": "(reference)",
            "ratio": round(ours / theirs, 3),
            "met": None,
        })  # fmt: skip
    return rows


def render(r: dict[str, Any]) -> list[str]:
    t = r["timings"]
    floor = t["floor"]["median_ms"]
    rows = [["floor: select 1, one round trip", f"{floor:.3f} / {t['floor']['p99_ms']:.3f}", "1.00"]]
    if "commit_floor" in t:
        c = t["commit_floor"]
        rows.append(["commit floor: a one-row insert, committed (WAL flush)",
                     f"{c['median_ms']:.3f} / {c['p99_ms']:.3f}", f"{c['median_ms'] / floor:.2f}"])  # fmt: skip
    for op in OPERATIONS:
        for way in ("as_user", "call_as", "psycopg_pipeline"):
            if f"{op}/{way}" not in t:
                continue
            s = t[f"{op}/{way}"]
            rows.append([f"{op}, {way}", f"{s['median_ms']:.3f} / {s['p99_ms']:.3f}", f"{s['median_ms'] / floor:.2f}"])
    lines = ["", "### 7. One round trip per call: as_user (3 round trips) vs call_as (1), same pool (ms)", ""]
    lines += ["| Call | Median / p99 | Floors |", "|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
