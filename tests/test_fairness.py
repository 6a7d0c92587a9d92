"""No person can stall the others: while one person's costliest call runs, another's are answered.

One real ``pam-mcp serve --transport http`` process, its own redis-server, and two people.
Person A makes the most expensive call the caps allow (each candidate in turn: the longest
texts of the character NFKC expands most, the largest metadata, routes, a session full of the
longest messages, the largest trip). Once A's call has passed the rate limiter (the test
watches the server's Redis with MONITOR, so it knows), person B sends MCP pings one after
another; several must be answered before A's call returns. What A's call does after the
limiter is its costly part: argument validation, redaction, the guardrail engine, trimming.

On the code before the caps, and with the guardrail engine run on the event loop, B's pings
queue behind A's work and the test fails. Ordering only: no timings are asserted, and every
wait is bounded. Calls made cheap outright (update_context, pam://trips and pam://trips/{id}, which count a
route in SQL, log_message's metadata of many tiny strings: a few milliseconds of work) are measured by bench/stall.py instead: a call that short
leaves no room for pings to order.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from redis.asyncio import Redis

from pam_mcp.store.postgres import Database
from pam_mcp.tools import limits
from tests.conftest import NewUser, mint_token
from tests.support_process import RedisServer, serve_env, serve_processes

pytestmark = pytest.mark.anyio

HEADERS = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
    "mcp-protocol-version": "2025-11-25",
}
WIDE = "\ufdfa"  # NFKC turns this one character into 18
ROUNDS = 3  # A's call is made up to this many times; B must be answered during one of them
PINGS = 4  # B's pings, one after another, all to be answered before A's call returns


def route(points: int) -> list[dict[str, Any]]:
    name = ("Silver City Highway " * 20)[: limits.PLACE_NAME_CHARS]
    start = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
    return [
        {"lat": -31.95 - i * 1e-4, "lon": 141.45 + i * 1e-4, "at": (start + dt.timedelta(seconds=i)).isoformat(),
         "name": name}
        for i in range(points)
    ]  # fmt: skip


def stops(count: int) -> list[dict[str, Any]]:
    name = ("Wentworth roadhouse " * 20)[: limits.PLACE_NAME_CHARS]
    return [{"name": name, "lat": -34.1, "lon": 141.9, "kind": "fuel"} for _ in range(count)]


def wide_strings(total_bytes: int, pieces: int) -> dict[str, str]:
    per = (total_bytes - 16 * pieces) // (3 * pieces)
    return {f"k{i}": WIDE * per for i in range(pieces)}


async def seed(db: Database, user: uuid.UUID) -> tuple[str, str]:
    """A's stored worst cases, as Supabase's REST API lets anyone write them: a session of the
    longest messages and ten of the largest trips. Returns the session id and a trip id."""
    route_json = json.dumps(route(limits.TRIP_ROUTE_POINTS))
    stops_json = json.dumps(stops(limits.TRIP_STOPS))
    async with db.as_owner() as tx:
        session = await tx.fetchval(
            "insert into public.pam_sessions (user_id, context) values ($1, '{}') returning id", user
        )
        await tx.executemany(
            "insert into public.pam_messages (user_id, session_id, role, content) values ($1, $2, 'user', $3)",
            [(user, session, WIDE * limits.MESSAGE_CONTENT_CHARS)] * 100,
        )
        trip = None
        for i in range(10):
            trip = await tx.fetchval(
                "insert into public.trips (user_id, title, started_at, route, stops)"
                " values ($1, $2, $3, $4::text::jsonb, $5::text::jsonb) returning id",
                user,
                f"Trip {i}",
                dt.datetime(2026, 11, 1, tzinfo=dt.UTC) - dt.timedelta(days=i),
                route_json,
                stops_json,
            )
    return str(session), str(trip)


def candidates(session: str, trip: str) -> dict[str, tuple[str, dict[str, Any]]]:
    text = limits.GUARDRAIL_TEXT_CHARS
    del trip  # pam://trips/{id} reads no route any more: cheap, measured by bench/stall.py
    return {
        "check_guardrails, longest text of U+FDFA": (
            "tools/call", {"name": "check_guardrails", "arguments": {"text": WIDE * text}}),
        "check_guardrails, longest text of card-like digits": (
            "tools/call", {"name": "check_guardrails", "arguments": {"text": ("4111 1111 " * text)[:text]}}),
        "log_message, longest content and metadata": (
            "tools/call", {"name": "log_message", "arguments": {
                "session_id": session, "role": "user", "content": WIDE * limits.MESSAGE_CONTENT_CHARS,
                "metadata": wide_strings(limits.MESSAGE_METADATA_BYTES, 4)}}),
        "get_context, session of the longest messages": (
            "tools/call", {"name": "get_context", "arguments": {"session_id": session, "message_limit": 100}}),
        "log_trip, most route points and stops": (
            "tools/call", {"name": "log_trip", "arguments": {
                "started_at": "2026-11-20T06:00:00+00:00", "route": route(limits.TRIP_ROUTE_POINTS),
                "stops": stops(limits.TRIP_STOPS)}}),
    }  # fmt: skip


async def limiter_calls(redis: Redis, user: uuid.UUID, seen: MemoryObjectSendStream[None]) -> None:
    """Sends one item each time the server's Redis runs the limiter's script for ``user``."""
    async with redis.monitor() as monitor:
        async for command in monitor.listen():
            text = str(command.get("command", ""))
            if text.upper().startswith(("EVALSHA", "EVAL")) and str(user) in text:
                await seen.send(None)


async def answered_meanwhile(
    http: httpx2.AsyncClient,
    url: str,
    a: str,
    b: str,
    method: str,
    params: dict[str, Any],
    ids: Any,
    limited: MemoryObjectReceiveStream[None],
) -> tuple[int, dict[str, Any]]:
    """A's call; B's pings once it has passed the limiter. (B's pings answered before A's, A's reply)."""
    payload = json.dumps({"jsonrpc": "2.0", "id": next(ids), "method": method, "params": params})
    done = anyio.Event()
    reply: dict[str, Any] = {}
    answered = 0

    waiting = anyio.CancelScope()

    async def person_a() -> None:
        headers = HEADERS | {"authorization": f"Bearer {a}"}
        response = await http.post(url, content=payload, headers=headers)
        reply.update(response.json())
        done.set()
        waiting.cancel()  # a call refused before the limiter never signals

    async def person_b() -> None:
        nonlocal answered
        with waiting:
            await limited.receive()  # A's call is past the limiter: its costly part is under way
        while not done.is_set():
            response = await http.post(
                url, json={"jsonrpc": "2.0", "id": next(ids), "method": "ping"},
                headers=HEADERS | {"authorization": f"Bearer {b}"},
            )  # fmt: skip
            assert response.status_code == 200, response.text
            if not done.is_set():
                answered += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(person_a)
        tg.start_soon(person_b)
    return answered, reply


@pytest.fixture
async def own_redis() -> AsyncIterator[RedisServer]:
    """A redis-server for this test alone, so MONITOR sees only this test's server."""
    with tempfile.TemporaryDirectory(prefix="pam-fair-") as short:  # unix socket paths are short
        server = RedisServer(Path(short) / "r.sock")
        await server.start()
        try:
            yield server
        finally:
            await server.stop()


async def test_while_one_person_runs_the_costliest_calls_another_persons_pings_are_answered_first(
    database_url: str, own_redis: RedisServer, db: Database, new_user: NewUser, tmp_path: Path
) -> None:
    alice, bob = await new_user(), await new_user()
    session, trip = await seed(db, alice)
    ids = itertools.count(1)
    outcomes: dict[str, str] = {}
    seen, limited = anyio.create_memory_object_stream[None](100)
    env = serve_env(database_url, own_redis.url, tmp_path, PAM_RATE_LIMIT="10000/hour")
    async with (
        Redis.from_url(own_redis.url) as watcher,
        serve_processes(1, env, tmp_path) as (url,),
        httpx2.AsyncClient(timeout=120) as http,
        anyio.create_task_group() as watching,
    ):
        watching.start_soon(limiter_calls, watcher, alice, seen)
        a, b = mint_token(alice), mint_token(bob)
        with anyio.fail_after(600):
            for name, (method, params) in candidates(session, trip).items():
                counts: list[int] = []
                outcome = "B was not answered while A's call ran"
                for _ in range(ROUNDS):
                    answered, reply = await answered_meanwhile(http, url, a, b, method, params, ids, limited)
                    if "result" not in reply or reply["result"].get("isError"):
                        outcome = f"A's call failed: {json.dumps(reply)[:300]}"
                        break
                    counts.append(answered)
                    if answered >= PINGS:
                        outcome = "B answered first"
                        break
                    outcome = f"B answered {counts} times while A's calls ran, not {PINGS}"
                outcomes[name] = outcome
        watching.cancel_scope.cancel()
    assert outcomes == dict.fromkeys(outcomes, "B answered first")
