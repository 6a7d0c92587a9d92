"""Spending: log an expense, and query spending with totals computed in SQL.

Totals come from the per user/day/category rollup (expense_daily_totals, kept by triggers), so
their cost follows the days and categories in the range, not the number of expenses or the size
of the table; item pages read the caller's expenses through the (user_id, spent_on) index.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Literal, Self

from pydantic import Field, model_validator

from pam_mcp.apps import SPENDING
from pam_mcp.store.records import ExpenseGrouping, ExpenseGroupRow, ExpenseRecord, NewExpense
from pam_mcp.tools.common import (
    ClientRef,
    Input,
    Money,
    Output,
    ToolContext,
    first_of_month,
    invalid,
    next_month,
)
from pam_mcp.tools.spec import ToolSpec

ExpenseCategory = Literal[
    "fuel", "food", "campground", "maintenance", "entertainment", "propane", "utilities", "shopping",
    "insurance", "registration", "other",
]  # fmt: skip
MAX_RANGE_DAYS = 3 * 366


class LogExpenseInput(Input):
    amount: Money
    category: ExpenseCategory
    description: str | None = Field(default=None, max_length=500, description="What it was, e.g. 'diesel at Cobar'")
    # The database refuses money dated before 2000 (migration 20261130000200_sane_numbers_and_dates).
    spent_on: dt.date | None = Field(
        default=None, ge=dt.date(2000, 1, 1), description="Date of the expense (YYYY-MM-DD); default today"
    )
    trip_id: uuid.UUID | None = Field(default=None, description="A trip (from log_trip) this expense belongs to")
    client_ref: ClientRef = None


class ExpenseItem(Output):
    expense_id: uuid.UUID
    amount: Decimal
    category: str
    description: str | None
    spent_on: dt.date
    trip_id: uuid.UUID | None


class LogExpenseResult(Output):
    expense: ExpenseItem
    duplicate: bool = Field(description="True when this client_ref was already recorded; nothing was added")
    month_total_for_category: Decimal
    monthly_budget: Decimal | None
    budget_remaining: Decimal | None


class DayRange(Input):
    """A range of the person's days, both ends optional (the store fills in their month)."""

    start: dt.date | None = Field(default=None, description="First day (YYYY-MM-DD); default the 1st of this month")
    end: dt.date | None = Field(default=None, description="Last day, inclusive; default the last day of start's month")

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self


class QueryExpensesInput(DayRange):
    categories: list[ExpenseCategory] | None = Field(default=None, max_length=11, description="Only these categories")
    group_by: ExpenseGrouping = Field(default="category", description="How to total: category, month, week, day, none")
    include_items: bool = Field(default=False, description="Also return a page of individual expenses, newest first")
    limit: int = Field(default=20, ge=1, le=100, description="Items per page when include_items is true")
    cursor: str | None = Field(default=None, max_length=300, description="next_cursor from the previous page")


class ExpenseGroup(Output):
    key: str | None = Field(description="The category, YYYY-MM month, week-start date or day; null for 'none'")
    total: Decimal
    count: int


class BudgetLine(Output):
    category: str
    spent: Decimal
    budget: Decimal = Field(description="Monthly budget times the calendar months the range touches")
    remaining: Decimal
    percent_used: float
    over_budget: bool


class QueryExpensesResult(Output):
    start: dt.date = Field(description="First day counted (YYYY-MM-DD)")
    end: dt.date = Field(description="Last day counted, inclusive (YYYY-MM-DD)")
    covers: str = Field(
        description="The range counted, in words, with how a default was filled in: say it when answering"
    )
    total: Decimal
    count: int
    groups: list[ExpenseGroup]
    budgets: list[BudgetLine]
    items: list[ExpenseItem] | None = None
    next_cursor: str | None = None


def _item(e: ExpenseRecord) -> ExpenseItem:
    return ExpenseItem(
        expense_id=e.id,
        amount=e.amount,
        category=e.category,
        description=e.description,
        spent_on=e.spent_on,
        trip_id=e.trip_id,
    )


