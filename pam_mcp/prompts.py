"""Prompts people pick from a menu, and what completes their arguments: plain data, no MCP.

A prompt is a message to the model naming exactly which PAM tools to call, with which
arguments, and what to produce. The server layer (``pam_mcp.server.prompts``) registers
``PROMPTS``, embeds the resources a prompt names (read server-side, as the person) and answers
``completion/complete`` from ``complete`` below, for prompt arguments and for the resource
templates' variables alike.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, get_args

from pam_mcp import tools
from pam_mcp.errors import InvalidInput, PamError
from pam_mcp.tools.common import ToolContext, load_zone, parse_month
from pam_mcp.tools.expenses import ExpenseCategory
from pam_mcp.tools.trips import recent_trips

__all__ = ["COMPLETABLE", "PROMPTS", "Argument", "Figure", "PromptSpec", "Rendered", "complete", "figures"]

log = logging.getLogger(__name__)

# What a completion answers at most (the spec caps a response at 100 values).
MAX_COMPLETIONS: Final = 20
RECENT_MONTHS: Final = 12
RECENT_TRIPS: Final = 10
CATEGORIES: Final[tuple[str, ...]] = get_args(ExpenseCategory)
# One embedded tool result at most (characters of JSON): a bigger one is left for the model to fetch.
MAX_FIGURE_CHARS: Final = 20_000
# Upcoming events a review embeds at most, soonest first.
REVIEW_EVENTS: Final = 20

_MONEY_AND_DATES = (
    "Write amounts in the person's currency and dates as they read them (their time zone and "
    "today come from get_context). Keep it short: headings and bullet points, no tables wider than "
    "four columns. If a tool answers with an error, say what it said and carry on with the rest."
)


@dataclass(frozen=True, slots=True)
class Argument:
    name: str
    description: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class Rendered:
    """A prompt's text for the model, and resources the server embeds after it: each a
    resource template of ``pam_mcp.resources.RESOURCES`` with its variables' values."""

    text: str
    embed: tuple[tuple[str, dict[str, str]], ...] = ()
    # Tools the server runs as the person (each its one SQL function), in order, with their
    # arguments; each result is embedded after the text (see ``figures``).
    run: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass(frozen=True, slots=True)
class PromptSpec:
    name: str
    title: str
    description: str
    arguments: tuple[Argument, ...]
    # Takes the arguments by name (validated there: errors name the argument and the format).
    render: Callable[[dict[str, str]], Rendered] = field(repr=False)


def _month(args: dict[str, str]) -> str:
    text = args.get("month", "").strip()
    try:
        return parse_month(text).strftime("%Y-%m")
    except ValueError:
        raise InvalidInput(f"month: '{text[:20]}' is not a month; use YYYY-MM, e.g. 2026-11.") from None


def _date(args: dict[str, str], name: str) -> str:
    text = args.get(name, "").strip()
    try:
        if len(text) != 10:  # fromisoformat also takes '20261201'
            raise ValueError(text)
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInput(f"{name}: '{text[:20]}' is not a date; use YYYY-MM-DD, e.g. 2026-12-01.") from None


def _trip_id(args: dict[str, str]) -> str:
    text = args.get("trip_id", "").strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise InvalidInput(
            f"trip_id: '{text[:40]}' is not a trip id; pick one from the completions or pam://trips."
        ) from None


