"""6. Stall: how long one person's most expensive call can keep another person waiting.

One real ``pam-mcp serve --transport http`` process, two signed-in people. Person A makes
the most expensive call the caps allow (``pam_mcp/tools/limits.py``), one kind at a time;
person B sends MCP ``ping`` back to back meanwhile (no rate limit, no database: an answer
needs nothing but the server's event loop). The figure per kind is B's slowest ping while
A's call was in flight, next to B's median ping with A idle, measured in the same run. The
target: no kind of call delays B by more than 100 ms.

``WORST`` sizes the calls at the caps. :func:`run` takes other sizes too: that is how the
"before" figure was measured on the code before the caps (the payloads from issue 8).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import statistics
import time
import uuid
from collections.abc import Mapping
from typing import Any

import anyio
import httpx2

from bench.env import UNLIMITED_TEXT, Bench, mint_token, note
from bench.processes import http_servers, server_env
from pam_mcp.store.postgres import Database
from pam_mcp.tools import limits

TARGET_MS = 100.0
HEADERS = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
    "mcp-protocol-version": "2025-11-25",
}
WIDE = "\ufdfa"  # one character that NFKC turns into 18: the costliest text per character for the engine

# Each size at its cap: what one person may send or store through pam-mcp or the REST API.
WORST: dict[str, int] = {
    "text_chars": limits.GUARDRAIL_TEXT_CHARS,
    "content_chars": limits.MESSAGE_CONTENT_CHARS,
    "metadata_bytes": limits.MESSAGE_METADATA_BYTES,
    "metadata_values": limits.JSON_MAX_VALUES,
    "metadata_pieces": 4,
    "context_bytes": limits.SESSION_CONTEXT_BYTES,
    "stored_message_chars": limits.MESSAGE_CONTENT_CHARS,
    "stored_messages": 100,
    "trip_points": limits.TRIP_ROUTE_POINTS,
    "trip_name_chars": limits.PLACE_NAME_CHARS,
    "trip_stops": limits.TRIP_STOPS,
    "trips": 10,
}


def _wide_strings(total_bytes: int, pieces: int) -> dict[str, str]:
    """``pieces`` keys holding U+FDFA (3 bytes in UTF-8) up to about ``total_bytes`` as JSON."""
    per = max(1, (total_bytes - 16 * pieces) // (3 * pieces))
    return {f"k{i}": WIDE * per for i in range(pieces)}


def _wide_list(total_bytes: int, pieces: int) -> dict[str, list[str]]:
    """One key holding ``pieces`` strings of U+FDFA, about ``total_bytes`` as JSON in all."""
    per = max(1, (total_bytes - 16 - 4 * pieces) // (3 * pieces))
    return {"notes": [WIDE * per for _ in range(pieces)]}


def _route(points: int, name_chars: int, day: dt.date) -> list[dict[str, Any]]:
    start = dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC)
    return [
        {
            "lat": round(-31.95 - i * 1e-4, 6),
            "lon": round(141.45 + i * 1e-4, 6),
            "at": (start + dt.timedelta(seconds=i)).isoformat(),
            "name": ("Silver City Highway " * 20)[:name_chars],
        }
        for i in range(points)
    ]


def _stops(count: int, name_chars: int) -> list[dict[str, Any]]:
    name = ("Wentworth roadhouse " * 20)[:name_chars]
    return [{"name": name, "lat": -34.1, "lon": 141.9, "kind": "fuel"} for _ in range(count)]


async def _seed(db: Database, user: uuid.UUID, sizes: Mapping[str, int], today: dt.date) -> tuple[str, str]:
    """A's stored worst cases, written as the REST API would let them be: a session full of the
    longest messages, and the largest trips. Returns the session id and one trip id."""
    message = WIDE * sizes["stored_message_chars"]
    route = json.dumps(_route(sizes["trip_points"], sizes["trip_name_chars"], today))
    stops = json.dumps(_stops(sizes["trip_stops"], sizes["trip_name_chars"]))
    async with db.as_owner() as tx:
        session = await tx.fetchval(
            "insert into public.pam_sessions (user_id, context) values ($1, $2) returning id",
            user,
            {"plan": "Broken Hill to Mildura"},
        )
        await tx.executemany(
            "insert into public.pam_messages (user_id, session_id, role, content) values ($1, $2, 'user', $3)",
            [(user, session, message) for _ in range(sizes["stored_messages"])],
        )
        trip = None
        for i in range(sizes["trips"]):
            trip = await tx.fetchval(
                "insert into public.trips (user_id, title, started_at, route, stops)"
                " values ($1, $2, $3, $4::text::jsonb, $5::text::jsonb) returning id",
                user,
                f"Trip {i}",
                dt.datetime.combine(today, dt.time(6), tzinfo=dt.UTC) - dt.timedelta(days=i),
                route,
                stops,
            )
    return str(session), str(trip)


def _cases(sizes: Mapping[str, int], session: str, trip: str, today: dt.date) -> dict[str, dict[str, Any]]:
    """JSON-RPC params of each candidate for the most expensive call."""
    tiny = {f"k{i}": ["a", "b", "c", "d"] for i in range(sizes["metadata_values"] // 6)}
    return {
        "check_guardrails, longest text of U+FDFA": {
            "name": "check_guardrails",
            "arguments": {"text": WIDE * sizes["text_chars"]},
        },
        "check_guardrails, longest text of card-like digits": {
            "name": "check_guardrails",
            "arguments": {"text": ("4111 1111 " * sizes["text_chars"])[: sizes["text_chars"]]},
        },
        "log_message, longest content and metadata of U+FDFA": {
            "name": "log_message",
            "arguments": {
                "session_id": session,
                "role": "user",
                "content": WIDE * sizes["content_chars"],
                "metadata": _wide_list(sizes["metadata_bytes"], sizes["metadata_pieces"]),
            },
        },
        "log_message, metadata of the most small strings": {
            "name": "log_message",
            "arguments": {"session_id": session, "role": "user", "content": "hi", "metadata": {"m": tiny}},
        },
        "update_context, largest facts": {
            "name": "update_context",
            "arguments": {"facts": _wide_strings(sizes["context_bytes"] - 64, 8)},
        },
        "get_context, session of the longest messages": {
            "name": "get_context",
            "arguments": {"session_id": session, "message_limit": 100},
        },
        "log_trip, most route points and stops": {
            "name": "log_trip",
            "arguments": {
                "started_at": f"{today}T06:00:00+00:00",
                "route": _route(sizes["trip_points"], sizes["trip_name_chars"], today),
                "stops": _stops(sizes["trip_stops"], sizes["trip_name_chars"]),
            },
        },
        "pam://trips, largest trips": {"uri": "pam://trips"},
        "pam://trips/{id}, largest trip": {"uri": f"pam://trips/{trip}"},
    }


async def _post(http: httpx2.AsyncClient, url: str, token: str, body: dict[str, Any]) -> httpx2.Response:
    # UTF-8 JSON as clients send it (not \u escapes): the most text under the 4 MB body cap.
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return await http.post(url, content=content, headers=HEADERS | {"authorization": f"Bearer {token}"})


async def _stall_once(
    http: httpx2.AsyncClient, url: str, a: str, b: str, params: dict[str, Any], ids: itertools.count[int]
) -> tuple[float, float, int, str]:
    """A's call with B pinging meanwhile: (B's slowest ping in ms, A's call in ms, B's pings, A's error or "")."""
    method = "resources/read" if "uri" in params else "tools/call"
    done = anyio.Event()
    pings: list[float] = []
    result: dict[str, Any] = {}

    async def person_a() -> None:
        began = time.perf_counter()
        response = await _post(http, url, a, {"jsonrpc": "2.0", "id": next(ids), "method": method, "params": params})
        result["ms"] = (time.perf_counter() - began) * 1000
        body: dict[str, Any] = response.json() if response.status_code == 200 else {"http": response.status_code}
        result["ok"] = "result" in body and not body["result"].get("isError", False)
        result["error"] = "" if result["ok"] else json.dumps(body)[:200]
        done.set()

    async def person_b() -> None:
        while not done.is_set():  # every ping sent while A's call runs counts, however late its answer
            began = time.perf_counter()
            await _post(http, url, b, {"jsonrpc": "2.0", "id": next(ids), "method": "ping"})
            pings.append((time.perf_counter() - began) * 1000)

    with anyio.fail_after(300):
        async with anyio.create_task_group() as tg:
            tg.start_soon(person_a)
            tg.start_soon(person_b)
    return max(pings), result["ms"], len(pings), str(result["error"])


