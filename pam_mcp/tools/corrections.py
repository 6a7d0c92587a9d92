"""Corrections: change or delete an expense or a trip, never silently.

Each tool is one SQL function (migrations/20261202000310_corrections.sql) that answers with what
was there before and what is there after, or what it deleted. An id the person does not have
(never had, already deleted, or someone else's: row level security makes these look the same)
is a plain not-found. Spending totals follow an expense's correction by trigger.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from pam_mcp.errors import NotFound
from pam_mcp.tools.common import Input, Money, Output, ToolContext
from pam_mcp.tools.expenses import ExpenseCategory, ExpenseItem
from pam_mcp.tools.formats import Day, Instant
from pam_mcp.tools.limits import TRIP_NOTES_CHARS, TRIP_TITLE_CHARS
from pam_mcp.tools.spec import ToolSpec

ExpenseField = Literal["description", "trip_id"]
TripField = Literal["title", "ended_at", "notes"]


def _check_changes(model: Input, fixed: tuple[str, ...], clear: list[str]) -> None:
    """At least one change, and no field both given and cleared."""
    given = {k for k in model.model_fields_set if k not in (*fixed, "clear") and getattr(model, k) is not None}
    if not given and not clear:
        names = [k for k in type(model).model_fields if k not in fixed]
        raise ValueError(f"nothing to change; give at least one of {', '.join(names)}")
    both = sorted(given & set(clear))
    if both:
        raise ValueError(f"{both[0]} is both given and in clear; do one or the other")


class CorrectExpenseInput(Input):
    expense_id: uuid.UUID = Field(description="The expense to correct (from log_expense or query_expenses items)")
    amount: Money | None = None
    category: ExpenseCategory | None = Field(default=None, description="The right category")
    description: str | None = Field(default=None, min_length=1, max_length=500, description="The right description")
    spent_on: Day | None = Field(default=None, description="The right date (YYYY-MM-DD); not after tomorrow")
    trip_id: uuid.UUID | None = Field(default=None, description="The trip it belongs to (from log_trip)")
    clear: list[ExpenseField] = Field(
        default_factory=list, max_length=2, description="Fields to remove: description, trip_id (unlink the trip)"
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> CorrectExpenseInput:
        _check_changes(self, ("expense_id",), list(self.clear))
        if self.spent_on is not None and self.spent_on < dt.date(2000, 1, 1):
            raise ValueError("spent_on is before 2000-01-01; use the date it was spent (YYYY-MM-DD)")
        return self


class DeleteExpenseInput(Input):
    expense_id: uuid.UUID = Field(description="The expense to delete (from log_expense or query_expenses items)")


class UpdateTripInput(Input):
    trip_id: uuid.UUID = Field(description="The trip to change (from log_trip or pam://trips)")
    title: str | None = Field(default=None, min_length=1, max_length=TRIP_TITLE_CHARS, description="New title")
    ended_at: Instant | None = Field(
        default=None, description="When it ended (ISO 8601 with offset, e.g. 2026-11-27T16:00:00+10:00)"
    )
    notes: str | None = Field(default=None, min_length=1, max_length=TRIP_NOTES_CHARS, description="New notes")
    clear: list[TripField] = Field(
        default_factory=list, max_length=3, description="Fields to remove: title, ended_at (back under way), notes"
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateTripInput:
        _check_changes(self, ("trip_id",), list(self.clear))
        return self


class DeleteTripInput(Input):
    trip_id: uuid.UUID = Field(description="The trip to delete (from log_trip or pam://trips)")


class CorrectExpenseResult(Output):
    before: ExpenseItem
    after: ExpenseItem


class DeleteExpenseResult(Output):
    deleted: ExpenseItem = Field(description="The expense as it was; it no longer counts in any total")


class TripState(Output):
    trip_id: uuid.UUID
    title: str | None
    started_at: str = Field(description="ISO 8601 in the person's time zone")
    ended_at: str | None = Field(description="ISO 8601 in the person's time zone; null while under way")
    notes: str | None
    distance_km: Decimal | None
    stop_count: int
    route_points: int


class UpdateTripResult(Output):
    before: TripState
    after: TripState


class DeleteTripResult(Output):
    deleted: TripState = Field(description="The trip as it was; it no longer exists")
    expenses_unlinked: int = Field(description="Its expenses, kept but no longer linked to any trip")
    summary: str


def _expense(doc: dict[str, object]) -> ExpenseItem:
    return ExpenseItem.model_validate({**{k: v for k, v in doc.items() if k != "id"}, "expense_id": doc["id"]})


def _no_expense(expense_id: uuid.UUID) -> NotFound:
    return NotFound(f"expense_id: no expense {expense_id}; use an expense_id from log_expense or query_expenses.")


def _no_trip(trip_id: uuid.UUID) -> NotFound:
    return NotFound(f"trip_id: no trip {trip_id}; use a trip_id from log_trip or pam://trips.")


async def correct_expense(ctx: ToolContext, args: CorrectExpenseInput) -> CorrectExpenseResult:
    out = await ctx.store.call(
        ctx.user, "pam_correct_expense", saved="the correction of the expense",
        p_expense_id=args.expense_id, p_amount=args.amount, p_category=args.category, p_description=args.description,
        p_spent_on=args.spent_on, p_trip_id=args.trip_id, p_clear=list(args.clear), p_now=ctx.now(),
    )  # fmt: skip
    if out is None:
        raise _no_expense(args.expense_id)
    return CorrectExpenseResult(before=_expense(out["before"]), after=_expense(out["after"]))


async def delete_expense(ctx: ToolContext, args: DeleteExpenseInput) -> DeleteExpenseResult:
    out = await ctx.store.call(
        ctx.user, "pam_delete_expense", saved="the deletion of the expense", p_expense_id=args.expense_id
    )
    if out is None:
        raise _no_expense(args.expense_id)
    return DeleteExpenseResult(deleted=_expense(out["deleted"]))


async def update_trip(ctx: ToolContext, args: UpdateTripInput) -> UpdateTripResult:
    out = await ctx.store.call(
        ctx.user, "pam_update_trip", saved="the change to the trip",
        p_trip_id=args.trip_id, p_title=args.title, p_ended_at=args.ended_at, p_notes=args.notes,
        p_clear=list(args.clear),
    )  # fmt: skip
    if out is None:
        raise _no_trip(args.trip_id)
    return UpdateTripResult.model_validate({"before": out["before"], "after": out["after"]})


async def delete_trip(ctx: ToolContext, args: DeleteTripInput) -> DeleteTripResult:
    out = await ctx.store.call(ctx.user, "pam_delete_trip", saved="the deletion of the trip", p_trip_id=args.trip_id)
    if out is None:
        raise _no_trip(args.trip_id)
    unlinked = int(out["expenses_unlinked"])
    kept = f" Its {unlinked} expense(s) are kept, no longer linked to a trip." if unlinked else ""
    return DeleteTripResult(
        deleted=TripState.model_validate(out["deleted"]),
        expenses_unlinked=unlinked,
        summary=f"The trip is deleted.{kept}",
    )


# -- declarations (registered by the server layer) -------------------------------------------------

CORRECT_EXPENSE = ToolSpec(
    name="correct_expense",
    title="Correct an expense",
    description="""
        Fix a mistaken expense by its expense_id: only the fields given change (amount, category,
        description, spent_on as YYYY-MM-DD, trip_id); list fields in clear to remove them
        (description, trip_id). Spending totals and budgets follow at once. Returns the expense
        before and after, so the correction can be checked or undone.""",
    run=correct_expense,
    input=CorrectExpenseInput,
    output=CorrectExpenseResult,
    read_only=False,
    destructive=True,
    idempotent=True,
)

DELETE_EXPENSE = ToolSpec(
    name="delete_expense",
    title="Delete an expense",
    description="""
        Delete an expense by its expense_id (e.g. one logged twice). Returns the expense as it
        was; it no longer counts in totals. A second call with the same id finds nothing.""",
    run=delete_expense,
    input=DeleteExpenseInput,
    output=DeleteExpenseResult,
    read_only=False,
    destructive=True,
)

UPDATE_TRIP = ToolSpec(
    name="update_trip",
    title="Change a trip",
    description="""
        Change a trip's title, end time (ISO 8601 with offset; not before its start) or notes by
        its trip_id; list fields in clear to remove them (title, ended_at puts it back under way,
        notes). Returns the trip before and after, times in the person's time zone.""",
    run=update_trip,
    input=UpdateTripInput,
    output=UpdateTripResult,
    read_only=False,
    destructive=True,
    idempotent=True,
)

DELETE_TRIP = ToolSpec(
    name="delete_trip",
    title="Delete a trip",
    description="""
        Delete a trip by its trip_id. Its expenses are kept, no longer linked to any trip; the
        answer says how many. Returns the trip as it was.""",
    run=delete_trip,
    input=DeleteTripInput,
    output=DeleteTripResult,
    read_only=False,
    destructive=True,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = "Corrections, which return what was there before: correct_expense, delete_expense, update_trip, delete_trip."

TOOLS = (CORRECT_EXPENSE, DELETE_EXPENSE, UPDATE_TRIP, DELETE_TRIP)
