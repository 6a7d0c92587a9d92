"""The rate limiter's contract, against a real Redis (the ``redis_url`` fixture).

Time is injected (``now_ms``) wherever the test is about time, so nothing sleeps; only the
concurrency test uses the Redis clock, as production does. Every test gets its own key prefix,
so runs never see each other's logs, and the prefix's keys are deleted afterwards.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import anyio
import pytest
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from pam_mcp.errors import LimiterUnavailable, RateLimited
from pam_mcp.ratelimit import LimitDecision, Rate, RateLimiter, Rates, parse_rate, parse_rates
from pam_mcp.rates import MAX_LIMIT, MAX_WINDOW_SECONDS, parse_tool_rates

MINUTE = Rate(limit=3, window_seconds=60)
T0 = 1_700_000_000_000  # an arbitrary injected "now", in ms
USER = "6f1c2b1e-2c3a-4d6e-9b8a-0c1d2e3f4a5b"


@pytest.fixture
def prefix() -> str:
    return f"test:rl:{uuid.uuid4().hex}"


@pytest.fixture
async def client(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        yield redis
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


@pytest.fixture
def limiter(client: Redis, prefix: str) -> RateLimiter:
    return RateLimiter(client, key_prefix=prefix)


def seconds(s: float) -> int:
    return T0 + int(s * 1000)


@pytest.mark.anyio
async def test_admits_exactly_the_limit_then_refuses_with_the_exact_retry_after(limiter: RateLimiter) -> None:
    decisions = [await limiter.hit(USER, "global", MINUTE, now_ms=seconds(t)) for t in (0, 10, 20)]

    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert all(d.allowed and d.limit == 3 for d in decisions)
    with pytest.raises(RateLimited) as refused:
        await limiter.hit(USER, "global", MINUTE, now_ms=seconds(30))
    assert refused.value.retry_after == 30.0  # the call at t=0 ages out at t=60
    assert refused.value.limit == "3/minute"
    assert str(refused.value) == "Rate limit of 3/minute reached; the next call is allowed in 30 s."


@pytest.mark.anyio
async def test_a_refused_call_is_not_recorded(limiter: RateLimiter) -> None:
    for t in (0, 10, 20):
        await limiter.hit(USER, "global", MINUTE, now_ms=seconds(t))
    for t in (30, 40, 50):
        with pytest.raises(RateLimited):
            await limiter.hit(USER, "global", MINUTE, now_ms=seconds(t))

    # Had the refusals counted, the caller would still be locked out here.
    assert (await limiter.hit(USER, "global", MINUTE, now_ms=seconds(60))).allowed


@pytest.mark.anyio
async def test_the_window_slides_one_call_at_a_time(limiter: RateLimiter) -> None:
    for t in (0, 10, 20):
        await limiter.hit(USER, "global", MINUTE, now_ms=seconds(t))

    with pytest.raises(RateLimited) as just_before:
        await limiter.hit(USER, "global", MINUTE, now_ms=seconds(59.999))
    assert just_before.value.retry_after == 0.001
    admitted = await limiter.hit(USER, "global", MINUTE, now_ms=seconds(60))
    assert admitted.allowed
    assert admitted.remaining == 0
    with pytest.raises(RateLimited) as next_refusal:
        await limiter.hit(USER, "global", MINUTE, now_ms=seconds(60.001))
    assert next_refusal.value.retry_after == 9.999  # now the call at t=10 is the oldest


@pytest.mark.anyio
async def test_a_lowered_limit_waits_for_enough_old_calls_to_age_out(limiter: RateLimiter) -> None:
    generous = Rate(limit=5, window_seconds=60)
    for t in range(5):
        await limiter.hit(USER, "global", generous, now_ms=seconds(t))

    # Five calls logged, two allowed: four must age out before one more fits, the one at t=3 last.
    with pytest.raises(RateLimited) as refused:
        await limiter.hit(USER, "global", Rate(limit=2, window_seconds=60), now_ms=seconds(5))
    assert refused.value.retry_after == 58.0


@pytest.mark.anyio
async def test_buckets_and_identities_are_independent(limiter: RateLimiter) -> None:
    one = Rate(limit=1, window_seconds=60)
    other_user = str(uuid.uuid4())
    await limiter.hit(USER, "global", one, now_ms=T0)

    assert (await limiter.hit(USER, "plan_trip", one, now_ms=T0)).allowed
    assert (await limiter.hit(other_user, "global", one, now_ms=T0)).allowed
    with pytest.raises(RateLimited):
        await limiter.hit(USER, "global", one, now_ms=T0)


@pytest.mark.anyio
async def test_every_key_expires_on_its_own_within_the_window(limiter: RateLimiter, client: Redis, prefix: str) -> None:
    await limiter.hit(USER, "global", MINUTE, now_ms=T0)
    await limiter.hit(USER, "per_tool", Rate(limit=10, window_seconds=1))

    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    assert sorted(keys) == [f"{prefix}:{USER}:global".encode(), f"{prefix}:{USER}:per_tool".encode()]
    assert 0 < await client.pttl(f"{prefix}:{USER}:global") <= 60_000
    assert 0 < await client.pttl(f"{prefix}:{USER}:per_tool") <= 1_000


@pytest.mark.anyio
async def test_peek_reports_the_budget_without_spending_it(limiter: RateLimiter) -> None:
    fresh = await limiter.peek(USER, "global", MINUTE, now_ms=T0)
    assert fresh == LimitDecision(allowed=True, remaining=3, reset_after_seconds=0.0, limit=3, left=(3,))

    await limiter.hit(USER, "global", MINUTE, now_ms=seconds(0))
    for _ in range(5):
        seen = await limiter.peek(USER, "global", MINUTE, now_ms=seconds(15))
        assert seen == LimitDecision(allowed=True, remaining=2, reset_after_seconds=45.0, limit=3, left=(2,))

    await limiter.hit(USER, "global", MINUTE, now_ms=seconds(20))
    await limiter.hit(USER, "global", MINUTE, now_ms=seconds(25))
    spent = await limiter.peek(USER, "global", MINUTE, now_ms=seconds(30))
    assert spent == LimitDecision(
        allowed=False, remaining=0, reset_after_seconds=55.0, limit=3, retry_after_seconds=30.0, left=(0,)
    )


@pytest.mark.anyio
async def test_a_thousand_concurrent_hits_admit_exactly_the_limit(redis_url: str, prefix: str) -> None:
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=50, timeout=10)
    redis = Redis(connection_pool=pool)
    limiter = RateLimiter(redis, key_prefix=prefix)
    rate = Rate(limit=100, window_seconds=60)
    admitted: list[LimitDecision] = []
    refused: list[RateLimited] = []

    async def one_call() -> None:
        try:
            admitted.append(await limiter.hit(USER, "global", rate))
        except RateLimited as exc:
            refused.append(exc)

    try:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(1000):
                    tg.start_soon(one_call)
        assert len(admitted) == 100
        assert len(refused) == 900
        assert sorted(d.remaining for d in admitted) == list(range(100))
        assert all(0 < exc.retry_after <= 60 for exc in refused)
    finally:
        await redis.delete(f"{prefix}:{USER}:global")
        await redis.aclose()
        await pool.aclose()


# -- several windows at once --------------------------------------------------------------------

TWO_A_MINUTE_THREE_AN_HOUR = Rates((Rate(limit=2, window_seconds=60), Rate(limit=3, window_seconds=3600)))


@pytest.mark.anyio
async def test_a_call_needs_room_in_every_window_and_waits_for_the_slowest(limiter: RateLimiter) -> None:
    rates = TWO_A_MINUTE_THREE_AN_HOUR
    await limiter.hit(USER, "global", rates, now_ms=seconds(0))
    await limiter.hit(USER, "global", rates, now_ms=seconds(10))

    with pytest.raises(RateLimited) as minute_full:  # only the minute is full: its wait
        await limiter.hit(USER, "global", rates, now_ms=seconds(20))
    assert minute_full.value.retry_after == 40.0
    assert minute_full.value.limit == "2/minute"  # the window that makes the wait is named

    admitted = await limiter.hit(USER, "global", rates, now_ms=seconds(61))
    assert admitted.remaining == 0  # the minute holds t=10 and t=61, the hour all three calls

    # Both full: the minute frees up at t=70, the hour only at t=3600. The wait is the hour's.
    with pytest.raises(RateLimited) as both_full:
        await limiter.hit(USER, "global", rates, now_ms=seconds(62))
    assert both_full.value.retry_after == 3538.0
    assert str(both_full.value) == "Rate limit of 3/hour reached; the next call is allowed in 3538 s."
    with pytest.raises(RateLimited):
        await limiter.hit(USER, "global", rates, now_ms=seconds(3599.999))
    assert (await limiter.hit(USER, "global", rates, now_ms=seconds(3600))).allowed


@pytest.mark.anyio
async def test_a_call_refused_by_one_window_is_counted_in_none(limiter: RateLimiter) -> None:
    rates = Rates((Rate(limit=1, window_seconds=60), Rate(limit=2, window_seconds=3600)))
    await limiter.hit(USER, "global", rates, now_ms=seconds(0))
    with pytest.raises(RateLimited):
        await limiter.hit(USER, "global", rates, now_ms=seconds(30))

    # Had the refusal counted in the hour, the hour would be full already.
    assert (await limiter.hit(USER, "global", rates, now_ms=seconds(60))).allowed
    with pytest.raises(RateLimited) as hour_full:
        await limiter.hit(USER, "global", rates, now_ms=seconds(120))
    assert hour_full.value.retry_after == 3480.0


@pytest.mark.anyio
async def test_peek_reports_what_is_left_in_each_window(limiter: RateLimiter) -> None:
    rates = TWO_A_MINUTE_THREE_AN_HOUR
    await limiter.hit(USER, "global", rates, now_ms=seconds(0))
    await limiter.hit(USER, "global", rates, now_ms=seconds(70))

    seen = await limiter.peek(USER, "global", rates, now_ms=seconds(80))
    assert seen == LimitDecision(allowed=True, remaining=1, reset_after_seconds=3590.0, limit=2, left=(1, 1))


@pytest.mark.anyio
async def test_several_windows_live_in_one_key_that_expires_with_the_longest(
    limiter: RateLimiter, client: Redis, prefix: str
) -> None:
    await limiter.hit(USER, "global", TWO_A_MINUTE_THREE_AN_HOUR)

    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    assert keys == [f"{prefix}:{USER}:global".encode()]
    assert 60_000 < await client.pttl(keys[0]) <= 3_600_000


@pytest.mark.anyio
async def test_a_thousand_concurrent_hits_fill_each_of_two_windows_exactly(limiter: RateLimiter) -> None:
    rates = Rates((Rate(limit=50, window_seconds=60), Rate(limit=120, window_seconds=3600)))

    async def burst(at: float) -> tuple[int, list[float]]:
        admitted, waits = 0, []

        async def one_call() -> None:
            nonlocal admitted
            try:
                await limiter.hit(USER, "global", rates, now_ms=seconds(at))
                admitted += 1
            except RateLimited as exc:
                waits.append(exc.retry_after)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(1000):
                    tg.start_soon(one_call)
        return admitted, waits

    # The minute admits 50 of each burst until the hour's 120 are spent: 50, 50, then 20.
    first, first_waits = await burst(0)
    second, _ = await burst(60)
    third, third_waits = await burst(120)
    assert (first, second, third) == (50, 50, 20)
    assert set(first_waits) == {60.0}  # the minute's oldest entry ages out at t=60
    assert set(third_waits) == {3480.0}  # the hour's: 120 calls back, the first at t=0


@pytest.mark.anyio
async def test_the_largest_limit_and_window_give_exact_positive_figures(limiter: RateLimiter) -> None:
    widest = Rate(limit=MAX_LIMIT, window_seconds=MAX_WINDOW_SECONDS)
    decision = await limiter.hit(USER, "global", widest, now_ms=seconds(0))
    assert (decision.remaining, decision.limit) == (MAX_LIMIT - 1, MAX_LIMIT)
    assert (await limiter.peek(USER, "global", widest, now_ms=seconds(1))).left == (MAX_LIMIT - 1,)

    once_a_day = Rate(limit=1, window_seconds=MAX_WINDOW_SECONDS)
    await limiter.hit(USER, "daily", once_a_day, now_ms=seconds(0))
    with pytest.raises(RateLimited) as refused:
        await limiter.hit(USER, "daily", once_a_day, now_ms=seconds(0.001))
    assert refused.value.retry_after == 86_399.999


def test_several_windows_are_read_and_written_back_shortest_first() -> None:
    rates = parse_rates(" 500/hour , 50/minute ")
    assert rates.windows == (Rate(50, 60), Rate(500, 3600))
    assert str(rates) == "50/minute,500/hour"
    assert parse_rates(str(rates)) == rates


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "no rate"), (",", "no rate"), ("5/hour,6/60m", "same length"), ("1/s,2/m,3/h,4/d,5/2d", "period"),
     ("1/1s,2/2s,3/3s,4/4s,5/5s", "1 to 4 windows"), ("5/hour,lots", "cannot read")],
)  # fmt: skip
def test_several_windows_refuse_a_value_that_cannot_be_meant(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_rates(text)


def test_tool_limits_take_several_windows_per_tool() -> None:
    tools = {"log_trip", "check_guardrails"}
    assert parse_tool_rates("log_trip=20/hour,5/minute, check_guardrails=300/hour", tools) == {
        "log_trip": Rates((Rate(5, 60), Rate(20, 3600))),
        "check_guardrails": Rates((Rate(300, 3600),)),
    }
    assert parse_tool_rates("", tools) == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [("log_trip", "not tool=rate"), ("5/hour,log_trip=1/hour", "not tool=rate"), ("plan_trip=5/hour", "unknown tool"),
     ("a:b=5/hour", "unknown tool"), ("log_trip=5/hour,log_trip=9/day", "twice"), ("log_trip=lots", "cannot read"),
     ("=5/hour", "unknown tool")],
)  # fmt: skip
def test_tool_limits_refuse_unknown_tools_and_unreadable_entries(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_tool_rates(text, {"log_trip"})


def unreachable_redis() -> Redis:
    # Port 1 refuses at once; no retries so the test measures our translation, not backoff.
    return Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0))


DRIVER_WORDS = ("errno", "refused", "connecting", "127.0.0.1", "redis.exceptions", "connectionerror", ":1")


@pytest.mark.anyio
async def test_an_unreachable_redis_refuses_with_a_message_for_people() -> None:
    redis = unreachable_redis()
    limiter = RateLimiter(redis)
    try:
        with anyio.fail_after(5):
            for call in (limiter.hit, limiter.peek):
                with pytest.raises(LimiterUnavailable) as unavailable:
                    await call(USER, "global", MINUTE)
                message = str(unavailable.value)
                assert message == "The rate limiter (Redis) cannot be reached right now; try again shortly."
                assert not any(word in message.lower() for word in DRIVER_WORDS)
    finally:
        await redis.aclose()


@pytest.mark.anyio
async def test_fail_open_admits_and_warns_once_when_redis_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis = unreachable_redis()
    limiter = RateLimiter(redis, fail_open=True)
    try:
        with caplog.at_level(logging.WARNING, logger="pam_mcp.ratelimit"), anyio.fail_after(5):
            first = await limiter.hit(USER, "global", MINUTE)
            second = await limiter.hit(USER, "global", MINUTE)
    finally:
        await redis.aclose()

    assert first.allowed
    assert second.allowed
    warnings = [r for r in caplog.records if r.name == "pam_mcp.ratelimit" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "fail_open" in warnings[0].getMessage()


@pytest.mark.anyio
async def test_a_redis_error_reply_is_translated_too(limiter: RateLimiter, client: Redis, prefix: str) -> None:
    await client.set(f"{prefix}:{USER}:global", "not a sorted set", px=60_000)  # WRONGTYPE for the script

    with pytest.raises(LimiterUnavailable) as unavailable:
        await limiter.hit(USER, "global", MINUTE)
    assert "wrongtype" not in str(unavailable.value).lower()


@pytest.mark.anyio
async def test_the_script_is_reloaded_after_redis_forgets_it(limiter: RateLimiter, client: Redis) -> None:
    await limiter.hit(USER, "global", MINUTE, now_ms=seconds(0))
    # What a Redis restart does to scripts. Safe on a shared Redis: every client reloads on NOSCRIPT.
    await client.script_flush()

    decision = await limiter.hit(USER, "global", MINUTE, now_ms=seconds(1))
    assert decision.allowed
    assert decision.remaining == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("identity", "bucket"),
    [("a:b", "global"), ("*", "global"), ("", "global"), ("user id", "global"), (USER, "x{y}"), (USER, "")],
)
async def test_identities_and_buckets_that_could_break_the_key_are_rejected(
    limiter: RateLimiter, identity: str, bucket: str
) -> None:
    with pytest.raises(ValueError, match="must be 1-128 characters"):
        await limiter.hit(identity, bucket, MINUTE)


@pytest.mark.parametrize(
    ("text", "limit", "window_seconds", "rendered"),
    [
        ("100/hour", 100, 3600, "100/hour"),
        ("100/hours", 100, 3600, "100/hour"),
        ("1/second", 1, 1, "1/second"),
        ("10/minute", 10, 60, "10/minute"),
        ("10/Minutes", 10, 60, "10/minute"),
        ("1000/day", 1000, 86400, "1000/day"),
        (" 20 / min ", 20, 60, "20/minute"),
        ("5/30s", 5, 30, "5/30s"),
        ("50/15m", 50, 900, "50/15m"),
        ("7/2h", 7, 7200, "7/2h"),
        ("3/12 hours", 3, 43200, "3/12h"),
        ("1000000/day", 1_000_000, 86400, "1000000/day"),
        ("60 per minute", 60, 60, "60/minute"),
        ("9/90s", 9, 90, "9/90s"),
        ("4/120s", 4, 120, "4/2m"),
    ],
)
def test_parse_rate_reads_the_usual_spellings(text: str, limit: int, window_seconds: int, rendered: str) -> None:
    rate = parse_rate(text)
    assert rate == Rate(limit=limit, window_seconds=window_seconds)
    assert str(rate) == rendered
    assert parse_rate(str(rate)) == rate


@pytest.mark.parametrize(
    "text",
    ["", "100", "hour", "0/hour", "-1/hour", "1.5/hour", "100/fortnight", "100/0s", "100/ms", "100/hour/2",
     "100//hour", "\u0661\u0660/hour", "100 hour", "3/2 days", "1/99999999999999d", "1000001/hour",
     "99999999999999999999/hour", "1/86401s"],
)  # fmt: skip
def test_parse_rate_refuses_anything_else_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


@pytest.mark.parametrize(
    ("limit", "window_seconds"), [(0, 60), (1, 0), (-5, 60), (True, 60), (1_000_001, 60), (1, 86_401), (1, 10**15)]
)
def test_a_rate_must_allow_one_to_a_million_calls_in_a_second_to_a_day(limit: int, window_seconds: int) -> None:
    with pytest.raises(ValueError, match="must be a whole number"):
        Rate(limit=limit, window_seconds=window_seconds)
