"""Issue 11's "done when": one person in Australia, a whole month of PAM, through the real SDK
client over stdio (a ``pam-mcp`` child process), ending with the monthly review prompt whose
embedded figures must agree with what the conversation did, in the person's own dates.

The child has no test clock, so "today" is Sydney's today as the server says it (update_profile
answers it), checked against the wall clock read just before and after.

Set ``PAM_TRANSCRIPT`` to a path to keep the trimmed transcript (each call and the key fields
of its answer).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import stdio_client

from tests.conftest import NewUser
from tests.support_process import child_env
from tests.test_stdio import child_stderr, show_on_failure, stdio_params, structured
from tests.test_surface import figures_of

__all__ = ["child_stderr"]  # the fixture, shared with test_stdio

pytestmark = pytest.mark.anyio

SYDNEY = ZoneInfo("Australia/Sydney")


def sydney_today() -> dt.date:
    return dt.datetime.now(SYDNEY).date()


class Transcript:
    """The conversation as the lead pastes it: one line per call, one per answer (key fields)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def call(self, what: str, args: dict[str, Any]) -> None:
        self.lines.append(f"> {what} {json.dumps(args, sort_keys=True)}")

    def answer(self, **fields: Any) -> None:
        self.lines.append("  < " + ", ".join(f"{k}={v}" for k, v in fields.items()))

    def save(self) -> None:
        if path := os.environ.get("PAM_TRANSCRIPT"):
            Path(path).write_text("\n".join(self.lines) + "\n", encoding="utf-8")


async def tool(client: Client, log: Transcript, name: str, args: dict[str, Any]) -> dict[str, Any]:
    log.call(name, args)
    return structured(await client.call_tool(name, args))


def local_offset(iso: str) -> str:
    return iso[-6:]


async def test_a_month_of_pam_for_a_person_in_sydney_ends_in_a_review_with_every_figure(
    database_url: str, redis_url: str, new_user: NewUser, redis_client: Any, tmp_path: Path, child_stderr: TextIO
) -> None:
    user = await new_user()
    env = child_env(
        DATABASE_URL=database_url, REDIS_URL=redis_url, PAM_USER_ID=str(user), PAM_DATA_DIR=str(tmp_path / "data")
    )
    log = Transcript()
    try:
        with show_on_failure(child_stderr), anyio.fail_after(90):
            async with Client(stdio_client(stdio_params(env), errlog=child_stderr)) as client:
                await converse(client, log)
    finally:
        log.save()
        # The child's limiter keys live under the production prefix; leave the shared Redis clean.
        keys = [key async for key in redis_client.scan_iter(match=f"pam:rl:{user}:*")]
        if keys:
            await redis_client.delete(*keys)


async def converse(client: Client, log: Transcript) -> None:
    before = sydney_today()
    profile = await tool(
        client, log, "update_profile", {"timezone": "Australia/Sydney", "currency": "AUD", "country_code": "AU"}
    )
    today = profile["today"]
    assert today in {before.isoformat(), sydney_today().isoformat()}
    day = dt.date.fromisoformat(today)
    month = today[:7]
    log.answer(today=today, timezone=profile["after"]["timezone"], currency=profile["after"]["currency"])

    for category, limit in (("fuel", "400.00"), ("food", "300.00")):
        budget = await tool(client, log, "set_budget", {"category": category, "monthly_limit": limit})
        log.answer(category=budget["category"], current=budget["current"])

    now = dt.datetime.now(SYDNEY).replace(microsecond=0)
    trip = await tool(
        client,
        log,
        "log_trip",
        {
            "title": "Albury to Lake Hume",
            "started_at": (now - dt.timedelta(hours=2)).isoformat(),
            "route": [{"lat": -36.0737, "lon": 146.9135}, {"lat": -36.1067, "lon": 147.0322}],
        },
    )
    trip_id = trip["trip_id"]
    log.answer(trip_id=trip_id[:8])

    # Two full tanks on the trip: the second measures 500 km on 45 L, 9 L/100km.
    for volume, cost, odometer in (("60", "114.00", "120000"), ("45", "85.50", "120500")):
        args = {"volume": volume, "total_cost": cost, "odometer": odometer, "trip_id": trip_id, "place": "Albury"}
        filled = await tool(client, log, "log_fillup", args)
        assert filled["fillup"]["filled_on"] == today and filled["fillup"]["expense_id"]
        log.answer(filled_on=filled["fillup"]["filled_on"], month_fuel_total=filled["month_fuel_total"])
    assert Decimal(filled["month_fuel_total"]) == Decimal("199.50")  # each fill-up once

    done_on = (day - dt.timedelta(days=200)).isoformat()
    service = await tool(
        client,
        log,
        "log_service",
        {
            "service": "oil change",
            "done_on": done_on,
            "odometer": "110000",
            "interval_km": "10000",
            "interval_months": 6,
        },
    )
    log.answer(next_due_on=service["next_due_on"], next_due_odometer=service["next_due_odometer"])

    first_night = (day + dt.timedelta(days=2)).isoformat()
    booked = await tool(
        client,
        log,
        "add_event",
        {
            "title": "Campsite at Lake Hume",
            "starts_at": first_night,
            "ends_at": (day + dt.timedelta(days=3)).isoformat(),
            "kind": "booking",
            "location": "Lake Hume",
            "cost": "76.00",
        },
    )
    event = booked["event"]
    assert event["first_day"] == first_night and local_offset(event["starts_at"]) in {"+10:00", "+11:00"}
    log.answer(event_id=event["event_id"][:8], starts_at=event["starts_at"], time_zone=booked["time_zone"])

    income = await tool(client, log, "log_income", {"amount": "1200.00", "source": "work_camping"})
    assert income["income"]["received_on"] == today
    log.answer(received_on=income["income"]["received_on"], month_income=income["month_income"])

    # Groceries logged as fuel, and for the wrong amount: corrected to food, 45.00.
    wrong = await tool(client, log, "log_expense", {"amount": "55.00", "category": "fuel", "description": "Coles"})
    expense_id = wrong["expense"]["expense_id"]
    log.answer(expense_id=expense_id[:8], amount=wrong["expense"]["amount"], category=wrong["expense"]["category"])
    fixed = await tool(
        client, log, "correct_expense", {"expense_id": expense_id, "amount": "45.00", "category": "food"}
    )
    assert (fixed["after"]["amount"], fixed["after"]["category"]) == ("45.00", "food")
    log.answer(before=f"{fixed['before']['amount']} {fixed['before']['category']}",
               after=f"{fixed['after']['amount']} {fixed['after']['category']}")  # fmt: skip

    log.call("prompts/get monthly_review", {"month": month})
    review = await client.get_prompt("monthly_review", {"month": month})
    embedded, ran = figures_of(review)
    check_review(ran, embedded, month=month, today=day, event_id=event["event_id"], log=log)


