"""Budgets: a monthly limit per spending category, and a month's spending against each.

What was spent comes from the per person/day/category rollup, so a month's comparison costs
what the month's categories cost, not the number of expenses. The rules (known categories,
sane limits, one budget per category) are the database's (migration
20261202000110_budget_operations.sql and the budgets table's constraints).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import Field

from pam_mcp.tools.common import Input, Money, Output, ToolContext
from pam_mcp.tools.expenses import ExpenseCategory
from pam_mcp.tools.formats import MonthText, month_start
from pam_mcp.tools.spec import ToolSpec


class SetBudgetInput(Input):
    category: ExpenseCategory = Field(description="The spending category the budget is for")
    monthly_limit: Money | None = Field(
        description="The most to spend in it per calendar month; null removes the budget"
    )


class SetBudgetResult(Output):
    category: str
    previous: Decimal | None = Field(description="The monthly limit before this call; null when there was none")
    current: Decimal | None = Field(description="The monthly limit now; null when the budget was removed")
    summary: str


class ListBudgetsInput(Input):
    month: MonthText | None = Field(default=None, description="The month (YYYY-MM); default this month")


class BudgetStatus(Output):
    category: str
    monthly_limit: Decimal
    spent: Decimal = Field(description="Spent in this category in the month")
    remaining: Decimal = Field(description="monthly_limit - spent; negative when over")
    percent_used: float
    over_budget: bool


class ListBudgetsResult(Output):
    month: str = Field(description="YYYY-MM")
    start: dt.date
    end: dt.date
    currency: str | None = Field(description="ISO 4217 code every amount is in; null until the person has a profile")
    budgets: list[BudgetStatus] = Field(description="Every budget, by category; empty when none is set")
    total_limit: Decimal
    total_spent: Decimal = Field(description="Spent in the budgeted categories")
    summary: str


def _amount(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def budget_status(category: str, monthly_limit: Decimal, spent: Decimal) -> BudgetStatus:
    return BudgetStatus(
        category=category,
        monthly_limit=monthly_limit,
        spent=spent,
        remaining=monthly_limit - spent,
        percent_used=round(float(spent / monthly_limit * 100), 1),
        over_budget=spent > monthly_limit,
    )


async def set_budget(ctx: ToolContext, args: SetBudgetInput) -> SetBudgetResult:
    saved = "the budget removal" if args.monthly_limit is None else "the budget"
    doc = await ctx.store.call(ctx.user, "pam_set_budget", saved=saved, p_category=args.category,
                               p_monthly_limit=args.monthly_limit)  # fmt: skip
    previous, current = _amount(doc["previous"]), _amount(doc["current"])
    if current is None:
        summary = (f"Removed the {args.category} budget (it was {previous} a month)." if previous is not None
                   else f"There was no {args.category} budget; nothing to remove.")  # fmt: skip
    elif previous is None:
        summary = f"Set a {args.category} budget of {current} a month."
    elif previous == current:
        summary = f"The {args.category} budget was already {current} a month."
    else:
        summary = f"Changed the {args.category} budget from {previous} to {current} a month."
    return SetBudgetResult(category=args.category, previous=previous, current=current, summary=summary)


async def list_budgets(ctx: ToolContext, args: ListBudgetsInput) -> ListBudgetsResult:
    month = None if args.month is None else month_start(args.month)
    doc = await ctx.store.call(ctx.user, "pam_list_budgets", p_month=month, p_now=ctx.now())
    lines = [budget_status(b["category"], Decimal(str(b["monthly_limit"])), Decimal(str(b["spent"])))
             for b in doc["budgets"]]  # fmt: skip
    start = dt.date.fromisoformat(doc["month"])
    total_limit = sum((b.monthly_limit for b in lines), Decimal("0.00"))
    total_spent = sum((b.spent for b in lines), Decimal("0.00"))
    over = [b.category for b in lines if b.over_budget]
    if not lines:
        summary = f"No budgets set; set_budget adds one per category. Month {start:%Y-%m}."
    else:
        summary = f"{start:%Y-%m}: {total_spent} spent of {total_limit} budgeted" + (
            f"; over budget in {', '.join(over)}." if over else "; every category within budget."
        )
    return ListBudgetsResult(
        month=f"{start:%Y-%m}",
        start=start,
        end=dt.date.fromisoformat(doc["end"]),
        currency=doc["currency"],
        budgets=lines,
        total_limit=total_limit,
        total_spent=total_spent,
        summary=summary,
    )


# -- declarations (registered by the server layer) -------------------------------------------------

SET_BUDGET = ToolSpec(
    name="set_budget",
    title="Set or remove a monthly budget",
    description="""
        Set the person's monthly budget for one spending category (fuel, food, campground,
        maintenance, entertainment, propane, utilities, shopping, insurance, registration, other)
        to monthly_limit, replacing any earlier one, or remove it with monthly_limit null.
        Returns the previous and the current limit (null when none), so the change is never
        silent. Safe to repeat.""",
    run=set_budget,
    input=SetBudgetInput,
    output=SetBudgetResult,
    read_only=False,
    destructive=True,
    idempotent=True,
)

LIST_BUDGETS = ToolSpec(
    name="list_budgets",
    title="Budgets against spending",
    description="""
        Every monthly budget of the person with what they spent in its category in a month
        (month YYYY-MM, default this month in their time zone): limit, spent, remaining, percent
        used and whether it is over, in the currency named in the result, plus the month's
        totals. Read-only.""",
    run=list_budgets,
    input=ListBudgetsInput,
    output=ListBudgetsResult,
    read_only=True,
    idempotent=True,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = "Monthly budgets per category: set_budget (null removes one), list_budgets (each against the month's spending)."

TOOLS = (SET_BUDGET, LIST_BUDGETS)
