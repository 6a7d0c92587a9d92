"""The rate limiter: who may call how often, decided in Redis in one round trip.

Each (identity, bucket) pair owns a sliding log in Redis (a sorted set of call times). One Lua
script, ``ratelimit.lua`` beside this file, trims the log, counts every window of the bucket's
limit (e.g. 400 an hour and 40 a minute, in one log), and either records the call in all of
them or computes the exact wait, atomically. That makes the limit exact under any concurrency and
across any number of server processes, and gives the caller a true ``Retry-After`` instead of
a guess. Fixed windows admit 2N around a boundary and token buckets admit 2N-1 in a rolling
window; a log admits N, at the price of memory proportional to the limit, which is small for
per-person limits.

What callers see: ``LimitDecision`` when admitted, ``RateLimited`` when refused, and
``LimiterUnavailable`` when Redis cannot answer (or an admission with a logged warning, if the
limiter was built with ``fail_open=True``). No redis exception leaves this module.
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
import re
from dataclasses import dataclass
from importlib import resources
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from pam_mcp.errors import LimiterUnavailable, RateLimited
from pam_mcp.rates import Rate, Rates, parse_rate, parse_rates

__all__ = ["LimitDecision", "Rate", "RateLimiter", "Rates", "parse_rate", "parse_rates"]

logger = logging.getLogger(__name__)

# Identities and buckets become parts of a Redis key joined by ":". Restricting them to the
# characters of a UUID or an MCP tool name keeps one caller's key from ever naming another's
# (no separators, no glob characters for SCAN/KEYS patterns, no whitespace).
_KEY_PART_RE: Final = re.compile(r"[A-Za-z0-9_.\-]{1,128}", re.ASCII)

_UNAVAILABLE_MESSAGE: Final = "The rate limiter (Redis) cannot be reached right now; try again shortly."


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """What the limiter decided for one call (or, from ``peek``, would decide).

    With several windows, the figures are the tightest: ``remaining`` is the fewest calls
    still admissible in any window after this one, and ``limit`` that window's limit.
    ``reset_after_seconds``: until the log holds no calls and every budget is back.
    ``retry_after_seconds``: 0 when allowed; from ``peek`` on an exhausted budget, the exact
    wait (the longest any full window needs).
    ``left``: from ``peek`` (and refusals), the calls still admissible in each window,
    shortest window first; empty for an admitted call.
    """

    allowed: bool
    remaining: int
    reset_after_seconds: float
    limit: int
    retry_after_seconds: float = 0.0
    left: tuple[int, ...] = ()


def _load_script() -> str:
    # Read through importlib.resources so the script is found in an installed wheel too.
    return resources.files(__package__ or "pam_mcp").joinpath("ratelimit.lua").read_text(encoding="utf-8")


_SCRIPT: Final = _load_script()

# Bound on the cache of validated (identity, bucket) keys: one entry per active person and
# bucket; past this it starts over rather than grow with every identity ever seen.
_KEY_CACHE_SIZE: Final = 10_000


def _process_tag() -> str:
    # 48 random bits: the chance that two live processes share a tag is negligible.
    return base64.urlsafe_b64encode(os.urandom(6)).decode("ascii")


class _Members:
    """Sorted-set members unique to each call: a per-process random tag and a counter.

    Cheaper to make than a uuid4 and shorter to store and compare inside Redis (a small
    sorted set is a flat list Redis scans). Two calls must never share a member, across
    processes too, or two admissions would collapse into one entry; a forked child takes a
    new tag so it cannot repeat its parent's sequence.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._tag = _process_tag()
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{next(self._counter):x}.{self._tag}"


_MEMBERS: Final = _Members()


