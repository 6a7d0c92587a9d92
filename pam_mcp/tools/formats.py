"""Argument types whose errors say the format to use: a day, a month, an instant with its offset,
or either of a day and an instant.

Pydantic's own messages ("input is too short", "Input should have timezone info") do not tell a
model what to send instead; these checks run first and name the format, never echoing the value
(the guard prefixes the argument's name: "received_on: ..."). The JSON schema still says what
each takes.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator, WithJsonSchema

__all__ = ["Day", "Instant", "MonthText", "When", "month_start"]

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")
DAY_FORMAT = "write it YYYY-MM-DD, e.g. 2026-11-30"
INSTANT_FORMAT = "use ISO 8601 with a UTC offset, e.g. 2026-12-05T14:00:00+10:00"
WHEN_FORMAT = f"{INSTANT_FORMAT}, or a date (YYYY-MM-DD) for an all-day event"


def _day(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not _DAY.fullmatch(text):
            raise ValueError("must be a date written YYYY-MM-DD, e.g. 2026-11-30")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"is not a day of the calendar; {DAY_FORMAT}") from None
    return value


def _month(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not _MONTH.fullmatch(text) or not 1 <= int(text[5:]) <= 12:
            raise ValueError("must be a month written YYYY-MM, e.g. 2026-11")
        if not 2000 <= int(text[:4]) <= 2099:  # the database keeps money dated 2000 to 2099
            raise ValueError("must be a month from 2000-01 to 2099-12 (YYYY-MM)")
        return text
    return value


def _instant(value: Any) -> dt.datetime:
    parsed: dt.datetime | None = value if isinstance(value, dt.datetime) else None
    if isinstance(value, str) and len(value.strip()) > 10:
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise ValueError(f"is not a time; {INSTANT_FORMAT}")
    if parsed.tzinfo is None:
        raise ValueError(f"has no UTC offset; {INSTANT_FORMAT}")
    return parsed


def _when(value: Any) -> dt.datetime | dt.date:
    """An instant with its offset, or a day (an all-day event)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"is not a day of the calendar; {WHEN_FORMAT}") from None
    try:
        return _instant(value)
    except ValueError as exc:
        if "no UTC offset" in str(exc):
            raise ValueError(f"has no UTC offset; {WHEN_FORMAT}") from None
    raise ValueError(f"is neither a time nor a date; {WHEN_FORMAT}")


Day = Annotated[dt.date, BeforeValidator(_day)]
MonthText = Annotated[str, BeforeValidator(_month), Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Instant = Annotated[dt.datetime, PlainValidator(_instant), WithJsonSchema({"type": "string", "format": "date-time"})]
When = Annotated[
    dt.datetime | dt.date,
    PlainValidator(_when),
    WithJsonSchema({"type": "string", "description": "ISO 8601 with offset, or YYYY-MM-DD for all-day"}),
]


def month_start(text: str) -> dt.date:
    """'YYYY-MM' (already checked by ``MonthText``) as the first day of that month."""
    return dt.date(int(text[:4]), int(text[5:7]), 1)