def check_review(
    ran: dict[str, Any], embedded: dict[str, Any], *, month: str, today: dt.date, event_id: str, log: Transcript
) -> None:
    assert list(ran) == ["list_budgets", "cash_flow", "fuel_economy", "maintenance_due", "list_events"]
    assert set(embedded) == {f"pam://expenses/{month}", f"pam://savings/{month}"}

    budgets = ran["list_budgets"]
    spent = {b["category"]: (Decimal(b["spent"]), Decimal(b["monthly_limit"])) for b in budgets["budgets"]}
    assert budgets["month"] == month and budgets["currency"] == "AUD"
    assert spent == {"fuel": (Decimal("199.50"), Decimal("400.00")), "food": (Decimal("45.00"), Decimal("300.00"))}
    log.answer(list_budgets=", ".join(f"{c} {s}/{lim}" for c, (s, lim) in sorted(spent.items())))

    flow = ran["cash_flow"]
    assert flow["start"] == f"{month}-01" and flow["end"][:7] == month and flow["currency"] == "AUD"
    figures = (Decimal(flow["income_total"]), Decimal(flow["spending_total"]), Decimal(flow["net"]))
    assert figures == (Decimal("1200.00"), Decimal("244.50"), Decimal("955.50"))
    log.answer(cash_flow=f"income {figures[0]}, spending {figures[1]}, net {figures[2]} {flow['currency']}")

    fuel = ran["fuel_economy"]
    assert fuel["fillups"] == 2 and Decimal(fuel["measured_distance"]) == Decimal("500")
    assert Decimal(fuel["economy"]) == Decimal("9") and fuel["economy_unit"] == "L/100km"
    log.answer(fuel_economy=f"{fuel['economy']} {fuel['economy_unit']} over {fuel['measured_distance']} km, "
               f"{fuel['cost_per_distance']}/km")  # fmt: skip

    due = ran["maintenance_due"]
    assert due["as_of"] == today.isoformat()
    oil = next(item for item in due["items"] if item["service"] == "oil change")
    assert oil["status"] == "overdue" and Decimal(oil["distance_left"]) == Decimal("-500")
    log.answer(maintenance_due=f"oil change {oil['status']}, due {oil['due_on']} or {oil['due_odometer']} km")

    events = ran["list_events"]
    assert (events["start"], events["time_zone"]) == (today.isoformat(), "Australia/Sydney")
    assert [e["event_id"] for e in events["events"]] == [event_id]
    booking = events["events"][0]
    assert booking["kind"] == "booking" and local_offset(booking["starts_at"]) in {"+10:00", "+11:00"}
    log.answer(list_events=f"{booking['title']} {booking['first_day']}..{booking['last_day']} "
               f"starts {booking['starts_at']}")  # fmt: skip

    items = embedded[f"pam://expenses/{month}"]["items"]
    assert sorted((i["category"], i["amount"]) for i in items) == [
        ("food", "45.00"),
        ("fuel", "114.00"),
        ("fuel", "85.50"),
    ]
    log.answer(expenses_resource=f"{len(items)} items", savings_resource="embedded")
    uuid.UUID(event_id)  # the ids the transcript shortens are real ids
