"""Rate limits as a person meets them in a conversation (issue 8, point 6).

The defaults let a person hold 100 turns an hour and stop a looping agent within a minute; a
refused ``check_guardrails`` still gives the emergency numbers; check_guardrails counts in a
bucket of its own by default; reading a resource spends the budget of the tool whose data it
shows; and rates are validated when the settings are read, not at the first call. Through the
real MCP client, the real limiter on the suite's Redis and the real store; limiter time is
injected where the test is about time, so nothing sleeps.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import anyio
import pytest
from mcp import MCPError
from mcp.client import Client
from mcp_types import TextResourceContents
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from pam_mcp.buckets import RESOURCE_TOOLS, TOOL_NAMES
from pam_mcp.errors import RateLimited
from pam_mcp.ratelimit import Rate, RateLimiter, Rates, parse_rates
from pam_mcp.rates import MAX_LIMIT, MAX_WINDOW_SECONDS
from pam_mcp.runtime import Runtime
from pam_mcp.serve import make_app as serve_app
from pam_mcp.server import App, build_server, new_app
from pam_mcp.settings import Settings
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore
from tests.conftest import NewUser
from tests.support_http import text_of

pytestmark = pytest.mark.anyio

EMERGENCY = {"text": "My husband collapsed at the campground and he isn't breathing"}
PLAIN_CHECK = {"text": "Where can we fill up with diesel near Cobar?"}
# What the fixed emergency text must name, whatever the person's country.
EMERGENCY_NUMBERS = ("000", "911", "112", "13 11 14", "988")
T0 = 1_700_000_000_000


@pytest.fixture(autouse=True)
def no_rates_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings() here must mean the defaults, whatever the shell running the suite has set."""
    for variable in ("PAM_RATE_LIMIT", "PAM_TOOL_RATE_LIMITS"):
        monkeypatch.delenv(variable, raising=False)


def per_hour(limit: int) -> Rates:
    return Rates((Rate(limit=limit, window_seconds=3600),))


async def safety_events(db: Database, user: uuid.UUID) -> int:
    async with db.as_owner() as tx:
        count = await tx.fetchval("select count(*) from public.safety_events where user_id = $1", user)
    return int(count)


async def read_json(client: Client, uri: str) -> Any:
    contents = (await client.read_resource(uri)).contents
    assert isinstance(contents[0], TextResourceContents)
    return json.loads(contents[0].text)


# -- 1. defaults that fit a conversation --------------------------------------------------------------


@pytest.fixture
async def limiter(redis_client: Redis, redis_prefix: str) -> AsyncIterator[RateLimiter]:
    yield RateLimiter(redis_client, key_prefix=redis_prefix)
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}:*")]
    if keys:
        await redis_client.delete(*keys)


async def test_the_default_limits_let_a_person_hold_a_hundred_turns_in_an_hour(limiter: RateLimiter) -> None:
    settings = Settings()
    overall, guardrails = settings.rate_limits, settings.tool_rate_limits["check_guardrails"]
    person = str(uuid.uuid4())
    # A turn every 36 s; each turn reads the context, checks the message and the draft reply,
    # stores both sides and, every other turn, does something (logs an expense, a trip...).
    for turn in range(100):
        at = T0 + turn * 36_000
        for call in range(4 if turn % 2 else 3):
            await limiter.hit(person, "all", overall, now_ms=at + call * 1000)
        for check in range(2):
            await limiter.hit(person, "tool.check_guardrails", guardrails, now_ms=at + 5000 + check * 1000)
    # Even all 100 turns in a quick half hour fit: the minute window only stops machines.
    hurried = str(uuid.uuid4())
    for turn in range(100):
        for call in range(4):
            await limiter.hit(hurried, "all", overall, now_ms=T0 + turn * 18_000 + call * 1000)


async def test_the_default_limits_stop_an_agent_stuck_in_a_loop_within_a_minute(limiter: RateLimiter) -> None:
    overall = Settings().rate_limits
    agent = str(uuid.uuid4())
    admitted = 0
    refused_at = None
    for call in range(600):  # ten calls a second, for a minute
        try:
            await limiter.hit(agent, "all", overall, now_ms=T0 + call * 100)
            admitted += 1
        except RateLimited:
            refused_at = call * 100 if refused_at is None else refused_at
    assert refused_at is not None and refused_at < 60_000
    assert admitted == min(window.limit for window in overall.windows if window.window_seconds <= 60)


# -- 2. never withhold an emergency ----------------------------------------------------------------------


