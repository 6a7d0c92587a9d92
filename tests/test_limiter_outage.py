"""The rate limit as a client meets it: budgets spent, Redis gone, Redis back, no restart.

Each outage test runs its own redis-server on a unix socket in tmp_path, so it can kill it
(SIGKILL, as a crash) and start it again on the same socket while one MCP client session
and one server object live on. The limit tests use the suite's Redis and a key space of
their own. Nothing sleeps: readiness is the server's own "ready to accept connections"
line, and every wait is bounded.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import MCPError
from mcp.client import Client
from mcp_types import TextResourceContents
from redis.asyncio import Redis

from pam_mcp.ratelimit import RateLimiter, parse_rate
from pam_mcp.runtime import redis_client
from pam_mcp.server import App, build_server, new_app
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore
from tests.conftest import NewUser
from tests.support_http import text_of
from tests.support_process import RedisServer

pytestmark = pytest.mark.anyio

DRIVER_WORDS = (
    "Error 111",
    "Errno",
    "ConnectionError",
    "ConnectionRefused",
    "redis.exceptions",
    "Traceback",
    "unix://",
)
ALLOWED_IN = re.compile(r"allowed in (\d+) s")
GUARDRAILS_CHECK = {"text": "Where can we fill up with diesel near Cobar?"}


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis.sock")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def limiter_redis(own_redis: RedisServer) -> AsyncIterator[Redis]:
    """The production client (short timeouts, no retries) pointed at the test's own Redis."""
    client = redis_client(own_redis.url)
    try:
        yield client
    finally:
        await client.aclose()


def outage_app(db: Database, redis: Redis, user: uuid.UUID, *, fail_open: bool = False) -> App:
    return new_app(
        store=PostgresStore(db),
        limiter=RateLimiter(redis, key_prefix="pam:rl", fail_open=fail_open),
        rate=parse_rate("100/hour"),
        stdio_user=user,
    )


def expense(description: str) -> dict[str, Any]:
    return {"amount": "18.00", "category": "food", "description": description, "spent_on": "2026-03-14"}


async def expense_descriptions(db: Database, user: uuid.UUID) -> list[str]:
    async with db.as_owner() as tx:
        rows = await tx.fetch("select description from public.expenses where user_id = $1 order by created_at", user)
    return [row["description"] for row in rows]


async def guardrails_level(client: Client) -> str:
    contents = (await client.read_resource("pam://guardrails")).contents
    assert isinstance(contents[0], TextResourceContents)
    return str(contents[0].text)


# -- Redis down, then back ------------------------------------------------------------------------


async def test_a_redis_outage_refuses_calls_plainly_writes_nothing_and_recovers_without_restart(
    own_redis: RedisServer,
    limiter_redis: Redis,
    db: Database,
    new_user: NewUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await new_user()
    server = build_server(outage_app(db, limiter_redis, user))
    async with Client(server) as client:
        before = await client.call_tool("log_expense", expense("before the outage"))
        assert not before.is_error, text_of(before)

        await own_redis.crash()
        with caplog.at_level(logging.WARNING, logger="pam_mcp.ratelimit"), anyio.fail_after(10):
            refused = await client.call_tool("log_expense", expense("during the outage"))
        assert refused.is_error
        message = text_of(refused)
        assert "rate limiter" in message.lower()
        assert "cannot be reached" in message
        for word in DRIVER_WORDS:
            assert word not in message, f"driver text {word!r} reached the client: {message}"
        # The operator's log says what went wrong, once.
        assert any("Redis failed" in record.getMessage() for record in caplog.records)

        with anyio.fail_after(10), pytest.raises(MCPError) as read_refused:
            await client.read_resource("pam://guardrails")
        assert "rate limiter" in read_refused.value.message.lower()
        for word in DRIVER_WORDS:
            assert word not in read_refused.value.message

        await own_redis.start()  # same socket; same client session, same server object
        with anyio.fail_after(10):
            after = await client.call_tool("log_expense", expense("after the outage"))
            assert not after.is_error, text_of(after)
            assert "medium" in await guardrails_level(client)

    assert await expense_descriptions(db, user) == ["before the outage", "after the outage"]


async def test_a_fail_open_limiter_admits_calls_while_redis_is_down(
    own_redis: RedisServer,
    limiter_redis: Redis,
    db: Database,
    new_user: NewUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await new_user()
    server = build_server(outage_app(db, limiter_redis, user, fail_open=True))
    async with Client(server) as client:
        await own_redis.crash()
        with caplog.at_level(logging.WARNING, logger="pam_mcp.ratelimit"), anyio.fail_after(10):
            admitted = await client.call_tool("log_expense", expense("during the outage"))
            assert not admitted.is_error, text_of(admitted)
            assert "medium" in await guardrails_level(client)
        assert any("admitting calls unlimited" in record.getMessage() for record in caplog.records)

        await own_redis.start()
        with anyio.fail_after(10):
            after = await client.call_tool("log_expense", expense("after the outage"))
        assert not after.is_error, text_of(after)

    assert await expense_descriptions(db, user) == ["during the outage", "after the outage"]


# -- budgets ----------------------------------------------------------------------------------------


async def spend(client: Client, calls: int) -> None:
    """Make ``calls`` admitted guardrail checks, spending that much of the budget."""
    for _ in range(calls):
        ok = await client.call_tool("check_guardrails", GUARDRAILS_CHECK)
        assert not ok.is_error, text_of(ok)


def seconds_until_allowed(message: str) -> int:
    found = ALLOWED_IN.search(message)
    assert found is not None, message
    return int(found[1])


async def test_the_sixth_call_in_an_hour_is_refused_with_the_exact_wait(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    async with Client(build_server(make_app(user, rate="5/hour"))) as client:
        await spend(client, 5)
        refused = await client.call_tool("query_expenses", {})
    assert refused.is_error
    message = text_of(refused)
    assert "5/hour" in message
    assert 3595 <= seconds_until_allowed(message) <= 3600


async def test_resource_reads_spend_the_same_budget_as_tool_calls(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    async with Client(build_server(make_app(user, rate="5/hour"))) as client:
        await spend(client, 4)
        assert "medium" in await guardrails_level(client)  # the fifth call of the hour
        with pytest.raises(MCPError) as refused:
            await client.read_resource("pam://guardrails")
        tool_refused = await client.call_tool("check_guardrails", GUARDRAILS_CHECK)
    assert "5/hour" in refused.value.message
    assert refused.value.data is not None
    assert 3590 < refused.value.data["retry_after"] <= 3600
    assert tool_refused.is_error
    assert "5/hour" in text_of(tool_refused)


async def test_a_tool_with_its_own_limit_is_refused_while_other_tools_still_work(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    app = make_app(user, rate="5/hour", tool_rates={"check_guardrails": parse_rate("2/hour")})
    async with Client(build_server(app)) as client:
        await spend(client, 2)
        refused = await client.call_tool("check_guardrails", GUARDRAILS_CHECK)
        assert refused.is_error
        assert "2/hour" in text_of(refused)
        assert 3595 <= seconds_until_allowed(text_of(refused)) <= 3600
        # The tool's own budget is separate: all five global calls are still there.
        for tool in ("query_expenses", "get_context", "query_expenses", "get_context", "query_expenses"):
            other = await client.call_tool(tool, {})
            assert not other.is_error, f"{tool}: {text_of(other)}"
