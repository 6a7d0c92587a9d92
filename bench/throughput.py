"""4. Throughput: calls per second of a mixed tool load over streamable HTTP, 1 vs 2 processes;
and, on one process, the SDK client on both protocol generations with CPU per call per component.

The real ``pam-mcp serve --transport http`` (stateless, JSON responses), with the rate limit
raised, behind bearer tokens of 20 users. One set of one process and one of two run side by
side; the load alternates between them in equal time slices, so both see the same machine.
The load is raw JSON-RPC ``tools/call`` posts (what a stateless client sends, protocol
2025-11-25), kept light so the load generator takes little of the CPU it shares with the
servers on this machine.

The protocol comparison drives the same mix through the SDK client (one per worker and
user): ``mode="auto"`` (the 2026-07-28 path, the SDK's default) and ``mode="legacy"`` (the
initialize handshake), alternating in equal slices against one server process, with the CPU
each component spent read from /proc (bench.cpu): server, PostgreSQL backends, Redis, load
generator. Calls per server core-second = calls / server CPU seconds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

import anyio
import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from bench.cpu import Meter
from bench.cpu import available as cpu_available
from bench.env import UNLIMITED_TEXT, Bench, mint_token, note, seed_user
from bench.overhead import tool_arguments
from bench.processes import http_servers, server_env
from pam_mcp.runtime import redis_client
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


async def _sdk_load(clients: list[Client], seconds: float, mix: list[Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    deadline = time.perf_counter() + seconds

    async def worker(w: int, client: Client) -> None:
        calls = itertools.cycle(mix[w % len(mix) :] + mix[: w % len(mix)])
        while time.perf_counter() < deadline:
            name, arguments = next(calls)
            result = await client.call_tool(name, arguments)
            counts["error" if result.is_error else "ok"] += 1

    async with anyio.create_task_group() as tg:
        for w, client in enumerate(clients):
            tg.start_soon(worker, w, client)
    return counts


async def _protocols(
    bench: Bench, dsn: str, url: str, pids: list[int], tokens: list[str], mix: list[Any], slices: int, seconds: float
) -> dict[str, Any]:
    modes = ("auto", "legacy")
    calls = {m: Counter[str]() for m in modes}
    used = {m: Counter[str]() for m in modes}
    redis = redis_client(bench.redis_url)
    try:
        async with AsyncExitStack() as stack:
            clients: dict[str, list[Client]] = {m: [] for m in modes}
            for mode in modes:
                for w in range(CONCURRENCY):
                    headers = {"Authorization": f"Bearer {tokens[w % len(tokens)]}"}
                    http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=30))
                    client = Client(streamable_http_client(url, http_client=http), mode=mode)
                    clients[mode].append(await stack.enter_async_context(client))
                await _sdk_load(clients[mode], 1.0, mix)  # warm up
            meter = Meter(dsn, redis, pids)
            note(f"throughput by protocol: {slices} alternating slices of {seconds:.0f} s per mode, SDK client")
            for _ in range(slices):
                for mode in modes:
                    await meter.start()
                    calls[mode] += await _sdk_load(clients[mode], seconds, mix)
                    used[mode].update(await meter.stop())
    finally:
        await redis.aclose()
    elapsed = slices * seconds
    out: dict[str, Any] = {"seconds_per_mode": elapsed, "cpu_from_proc": cpu_available()}
    for mode in modes:
        ok = calls[mode]["ok"]
        server_cpu = used[mode]["server"]
        out[mode] = {
            "calls_per_second": round(ok / elapsed, 1),
            "errors": calls[mode]["error"],
            "cpu_ms_per_call": {k: round(v * 1000 / ok, 3) for k, v in used[mode].items()} if ok else {},
            "calls_per_server_core_second": round(ok / server_cpu, 1) if server_cpu else None,
        }
    return out


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
    one_pids: list[int] = []
    async with (
        http_servers("pam_mcp", 1, env, bench.tmp, pids=one_pids) as one,
        http_servers("pam_mcp", 2, env, bench.tmp) as two,
        httpx2.AsyncClient(timeout=30, limits=limits) as http,
    ):
        await _load(http, one + two, tokens, 1.0, mix)  # warm up every process's pools
        note(f"throughput: {slices} alternating slices of {seconds:.0f} s per setting, {CONCURRENCY} concurrent calls")
        for _ in range(slices):
            totals["1_process"] += await _load(http, one, tokens, seconds, mix)
            totals["2_processes"] += await _load(http, two, tokens, seconds, mix)
        protocols = await _protocols(bench, dsn, one[0], one_pids, tokens, mix, slices, seconds)
    elapsed = slices * seconds
    return {
        "protocols": protocols,
        "concurrency": CONCURRENCY,
        "users": USERS,
        "seconds_per_setting": elapsed,
        "mix": [name for name, _ in mix],
        "calls_per_second": {k: round(v["ok"] / elapsed, 1) for k, v in totals.items()},
        "errors": {k: v["error"] for k, v in totals.items()},
    }