def _months_touched(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def totals(groups: Sequence[ExpenseGroupRow]) -> tuple[Decimal, int]:
    """The total spent and the number of expenses over a set of groups."""
    return sum((g.total for g in groups), Decimal("0.00")), sum(g.count for g in groups)


def budget_lines(
    budgets: Mapping[str, Decimal], by_category: Sequence[ExpenseGroupRow], start: dt.date, end: dt.date
) -> list[BudgetLine]:
    """Each budget against what was spent in its category from ``start`` to ``end``.

    The one place budget lines are computed (query_expenses and get_context both show them).
    """
    spent = {g.key: g.total for g in by_category}
    months = _months_touched(start, end)
    lines: list[BudgetLine] = []
    for category, monthly in sorted(budgets.items()):
        limit = monthly * months
        used = spent.get(category, Decimal("0.00"))
        lines.append(
            BudgetLine(
                category=category,
                spent=used,
                budget=limit,
                remaining=limit - used,
                percent_used=round(float(used / limit * 100), 1),
                over_budget=used > limit,
            )
        )
    return lines


def _fingerprint(start: dt.date | None, end: dt.date | None, categories: list[str] | None) -> str:
    raw = f"{start}|{end}|{','.join(sorted(categories or []))}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def encode_cursor(last: ExpenseRecord, fingerprint: str) -> str:
    raw = json.dumps({"d": last.spent_on.isoformat(), "i": str(last.id), "q": fingerprint})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> tuple[dt.date, uuid.UUID]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = (dt.date.fromisoformat(data["d"]), uuid.UUID(data["i"]))
        same_query = data["q"] == fingerprint
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid("cursor is not one this tool returned; omit it to start from the first page") from None
    if not same_query:
        raise invalid("cursor belongs to a query with other dates or categories; omit it to start again")
    return after


async def log_expense(ctx: ToolContext, args: LogExpenseInput) -> LogExpenseResult:
    # One call: the database dates it (default: the person's today, in their time zone), refuses
    # a date in the future, records it and totals its month for its category.
    logged = await ctx.store.log_expense(
        ctx.user,
        NewExpense(
            amount=args.amount,
            category=args.category,
            description=args.description,
            spent_on=args.spent_on,
            trip_id=args.trip_id,
            client_ref=args.client_ref,
        ),
        now=ctx.now(),
    )
    spent, budget = logged.month_total, logged.budget
    return LogExpenseResult(
        expense=_item(logged.expense),
        duplicate=logged.duplicate,
        month_total_for_category=spent,
        monthly_budget=budget,
        budget_remaining=None if budget is None else budget - spent,
    )


def covers(start: dt.date, end: dt.date, *, given_start: bool, given_end: bool) -> str:
    """The range a report counted, in a sentence, saying which end was a default: a model that
    asked from 15 October and got "to 31 October" must be able to tell the person so."""
    span = f"Spending from {start} to {end}, both days included"
    if not given_start and not given_end:
        return f"{span}: the person's current month (no start or end given)."
    if not given_end:
        return f"{span}: end was not given, so it is the last day of start's month; pass end for a longer range."
    if not given_start:
        return f"{span}: start was not given, so it is the first day of the person's current month."
    return f"{span}."


async def query_expenses(ctx: ToolContext, args: QueryExpensesInput) -> QueryExpensesResult:
    start = args.start
    end = args.end or (None if start is None else next_month(first_of_month(start)) - dt.timedelta(days=1))
    if start is not None and end is not None:  # else the database checks, once it knows the person's month
        if end < start:
            raise invalid("end is before start")
        if (end - start).days > MAX_RANGE_DAYS:
            raise invalid(f"the range is longer than {MAX_RANGE_DAYS} days; query a shorter period")
    categories: list[str] | None = list(args.categories) if args.categories else None

    want_items = args.include_items or bool(args.cursor)
    # The query as asked (a default month is the same query until the month turns).
    fingerprint = _fingerprint(start, end, categories)
    after = decode_cursor(args.cursor, fingerprint) if args.cursor else None
    # One call: the groups, the budgets, when a budget needs them the category totals, and when
    # asked for a page of items; a missing start is the person's current month, worked out in SQL.
    page = (after, args.limit + 1) if want_items else None
    report = await ctx.store.expense_report(ctx.user, start, end, categories, args.group_by, page=page, now=ctx.now())
    start, end = report.start or start, report.end or end
    assert start is not None  # the database resolved it
    assert end is not None
    groups = report.groups
    total, count = totals(groups)
    budgets = report.budgets
    if categories:
        budgets = {k: v for k, v in budgets.items() if k in categories}
    lines = budget_lines(budgets, report.by_category, start, end)

    result = QueryExpensesResult(
        start=start,
        end=end,
        covers=covers(start, end, given_start=args.start is not None, given_end=args.end is not None),
        total=total,
        count=count,
        groups=[ExpenseGroup(key=g.key, total=g.total, count=g.count) for g in groups],
        budgets=lines,
    )
    if report.items is not None:
        page_items = report.items
        result.items = [_item(e) for e in page_items[: args.limit]]
        more = len(page_items) > args.limit
        result.next_cursor = encode_cursor(page_items[args.limit - 1], fingerprint) if more else None
    return result


# -- declarations (registered by the server layer) -------------------------------------------------

QUERY_EXPENSES = ToolSpec(
    name="query_expenses",
    title="Query spending",
    description="""
        Totals of the user's spending over a date range (dates YYYY-MM-DD; default this month; a
        start without an end runs only to the end of start's month), optionally only some
        categories, grouped by category, month, week, day or none, with the budget comparison for
        each budgeted category. The result's start, end and 'covers' state the range counted. Set
        include_items for a page of individual expenses (newest first); pass next_cursor back as
        cursor for the next page.""",
    run=query_expenses,
    input=QueryExpensesInput,
    output=QueryExpensesResult,
    read_only=True,
    idempotent=True,
    ui_resource=SPENDING.uri,
)

LOG_EXPENSE = ToolSpec(
    name="log_expense",
    title="Log an expense",
    description="""
        Record money the user spent: amount, category (fuel, food, campground, maintenance,
        entertainment, propane, utilities, shopping, insurance, registration, other), description,
        date (default today) and optionally the trip it belongs to. Pass client_ref when retrying so it
        counts once. Returns the category's total this month and what is left of its budget.""",
    run=log_expense,
    input=LogExpenseInput,
    output=LogExpenseResult,
    read_only=False,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = (
    "Spending: log_expense, query_expenses (totals by category, month, week or day against budgets; "
    "items page by page)."
)

TOOLS = (QUERY_EXPENSES, LOG_EXPENSE)
