"""Fuel and maintenance, through the real MCP client, on both stores.

A fill-up is also the fuel expense, counted once however it is retried, corrected or deleted;
economy is measured between full-tank fill-ups; what service is due follows from intervals by
date and by odometer, and get_context shows it. The person lives in Brisbane, where it is
already 21 November when UTC's clock says 20 November.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import pytest
from mcp.client import Client

from pam_mcp.errors import InvalidInput
from pam_mcp.ratelimit import RateLimiter, parse_rate
from pam_mcp.server import App, build_server, new_app
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore
from tests.conftest import NewUser
from tests.postgrest_fake import PostgrestFake, rest_store
from tests.test_tools import call, error
from tests.test_tools import count as rows

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 11, 20, 21, 30, tzinfo=dt.UTC)  # 21 November, 07:30 in Brisbane
TODAY = "2026-11-21"


@pytest.fixture(params=["postgres", "rest"])
async def make_app(
    request: pytest.FixtureRequest, database_url: str, db: Database, redis_client: Any, redis_prefix: str
) -> AsyncIterator[Callable[[uuid.UUID], App]]:
    """An App for a person on the PostgreSQL store, or on Supabase's REST API (the PostgREST
    stand-in over the same database), with the clock at NOW."""
    async with AsyncExitStack() as stack:
        fake = None
        http = None
        if request.param == "rest":
            fake = await stack.enter_async_context(PostgrestFake.running(database_url))
            http = await stack.enter_async_context(fake.client())

        def make(user: uuid.UUID) -> App:
            store = PostgresStore(db) if fake is None or http is None else rest_store(fake, http, user)
            limiter = RateLimiter(redis_client, key_prefix=redis_prefix)
            return new_app(store=store, limiter=limiter, rate=parse_rate("1000/hour"), stdio_user=user, now=lambda: NOW)

        yield make


@pytest.fixture
async def person(db: Database, new_user: NewUser) -> uuid.UUID:
    user = await new_user()
    async with db.as_user(user) as tx:
        await tx.execute("insert into public.profiles (id, timezone) values ($1, 'Australia/Brisbane')", user)
    return user


async def fuel_spent(client: Client, start: str = "2026-11-01", end: str = "2026-11-30") -> tuple[Decimal, int]:
    spent = await call(client, "query_expenses", {"start": start, "end": end, "categories": ["fuel"]})
    return Decimal(str(spent["total"])), spent["count"]


async def test_a_fillup_is_the_fuel_expense_counted_once_and_a_retry_adds_neither_twice(
    make_app: Callable[[uuid.UUID], App], person: uuid.UUID, db: Database
) -> None:
    async with Client(build_server(make_app(person))) as client:
        fill = {"volume": "60", "price_per_unit": "1.899", "odometer": "100000", "station": "Caltex Cobar",
                "client_ref": "pump-1"}  # fmt: skip
        first = await call(client, "log_fillup", fill)
        again = await call(client, "log_fillup", fill)
        await call(client, "log_expense", {"amount": "20.00", "category": "food"})
        spent, count = await fuel_spent(client)
        everything = await call(client, "query_expenses", {"start": "2026-11-01", "end": "2026-11-30"})

    made = first["fillup"]
    assert made["filled_on"] == TODAY  # the person's today, not UTC's
    assert (Decimal(str(made["total_cost"])), made["volume_unit"], made["full_tank"]) == (Decimal("113.94"), "L", True)
    assert made["expense_id"] is not None
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["fillup"]["fillup_id"] == made["fillup_id"]
    assert Decimal(str(first["month_fuel_total"])) == Decimal("113.94")
    assert (spent, count) == (Decimal("113.94"), 1)
    assert Decimal(str(everything["total"])) == Decimal("133.94")
    assert (await rows(db, "fuel_log", person), await rows(db, "expenses", person)) == (1, 2)


async def test_a_total_alone_is_enough_and_a_price_that_disagrees_with_it_is_refused(
    make_app: Callable[[uuid.UUID], App], person: uuid.UUID, db: Database
) -> None:
    async with Client(build_server(make_app(person))) as client:
        by_total = await call(client, "log_fillup", {"volume": "50", "total_cost": "100.00"})
        wrong = await error(client, "log_fillup", {"volume": "50", "price_per_unit": "1.50", "total_cost": "100.00"})
        neither = await error(client, "log_fillup", {"volume": "50"})
    assert Decimal(str(by_total["fillup"]["price_per_unit"])) == Decimal("2.000")
    assert "price_per_unit" in wrong and "total_cost" in wrong and "75.00" in wrong
    assert "price_per_unit" in neither and "total_cost" in neither
    assert await rows(db, "fuel_log", person) == 1


async def test_economy_and_cost_per_km_are_measured_between_full_tank_fillups(
    make_app: Callable[[uuid.UUID], App], person: uuid.UUID
) -> None:
    series = [
        ("2026-10-20", "40", "1.900", "98000", True),  # before the range: not counted
        ("2026-11-01", "55", "2.000", "100000", True),  # the first full tank: where measuring starts
        ("2026-11-05", "20", "2.100", "100300", False),  # a top-up counts in the fuel used
        ("2026-11-09", "50", "2.000", "100800", True),  # 70 L over 800 km
        ("2026-11-14", "48", "2.050", "101400", True),  # 48 L over 600 km
    ]
    async with Client(build_server(make_app(person))) as client:
        for day, volume, price, odometer, full in series:
            await call(client, "log_fillup", {"filled_on": day, "volume": volume, "price_per_unit": price,
                                              "odometer": odometer, "full_tank": full})  # fmt: skip
        economy = await call(client, "fuel_economy", {"start": "2026-11-01", "end": "2026-11-30"})
        default = await call(client, "fuel_economy", {})
        too_few = await call(client, "fuel_economy", {"start": "2026-11-08", "end": "2026-11-10"})
        backwards = await error(client, "fuel_economy", {"start": "2026-11-30", "end": "2026-11-01"})

    assert (economy["start"], economy["end"], economy["fillups"]) == ("2026-11-01", "2026-11-30", 4)
    assert Decimal(str(economy["total_volume"])) == Decimal("173.00")
    # 55*2 + 20*2.1 + 50*2 + 48*2.05 = 110 + 42 + 100 + 98.40
    assert Decimal(str(economy["total_cost"])) == Decimal("350.40")
    assert Decimal(str(economy["measured_distance"])) == 1400
    assert (Decimal(str(economy["economy"])), economy["economy_unit"]) == (Decimal("8.43"), "L/100km")  # 118 L
    assert Decimal(str(economy["cost_per_distance"])) == Decimal("0.172")  # 240.40 / 1400 km
    assert "2026-11-01" in economy["summary"] and "8.43 L/100km" in economy["summary"]
    # The default range: the 90 days to the person's today, which includes 20 October.
    assert (default["start"], default["end"], default["fillups"]) == ("2026-08-24", TODAY, 5)
    assert too_few["economy"] is None and too_few["cost_per_distance"] is None
    assert "Too few fill-ups" in too_few["summary"] and "found 1" in too_few["summary"]
    assert "end is before start" in backwards and "YYYY-MM-DD" in backwards


async def test_correcting_a_fillup_moves_its_expense_and_shows_before_and_after(
    make_app: Callable[[uuid.UUID], App], person: uuid.UUID, new_user: NewUser
) -> None:
    async with Client(build_server(make_app(person))) as client:
        made = (await call(client, "log_fillup", {"volume": "60", "total_cost": "120.00", "filled_on": "2026-11-10"}))[
            "fillup"
        ]
        fixed = await call(client, "correct_fillup", {"fillup_id": made["fillup_id"], "volume": "65"})
        spent_after_volume = await fuel_spent(client)
        moved = await call(client, "correct_fillup", {"fillup_id": made["fillup_id"], "filled_on": "2026-10-31"})
        november, october = await fuel_spent(client), await fuel_spent(client, "2026-10-01", "2026-10-31")
        nothing = await error(client, "correct_fillup", {"fillup_id": made["fillup_id"]})
    async with Client(build_server(make_app(await new_user()))) as stranger:
        theirs = await error(stranger, "correct_fillup", {"fillup_id": made["fillup_id"], "total_cost": "1.00"})

    before, after = fixed["before"], fixed["after"]
    assert (Decimal(str(before["volume"])), Decimal(str(before["total_cost"]))) == (Decimal("60.00"), Decimal("120.00"))
    # A new volume alone keeps the price per litre (2.000): the total follows.
    assert (Decimal(str(after["volume"])), Decimal(str(after["total_cost"]))) == (Decimal("65.00"), Decimal("130.00"))
    assert after["expense_id"] == before["expense_id"]
    assert spent_after_volume == (Decimal("130.00"), 1)
    assert moved["after"]["filled_on"] == "2026-10-31"
    assert november == (Decimal("0"), 0) and october == (Decimal("130.00"), 1)
    assert "at least one field" in nothing
    assert f"No fill-up {made['fillup_id']}" in theirs


async def test_deleting_a_fillup_deletes_its_expense_and_a_second_delete_finds_nothing(
    make_app: Callable[[uuid.UUID], App], person: uuid.UUID, db: Database
) -> None:
    async with Client(build_server(make_app(person))) as client:
        made = (await call(client, "log_fillup", {"volume": "40", "total_cost": "80.00"}))["fillup"]
        gone = await call(client, "delete_fillup", {"fillup_id": made["fillup_id"]})
        spent = await fuel_spent(client)
        again = await error(client, "delete_fillup", {"fillup_id": made["fillup_id"]})
    assert gone["deleted"]["fillup_id"] == made["fillup_id"]
    assert spent == (Decimal("0"), 0)
    assert f"No fill-up {made['fillup_id']}" in again
    assert (await rows(db, "fuel_log", person), await rows(db, "expenses", person)) == (0, 0)


async def test_a_fillups_expense_cannot_drift_from_it_through_the_api(db: Database, person: uuid.UUID) -> None:
    # Written as Supabase's REST API would (the person's role, RLS): the database keeps the link.
    async with db.as_user(person) as tx:
        fill = await tx.fetchval("insert into public.fuel_log (liters, price_per_liter, total_cost) values (10, 2, 20)"
                                 " returning id")  # fmt: skip
        await tx.execute("update public.fuel_log set liters = 12.5, total_cost = 25 where id = $1", fill)
        expense = await tx.fetchrow("select id, amount, category from public.expenses where fuel_log_id = $1", fill)
    assert expense is not None
    assert (expense["amount"], expense["category"]) == (Decimal("25.00"), "fuel")
    for sql in ("update public.expenses set amount = 1 where id = $1", "delete from public.expenses where id = $1"):
        with pytest.raises(InvalidInput, match="correct_fillup"):
            async with db.as_user(person) as tx:
                await tx.execute(sql, expense["id"])


async def test_log_fillup_refuses_bad_input_naming_the_argument_and_its_format(
    make_app: Callable[[uuid.UUID], App], person: uuid.UUID, db: Database
) -> None:
    async with Client(build_server(make_app(person))) as client:
        day = await error(client, "log_fillup", {"volume": "40", "total_cost": "80", "filled_on": "30/11/2026"})
        future = await error(client, "log_fillup", {"volume": "40", "total_cost": "80", "filled_on": "2026-12-25"})
        half = await error(client, "log_fillup", {"volume": "40", "total_cost": "80", "lat": -31.5})
        volume = await error(client, "log_fillup", {"volume": "-3", "total_cost": "80"})
        trip = await error(client, "log_fillup", {"volume": "40", "total_cost": "80", "trip_id": str(uuid.uuid4())})
    assert "filled_on" in day
    assert "filled_on is in the future" in future and "YYYY-MM-DD" in future
    assert "lat and lon together" in half
    assert "volume" in volume
    assert "trip_id" in trip and "log_trip" in trip
    assert await rows(db, "fuel_log", person) == 0


async def test_what_is_due_follows_intervals_by_date_and_by_odometer_and_get_context_shows_it(
    make_app: Callable[[uuid.UUID], App], person: uuid.UUID
) -> None:
    async with Client(build_server(make_app(person))) as client:
        oil = {"service": "Oil change", "done_on": "2026-05-01", "odometer": "95000", "cost": "180.00",
               "interval_months": 6, "interval_km": 10000, "client_ref": "oil-may"}  # fmt: skip
        logged = await call(client, "log_service", oil)
        retried = await call(client, "log_service", oil)
        await call(client, "log_service", {"service": "tyre rotation", "done_on": "2026-10-01", "odometer": "99000",
                                           "interval_km": 1500})  # fmt: skip
        await call(client, "log_service", {"service": "coolant", "done_on": "2026-11-01", "interval_months": 24})
        await call(client, "log_fillup", {"volume": "50", "total_cost": "100", "odometer": "100800"})
        due = await call(client, "maintenance_due", {})
        given = await call(client, "maintenance_due", {"odometer": "99600", "as_of": "2026-10-15"})
        context = await call(client, "get_context", {})
        bad = await error(client, "log_service", {"service": "oil", "interval_months": 0})
        late = await error(client, "log_service", {"service": "oil", "done_on": "2026-12-31"})

    assert (logged["next_due_on"], Decimal(str(logged["next_due_odometer"]))) == ("2026-11-01", Decimal(105000))
    assert (retried["duplicate"], retried["service_id"]) == (True, logged["service_id"])
    assert (due["as_of"], Decimal(str(due["current_odometer"])), due["odometer_source"]) == (
        TODAY, Decimal(100800), "latest fill-up or service")  # fmt: skip
    status = {item["service"]: item for item in due["items"]}
    assert [item["service"] for item in due["items"]] == ["Oil change", "tyre rotation", "coolant"]
    assert (status["Oil change"]["status"], status["Oil change"]["days_left"]) == ("overdue", -20)  # by date
    assert (status["tyre rotation"]["status"], Decimal(str(status["tyre rotation"]["distance_left"]))) == (
        "overdue", Decimal(-300))  # by odometer: due at 100,500  # fmt: skip
    assert status["coolant"]["status"] == "ok"
    assert "20 day(s) overdue" in status["Oil change"]["summary"]
    # As of 15 October at 99,600 km: the tyres are 900 km from due, the oil 17 days; coolant not done yet.
    assert {i["service"]: i["status"] for i in given["items"]} == {"Oil change": "due", "tyre rotation": "due"}
    assert given["odometer_source"] == "given"
    # get_context: only what is overdue or due.
    assert [i["service"] for i in context["maintenance_due"]] == ["Oil change", "tyre rotation"]
    assert "interval_months" in bad
    assert "done_on is in the future" in late


async def test_another_person_sees_none_of_it(make_app: Callable[[uuid.UUID], App], person: uuid.UUID,
                                              new_user: NewUser) -> None:  # fmt: skip
    async with Client(build_server(make_app(person))) as client:
        made = (await call(client, "log_fillup", {"volume": "40", "total_cost": "80.00", "odometer": "5000"}))["fillup"]
        await call(client, "log_service", {"service": "oil", "interval_months": 1, "done_on": "2026-01-01"})
    async with Client(build_server(make_app(await new_user()))) as stranger:
        economy = await call(stranger, "fuel_economy", {})
        due = await call(stranger, "maintenance_due", {})
        gone = await error(stranger, "delete_fillup", {"fillup_id": made["fillup_id"]})
    assert (economy["fillups"], due["items"], due["current_odometer"]) == (0, [], None)
    assert f"No fill-up {made['fillup_id']}" in gone


async def test_a_profile_in_miles_and_gallons_reads_and_writes_in_its_own_units(
    db: Database, person: uuid.UUID
) -> None:
    # The unit columns belong to the profile capability; added here inside one transaction that
    # is rolled back, so the operations are tried on them without changing the shared schema.
    from pam_mcp.store.postgres import claims_for
    from pam_mcp.tools.fuel import economy_in_units

    async with db.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(
                "alter table public.profiles add column if not exists distance_unit text,"
                " add column if not exists volume_unit text"
            )
            await conn.execute(
                "update public.profiles set distance_unit = 'mi', volume_unit = 'gal' where id = $1", person
            )
            await conn.execute(
                "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)",
                claims_for(person),
            )

            async def op(sql: str, *args: Any) -> Any:
                return json.loads(await conn.fetchval(sql, *args), parse_float=Decimal)

            fill = (
                "select public.pam_log_fillup(p_volume => $1, p_price_per_unit => 3.50, p_total_cost => null,"
                " p_odometer => $2, p_station => null, p_place => null, p_lat => null, p_lon => null,"
                " p_filled_on => $3, p_trip_id => null, p_full_tank => true, p_client_ref => null, p_now => null)::text"
            )
            first = await op(fill, Decimal(10), Decimal(10000), dt.date(2026, 11, 1))
            await op(fill, Decimal(12), Decimal(10300), dt.date(2026, 11, 8))
            economy = await op("select public.pam_fuel_economy('2026-11-01', '2026-11-30', null)::text")
            service = await op(
                "select public.pam_log_service('oil change', '2026-11-08', 10300, null, 5000, null, null, null, null)::text"
            )
            due = await op("select public.pam_maintenance_due('2026-11-08', null, null)::text")
        finally:
            await tx.rollback()

    made = first["fillup"]
    assert (made["volume"], made["volume_unit"], made["price_per_unit"], made["total_cost"]) == (
        Decimal("10.00"), "gal", Decimal("3.500"), Decimal("35.00"))  # fmt: skip
    assert (made["odometer"], made["distance_unit"]) == (10000, "mi")
    assert (economy["measured_distance"], economy["total_volume"]) == (300, Decimal("22.00"))
    value, unit = economy_in_units(economy["measured_litres"], Decimal(economy["measured_km"]), "mi", "gal")
    assert (value, unit) == (Decimal("25.0"), "mpg")  # 300 miles on 12 gallons
    assert (service["interval_distance"], service["next_due_odometer"]) == (5000, 15300)
    assert (due["current_odometer"], due["items"][0]["due_odometer"], due["items"][0]["distance_unit"]) == (
        10300, 15300, "mi")  # fmt: skip