async def test_a_refused_check_guardrails_still_gives_the_emergency_numbers_and_does_no_work(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    app = make_app(user, tool_rates={"check_guardrails": per_hour(1)})
    async with Client(build_server(app)) as client:
        first = await client.call_tool("check_guardrails", EMERGENCY)
        assert not first.is_error, text_of(first)
        logged = await safety_events(db, user)
        refused = await client.call_tool("check_guardrails", EMERGENCY)

    assert refused.is_error
    message = text_of(refused)
    assert "Rate limit of 1/hour reached" in message
    for number in EMERGENCY_NUMBERS:
        assert number in message, f"{number} missing from: {message}"
    assert refused.meta is not None
    assert 3590 < refused.meta["retry_after"] <= 3600
    assert await safety_events(db, user) == logged  # no rules ran, nothing was written


async def test_check_guardrails_gives_the_emergency_numbers_even_when_the_limiter_is_down(
    db: Database, new_user: NewUser
) -> None:
    user = await new_user()
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0))
    app = new_app(store=PostgresStore(db), limiter=RateLimiter(down), rate=per_hour(100), stdio_user=user)
    try:
        async with Client(build_server(app)) as client:
            with anyio.fail_after(10):
                refused = await client.call_tool("check_guardrails", EMERGENCY)
                other = await client.call_tool("get_context", {})
    finally:
        await down.aclose()
    assert refused.is_error
    assert "cannot be reached" in text_of(refused)
    assert all(number in text_of(refused) for number in EMERGENCY_NUMBERS)
    # Only the safety check carries them: other refusals stay short.
    assert other.is_error
    assert "000" not in text_of(other)


async def test_by_default_check_guardrails_has_its_own_budget_so_other_calls_cannot_starve_it(
    db: Database, redis_client: Redis, redis_prefix: str, new_user: NewUser
) -> None:
    user = await new_user()
    settings = Settings(PAM_RATE_LIMIT="3/hour")
    runtime = Runtime(
        settings=settings, store=PostgresStore(db), db=db, redis=redis_client, database_url=None, redis_url=""
    )
    app = serve_app(runtime, key_prefix=redis_prefix)
    app.stdio_user = user
    async with Client(build_server(app)) as client:
        for _ in range(3):
            spent = await client.call_tool("query_expenses", {})
            assert not spent.is_error, text_of(spent)
        starved = await client.call_tool("get_context", {})
        check = await client.call_tool("check_guardrails", PLAIN_CHECK)

    assert starved.is_error
    assert "3/hour" in text_of(starved)
    assert not check.is_error, text_of(check)
    assert check.structured_content is not None
    assert check.structured_content["decision"] == "allow"


