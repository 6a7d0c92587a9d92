"""Read-only views for MCP resources, built on the same tool functions and store.

Each returns a pydantic model; the server layer serves it as JSON. An id that does not
exist and an id that belongs to someone else both end in ``NotFound``: RLS makes the
other user's row invisible, so the two cases cannot be told apart.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from pam_mcp.errors import InvalidInput, NotFound
from pam_mcp.ratelimit import LimitDecision, Rates
from pam_mcp.store.records import TableInfo
from pam_mcp.tools.common import Output, ToolContext, next_month, parse_month
from pam_mcp.tools.conversation import ContextResult, GetContextInput, get_context
from pam_mcp.tools.expenses import QueryExpensesInput, QueryExpensesResult, query_expenses
from pam_mcp.tools.guardrail_rules import SafetyLevel
from pam_mcp.tools.profile import Profile, read_profile
from pam_mcp.tools.savings import MonthSavings, month_savings
from pam_mcp.tools.spec import ResourceSpec
from pam_mcp.tools.trips import TripSummary, recent_trips, trip_detail


class ProfileView(Output):
    profile: Profile | None = Field(description="None until the user has a profile")


class GuardrailsView(Output):
    safety_level: SafetyLevel


class WindowView(Output):
    limit: str = Field(description="Calls allowed in this rolling window, e.g. 50/minute")
    remaining: int = Field(description="Calls still allowed in this window")


class BucketView(Output):
    limit: str = Field(description="Every window of the limit, e.g. 50/minute,500/hour; a call needs room in all")
    remaining: int = Field(description="The fewest calls left in any window")
    resets_in_seconds: float = Field(description="Until every window's budget is whole again")
    windows: list[WindowView]


class RateLimitView(BucketView):
    tools: dict[str, BucketView] = Field(
        description="Tools counted in a bucket of their own (with the resources showing their data)"
    )


class TripsView(Output):
    trips: list[TripSummary]


class SchemaView(Output):
    tables: list[TableInfo]


async def profile(ctx: ToolContext) -> ProfileView:
    return ProfileView(profile=await read_profile(ctx))


async def context(ctx: ToolContext) -> ContextResult:
    return await get_context(ctx, GetContextInput())


async def guardrails(ctx: ToolContext) -> GuardrailsView:
    return GuardrailsView(safety_level=await ctx.store.safety_level(ctx.user))


def _bucket(rates: Rates, decision: LimitDecision) -> BucketView:
    left = decision.left or tuple(w.limit for w in rates.windows)  # fail-open peeks say nothing
    return BucketView(
        limit=str(rates),
        remaining=decision.remaining,
        resets_in_seconds=decision.reset_after_seconds,
        windows=[WindowView(limit=str(w), remaining=n) for w, n in zip(rates.windows, left, strict=True)],
    )


def rate_limit(rates: Rates, decision: LimitDecision, tools: dict[str, tuple[Rates, LimitDecision]]) -> RateLimitView:
    overall = _bucket(rates, decision)
    return RateLimitView(**overall.model_dump(), tools={name: _bucket(*bucket) for name, bucket in tools.items()})


async def trips(ctx: ToolContext) -> TripsView:
    return TripsView(trips=await recent_trips(ctx, 10))


async def trip(ctx: ToolContext, trip_id: str) -> TripSummary:
    try:
        parsed = uuid.UUID(trip_id)
    except ValueError:
        raise NotFound(f"No trip {trip_id}.") from None
    return await trip_detail(ctx, parsed)


def _month(text: str) -> dt.date:
    # The format, not "no resource": the address was mistyped, and the fix is in the message.
    try:
        return parse_month(text)
    except ValueError:
        raise InvalidInput("month: not a month; use YYYY-MM (months 01 to 12), e.g. 2026-11.") from None


async def savings(ctx: ToolContext, month: str) -> MonthSavings:
    return await month_savings(ctx, _month(month))


async def expenses(ctx: ToolContext, month: str) -> QueryExpensesResult:
    start = _month(month)
    args = QueryExpensesInput(start=start, end=next_month(start) - dt.timedelta(days=1), include_items=True, limit=100)
    return await query_expenses(ctx, args)


async def schema(ctx: ToolContext) -> SchemaView:
    return SchemaView(tables=await ctx.store.schema(ctx.user))


# -- declarations (registered by the server layer) -------------------------------------------------

RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec("pam://profile", "profile", "Profile",
                 "The user's profile: name, country, currency, time zone, units, RV.",
                 profile, mirrors="get_context"),  # the profile part of the snapshot
    ResourceSpec("pam://context", "context", "Context", "The same snapshot as get_context, for the latest session.",
                 context, mirrors="get_context"),
    # The level set_guardrails sets (no rules engine runs).
    ResourceSpec("pam://guardrails", "guardrails", "Safety level", "The user's safety level.",
                 guardrails, mirrors="set_guardrails"),
    # Served by the server layer, which owns the limiter; counts in the global bucket.
    ResourceSpec("pam://rate-limit", "rate-limit", "Rate limit", "Calls left in each window, overall and for tools "
                 "with their own limit (this read counts).", None),
    ResourceSpec("pam://trips", "trips", "Recent trips", "The user's 10 most recent trips.",
                 trips, mirrors="log_trip"),
    ResourceSpec("pam://schema", "schema", "Database schema",
                 "For developers: every table and view, its columns and access class.", schema),
    ResourceSpec("pam://trips/{trip_id}", "trip", "One trip", "One trip by id, with its stops.",
                 trip, mirrors="log_trip"),
    ResourceSpec("pam://savings/{month}", "savings", "Savings in a month",
                 "What PAM saved the user in a month (YYYY-MM) and the guarantee status.",
                 savings, mirrors="record_saving"),
    ResourceSpec("pam://expenses/{month}", "expenses", "Spending in a month",
                 "Spending in a month (YYYY-MM): totals, budgets, latest 100 items.",
                 expenses, mirrors="query_expenses"),
)  # fmt: skip
