"""Every free-form input has a cap, checked before any heavy work and kept by the database too.

Through the real MCP client (in memory) a call over a cap is refused with an error that names
the argument and the limit, and nothing is written. Directly in SQL, as Supabase's REST API
runs a request (role ``authenticated`` with the caller's claims), the same caps hold: the
CHECK constraints and the functions' own constants, whatever limit a caller passes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp.client import Client

from pam_mcp.errors import InvalidInput
from pam_mcp.server import App, build_server
from pam_mcp.store.postgres import Database
from pam_mcp.tools import guardrail_rules, limits
from pam_mcp.tools.conversation import MAX_CONTEXT_CHARS, MAX_MESSAGE_CHARS
from tests.conftest import NewUser

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def session(app: App) -> AsyncIterator[Client]:
    async with Client(build_server(app)) as client:
        yield client


async def refused(client: Client, tool: str, args: dict[str, Any]) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, f"{tool} should have been refused"
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def messages(db: Database, user: uuid.UUID) -> int:
    async with db.as_owner() as tx:
        n: int = await tx.fetchval("select count(*) from public.pam_messages where user_id = $1", user)
    return n


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth - 1):
        value = {"n": value}
    return value


async def test_the_tools_caps_and_the_databases_caps_are_the_same_numbers(db: Database) -> None:
    async with db.as_owner() as tx:
        in_sql = {name: await tx.fetchval("select public.pam_limit($1)", name) for name in limits.SQL_AGREES}
        clip = await tx.fetchval("select public.pam_limit('context_message_chars')")
    assert in_sql == limits.SQL_AGREES
    assert limits.GUARDRAIL_TEXT_CHARS == guardrail_rules.MAX_TEXT_CHARS
    assert clip > MAX_MESSAGE_CHARS  # get_context still sees that a message was longer than it shows


async def test_a_misspelt_cap_name_is_an_error_not_a_check_that_passes_everything(db: Database) -> None:
    async with db.as_owner() as tx:
        with pytest.raises(InvalidInput):  # 22023, translated as every data error is
            await tx.fetchval("select public.pam_limit('message_content_char')")


async def test_log_message_metadata_over_its_size_depth_or_count_is_refused_naming_the_argument_and_limit(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    async with session(make_app(user)) as client:
        started = await client.call_tool("update_context", {"facts": {"trip": "Hay"}})
        sid = started.structured_content["session_id"]
        base = {"session_id": sid, "role": "user", "content": "hello"}
        big = await refused(client, "log_message", base | {"metadata": {"k": "x" * limits.MESSAGE_METADATA_BYTES}})
        deep = await refused(client, "log_message", base | {"metadata": {"k": nested(limits.JSON_MAX_DEPTH + 1)}})
        many = await refused(client, "log_message", base | {"metadata": {"k": [1] * limits.JSON_MAX_VALUES}})
        fits = await client.call_tool("log_message", base | {"metadata": {"k": "x" * 16_000}})
    assert big.startswith("Invalid arguments for log_message: metadata: ")
    assert f"the limit is {limits.MESSAGE_METADATA_BYTES}" in big
    assert deep == (
        f"Invalid arguments for log_message: metadata: is nested more than {limits.JSON_MAX_DEPTH} levels deep"
    )
    assert many == (
        "Invalid arguments for log_message: metadata: holds more than "
        f"{limits.JSON_MAX_VALUES} values (keys, strings, numbers...) in all"
    )
    assert not fits.is_error
    assert await messages(db, user) == 1


async def test_update_context_facts_over_the_session_cap_are_refused_before_the_database(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    async with session(make_app(user)) as client:
        text = await refused(client, "update_context", {"facts": {"notes": "x" * limits.SESSION_CONTEXT_BYTES}})
        deep = await refused(client, "update_context", {"facts": {"n": nested(200)}})
    assert text.startswith("Invalid arguments for update_context: facts: is ")
    assert f"the limit is {limits.SESSION_CONTEXT_BYTES}" in text
    assert "nested more than" in deep


async def test_the_database_refuses_oversized_rows_written_as_the_rest_api_would(
    db: Database, new_user: NewUser
) -> None:
    user = await new_user()
    oversized = [
        ("insert into public.pam_sessions (context) values ($1::text::jsonb)",
         json.dumps({"k": "x" * limits.SESSION_CONTEXT_BYTES})),
        ("insert into public.trips (started_at, route) values (now(), $1::text::jsonb)",
         json.dumps([{"lat": 0, "lon": 0}] * (limits.TRIP_ROUTE_POINTS + 1))),
        ("insert into public.trips (started_at, notes) values (now(), $1)", "x" * (limits.TRIP_NOTES_CHARS + 1)),
        ("insert into public.safety_events (event_type, details) values ('x', $1::text::jsonb)",
         json.dumps({"k": "x" * limits.SAFETY_DETAILS_BYTES})),
        ("insert into public.calendar_events (title, starts_at, location) values ('x', now(), $1)",
         "x" * (limits.EVENT_LOCATION_CHARS + 1)),
    ]  # fmt: skip
    for sql, value in oversized:
        with pytest.raises(InvalidInput, match="break a rule of the data"):
            async with db.as_user(user) as tx:
                await tx.execute(sql, value)
    async with db.as_user(user) as tx:
        sid = await tx.fetchval("insert into public.pam_sessions (context) values ('{}') returning id")
    for column, value in (("content", "x" * (limits.MESSAGE_CONTENT_CHARS + 1)),
                          ("metadata", json.dumps({"k": "x" * limits.MESSAGE_METADATA_BYTES}))):  # fmt: skip
        with pytest.raises(InvalidInput, match="break a rule of the data"):
            async with db.as_user(user) as tx:
                content, metadata = (value, "{}") if column == "content" else ("hi", value)
                await tx.execute(
                    "select public.log_pam_message($1, 'user', $2, $3::text::jsonb)", sid, content, metadata
                )


async def test_merge_session_context_keeps_its_own_cap_whatever_limit_the_caller_passes(
    db: Database, new_user: NewUser
) -> None:
    user = await new_user()
    facts = json.dumps({"k": "x" * (limits.SESSION_CONTEXT_BYTES + 1000)})
    async with db.as_user(user) as tx:
        row = await tx.fetchrow(
            "select stored, size_bytes from public.merge_session_context(null, $1::text::jsonb, '{}', 2147483647)",
            facts,
        )
        smaller = await tx.fetchrow(
            "select stored from public.merge_session_context(null, '{\"a\": 1}'::jsonb, '{}', 4)"
        )
        default = await tx.fetchrow(
            "select stored from public.merge_session_context(null, '{\"a\": 1}'::jsonb, '{}', null)"
        )
    assert row is not None and smaller is not None and default is not None
    assert (row["stored"], row["size_bytes"] > limits.SESSION_CONTEXT_BYTES) == (False, True)
    assert smaller["stored"] is False  # a caller may ask for less, never for more
    assert default["stored"] is True


async def test_get_context_on_a_session_of_the_longest_messages_fits_its_cap_and_says_what_it_left_out(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    async with db.as_owner() as tx:
        sid = await tx.fetchval("insert into public.pam_sessions (user_id) values ($1) returning id", user)
        await tx.executemany(
            "insert into public.pam_messages (user_id, session_id, role, content, created_at)"
            " values ($1, $2, 'user', $3, now() - make_interval(secs => $4))",
            [(user, sid, f"{i:03d}" + "\ufdfa" * (limits.MESSAGE_CONTENT_CHARS - 3), 100.0 - i) for i in range(100)],
        )
    async with session(make_app(user)) as client:
        result = await client.call_tool("get_context", {"session_id": str(sid), "message_limit": 100})
    out = result.structured_content
    assert out is not None and not result.is_error
    assert len(json.dumps(out, ensure_ascii=False, separators=(",", ":"))) <= MAX_CONTEXT_CHARS
    kept = out["messages"]
    assert kept, "the newest messages that fit are kept"
    assert [m["content"][:3] for m in kept] == [f"{i:03d}" for i in range(100 - len(kept), 100)]
    assert out["truncated"] is True
    assert f"{100 - len(kept)} older message(s) left out" in out["truncation_note"]
    assert "100 long message(s) shortened" in out["truncation_note"]


async def test_pam_trips_lists_summaries_counted_in_the_database_not_routes(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    route = json.dumps([{"lat": -33.0, "lon": 151.0, "name": "x" * 200}] * limits.TRIP_ROUTE_POINTS)
    async with db.as_owner() as tx:
        await tx.execute(
            "insert into public.trips (user_id, title, started_at, route) values ($1, 'Long', now(), $2::text::jsonb)",
            user,
            route,
        )
    async with session(make_app(user)) as client:
        read = await client.read_resource("pam://trips")
    text = read.contents[0].text  # type: ignore[union-attr]
    assert len(text) < 1_000
    assert json.loads(text)["trips"][0]["route_points"] == limits.TRIP_ROUTE_POINTS
