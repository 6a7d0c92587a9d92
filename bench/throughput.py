"""4. Throughput: calls per second of a mixed tool load over streamable HTTP, 1 vs 2 processes.

The real ``pam-mcp serve --transport http`` (stateless, JSON responses), with the rate limit
raised, behind bearer tokens of 20 users. One set of one process and one of two run side by
side; the load alternates between them in equal time slices, so both see the same machine.
The load is raw JSON-RPC ``tools/call`` posts (what a stateless client sends, protocol
2025-11-25), kept light so the load generator takes little of the CPU it shares with the
servers on this machine.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import Counter
from typing import Any

import anyio
import httpx2

from bench.env import UNLIMITED_TEXT, Bench, mint_token, note, seed_user
from bench.overhead import tool_arguments
from bench.processes import http_servers, server_env
from pam_mcp.store.postgres import Database

USERS = 20
CONCURRENCY = 16
HEADERS = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
    "mcp-protocol-version": "2025-11-25",
}


def _mix(today: dt.date) -> list[tuple[str, dict[str, Any]]]:
    """A conversation's worth of calls: reads dominate, as they do when a model answers."""
    args = tool_arguments(today)
    calls = [
        ("get_context", {}),
        ("check_guardrails", {"text": "How much did I spend on fuel this month?"}),
        ("query_expenses", args["query_expenses"]),
        ("log_expense", {"amount": "54.20", "category": "fuel", "description": "diesel at Cobar"}),
        ("query_expenses", {"group_by": "day"}),
        ("record_saving", args["record_saving"]),
        ("check_guardrails", {"text": "Book the cheaper campground", "kind": "proposed_action", "amount": "45"}),
        ("get_context", {"message_limit": 5}),
        ("log_trip", args["log_trip"]),
        ("query_expenses", {"categories": ["fuel"], "group_by": "none"}),
    ]
    return calls


async def _load(
    http: httpx2.AsyncClient, urls: list[str], tokens: list[str], seconds: float, mix: list[Any]
) -> Counter[str]:
    counts: Counter[str] = Counter()
    deadline = time.perf_counter() + seconds
    ids = itertools.count()

    async def worker(w: int) -> None:
        calls = itertools.cycle(mix[w % len(mix) :] + mix[: w % len(mix)])
        while time.perf_counter() < deadline:
            n = next(ids)
            name, arguments = next(calls)
            body = {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
            headers = HEADERS | {"authorization": f"Bearer {tokens[n % len(tokens)]}"}
            response = await http.post(urls[n % len(urls)], json=body, headers=headers)
            ok = response.status_code == 200 and not response.json().get("result", {}).get("isError", True)
            counts["ok" if ok else "error"] += 1

    async with anyio.create_task_group() as tg:
        for w in range(CONCURRENCY):
            tg.start_soon(worker, w)
    return counts


async def run(bench: Bench, dsn: str) -> dict[str, Any]:
    slices, seconds = (2, 2.0) if bench.quick else (5, 3.0)
    today = dt.date.today()
    db = await Database.connect(dsn, max_size=2)
    try:
        users = [await bench.new_user(db) for _ in range(USERS)]
        for user in users:
            await seed_user(db, user, today, expenses=40)
    finally:
        await db.close()
    tokens = [mint_token(u) for u in users]
    mix = _mix(today)
    env = server_env(dsn, bench.redis_url, bench.tmp, UNLIMITED_TEXT)
    totals = {"1_process": Counter[str](), "2_processes": Counter[str]()}
    limits = httpx2.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=CONCURRENCY * 2)
    async with (
        http_servers("pam_mcp", 1, env, bench.tmp) as one,
        http_servers("pam_mcp", 2, env, bench.tmp) as two,
        httpx2.AsyncClient(timeout=30, limits=limits) as http,
    ):
        await _load(http, one + two, tokens, 1.0, mix)  # warm up every process's pools
        note(f"throughput: {slices} alternating slices of {seconds:.0f} s per setting, {CONCURRENCY} concurrent calls")
        for _ in range(slices):
            totals["1_process"] += await _load(http, one, tokens, seconds, mix)
            totals["2_processes"] += await _load(http, two, tokens, seconds, mix)
    elapsed = slices * seconds
    return {
        "concurrency": CONCURRENCY,
        "users": USERS,
        "seconds_per_setting": elapsed,
        "mix": [name for name, _ in mix],
        "calls_per_second": {k: round(v["ok"] / elapsed, 1) for k, v in totals.items()},
        "errors": {k: v["error"] for k, v in totals.items()},
    }
