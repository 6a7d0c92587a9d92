"""The person's profile, budgets and income through a real MCP client, on both stores.

Every test runs on the PostgreSQL store and on Supabase's REST API (the PostgREST stand-in over
the same database), through ``make_app``'s parametrisation in tests/test_tools.py.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, get_args

import pytest

from pam_mcp.server import App
from pam_mcp.store.postgres import Database
from pam_mcp.tools.income import IncomeSource
from pam_mcp.tools.profile import FuelType
from tests.conftest import NewUser
from tests.test_tools import call, count, error, make_app, rest_fake, session

pytestmark = pytest.mark.anyio
__all__ = ["make_app", "rest_fake"]  # the fixtures, used by name

# 14:30 UTC on 15 November is already 01:30 on the 16th in Sydney (UTC+11 in summer).
NOW = dt.datetime(2026, 11, 15, 14, 30, tzinfo=dt.UTC)
SYDNEY_TODAY = "2026-11-16"


def at_now(make_app: Callable[..., App], user: uuid.UUID) -> App:
    return make_app(user, now=lambda: NOW)


async def read_json(client: Any, uri: str) -> dict[str, Any]:
    result = await client.read_resource(uri)
    out: dict[str, Any] = json.loads(result.contents[0].text)
    return out


# -- profile -----------------------------------------------------------------------------------------


async def test_update_profile_creates_the_profile_and_pam_profile_shows_every_field(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    async with session(at_now(make_app, user)) as client:
        assert (await read_json(client, "pam://profile"))["profile"] is None
        out = await call(
            client,
            "update_profile",
            {"display_name": "Robyn", "timezone": "Australia/Sydney", "currency": "aud", "country_code": "au",
             "distance_unit": "km", "volume_unit": "L", "rv_make": "Jayco", "rv_model": "Conquest",
             "fuel_type": "diesel", "tank_size": "120"},
        )  # fmt: skip
        assert out["created"] is True and out["before"] is None
        assert len(out["changed"]) == 10 and "Profile created" in out["summary"]
        after = out["after"]
        assert (after["country_code"], after["currency"], after["timezone"]) == ("AU", "AUD", "Australia/Sydney")
        assert (after["rv_make"], after["fuel_type"]) == ("Jayco", "diesel")
        assert Decimal(str(after["tank_size"])) == 120
        # The new time zone already decides today: Sydney is a day ahead of UTC at this hour.
        assert out["today"] == SYDNEY_TODAY
        shown = (await read_json(client, "pam://profile"))["profile"]
        assert shown["timezone"] == "Australia/Sydney" and shown["rv_model"] == "Conquest"
        assert shown["distance_unit"] == "km" and shown["volume_unit"] == "L"


async def test_update_profile_changes_only_the_fields_given_and_shows_before_and_after(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    async with session(make_app(user)) as client:
        await call(
            client, "update_profile", {"display_name": "Robyn", "timezone": "Australia/Perth", "tank_size": "100"}
        )
        # A model often sends null for what it does not mean to change: null leaves it alone.
        out = await call(client, "update_profile", {"distance_unit": "mi", "display_name": None, "timezone": None})
        assert out["created"] is False
        assert out["before"]["distance_unit"] == "km" and out["after"]["distance_unit"] == "mi"
        assert out["after"]["display_name"] == "Robyn" and out["after"]["timezone"] == "Australia/Perth"
        assert out["changed"] == ["distance_unit"]
        # Changing the volume unit keeps the tank's size, converted (100 L is 26.42 US gallons).
        out = await call(client, "update_profile", {"volume_unit": "gal"})
        assert Decimal(str(out["after"]["tank_size"])) == Decimal("26.42")
        again = await call(client, "update_profile", {"volume_unit": "gal"})
        assert again["changed"] == [] and "Nothing changed" in again["summary"]
        out = await call(client, "update_profile", {"clear": ["timezone", "tank_size"]})
        assert out["before"]["timezone"] == "Australia/Perth"
        assert out["after"]["timezone"] is None and out["after"]["tank_size"] is None
        assert out["after"]["display_name"] == "Robyn"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, ["timezone", "IANA", "Australia/Sydney"]),
        ({"timezone": "australia/sydney"}, ["timezone", "IANA"]),
        ({"country_code": "Australia"}, ["country_code", "ISO 3166-1 alpha-2", "AU"]),
        ({"currency": "dollars"}, ["currency", "ISO 4217", "AUD"]),
        ({"distance_unit": "miles"}, ["distance_unit", "'km' or 'mi'"]),
        ({"fuel_type": "unleaded"}, ["fuel_type"]),
        ({"tank_size": "-5"}, ["tank_size"]),
        ({"clear": ["currency"]}, ["clear"]),
        ({}, ["at least one field"]),
        ({"rv_make": "Jayco", "clear": ["rv_make"]}, ["rv_make", "one or the other"]),
        ({"user_id": str(uuid.uuid4()), "display_name": "Mallory"}, ["user_id", "signed-in person"]),
    ],
)
async def test_update_profile_names_the_argument_and_its_format_and_changes_nothing(
    make_app: Callable[..., App], new_user: NewUser, db: Database, arguments: dict[str, Any], expected: list[str]
) -> None:
    user = await new_user()
    async with session(make_app(user)) as client:
        text = await error(client, "update_profile", arguments)
    for part in expected:
        assert part in text, text
    async with db.as_owner() as tx:
        assert await tx.fetchval("select count(*) from public.profiles where id = $1", user) == 0


# -- budgets -----------------------------------------------------------------------------------------


async def test_set_budget_reports_the_previous_and_new_limit_and_null_removes_it(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    async with session(make_app(user)) as client:
        out = await call(client, "set_budget", {"category": "fuel", "monthly_limit": "400"})
        assert (out["previous"], Decimal(str(out["current"]))) == (None, Decimal(400))
        out = await call(client, "set_budget", {"category": "fuel", "monthly_limit": "450.50"})
        assert (Decimal(str(out["previous"])), Decimal(str(out["current"]))) == (Decimal(400), Decimal("450.50"))
        assert "from 400.00 to 450.50" in out["summary"]
        out = await call(client, "set_budget", {"category": "fuel", "monthly_limit": None})
        assert (Decimal(str(out["previous"])), out["current"]) == (Decimal("450.50"), None)
        assert await count(db, "budgets", user) == 0
        # monthly_limit must be said, even as null: leaving it out is not "remove".
        text = await error(client, "set_budget", {"category": "fuel"})
        assert "monthly_limit" in text
        text = await error(client, "set_budget", {"category": "beer", "monthly_limit": "50"})
        assert "category" in text and "fuel" in text
        text = await error(client, "set_budget", {"category": "food", "monthly_limit": "0"})
        assert "monthly_limit" in text


async def test_list_budgets_compares_each_budget_with_the_months_spending_in_the_persons_currency(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    async with session(at_now(make_app, user)) as client:
        await call(client, "update_profile", {"timezone": "Australia/Sydney", "currency": "AUD"})
        await call(client, "set_budget", {"category": "fuel", "monthly_limit": "100"})
        await call(client, "set_budget", {"category": "food", "monthly_limit": "300"})
        await call(client, "log_expense", {"amount": "88.10", "category": "fuel", "spent_on": "2026-11-02"})
        await call(client, "log_expense", {"amount": "30.00", "category": "fuel", "spent_on": "2026-11-10"})
        await call(client, "log_expense", {"amount": "75.00", "category": "food", "spent_on": "2026-11-03"})
        await call(client, "log_expense", {"amount": "999.00", "category": "food", "spent_on": "2026-10-31"})
        out = await call(client, "list_budgets", {})
        assert (out["month"], out["currency"], out["start"], out["end"]) == (
            "2026-11",
            "AUD",
            "2026-11-01",
            "2026-11-30",
        )
        lines = {b["category"]: b for b in out["budgets"]}
        fuel, food = lines["fuel"], lines["food"]
        assert (Decimal(str(fuel["spent"])), Decimal(str(fuel["remaining"])), fuel["over_budget"]) == (
            Decimal("118.10"), Decimal("-18.10"), True,
        )  # fmt: skip
        assert (Decimal(str(food["spent"])), food["percent_used"], food["over_budget"]) == (Decimal(75), 25.0, False)
        assert "over budget in fuel" in out["summary"]
        october = await call(client, "list_budgets", {"month": "2026-10"})
        assert {b["category"]: Decimal(str(b["spent"])) for b in october["budgets"]} == {"food": 999, "fuel": 0}
        for bad in ("2026-13", "November", "2026-11-01", "0000-05", "9999-12"):
            text = await error(client, "list_budgets", {"month": bad})
            assert "month" in text and "YYYY-MM" in text, text


async def test_the_persons_month_not_utcs_decides_list_budgets_default(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    """At 14:30 UTC on 30 November it is already December in Sydney."""
    user = await new_user()
    end_of_month = dt.datetime(2026, 11, 30, 14, 30, tzinfo=dt.UTC)
    async with session(make_app(user, now=lambda: end_of_month)) as client:
        assert (await call(client, "list_budgets", {}))["month"] == "2026-11"
        await call(client, "update_profile", {"timezone": "Australia/Sydney"})
        assert (await call(client, "list_budgets", {}))["month"] == "2026-12"


# -- income ------------------------------------------------------------------------------------------


async def test_log_income_dates_it_in_the_persons_today_and_a_retry_counts_once(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    async with session(at_now(make_app, user)) as client:
        await call(client, "update_profile", {"timezone": "Australia/Sydney", "currency": "AUD"})
        args = {"amount": "640.00", "source": "work_camping", "description": "camp host, Kalbarri", "client_ref": "w-1"}
        first = await call(client, "log_income", args)
        again = await call(client, "log_income", args)
        assert first["income"]["received_on"] == SYDNEY_TODAY  # UTC still says the 15th
        assert (first["duplicate"], again["duplicate"]) == (False, True)
        assert again["income"]["income_id"] == first["income"]["income_id"]
        assert Decimal(str(again["month_income"])) == 640 and again["currency"] == "AUD"
        assert await count(db, "income_entries", user) == 1
        await call(client, "log_income", {"amount": "12.50", "source": "refund", "received_on": "2026-11-01"})
        assert await count(db, "income_entries", user) == 2


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"received_on": "yesterday"}, ["received_on", "YYYY-MM-DD"]),
        ({"received_on": "30/11/2026"}, ["received_on", "YYYY-MM-DD"]),
        ({"received_on": "2026-11-31"}, ["received_on", "YYYY-MM-DD"]),
        ({"received_on": "2026-11-18"}, ["received_on", "future"]),  # two days after the person's today
        ({"source": "lottery"}, ["source", "work_camping"]),
        ({"amount": "-3"}, ["amount"]),
        ({"amount": "1.005"}, ["amount", "decimal"]),
    ],
)
async def test_log_income_refuses_bad_input_naming_the_argument_and_its_format(
    make_app: Callable[..., App], new_user: NewUser, db: Database, arguments: dict[str, Any], expected: list[str]
) -> None:
    user = await new_user()
    async with session(at_now(make_app, user)) as client:
        text = await error(client, "log_income", {"amount": "10.00", "source": "hustle", **arguments})
    for part in expected:
        assert part in text, text
    assert await count(db, "income_entries", user) == 0


async def test_cash_flow_states_its_range_and_nets_income_against_spending_by_month(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    async with session(at_now(make_app, user)) as client:
        await call(client, "update_profile", {"timezone": "Australia/Sydney", "currency": "AUD"})
        await call(client, "log_income", {"amount": "1000.00", "source": "pension", "received_on": "2026-10-05"})
        await call(client, "log_income", {"amount": "250.00", "source": "hustle", "received_on": "2026-11-02"})
        await call(client, "log_expense", {"amount": "400.00", "category": "fuel", "spent_on": "2026-10-20"})
        await call(client, "log_expense", {"amount": "300.00", "category": "food", "spent_on": "2026-11-03"})
        await call(client, "log_expense", {"amount": "50.00", "category": "food", "spent_on": "2026-09-30"})

        out = await call(client, "cash_flow", {"start": "2026-10-01", "end": "2026-11-30"})
        assert (out["start"], out["end"], out["currency"]) == ("2026-10-01", "2026-11-30", "AUD")
        assert [Decimal(str(out[k])) for k in ("income_total", "spending_total", "net")] == [1250, 700, 550]
        assert [(m["month"], Decimal(str(m["net"]))) for m in out["by_month"]] == [
            ("2026-10", Decimal(600)),
            ("2026-11", Decimal(-50)),
        ]
        assert "2026-10-01" in out["summary"] and "2026-11-30" in out["summary"]

        # Default: the person's month, one month: no breakdown, and the range is said.
        this_month = await call(client, "cash_flow", {})
        assert (this_month["start"], this_month["end"], this_month["by_month"]) == ("2026-11-01", "2026-11-30", None)
        assert Decimal(str(this_month["net"])) == -50
        # A start alone runs to the end of the person's current month, and says so.
        from_mid_october = await call(client, "cash_flow", {"start": "2026-10-15"})
        assert (from_mid_october["start"], from_mid_october["end"]) == ("2026-10-15", "2026-11-30")
        assert Decimal(str(from_mid_october["income_total"])) == 250

        for arguments, expected in (
            ({"start": "2026-11-30", "end": "2026-11-01"}, "end is before start"),
            ({"start": "2020-01-01", "end": "2026-11-30"}, "longer than"),
            ({"start": "1/10/2026"}, "YYYY-MM-DD"),
        ):
            text = await error(client, "cash_flow", arguments)
            assert expected in text, text


async def test_another_person_sees_none_of_it(make_app: Callable[..., App], new_user: NewUser) -> None:
    alice, bob = await new_user(), await new_user()
    async with session(make_app(alice)) as client:
        await call(client, "update_profile", {"display_name": "Alice", "currency": "NZD"})
        await call(client, "set_budget", {"category": "fuel", "monthly_limit": "100"})
        await call(client, "log_income", {"amount": "99.00", "source": "salary"})
    async with session(make_app(bob)) as client:
        assert (await read_json(client, "pam://profile"))["profile"] is None
        budgets = await call(client, "list_budgets", {})
        assert (budgets["budgets"], budgets["currency"]) == ([], None)
        assert Decimal(str((await call(client, "cash_flow", {}))["income_total"])) == 0
        out = await call(client, "set_budget", {"category": "fuel", "monthly_limit": None})
        assert out["previous"] is None  # Alice's budget is not Bob's to see or remove


async def test_every_income_source_and_fuel_type_the_tools_offer_the_database_keeps(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    """The lists are written in Python (the schema a model reads) and in SQL (the rule): they agree."""
    user = await new_user()
    async with session(make_app(user)) as client:
        for source in get_args(IncomeSource):
            await call(client, "log_income", {"amount": "1.00", "source": source})
        for fuel in get_args(FuelType):
            assert (await call(client, "update_profile", {"fuel_type": fuel}))["after"]["fuel_type"] == fuel
    assert await count(db, "income_entries", user) == len(get_args(IncomeSource))
