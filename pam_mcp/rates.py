"""Rate-limit values: one window (``Rate``), several windows at once (``Rates``), and their parsing.

Pure and dependency-free, so ``Settings`` can validate ``PAM_RATE_LIMIT`` and
``PAM_TOOL_RATE_LIMITS`` when the environment is read, and ``doctor`` can report them,
without importing Redis or the MCP stack.

Bounds, checked wherever a value is built (not only when parsed):

- 1 to 1,000,000 calls per window. The limiter keeps one sorted-set entry per admitted call
  in the longest window (about 100 bytes each in Redis), so the bound caps one person's bucket
  at roughly 100 MB; and every figure the Lua script computes stays an exact integer in a
  double (the old unbounded limit overflowed to "remaining -9.2e18").
- 1 second to 1 day per window. A rate limit is about pacing; a longer span is a quota, and an
  idle key should vanish within a day. Milliseconds of a day (8.64e7) plus a Unix time in
  milliseconds (1.7e12) are far inside 2^53, so waits can never overflow into negative numbers
  (``1/99999999999999d`` used to give a negative retry_after).
- 1 to 4 windows per limit, each a different length: every call checks each window in Redis,
  so the count bounds that work; two windows of one length would just be one window.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

__all__ = [
    "MAX_LIMIT",
    "MAX_WINDOWS",
    "MAX_WINDOW_SECONDS",
    "RATE_FORMAT",
    "Rate",
    "Rates",
    "parse_rate",
    "parse_rates",
    "parse_tool_rates",
]

MAX_LIMIT: Final = 1_000_000
MAX_WINDOW_SECONDS: Final = 86_400
MAX_WINDOWS: Final = 4

# How a rate is written, for every message that refuses one.
RATE_FORMAT: Final = "N/second|minute|hour|day or N/<k><s|m|h|d> (e.g. 400/hour, 5/30s), 1 <= N <= 1000000"

_UNITS: Final[dict[str, int]] = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_UNIT_NAMES: Final[dict[int, str]] = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
_UNIT_ABBREV: Final[tuple[tuple[int, str], ...]] = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))

# "100/hour", "100/hours", "100 / 2h", "5/30s", "10 per minute". ASCII only: int() would accept
# other scripts' digits, which nobody means in a config file. At most 30 digits each: enough to
# say "too big" about any number someone types, never enough to make int() work hard.
_RATE_RE: Final = re.compile(
    r"\s*(?P<limit>\d{1,30})\s*(?:/|\s+per\s+)\s*(?P<count>\d{1,30})?\s*(?P<unit>[a-z]{1,10})\s*",
    re.ASCII | re.IGNORECASE,
)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Rate:
    """A limit of ``limit`` calls in any rolling span of ``window_seconds``."""

    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if not _whole(self.limit) or not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"A rate's limit must be a whole number from 1 to {MAX_LIMIT:,}, not {self.limit!r}.")
        if not _whole(self.window_seconds) or not 1 <= self.window_seconds <= MAX_WINDOW_SECONDS:
            raise ValueError(
                "A rate's window must be a whole number of seconds from 1 (a second) to "
                f"{MAX_WINDOW_SECONDS} (a day), not {self.window_seconds!r}."
            )

    def __str__(self) -> str:
        """Render in the form ``parse_rate`` reads back: "100/hour", or "5/30s" for other windows."""
        name = _UNIT_NAMES.get(self.window_seconds)
        if name is not None:
            return f"{self.limit}/{name}"
        for seconds, abbrev in _UNIT_ABBREV:
            if self.window_seconds % seconds == 0:
                return f"{self.limit}/{self.window_seconds // seconds}{abbrev}"
        raise AssertionError("unreachable: every window is a whole number of seconds")


@dataclass(frozen=True, slots=True)
class Rates:
    """Several windows that must all admit a call, e.g. 400 an hour and 40 a minute.

    Kept shortest window first. A call is admitted only if every window has room, and is then
    counted in all of them at once.
    """

    windows: tuple[Rate, ...]

    def __post_init__(self) -> None:
        windows = self.windows
        if not isinstance(windows, tuple) or not all(isinstance(w, Rate) for w in windows):
            raise ValueError("Rates takes a tuple of Rate.")
        if not 1 <= len(windows) <= MAX_WINDOWS:
            raise ValueError(f"a limit needs 1 to {MAX_WINDOWS} windows, not {len(windows)}.")
        lengths = [w.window_seconds for w in windows]
        if len(set(lengths)) != len(lengths):
            raise ValueError(f"two windows of the same length in {', '.join(map(str, windows))}: keep one.")
        object.__setattr__(self, "windows", tuple(sorted(windows, key=lambda w: w.window_seconds)))

    @classmethod
    def of(cls, rate: Rate | Rates) -> Rates:
        return rate if isinstance(rate, Rates) else cls((rate,))

    @property
    def longest(self) -> Rate:
        return self.windows[-1]

    def __str__(self) -> str:
        """Render in the form ``parse_rates`` reads back: "40/minute,400/hour"."""
        return ",".join(map(str, self.windows))


def parse_rate(text: str) -> Rate:
    """Read a rate such as "100/hour", "10/minutes", "5/30s" or "1000 per day".

    Accepted units: second, minute, hour, day (singular or plural) and s, sec, m, min, h, hr, d,
    optionally preceded by a count ("2h", "15 minutes"). Raises ``ValueError`` with a message
    naming the problem and the format, for settings to show as is.
    """
    match = _RATE_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"cannot read the rate {text!r}: write {RATE_FORMAT}.")
    unit = match["unit"].lower()
    # Plurals of the spelled-out names only: "ms" must not quietly mean "m" (minutes).
    if unit not in _UNITS and len(unit) > 2 and unit.endswith("s"):
        unit = unit[:-1]
    seconds_per_unit = _UNITS.get(unit)
    if seconds_per_unit is None:
        raise ValueError(f"cannot read the rate {text!r}: unknown period {match['unit']!r}; write {RATE_FORMAT}.")
    limit = int(match["limit"])
    window = (int(match["count"]) if match["count"] is not None else 1) * seconds_per_unit
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"cannot use the rate {text!r}: N must be from 1 to {MAX_LIMIT:,}; write {RATE_FORMAT}.")
    if not 1 <= window <= MAX_WINDOW_SECONDS:
        raise ValueError(
            f"cannot use the rate {text!r}: the period must be from 1 second to 1 day; write {RATE_FORMAT}."
        )
    return Rate(limit=limit, window_seconds=window)


def parse_rates(text: str) -> Rates:
    """Read one or more windows separated by commas: "400/hour,40/minute"."""
    parts = [part for part in (p.strip() for p in str(text).split(",")) if part]
    if not parts:
        raise ValueError(f"no rate given: write {RATE_FORMAT}, several separated by commas.")
    return Rates(tuple(parse_rate(part) for part in parts))


def parse_tool_rates(text: str, tools: Collection[str]) -> dict[str, Rates]:
    """``"check_guardrails=200/hour,20/minute,log_trip=20/hour"`` to each tool's windows.

    Comma-separated items; ``tool=rate`` starts a tool, and a bare rate after it adds another
    window to that tool. Every name must be one of ``tools``: a misspelt name would otherwise
    leave the tool it meant unlimited by its own limit, silently.
    """
    windows: dict[str, list[str]] = {}
    current: list[str] | None = None
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            continue
        name, sep, rate = item.partition("=")
        name = name.strip()
        if not sep:
            if current is None:
                raise ValueError(
                    f"{item!r} is not tool=rate: write tool=N/period[,N/period][,tool=...], each N/period as "
                    f"{RATE_FORMAT}."
                )
            current.append(item)
            continue
        if name not in tools:
            raise ValueError(f"unknown tool {name!r}; the tools are {', '.join(sorted(tools))}.")
        if name in windows:
            raise ValueError(f"{name} is given twice; list all its windows after one {name}=.")
        current = windows[name] = [rate.strip()]
    rates: dict[str, Rates] = {}
    for name, parts in windows.items():
        try:
            rates[name] = Rates(tuple(parse_rate(part) for part in parts))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return rates
