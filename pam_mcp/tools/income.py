"""Income: log money received on the road, and cash flow (income - spending) over a range.

Each is one SQL function (migration 20261202000120_income_operations.sql): the database dates
an income (default the person's today, in their time zone), refuses one dated after tomorrow,
counts a retry with the same client_ref once, and totals income and spending per month.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from pam_mcp.tools.common import ClientRef, Input, Money, Output, ToolContext
from pam_mcp.tools.formats import Day
from pam_mcp.tools.spec import ToolSpec

IncomeSource = Literal["work_camping", "hustle", "pension", "salary", "refund", "other"]
MAX_RANGE_DAYS = 3 * 366


class LogIncomeInput(Input):
    amount: Money
    source: IncomeSource = Field(description="Where it came from: work_camping, hustle, pension, salary, refund, other")
    description: str | None = Field(
        default=None, min_length=1, max_length=500, description="Who paid and for what, e.g. 'camp host, Kalbarri'"
    )
    received_on: Day | None = Field(default=None, description="Date received (YYYY-MM-DD); default today")
    client_ref: ClientRef = None


class IncomeItem(Output):
    income_id: uuid.UUID
    amount: Decimal
    source: str
    description: str | None
    received_on: dt.date


class LogIncomeResult(Output):
    income: IncomeItem
    duplicate: bool = Field(description="True when this client_ref was already recorded; nothing was added")
    month_income: Decimal = Field(description="All income received in the same calendar month")
    currency: str | None = Field(description="ISO 4217 code of the amounts; null until the person has a profile")


class CashFlowInput(Input):
    start: Day | None = Field(default=None, description="First day (YYYY-MM-DD); default the 1st of this month")
    end: Day | None = Field(
        default=None,
        description="Last day, inclusive (YYYY-MM-DD); default the end of this month (or of start's month, if later)",
    )

    @model_validator(mode="after")
    def _check_range(self) -> CashFlowInput:
        if self.start and self.end:
            if self.end < self.start:
                raise ValueError("end is before start; give start and end as YYYY-MM-DD with start first")
            if (self.end - self.start).days > MAX_RANGE_DAYS:
                raise ValueError(f"the range from start to end is longer than {MAX_RANGE_DAYS} days; ask for less")
        return self


class MonthFlow(Output):
    month: str = Field(description="YYYY-MM (only the days inside the range count)")
    income: Decimal
    spending: Decimal
    net: Decimal = Field(description="income - spending")


class CashFlowResult(Output):
    start: dt.date = Field(description="First day counted")
    end: dt.date = Field(description="Last day counted (inclusive)")
    currency: str | None = Field(description="ISO 4217 code of the amounts; null until the person has a profile")
    income_total: Decimal
    spending_total: Decimal
    net: Decimal = Field(description="income_total - spending_total; negative when more went out than came in")
    by_month: list[MonthFlow] | None = Field(description="Per calendar month when the range spans several; else null")
    summary: str


async def log_income(ctx: ToolContext, args: LogIncomeInput) -> LogIncomeResult:
    doc = await ctx.store.call(
        ctx.user, "pam_log_income", saved="the income", p_amount=args.amount, p_source=args.source,
        p_description=args.description, p_received_on=args.received_on, p_client_ref=args.client_ref,
        p_now=ctx.now(),
    )  # fmt: skip
    item = doc["income"]
    return LogIncomeResult(
        income=IncomeItem(
            income_id=uuid.UUID(item["id"]),
            amount=Decimal(str(item["amount"])),
            source=item["source"],
            description=item["description"],
            received_on=dt.date.fromisoformat(item["received_on"]),
        ),
        duplicate=bool(doc["duplicate"]),
        month_income=Decimal(str(doc["month_income"])),
        currency=doc["currency"],
    )


async def cash_flow(ctx: ToolContext, args: CashFlowInput) -> CashFlowResult:
    doc = await ctx.store.call(ctx.user, "pam_cash_flow", p_start=args.start, p_end=args.end, p_now=ctx.now())
    months = []
    for m in doc["months"] or []:
        income, spending = Decimal(str(m["income"])), Decimal(str(m["spending"]))
        months.append(MonthFlow(month=m["month"], income=income, spending=spending, net=income - spending))
    income_total = sum((m.income for m in months), Decimal("0.00"))
    spending_total = sum((m.spending for m in months), Decimal("0.00"))
    net = income_total - spending_total
    start, end = dt.date.fromisoformat(doc["start"]), dt.date.fromisoformat(doc["end"])
    currency = doc["currency"]
    unit = f" {currency}" if currency else ""
    verdict = "more came in than went out" if net > 0 else "more went out than came in" if net < 0 else "even"
    return CashFlowResult(
        start=start,
        end=end,
        currency=currency,
        income_total=income_total,
        spending_total=spending_total,
        net=net,
        by_month=months if len(months) > 1 else None,
        summary=f"From {start} to {end}: income {income_total}{unit}, spending {spending_total}{unit}, "
        f"net {net}{unit} ({verdict}).",
    )


# -- declarations (registered by the server layer) -------------------------------------------------

LOG_INCOME = ToolSpec(
    name="log_income",
    title="Log income",
    description="""
        Record money the person received (positive, 2 decimals) with its source (work_camping,
        hustle, pension, salary, refund, other), an optional description and the date received
        (YYYY-MM-DD, default today in their time zone; not after tomorrow). Returns the income,
        the month's income so far and the currency. Pass client_ref when retrying so it counts once.""",
    run=log_income,
    input=LogIncomeInput,
    output=LogIncomeResult,
    read_only=False,
)

CASH_FLOW = ToolSpec(
    name="cash_flow",
    title="Cash flow over a range",
    description="""
        Income minus spending between start and end (YYYY-MM-DD, inclusive; default this month,
        at most 3 x 366 days): income total, spending total and net, by calendar month when the
        range spans several. The result states the range it covered and the currency. Read-only.""",
    run=cash_flow,
    input=CashFlowInput,
    output=CashFlowResult,
    read_only=True,
    idempotent=True,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = "Income and cash flow: log_income, cash_flow (income, spending and net over a range)."

TOOLS = (LOG_INCOME, CASH_FLOW)
