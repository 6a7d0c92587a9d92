"""The savings guarantee as a person reads it: a month is free when it ended with savings below the price."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pam_mcp.tools.savings import guarantee_status

PRICE = Decimal("14.99")
NOVEMBER = dt.date(2026, 11, 1)


def test_a_month_that_ended_with_savings_below_the_price_is_free() -> None:
    status = guarantee_status(NOVEMBER, Decimal("9.50"), PRICE, today=dt.date(2026, 12, 1))
    assert status.month == "2026-11"
    assert status.month_ended
    assert status.free_month
    assert status.remaining_to_cover_price == Decimal("5.49")
    assert status.summary == "2026-11 ended with 9.50 saved, below the 14.99 price: this month is free."


@pytest.mark.parametrize("saved", [Decimal("14.99"), Decimal("30.00")])
def test_a_month_that_ended_with_savings_at_or_above_the_price_is_not_free(saved: Decimal) -> None:
    status = guarantee_status(NOVEMBER, saved, PRICE, today=dt.date(2027, 3, 4))
    assert status.month_ended
    assert not status.free_month
    assert status.remaining_to_cover_price == Decimal("0.00")
    assert status.summary == f"2026-11 ended with {saved} saved, covering the 14.99 subscription."


def test_a_month_under_way_is_never_free_yet_and_says_how_much_more_covers_the_price() -> None:
    status = guarantee_status(NOVEMBER, Decimal("4.99"), PRICE, today=dt.date(2026, 11, 30))
    assert not status.month_ended
    assert not status.free_month
    assert status.remaining_to_cover_price == Decimal("10.00")
    assert status.summary == "4.99 saved so far in 2026-11; 10.00 more covers the 14.99 subscription."


def test_a_month_under_way_that_already_covers_the_price_says_so() -> None:
    status = guarantee_status(NOVEMBER, Decimal("20.00"), PRICE, today=dt.date(2026, 11, 2))
    assert not status.free_month
    assert status.remaining_to_cover_price == Decimal("0.00")
    assert status.summary == "20.00 saved so far in 2026-11: the 14.99 subscription is already covered."


def test_december_ends_on_the_first_of_january_of_the_next_year() -> None:
    december = dt.date(2026, 12, 1)
    assert not guarantee_status(december, Decimal("0.00"), PRICE, today=dt.date(2026, 12, 31)).month_ended
    assert guarantee_status(december, Decimal("0.00"), PRICE, today=dt.date(2027, 1, 1)).free_month


def test_the_price_is_configuration_not_a_constant() -> None:
    status = guarantee_status(NOVEMBER, Decimal("15.00"), Decimal("19.99"), today=dt.date(2026, 12, 1))
    assert status.subscription_price == Decimal("19.99")
    assert status.free_month
