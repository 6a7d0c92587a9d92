"""What every tool receives: the caller, the store, and the configuration (price, clock)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from pam_mcp.errors import InvalidInput
from pam_mcp.store.base import Caller, Store


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# The shape of a usable IANA zone name, the same rule as the database's public.is_time_zone_shape
# (migrations/20261130000400_valid_time_zones.sql): no '..', no leading or trailing '/', and not
# the zone database's machine-dependent aliases or POSIX copies.
_ZONE_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*")
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def load_zone(name: str) -> ZoneInfo | None:
    """The zone called ``name``, or None when it is not one (a directory such as 'America', a
    path, an abbreviation, a name the zone data lacks). Never raises."""
    if len(name) > 64 or not _ZONE_SHAPE.fullmatch(name) or name in _NOT_ZONES or name.startswith(("posix/", "right/")):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # 'America' is a directory: IsADirectoryError
        return None


@dataclass(frozen=True)
class ToolConfig:
    """What tools need from the configuration, fixed for the process and shared by every call.

    Built once (``pam_mcp.server.new_app``) from the settings, or by a test with its own clock.
    """

    # The savings guarantee: a month is free when PAM saved the person less than this.
    subscription_price: Decimal = Decimal("14.99")
    now: Callable[[], dt.datetime] = field(default=utc_now)


@dataclass(frozen=True)
class ToolContext:
    """One call's world. ``user`` comes from the transport (env user or verified JWT), never from arguments."""

    store: Store
    user: Caller
    config: ToolConfig = field(default_factory=ToolConfig)

    @property
    def subscription_price(self) -> Decimal:
        return self.config.subscription_price

    @property
    def now(self) -> Callable[[], dt.datetime]:
        return self.config.now


class Output(BaseModel):
    """Base of every tool result: strict about its own fields."""

    model_config = ConfigDict(extra="forbid")


class Input(BaseModel):
    """Base of every tool input: unknown arguments are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Money = Annotated[
    Decimal,
    Field(gt=0, le=Decimal("1000000"), max_digits=9, decimal_places=2, description="Amount, up to 2 decimals"),
]
ClientRef = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Optional idempotency key: retrying a call with the same client_ref records it only once.",
    ),
]


def invalid(message: str) -> InvalidInput:
    """A rule the arguments break, in the same words as a schema violation."""
    return InvalidInput(f"Invalid arguments: {message}")


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    if (month.year, month.month) == (dt.date.max.year, dt.date.max.month):
        raise InvalidInput("Dates run out at 9999-12-31; use an earlier month.")
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def parse_month(text: str) -> dt.date:
    """'YYYY-MM' to the first day of that month; ValueError with a readable message otherwise."""
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"'{text}' is not a month; use YYYY-MM, e.g. 2026-11.") from None