def _monthly_review(args: dict[str, str]) -> Rendered:
    month = _month(args)
    year, number = int(month[:4]), int(month[5:])
    start = f"{month}-01"
    end = f"{month}-{calendar.monthrange(year, number)[1]:02d}"
    text = f"""\
Give me my money review for {month}.

Everything you need is attached below, read just now as me: the month's spending and savings
(pam://expenses/{month}, pam://savings/{month}), then each tool's result, labelled with the call:
list_budgets (each budget against what I spent), cash_flow (income minus spending, {start} to {end}),
fuel_economy (litres per 100 km and cost per km in the month), maintenance_due (services due by
date or odometer) and list_events (my bookings from today for 30 days). Dates and times are mine
(my time zone). Call a tool yourself only for a part that says it could not be read.
Produce: spending against budget by category (flag any over budget), cash flow, fuel economy,
what PAM saved me and the savings-guarantee status, maintenance due, and the next bookings.
End with at most three concrete suggestions. {_MONEY_AND_DATES}"""
    values = {"month": month}
    return Rendered(
        text,
        embed=(("pam://expenses/{month}", values), ("pam://savings/{month}", values)),
        run=(
            ("list_budgets", {"month": month}),
            ("cash_flow", {"start": start, "end": end}),
            ("fuel_economy", {"start": start, "end": end}),
            ("maintenance_due", {}),
            # From the person's today (the tool's default, in their zone) for 30 days.
            ("list_events", {"limit": REVIEW_EVENTS}),
        ),
    )


def _trip_debrief(args: dict[str, str]) -> Rendered:
    trip = _trip_id(args)
    return Rendered(f"""\
Debrief my trip {trip}.

Call, in this order:
1. get_context {{}} - my today, time zone and currency.
2. Read the resource pam://trips/{trip} - the trip, its stops, start and end.
3. query_expenses {{"start": "<the trip's start date>", "end": "<its end date, or today>",
   "include_items": true}} - what I spent while on the trip.
4. fuel_economy {{"start": "<the trip's start date>", "end": "<its end date, or today>"}} - fuel use.
Produce: where I went (stops, distance, days), what it cost in all, per day and per km, the
biggest expenses, fuel economy, and one thing to do differently next time. If the trip's
notes are wrong, offer update_trip {{"trip_id": "{trip}", ...}} - never call it without my yes.
{_MONEY_AND_DATES}""")


def _plan_drive(args: dict[str, str]) -> Rendered:
    day = _date(args, "date")
    destination = args.get("destination", "").strip()[:200]
    where = f" to {destination}" if destination else ""
    return Rendered(f"""\
Help me plan my drive on {day}{where}.

Call, in this order:
1. get_context {{}} - my today, time zone, currency and latest trip.
2. list_events {{"start": "{day}", "end": "{day}"}} - bookings and appointments that day.
3. list_budgets {{"month": "{day[:7]}"}} - what is left of my fuel and campground budgets.
4. fuel_economy {{"start": "<90 days before {day}>", "end": "{day}"}} - my recent consumption and price.
5. maintenance_due {{}} - anything due before I drive.
Produce: the day's plan (departure, bookings to make or keep), expected fuel and its cost from
my own economy and prices, the budget left after it, and any service that should come first.
Suggest add_event for a booking I agree to; call it only after I say yes. {_MONEY_AND_DATES}""")


def _maintenance_check(args: dict[str, str]) -> Rendered:
    return Rendered(f"""\
Check my rig's maintenance.

Call, in this order:
1. get_context {{}} - my today, time zone and currency.
2. maintenance_due {{}} - what is due or overdue, by date or odometer.
3. list_events {{"start": "<today>", "end": "<today + 30 days>"}} - appointments already booked.
Produce: overdue items first, then what is due in the next 30 days or 2,000 km, which of them
already have an appointment, and what to book. Offer log_service for a service I say was done
and add_event for an appointment; call them only after I say yes. {_MONEY_AND_DATES}""")


PROMPTS: Final[tuple[PromptSpec, ...]] = (
    PromptSpec(
        "monthly_review",
        "Monthly money review",
        "Spending against budget, cash flow, fuel economy, savings, maintenance due and upcoming bookings "
        "for one month.",
        (Argument("month", "The month to review, YYYY-MM (e.g. 2026-11)"),),
        _monthly_review,
    ),
    PromptSpec(
        "trip_debrief",
        "Trip debrief",
        "What one trip cost (in all, per day, per km), where it went and its fuel economy.",
        (Argument("trip_id", "The trip's id (completions offer your recent trips)"),),
        _trip_debrief,
    ),
    PromptSpec(
        "plan_drive",
        "Plan a drive",
        "Plan a day's drive with its bookings, fuel cost from your own economy, budget left and service due.",
        (
            Argument("date", "The day of the drive, YYYY-MM-DD"),
            Argument("destination", "Where to (optional)", required=False),
        ),
        _plan_drive,
    ),
    PromptSpec(
        "maintenance_check",
        "Maintenance check",
        "What service is due or overdue on the rig, and what is already booked.",
        (),
        _maintenance_check,
    ),
)


