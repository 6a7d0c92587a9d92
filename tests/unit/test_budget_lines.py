"""Budget lines and totals, as query_expenses and get_context show them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pam_mcp.store.records import ExpenseGroupRow
from pam_mcp.tools.expenses import budget_lines, totals


def group(key: str | None, total: str, count: int = 1) -> ExpenseGroupRow:
    return ExpenseGroupRow(key=key, total=Decimal(total), count=count)


NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def test_each_budget_is_set_against_what_its_category_spent() -> None:
    [fuel] = budget_lines({"fuel": Decimal("400.00")}, [group("fuel", "100.00", 3)], *NOVEMBER)
    assert fuel.category == "fuel"
    assert fuel.spent == Decimal("100.00")
    assert fuel.budget == Decimal("400.00")
    assert fuel.remaining == Decimal("300.00")
    assert fuel.percent_used == 25.0
    assert not fuel.over_budget


def test_a_budgeted_category_with_no_spending_has_all_of_its_budget_left() -> None:
    [food] = budget_lines({"food": Decimal("250.00")}, [group("fuel", "80.00")], *NOVEMBER)
    assert (food.spent, food.remaining, food.percent_used, food.over_budget) == (
        Decimal("0.00"),
        Decimal("250.00"),
        0.0,
        False,
    )


def test_spending_beyond_the_budget_is_over_budget_with_a_negative_remainder() -> None:
    [fuel] = budget_lines({"fuel": Decimal("300.00")}, [group("fuel", "412.50")], *NOVEMBER)
    assert fuel.over_budget
    assert fuel.remaining == Decimal("-112.50")
    assert fuel.percent_used == 137.5


def test_spending_exactly_the_budget_is_not_over_it() -> None:
    [fuel] = budget_lines({"fuel": Decimal("300.00")}, [group("fuel", "300.00")], *NOVEMBER)
    assert not fuel.over_budget
    assert fuel.remaining == Decimal("0.00")


def test_a_range_scales_the_monthly_budget_by_every_calendar_month_it_touches() -> None:
    # 31 January to 1 March touches three months, though it is barely a month long.
    [fuel] = budget_lines(
        {"fuel": Decimal("100.00")}, [group("fuel", "150.00")], dt.date(2026, 1, 31), dt.date(2026, 3, 1)
    )
    assert fuel.budget == Decimal("300.00")
    # Across a year's end too.
    [fuel] = budget_lines({"fuel": Decimal("100.00")}, [], dt.date(2026, 12, 15), dt.date(2027, 1, 2))
    assert fuel.budget == Decimal("200.00")


def test_lines_come_in_category_order_and_only_for_budgeted_categories() -> None:
    budgets = {"propane": Decimal("50.00"), "campground": Decimal("600.00"), "fuel": Decimal("400.00")}
    lines = budget_lines(budgets, [group("food", "90.00"), group("fuel", "10.00")], *NOVEMBER)
    assert [line.category for line in lines] == ["campground", "fuel", "propane"]


def test_no_budgets_give_no_lines() -> None:
    assert budget_lines({}, [group("fuel", "10.00")], *NOVEMBER) == []


def test_totals_add_every_group_and_count_every_expense() -> None:
    assert totals([group("fuel", "10.10", 2), group("food", "5.05", 3), group(None, "0.85", 1)]) == (
        Decimal("16.00"),
        6,
    )
    assert totals([]) == (Decimal("0.00"), 0)
