"""2. The limiter, next to the limits library's Redis moving window on the same Redis.

Both are one Lua script per call on the same redis.asyncio connection pool (limits through
its redis-py bridge). Cost: interleaved admitted calls at 100/hour (each identity holding up
to 50 calls in its window), and beside it pam-mcp's default of two windows (50/minute,500/hour)
checked in the same script. Exactness: 1,000 concurrent
calls for one identity against a limit of 100; how many each admits.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from limits import RateLimitItemPerHour
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from bench.env import Bench, note
from bench.stats import Op, interleaved
from pam_mcp.errors import RateLimited
from pam_mcp.ratelimit import Rate, RateLimiter
from pam_mcp.rates import parse_rates
from pam_mcp.runtime import redis_client
from pam_mcp.settings import DEFAULT_RATE_LIMIT

LIMIT = 100
CONCURRENT = 1000


def _limits_storage(bench: Bench, pool: Any, tag: str) -> RedisStorage:
    uri = bench.redis_url.replace("unix://", "redis+unix://", 1)
    return RedisStorage(
        f"async+{uri}", implementation="redispy", key_prefix=f"{bench.key_prefix}:limits:{tag}", connection_pool=pool
    )


async def _pam_admitted(limiter: RateLimiter, identity: str, rate: Rate) -> int:
    async def one() -> bool:
        try:
            await limiter.hit(identity, "all", rate)
        except RateLimited:
            return False
        return True

    return sum(await asyncio.gather(*(one() for _ in range(CONCURRENT))))


async def _limits_admitted(strategy: MovingWindowRateLimiter, identity: str) -> int:
    item = RateLimitItemPerHour(LIMIT)
    return sum(await asyncio.gather(*(strategy.hit(item, identity) for _ in range(CONCURRENT))))


async def run(bench: Bench) -> dict[str, Any]:
    rounds, warmup = (1000, 50) if bench.quick else (5000, 200)
    trials = 2 if bench.quick else 5
    redis = redis_client(bench.redis_url)
    try:
        pam = RateLimiter(redis, key_prefix=f"{bench.key_prefix}:pam")
        strategy = MovingWindowRateLimiter(_limits_storage(bench, redis.connection_pool, "cost"))
        rate, item = Rate(LIMIT, 3600), RateLimitItemPerHour(LIMIT)
        # Rotate identities so every call is admitted and each window holds at most 50 calls.
        identities = max(1, (rounds + warmup) // 50 + 1)
        pam_ids, limits_ids = itertools.cycle(range(identities)), itertools.cycle(range(identities))
        # The same identities (another bucket), so the log is as full with two windows as with one.
        default, two_ids = parse_rates(DEFAULT_RATE_LIMIT), itertools.cycle(range(identities))

        async def pam_hit() -> None:
            await pam.hit(f"u{next(pam_ids)}", "all", rate)

        async def pam_two_windows() -> None:
            await pam.hit(f"u{next(two_ids)}", "two", default)

        async def limits_hit() -> None:
            if not await strategy.hit(item, f"u{next(limits_ids)}"):
                raise RuntimeError("limits refused a call that should have been admitted")

        async def ping() -> None:
            await redis.ping()

        ops: dict[str, Op] = {
            "redis_ping": ping,
            "pam_mcp": pam_hit,
            "pam_mcp_two_windows": pam_two_windows,
            "limits_moving_window": limits_hit,
        }
        note(f"limiter: {rounds} interleaved calls each")
        cost = {k: v.as_dict() for k, v in (await interleaved(ops, rounds, warmup)).items()}

        note(f"limiter: {trials} trials of {CONCURRENT} concurrent calls against a limit of {LIMIT}")
        pam_counts, limits_counts = [], []
        for trial in range(trials):
            pam_counts.append(await _pam_admitted(pam, f"burst{trial}", rate))
            burst = MovingWindowRateLimiter(_limits_storage(bench, redis.connection_pool, f"burst{trial}"))
            limits_counts.append(await _limits_admitted(burst, f"burst{trial}"))
        return {
            "cost": cost,
            "limit": LIMIT,
            "concurrent_calls": CONCURRENT,
            "admitted": {"pam_mcp": pam_counts, "limits_moving_window": limits_counts},
        }
    finally:
        await redis.aclose()
