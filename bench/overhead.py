"""1. Tool overhead vs the floor.

Four PAM tools through the SDK client, in memory and over streamable HTTP, next to an
``echo`` tool on the same server (behind the same guard: identity + rate limit), next to
echo on a bare server (no guard), and next to the floor: one Redis PING plus one PostgreSQL
``select 1`` on the same kinds of connections (the redis.asyncio client, the asyncpg pool).
Over HTTP the floor is measured inside the server, on its connections: a ``floor`` tool
(PING + select 1) minus echo. The figure: (tool - echo) / floor, target at most 1.5
(2 for get_context), on the server side: each call's time inside the server (bench.server_clock),
which leaves out the transport and the SDK client's validation of the result. Echo is async,
as PAM's tools are; the sync echo the SDK runs in a worker thread is shown for reference.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp_types import TextContent

from bench.echo_server import echo, echo_sync
from bench.env import UNLIMITED, UNLIMITED_TEXT, Bench, mint_token, month_bounds, note, seed_user
from bench.processes import http_servers, server_env
from bench.server_clock import ServerClock
from bench.stats import Op, interleaved
from bench.store_clock import StoreClock, TimedStore
from pam_mcp.ratelimit import RateLimiter
from pam_mcp.runtime import redis_client
from pam_mcp.server import build_server, new_app
from pam_mcp.store.base import Store
from pam_mcp.store.postgres import Database, UserTx
from pam_mcp.store.sql_store import PostgresStore

TOOLS = ["log_trip", "record_saving", "get_context", "query_expenses"]


class CountingDatabase(Database):
    """Counts the user transactions a call makes: a BEGIN through ``as_user`` or one ``call_as``."""

    transactions = 0

    @asynccontextmanager
    async def _transaction(self, begin: str, user_id: uuid.UUID) -> AsyncIterator[UserTx]:
        self.transactions += 1
        async with super()._transaction(begin, user_id) as tx:
            yield tx

    async def call_as(
        self, user_id: uuid.UUID, function: str, args: dict[str, Any] | None = None, *, writes: bool = True
    ) -> Any:
        self.transactions += 1
        return await super().call_as(user_id, function, args, writes=writes)


def tool_arguments(today: dt.date) -> dict[str, dict[str, Any]]:
    first, last = month_bounds(today)
    return {
        "log_trip": {
            "started_at": f"{today}T07:00:00+10:00",
            "ended_at": f"{today}T16:30:00+10:00",
            "title": "Broken Hill to Mildura",
            "route": [{"lat": -31.95, "lon": 141.45}, {"lat": -33.0, "lon": 141.8}, {"lat": -34.18, "lon": 142.16}],
            "stops": [{"name": "Wentworth", "lat": -34.1, "lon": 141.9, "kind": "fuel", "cost": "88.10"}],
        },
        "record_saving": {
            "amount": "6.40",
            "category": "fuel",
            "description": "diesel 8c/L cheaper",
            "saved_on": str(today),
        },
        "get_context": {},
        "query_expenses": {"start": str(first), "end": str(last), "group_by": "category"},
    }


def tool_op(client: Client, name: str, arguments: dict[str, Any]) -> Op:
    async def op() -> None:
        result = await client.call_tool(name, arguments)
        if result.is_error:  # a failing call would measure the error path, not the tool
            first = result.content[0] if result.content else None
            raise RuntimeError(f"{name} failed: {first.text if isinstance(first, TextContent) else result}")

    return op


def floor_op(db: Database, redis: Any) -> Op:
    pool = db.pool  # the store's own pool: the same connections a tool call uses

    async def op() -> None:
        await redis.ping()
        await pool.fetchval("select 1")

    return op


async def _seed_conversation(client: Client) -> None:
    """A session with context and 20 messages, as get_context finds mid-conversation."""
    out = await client.call_tool("update_context", {"facts": {"rig": "22ft Jayco", "heading": "south"}})
    session = (out.structured_content or {})["session_id"]
    for i in range(20):
        role = "user" if i % 2 == 0 else "pam"
        await client.call_tool("log_message", {"session_id": session, "role": role, "content": f"message {i}"})


async def run(bench: Bench, dsn: str) -> dict[str, Any]:
    rounds, warmup = (120, 10) if bench.quick else (600, 30)
    http_rounds, http_warmup = (80, 10) if bench.quick else (400, 20)
    today = dt.date.today()
    args = tool_arguments(today)
    db = await CountingDatabase.connect(dsn, max_size=10)  # the server's default pool size
    assert isinstance(db, CountingDatabase)
    redis = redis_client(bench.redis_url)
    try:
        user = await bench.new_user(db)
        await seed_user(db, user, today)
        app = new_app(
            # Timed: how much of each call is spent awaiting the store (bench.store_clock).
            store=cast(Store, TimedStore(PostgresStore(db))),
            limiter=RateLimiter(redis, key_prefix=bench.key_prefix),
            rate=UNLIMITED,
            stdio_user=user,
        )
        server = build_server(app)
        clock = ServerClock()
        clock.install(server)
        store_clock = StoreClock()
        store_clock.install(server)
        server.add_tool(echo, name="echo")
        server.add_tool(echo_sync, name="echo_sync")
        bare: MCPServer[Any] = MCPServer(name="bare", log_level="WARNING")
        bare.add_tool(echo, name="echo")
        result: dict[str, Any] = {"transactions_per_call": {}}
        async with Client(server) as client, Client(bare) as bare_client:
            await _seed_conversation(client)
            for name in TOOLS:
                before = db.transactions
                await tool_op(client, name, args[name])()
                result["transactions_per_call"][name] = db.transactions - before
            ops: dict[str, Op] = {
                "floor": floor_op(db, redis),
                "echo": tool_op(client, "echo", {"text": "hi"}),
                "echo_sync": tool_op(client, "echo_sync", {"text": "hi"}),
                "echo_unguarded": tool_op(bare_client, "echo", {"text": "hi"}),
            } | {name: tool_op(client, name, args[name]) for name in TOOLS}
            note(f"overhead, in memory: {rounds} interleaved rounds")

            async def clear() -> None:
                clock.take()
                store_clock.take()

            timed = await interleaved(ops, rounds, warmup, after_warmup=clear)
            result["in_memory"] = {k: v.as_dict() for k, v in timed.items()}
            result["in_memory_server_side"] = clock.take()
            result["in_memory_store_side"] = store_clock.take()

        env = server_env(dsn, bench.redis_url, bench.tmp, UNLIMITED_TEXT, PAM_BENCH_KEY_PREFIX=bench.key_prefix)
        async with (
            http_servers("bench.echo_server", 1, env, bench.tmp) as [url],
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {mint_token(user)}"}, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            ops = {"floor_tool": tool_op(client, "floor", {}), "echo": tool_op(client, "echo", {"text": "hi"})}
            ops |= {name: tool_op(client, name, args[name]) for name in TOOLS}
            note(f"overhead, streamable HTTP: {http_rounds} interleaved rounds")

            async def server_times() -> dict[str, float]:
                out = await client.call_tool("server_times", {})
                first = out.content[0]
                assert isinstance(first, TextContent)
                times: dict[str, float] = json.loads(first.text)
                return times

            async def clear_http() -> None:
                await server_times()

            timings = await interleaved(ops, http_rounds, http_warmup, after_warmup=clear_http)
            inside = await server_times()
            # The floor inside the server: the floor tool minus echo, both timed in the server.
            inside["floor_tool"] = inside.pop("floor")
            inside["floor"] = round(inside["floor_tool"] - inside["echo"], 4)
            result["http_server_side"] = inside
            http_result: dict[str, dict[str, float | None]] = {k: dict(v.as_dict()) for k, v in timings.items()}
            # The floor on the server's own connections: the floor tool minus echo, both guarded.
            floor_ms = timings["floor_tool"].median - timings["echo"].median
            http_result["floor"] = {"n": http_rounds, "median_ms": round(floor_ms, 4), "p99_ms": None}
            result["http"] = http_result
        return result
    finally:
        await redis.aclose()
        await db.close()