async def run(bench: Bench, sizes: Mapping[str, int] | None = None) -> dict[str, Any]:
    sizes = dict(WORST if sizes is None else sizes)
    rounds = 2 if bench.quick else 4
    today = dt.date.today()
    dsn = await bench.database("stall")
    db = await Database.connect(dsn, max_size=2)
    try:
        a_user, b_user = await bench.new_user(db), await bench.new_user(db)
        session, trip = await _seed(db, a_user, sizes, today)
    finally:
        await db.close()
    a, b = mint_token(a_user), mint_token(b_user)
    cases = _cases(sizes, session, trip, today)
    env = server_env(dsn, bench.redis_url, bench.tmp, UNLIMITED_TEXT)
    ids = itertools.count(1)
    out: dict[str, Any] = {"sizes": sizes, "rounds": rounds, "cases": {}}
    async with (
        http_servers("pam_mcp", 1, env, bench.tmp) as (url,),
        httpx2.AsyncClient(timeout=300, limits=httpx2.Limits(max_connections=8)) as http,
    ):
        idle = []
        for _ in range(20 if bench.quick else 50):  # B alone: warms the pools, gives the baseline
            began = time.perf_counter()
            await _post(http, url, b, {"jsonrpc": "2.0", "id": next(ids), "method": "ping"})
            idle.append((time.perf_counter() - began) * 1000)
        out["idle_ping_median_ms"] = round(statistics.median(idle), 3)
        note(f"stall: {len(cases)} kinds of call x {rounds} rounds, B pinging meanwhile")
        for name, params in cases.items():
            runs = [await _stall_once(http, url, a, b, params, ids) for _ in range(rounds)]
            out["cases"][name] = {
                "b_worst_ping_ms": round(max(r[0] for r in runs), 2),
                "a_call_median_ms": round(statistics.median(r[1] for r in runs), 2),
                "b_pings_during_a": [r[2] for r in runs],
                "a_ok": not any(r[3] for r in runs),
                "a_error": next((r[3] for r in runs if r[3]), None),
            }
            note(f"stall: {name}: {out['cases'][name]}")
    worst_name = max(out["cases"], key=lambda n: out["cases"][n]["b_worst_ping_ms"])
    out["worst"] = {"case": worst_name, "b_worst_ping_ms": out["cases"][worst_name]["b_worst_ping_ms"]}
    return out