# -- figures: the tools a prompt runs ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figure:
    """One tool a prompt ran: its result as JSON, or, when it could not give one, why (for people)."""

    tool: str
    arguments: dict[str, Any]
    result: str | None
    problem: str | None = None

    @property
    def label(self) -> str:
        return f"{self.tool} {json.dumps(self.arguments, sort_keys=True)}"


_TOOLS: Final = {spec.name: spec for spec in tools.CATALOGUE}


async def figures(ctx: ToolContext, rendered: Rendered) -> list[Figure]:
    """Run the tools ``rendered`` names, one after another, as ``ctx``'s person. A part that fails
    says so in its own ``Figure``; the others still run."""
    found = []
    for name, arguments in rendered.run:
        spec = _TOOLS[name]  # a prompt names only catalogued tools (tests/test_surface.py checks)
        try:
            result = (await spec.run(ctx, spec.input.model_validate(arguments))).model_dump_json()
        except PamError as exc:  # said for people: the store, a rule, a missing thing
            found.append(Figure(name, arguments, None, str(exc)))
            continue
        except Exception:  # never the driver's text; the model can call the tool itself
            log.exception("prompt figure %s failed", name)
            found.append(Figure(name, arguments, None, "could not be read just now; call the tool yourself"))
            continue
        if len(result) > MAX_FIGURE_CHARS:
            found.append(Figure(name, arguments, None, "too large to attach; call the tool yourself"))
        else:
            found.append(Figure(name, arguments, result))
    return found


# -- completions -----------------------------------------------------------------------------------


def _recent_months(today: dt.date) -> list[str]:
    year, month = today.year, today.month
    months = []
    for _ in range(RECENT_MONTHS):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


async def _months(ctx: ToolContext, typed: str) -> list[str]:
    # The person's own month: near a month's turn their zone may already be in the next one.
    name = await ctx.store.timezone(ctx.user)
    zone = load_zone(name) if name else None
    now = ctx.now()
    today = now.astimezone(zone).date() if zone is not None else now.date()
    return [m for m in _recent_months(today) if m.startswith(typed)]


async def _trips(ctx: ToolContext, typed: str) -> list[str]:
    # Ids, newest first; what was typed may be the start of an id or a word of the title.
    needle = typed.lower()
    found = []
    for trip in await recent_trips(ctx, RECENT_TRIPS):
        ident = str(trip.trip_id)
        if ident.startswith(needle) or needle in (trip.title or "").lower():
            found.append(ident)
    return found


async def _categories(ctx: ToolContext, typed: str) -> list[str]:
    return [c for c in CATEGORIES if c.startswith(typed.lower())]


_SOURCES: Final = {"month": _months, "trip_id": _trips, "category": _categories}

# (prompt name or resource template URI, argument) -> where its values come from.
COMPLETABLE: Final[dict[tuple[str, str], str]] = {
    ("monthly_review", "month"): "month",
    ("trip_debrief", "trip_id"): "trip_id",
    ("pam://trips/{trip_id}", "trip_id"): "trip_id",
    ("pam://savings/{month}", "month"): "month",
    ("pam://expenses/{month}", "month"): "month",
}


async def complete(ctx: ToolContext, ref: str, argument: str, typed: str) -> tuple[list[str], bool]:
    """Values for ``argument`` of ``ref`` (a prompt's name or a template's URI) starting as typed,
    at most MAX_COMPLETIONS, and whether more were left off. Unknown refs complete to nothing."""
    source = COMPLETABLE.get((ref, argument)) or (argument if argument == "category" else None)
    if source is None:
        return [], False
    values = await _SOURCES[source](ctx, typed.strip()[:100])
    return values[:MAX_COMPLETIONS], len(values) > MAX_COMPLETIONS
