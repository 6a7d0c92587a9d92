"""Wins: the savings tracker and PAM's savings guarantee.

The guarantee: a month is free when, once it has ended, what PAM saved the user in it is
below the subscription price. During the month PAM reports how far the user is from it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import Field

from pam_mcp.tools.common import (
    ClientRef,
    Input,
    Money,
    Output,
    ToolContext,
    first_of_month,
    next_month,
)
from pam_mcp.tools.spec import ToolSpec

# Every expense category (a saving on propane is a saving too), plus 'route': the same list as
# the SQL domain public.saving_category (migrations/20261202000500_answers_in_local_time.sql).
SavingCategory = Literal[
    "fuel", "food", "campground", "maintenance", "entertainment", "propane", "utilities", "shopping",
    "insurance", "registration", "other", "route",
]  # fmt: skip


class RecordSavingInput(Input):
    amount: Money
    category: SavingCategory = Field(description="What the saving came from")
    description: str = Field(
        min_length=1, max_length=500, description="What PAM did, e.g. 'found diesel 12c/L cheaper'"
    )
    # The database refuses money dated before 2000 (migration 20261130000200_sane_numbers_and_dates).
    saved_on: dt.date | None = Field(
        default=None, ge=dt.date(2000, 1, 1), description="Date of the saving (YYYY-MM-DD); default today"
    )
    client_ref: ClientRef = None


class GuaranteeStatus(Output):
    month: str = Field(description="YYYY-MM")
    total_saved: Decimal
    subscription_price: Decimal
    month_ended: bool
    free_month: bool = Field(
        description="True once the month has ended with savings below the price (never for a month "
        "that ended before the person's first activity: nothing to count)"
    )
    remaining_to_cover_price: Decimal = Field(description="How much more saving would cover the subscription")
    summary: str


class RecordSavingResult(Output):
    saving_id: uuid.UUID
    duplicate: bool = Field(description="True when this client_ref was already recorded; nothing was added")
    month_total: Decimal
    guarantee: GuaranteeStatus


class SavingItem(Output):
    saving_id: uuid.UUID
    amount: Decimal
    category: str
    description: str
    saved_on: dt.date


class MonthSavings(Output):
    guarantee: GuaranteeStatus
    savings: list[SavingItem]
    truncated: bool


def guarantee_status(
    month: dt.date, total: Decimal, price: Decimal, today: dt.date, *, first_activity: dt.date | None = None
) -> GuaranteeStatus:
    """``first_activity``: the person's first day with PAM, when known; a month without savings
    that ended before it has nothing to count (the person was not using PAM), so it is not free."""
    ended = today >= next_month(month)
    remaining = max(Decimal("0.00"), price - total)
    label = month.strftime("%Y-%m")
    before_start = ended and not total and first_activity is not None and next_month(month) <= first_activity
    if before_start:
        summary = (
            f"Nothing to count for {label}: it ended before the person started with PAM "
            f"(first activity {first_activity}); the guarantee covers months from then on."
        )
    elif ended and total < price:
        summary = f"{label} ended with {total} saved, below the {price} price: this month is free."
    elif ended:
        summary = f"{label} ended with {total} saved, covering the {price} subscription."
    elif total >= price:
        summary = f"{total} saved so far in {label}: the {price} subscription is already covered."
    else:
        summary = f"{total} saved so far in {label}; {remaining} more covers the {price} subscription."
    return GuaranteeStatus(
        month=label,
        total_saved=total,
        subscription_price=price,
        month_ended=ended,
        free_month=ended and total < price and not before_start,
        remaining_to_cover_price=remaining,
        summary=summary,
    )


async def record_saving(ctx: ToolContext, args: RecordSavingInput) -> RecordSavingResult:
    # One call: the database dates it (default: the person's today, in their time zone), refuses
    # a date in the future, and adds it to the month.
    outcome = await ctx.store.record_saving(
        ctx.user, args.amount, args.category, args.description, args.saved_on, args.client_ref, now=ctx.now()
    )
    today = outcome.today or ctx.now().date()
    return RecordSavingResult(
        saving_id=outcome.event_id,
        duplicate=outcome.duplicate,
        month_total=outcome.month_total,
        guarantee=guarantee_status(outcome.month, outcome.month_total, ctx.subscription_price, today),
    )


async def month_savings(ctx: ToolContext, month: dt.date, limit: int = 100) -> MonthSavings:
    month = first_of_month(month)
    found = await ctx.store.month_savings(ctx.user, month, event_limit=limit + 1, now=ctx.now())
    total, events, today = found.total, found.events, found.today or ctx.now().date()
    return MonthSavings(
        guarantee=guarantee_status(month, total, ctx.subscription_price, today, first_activity=found.first_activity),
        savings=[
            SavingItem(
                saving_id=e.id, amount=e.amount, category=e.category, description=e.description, saved_on=e.saved_on
            )
            for e in events[:limit]
        ],
        truncated=len(events) > limit,
    )


# -- declarations (registered by the server layer) -------------------------------------------------

RECORD_SAVING = ToolSpec(
    name="record_saving",
    title="Record a saving PAM made",
    description="""
        Record money PAM saved the user (positive, 2 decimals) with its category (any expense
        category: fuel, food, campground, maintenance, entertainment, propane, utilities, shopping,
        insurance, registration, other; or route), a description and the date (default today). Adds it to the
        month's total in the same transaction. Pass client_ref when retrying so it counts once.
        Returns the month's total and the savings-guarantee status: once a month ends with less saved
        than the subscription price, that month is free; during the month it says how far there is to go.""",
    run=record_saving,
    input=RecordSavingInput,
    output=RecordSavingResult,
    read_only=False,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = "What PAM saved them and the savings guarantee: record_saving."

TOOLS = (RECORD_SAVING,)