class RateLimiter:
    """Per-identity, per-bucket sliding-window limits kept in Redis.

    ``fail_open`` chooses what an unreachable Redis means: refuse every call with
    ``LimiterUnavailable`` (the default: a limiter that silently stops limiting is how the
    original backend got abused), or admit with a warning in the log.
    """

    def __init__(self, redis: Redis, *, key_prefix: str = "pam:rl", fail_open: bool = False) -> None:
        if not key_prefix or any(ch.isspace() for ch in key_prefix):
            raise ValueError("key_prefix must be a non-empty string without whitespace.")
        self._key_prefix = key_prefix
        self._fail_open = fail_open
        # redis-py's script object sends EVALSHA (the text crosses the network once per Redis
        # server, not per call) and, when Redis has forgotten the script (a restart, SCRIPT
        # FLUSH, a failover), loads it and retries once.
        self._script = redis.register_script(_SCRIPT)
        # Keys already checked, so the checks run once per (identity, bucket), not per call.
        self._keys: dict[tuple[str, str], str] = {}
        # Log an outage once when it starts and once when it ends, not on every call.
        self._outage = False

    def _key(self, identity: str, bucket: str) -> str:
        """The one place the Redis key format lives: ``<prefix>:<identity>:<bucket>``."""
        try:
            return self._keys[identity, bucket]
        except (KeyError, TypeError):  # not seen yet, or not even hashable (refused below)
            pass
        key = self._checked_key(identity, bucket)
        if len(self._keys) >= _KEY_CACHE_SIZE:
            self._keys.clear()
        self._keys[identity, bucket] = key
        return key

    def _checked_key(self, identity: str, bucket: str) -> str:
        if not isinstance(identity, str) or _KEY_PART_RE.fullmatch(identity) is None:
            raise ValueError(
                "A rate-limit identity must be 1-128 characters of letters, digits, '_', '.' or '-' "
                f"(a user UUID), not {identity!r}."
            )
        if not isinstance(bucket, str) or _KEY_PART_RE.fullmatch(bucket) is None:
            raise ValueError(
                f"A rate-limit bucket must be 1-128 characters of letters, digits, '_', '.' or '-', not {bucket!r}."
            )
        return f"{self._key_prefix}:{identity}:{bucket}"

    async def hit(self, identity: str, bucket: str, rate: Rate | Rates, *, now_ms: int | None = None) -> LimitDecision:
        """Spend one call of ``rate`` (every window of it) for ``identity`` in ``bucket``, or refuse.

        Raises ``RateLimited`` (with the exact seconds until a call would be admitted) when any
        window is full, and ``LimiterUnavailable`` when Redis cannot answer and the limiter
        does not fail open. ``now_ms`` overrides the Redis clock, for tests only.
        """
        decision, tightest = await self._run(identity, bucket, Rates.of(rate), cost=1, now_ms=now_ms)
        if not decision.allowed:
            # Name the window that makes the wait: "500/hour", not every window of the limit.
            raise RateLimited(decision.retry_after_seconds, str(tightest))
        return decision

    async def peek(self, identity: str, bucket: str, rate: Rate | Rates, *, now_ms: int | None = None) -> LimitDecision:
        """Report the budget left without spending any of it (``allowed``: would a hit pass now)."""
        decision, _ = await self._run(identity, bucket, Rates.of(rate), cost=0, now_ms=now_ms)
        return decision

    async def _run(
        self, identity: str, bucket: str, rates: Rates, *, cost: int, now_ms: int | None
    ) -> tuple[LimitDecision, Rate]:
        """The script's decision, and the tightest window (when refused: the one making the wait)."""
        key = self._key(identity, bucket)
        if now_ms is not None and (isinstance(now_ms, bool) or not isinstance(now_ms, int) or now_ms < 0):
            raise ValueError(f"now_ms must be a non-negative integer of milliseconds, not {now_ms!r}.")
        args: list[str | int] = [_MEMBERS.next() if cost else "", "" if now_ms is None else now_ms]
        for window in rates.windows:
            args += (window.limit, window.window_seconds * 1000)
        try:
            # The script's reply: a list of integers.
            reply: list[int] = await self._script(keys=[key], args=args)
        except (RedisError, OSError) as exc:
            return self._unavailable(exc, rates), rates.windows[0]
        if self._outage:
            self._outage = False
            logger.info("Rate limiter: Redis answers again; limits are enforced.")
        if len(reply) == 2:  # admitted and recorded: the script sends only what a caller needs
            remaining, tightest = reply
            window = rates.windows[tightest - 1]
            admitted = LimitDecision(
                allowed=True,
                remaining=remaining,
                reset_after_seconds=float(rates.longest.window_seconds),
                limit=window.limit,
            )
            return admitted, window
        allowed, remaining, retry_after_ms, reset_ms, tightest, *left = reply
        window = rates.windows[tightest - 1]
        decision = LimitDecision(
            allowed=allowed == 1,
            remaining=remaining,
            reset_after_seconds=reset_ms / 1000,
            limit=window.limit,
            retry_after_seconds=retry_after_ms / 1000,
            left=tuple(left),
        )
        return decision, window

    def _unavailable(self, exc: BaseException, rates: Rates) -> LimitDecision:
        """Translate a Redis failure: admit with a warning (fail open) or refuse, never leak it."""
        if not self._outage:
            self._outage = True
            policy = "admitting calls unlimited (fail_open)" if self._fail_open else "refusing calls"
            # The driver's words belong in the operator's log, not in a message to a client.
            logger.warning("Rate limiter: Redis failed (%s: %s); %s.", type(exc).__name__, exc, policy)
        if self._fail_open:
            tightest = min(window.limit for window in rates.windows)
            return LimitDecision(allowed=True, remaining=tightest, reset_after_seconds=0.0, limit=tightest)
        raise LimiterUnavailable(_UNAVAILABLE_MESSAGE) from exc
