"""Argument types whose errors say the format to use: a day, an instant with its offset, or either.

Pydantic's own messages ("invalid character in year", "Input should have timezone info") do not
tell a model what to send instead; these say it, and the JSON schema still says what they take.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema

__all__ = ["Day", "Instant", "When"]

DAY_FORMAT = "use YYYY-MM-DD, e.g. 2026-12-05"
INSTANT_FORMAT = "use ISO 8601 with a UTC offset, e.g. 2026-12-05T14:00:00+10:00"
WHEN_FORMAT = f"{INSTANT_FORMAT}, or a date (YYYY-MM-DD) for an all-day event"


def _shown(value: Any) -> str:
    return repr(value)[:40]


def parse_day(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{_shown(value)} is not a date; {DAY_FORMAT}")


def parse_instant(value: Any) -> dt.datetime:
    parsed: dt.datetime | None = value if isinstance(value, dt.datetime) else None
    if isinstance(value, str) and len(value.strip()) > 10:
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise ValueError(f"{_shown(value)} is not a time; {INSTANT_FORMAT}")
    if parsed.tzinfo is None:
        raise ValueError(f"{_shown(value)} has no UTC offset; {INSTANT_FORMAT}")
    return parsed


def parse_when(value: Any) -> dt.datetime | dt.date:
    """An instant with its offset, or a day (an all-day event)."""
    try:
        return parse_day(value)
    except ValueError:
        pass
    try:
        return parse_instant(value)
    except ValueError as exc:
        if "no UTC offset" in str(exc):
            raise ValueError(f"{_shown(value)} has no UTC offset; {WHEN_FORMAT}") from None
    raise ValueError(f"{_shown(value)} is neither a time nor a date; {WHEN_FORMAT}")


Day = Annotated[dt.date, PlainValidator(parse_day), WithJsonSchema({"type": "string", "format": "date"})]
Instant = Annotated[
    dt.datetime, PlainValidator(parse_instant), WithJsonSchema({"type": "string", "format": "date-time"})
]
When = Annotated[
    dt.datetime | dt.date,
    PlainValidator(parse_when),
    WithJsonSchema({"type": "string", "description": "ISO 8601 with offset, or YYYY-MM-DD for all-day"}),
]
