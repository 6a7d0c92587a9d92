"""Dates and months as people and models type them, with errors that say the format.

Pydantic's own messages for a date ("input is too short", "day value is outside expected
range") do not say what to send instead; these checks run first and name the format, never
echoing the value. The guard prefixes the argument's name ("received_on: ...").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

__all__ = ["Day", "MonthText", "month_start"]

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")


def _day(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not _DAY.fullmatch(text):
            raise ValueError("must be a date written YYYY-MM-DD, e.g. 2026-11-30")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError("is not a day of the calendar; write it YYYY-MM-DD, e.g. 2026-11-30") from None
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


Day = Annotated[dt.date, BeforeValidator(_day)]
MonthText = Annotated[str, BeforeValidator(_month), Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def month_start(text: str) -> dt.date:
    """'YYYY-MM' (already checked by ``MonthText``) as the first day of that month."""
    return dt.date(int(text[:4]), int(text[5:7]), 1)
