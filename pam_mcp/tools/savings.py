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

SavingCategory = Literal["fuel", "campground", "food", "route", "maintenance", "other"]


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
    free_month: bool = Field(description="True once the month has ended with savings below the price")
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


def guarantee_status(month: dt.date, total: Decimal, price: Decimal, today: dt.date) -> GuaranteeStatus:
    ended = today >= next_month(month)
    remaining = max(Decimal("0.00"), price - total)
    label = month.strftime("%Y-%m")
    if ended and total < price:
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
        free_month=ended and total < price,
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
        guarantee=guarantee_status(month, total, ctx.subscription_price, today),
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
        Record money PAM saved the user (positive, 2 decimals) with its category (fuel, campground,
        food, route, maintenance, other), a description and the date (default today). Adds it to the
        month's total in the same transaction. Pass client_ref when retrying so it counts once.
        Returns the month's total and the savings-guarantee status: once a month ends with less saved
        than the subscription price, that month is free; during the month it says how far there is to go.""",
    run=record_saving,
    input=RecordSavingInput,
    output=RecordSavingResult,
    read_only=False,
)

TOOLS = (RECORD_SAVING,)
