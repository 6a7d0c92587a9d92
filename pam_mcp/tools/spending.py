"""The spending dashboard's own tools (MCP App ``ui://pam/spending``): only the app calls them.

The overview is one operation (``public.pam_spending_overview``: totals by category, budgets,
the trend, the person's currency, in one transaction); a category's items are one page of
``query_expenses``. Both count in query_expenses' rate-limit bucket (``counts_as``): they show
its data, so its limit cannot be sidestepped through the app.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import Field

from pam_mcp.apps import SPENDING
from pam_mcp.store.records import ExpenseGroupRow
from pam_mcp.tools.common import Output, ToolContext
from pam_mcp.tools.expenses import (
    BudgetLine,
    DayRange,
    ExpenseCategory,
    ExpenseGroup,
    ExpenseItem,
    QueryExpensesInput,
    budget_lines,
    query_expenses,
    totals,
)
from pam_mcp.tools.spec import ToolSpec

TrendGrouping = Literal["day", "week", "month"]


class SpendingOverviewInput(DayRange):
    categories: list[ExpenseCategory] | None = Field(default=None, max_length=11, description="Only these categories")


class SpendingOverview(Output):
    currency: str = Field(description="The person's currency (ISO 4217), from their profile")
    start: dt.date
    end: dt.date
    total: Decimal
    count: int
    categories: list[ExpenseGroup] = Field(description="Totals by category, largest first")
    budgets: list[BudgetLine]
    trend_by: TrendGrouping = Field(description="day for ranges up to 62 days, week up to 400, else month")
    trend: list[ExpenseGroup] = Field(description="Totals by day, week or month, oldest first")


class SpendingItemsInput(DayRange):
    category: ExpenseCategory
    limit: int = Field(default=20, ge=1, le=100, description="Items per page")
    cursor: str | None = Field(default=None, max_length=300, description="next_cursor from the previous page")


class SpendingItems(Output):
    category: str
    start: dt.date
    end: dt.date
    total: Decimal
    count: int
    items: list[ExpenseItem] = Field(description="Newest first")
    next_cursor: str | None = None


def trend_grouping(start: dt.date, end: dt.date) -> TrendGrouping:
    days = (end - start).days + 1
    return "day" if days <= 62 else "week" if days <= 400 else "month"


async def spending_overview(ctx: ToolContext, args: SpendingOverviewInput) -> SpendingOverview:
    doc = await ctx.store.call(
        ctx.user, "pam_spending_overview",
        p_start=args.start, p_end=args.end, p_categories=args.categories, p_now=ctx.now(),
    )  # fmt: skip
    start, end = dt.date.fromisoformat(doc["start"]), dt.date.fromisoformat(doc["end"])
    by_category = [ExpenseGroupRow.model_validate(g) for g in doc["groups"]]
    total, count = totals(by_category)
    budgets = {b["category"]: b["monthly_limit"] for b in doc["budgets"]}
    return SpendingOverview(
        currency=doc["currency"],
        start=start,
        end=end,
        total=total,
        count=count,
        categories=[ExpenseGroup(key=g.key, total=g.total, count=g.count)
                    for g in sorted(by_category, key=lambda g: (-g.total, g.key or ""))],
        budgets=budget_lines(budgets, by_category, start, end),
        trend_by=doc["trend_by"],
        trend=[ExpenseGroup.model_validate(g) for g in doc["trend"]],
    )  # fmt: skip


async def spending_items(ctx: ToolContext, args: SpendingItemsInput) -> SpendingItems:
    page = await query_expenses(
        ctx,
        QueryExpensesInput(
            start=args.start,
            end=args.end,
            categories=[args.category],
            group_by="none",
            include_items=True,
            limit=args.limit,
            cursor=args.cursor,
        ),
    )
    return SpendingItems(
        category=args.category,
        start=page.start,
        end=page.end,
        total=page.total,
        count=page.count,
        items=page.items or [],
        next_cursor=page.next_cursor,
    )


# -- declarations (registered by the server layer) -------------------------------------------------

SPENDING_OVERVIEW = ToolSpec(
    name="spending_overview",
    title="Spending overview (for the dashboard)",
    description="""
        For the spending dashboard app: over a date range (default this month), the person's
        currency, totals by category (largest first), each budget against its category, and the
        trend by day (ranges up to 62 days), week or month.""",
    run=spending_overview,
    input=SpendingOverviewInput,
    output=SpendingOverview,
    read_only=True,
    idempotent=True,
    ui_resource=SPENDING.uri,
    app_only=True,
    counts_as="query_expenses",
)

SPENDING_ITEMS = ToolSpec(
    name="spending_items",
    title="One category's expenses (for the dashboard)",
    description="""
        For the spending dashboard app: a page of one category's expenses over a date range
        (default this month), newest first, with the category's total and count; pass
        next_cursor back as cursor for the next page.""",
    run=spending_items,
    input=SpendingItemsInput,
    output=SpendingItems,
    read_only=True,
    idempotent=True,
    ui_resource=SPENDING.uri,
    app_only=True,
    counts_as="query_expenses",
)

APP_TOOLS = (SPENDING_OVERVIEW, SPENDING_ITEMS)