async def test_a_refused_tool_call_carries_the_seconds_to_wait_as_data(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    async with Client(build_server(make_app(user, rate="1/minute"))) as client:
        assert not (await client.call_tool("get_context", {})).is_error
        refused = await client.call_tool("query_expenses", {})
    assert refused.is_error
    assert refused.meta is not None
    assert 50 < refused.meta["retry_after"] <= 60
    assert "000" not in text_of(refused)


# -- 3. no bypass through resources ---------------------------------------------------------------------


async def test_reading_a_resource_spends_the_budget_of_the_tool_that_shows_the_same_data(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    app = make_app(user, tool_rates={"get_context": per_hour(2), "query_expenses": per_hour(1)})
    async with Client(build_server(app)) as client:
        assert not (await client.call_tool("get_context", {})).is_error
        await read_json(client, "pam://context")
        refused_tool = await client.call_tool("get_context", {})
        for uri in ("pam://context", "pam://profile"):
            with pytest.raises(MCPError) as refused_read:
                await client.read_resource(uri)
            assert "2/hour" in refused_read.value.message
            assert refused_read.value.data is not None
            assert 3590 < refused_read.value.data["retry_after"] <= 3600

        await read_json(client, "pam://expenses/2026-03")
        refused_query = await client.call_tool("query_expenses", {})

        # Everything else still counts in the global bucket, which has room.
        assert not (await client.call_tool("log_expense", {"amount": "5.00", "category": "food",
                                                           "description": "pie"})).is_error  # fmt: skip
        await read_json(client, "pam://guardrails")

    assert refused_tool.is_error
    assert "2/hour" in text_of(refused_tool)
    assert refused_query.is_error
    assert "1/hour" in text_of(refused_query)


async def test_every_tool_and_resource_is_declared_in_the_bucket_map(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    async with Client(build_server(make_app(await new_user()))) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        uris = {str(resource.uri) for resource in (await client.list_resources()).resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert tools == TOOL_NAMES
    assert uris | templates == set(RESOURCE_TOOLS)
    assert {tool for tool in RESOURCE_TOOLS.values() if tool is not None} <= TOOL_NAMES


def test_an_app_refuses_a_limit_for_a_tool_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="names no tool: a:b"):
        new_app(
            store=cast(Any, None), limiter=cast(RateLimiter, None), rate=per_hour(1), tool_rates={"a:b": per_hour(1)}
        )


async def test_the_rate_limit_resource_shows_every_window_of_every_bucket(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    app = make_app(user, tool_rates={"check_guardrails": parse_rates("200/hour,30/minute")})
    app.rate = parse_rates("500/hour,50/minute")
    async with Client(build_server(app)) as client:
        assert not (await client.call_tool("check_guardrails", PLAIN_CHECK)).is_error
        assert not (await client.call_tool("query_expenses", {})).is_error
        view = await read_json(client, "pam://rate-limit")  # this read counts too

    assert view["limit"] == "50/minute,500/hour"
    assert view["remaining"] == 48
    assert view["windows"] == [{"limit": "50/minute", "remaining": 48}, {"limit": "500/hour", "remaining": 498}]
    guardrails = view["tools"]["check_guardrails"]
    assert guardrails["limit"] == "30/minute,200/hour"
    assert [w["remaining"] for w in guardrails["windows"]] == [29, 199]


async def test_the_largest_limit_shows_a_true_remaining_count(make_app: Callable[..., App], new_user: NewUser) -> None:
    app = make_app(await new_user())
    app.rate = Rate(limit=MAX_LIMIT, window_seconds=MAX_WINDOW_SECONDS)
    async with Client(build_server(app)) as client:
        view = await read_json(client, "pam://rate-limit")
    assert view["remaining"] == MAX_LIMIT - 1
    assert view["limit"] == "1000000/day"


# -- 4. limits validated at start-up -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("PAM_RATE_LIMIT", "lots", "N/second|minute|hour|day"),
        ("PAM_RATE_LIMIT", "99999999999999999999/hour", "from 1 to 1,000,000"),
        ("PAM_RATE_LIMIT", "1/99999999999999d", "from 1 second to 1 day"),
        ("PAM_TOOL_RATE_LIMITS", "log_trip", "tool=N/period"),
        ("PAM_TOOL_RATE_LIMITS", "get_contxt=5/hour", "unknown tool 'get_contxt'"),
        ("PAM_TOOL_RATE_LIMITS", "log_trip=0/hour", "from 1 to 1,000,000"),
    ],
)
def test_a_bad_rate_is_refused_when_the_settings_are_read(variable: str, value: str, problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({variable: value})
    assert variable in str(refused.value)
    assert problem in str(refused.value)
    if "unknown tool" not in problem:
        assert "N/second|minute|hour|day or N/<k><s|m|h|d>" in str(refused.value)  # the format to write


def test_tool_limits_add_to_the_default_check_guardrails_bucket() -> None:
    assert str(Settings().rate_limits) == "50/minute,500/hour"
    settings = Settings(PAM_TOOL_RATE_LIMITS="log_trip=20/hour,5/minute")
    assert {name: str(rates) for name, rates in settings.tool_rate_limits.items()} == {
        "check_guardrails": "30/minute,200/hour",
        "log_trip": "5/minute,20/hour",
    }
    own = Settings(PAM_TOOL_RATE_LIMITS="check_guardrails=1000/hour")
    assert str(own.tool_rate_limits["check_guardrails"]) == "1000/hour"


def pam_free_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("PAM_", "SUPABASE_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return {**env, **settings}


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [("PAM_TOOL_RATE_LIMITS", "get_contxt=5/hour", "unknown tool 'get_contxt'"),
     ("PAM_RATE_LIMIT", "1/99999999999999d", "from 1 second to 1 day")],
)  # fmt: skip
async def test_the_command_line_stops_at_a_bad_rate_naming_the_variable(
    variable: str, value: str, problem: str
) -> None:
    with anyio.fail_after(60):
        result = await anyio.run_process(
            [sys.executable, "-m", "pam_mcp", "doctor"], env=pam_free_env(**{variable: value}), check=False
        )
    message = result.stderr.decode()
    assert result.returncode == 2
    assert variable in message
    assert problem in message
    assert "Traceback" not in message


async def test_doctor_reports_the_limits_without_importing_the_server_stack() -> None:
    code = (
        "import sys; from pam_mcp.doctor import _limiter_config; from pam_mcp.settings import Settings; "
        "print(_limiter_config(Settings()).detail); "
        "print(sorted(m for m in ('mcp', 'uvicorn', 'starlette', 'pam_mcp.serve') if m in sys.modules))"
    )
    with anyio.fail_after(60):
        result = await anyio.run_process(
            [sys.executable, "-c", code], env=pam_free_env(PAM_TOOL_RATE_LIMITS="log_trip=20/hour"), check=True
        )
    detail, imported = result.stdout.decode().splitlines()
    assert "limit 50/minute,500/hour, check_guardrails 30/minute,200/hour, log_trip 20/hour," in detail
    assert imported == "[]"
