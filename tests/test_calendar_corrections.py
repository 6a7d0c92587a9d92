"""The calendar and corrections through a real MCP client, on both stores, as a person in Brisbane.

Times come back in the person's own offset; a correction answers with before and after and
moves the spending totals; an id the person does not have (unknown, deleted, or someone
else's) is the same plain not-found, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from mcp.client import Client

from pam_mcp.server import App, build_server
from pam_mcp.store.postgres import Database
from tests.conftest import NewUser
from tests.test_database_invariants import refused
from tests.test_tools import call, error, make_app, rest_fake, session

pytestmark = pytest.mark.anyio
__all__ = ["make_app", "rest_fake"]  # fixtures: every test here runs on both stores

NOW = dt.datetime(2026, 11, 30, 22, 30, tzinfo=dt.UTC)  # 08:30 on 1 December in Brisbane


async def brisbane(db: Database, new_user: NewUser) -> uuid.UUID:
    user = await new_user()
    async with db.as_user(user) as tx:
        await tx.execute("insert into public.profiles (id, timezone) values ($1, 'Australia/Brisbane')", user)
    return user


def app_at(make_app: Callable[..., App], user: uuid.UUID) -> App:
    return make_app(user, now=lambda: NOW)


CAMPSITE = {
    "title": "Lake Hume campsite",
    "starts_at": "2026-12-05T14:00:00+10:00",
    "ends_at": "2026-12-07T10:00:00+10:00",
    "kind": "booking",
    "location": "Lake Hume",
    "cost": "38.50",
    "client_ref": "hume-1",
}


async def test_a_booked_campsite_shows_in_list_events_and_get_context_in_the_persons_offset(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await brisbane(db, new_user)
    async with session(app_at(make_app, user)) as client:
        booked = await call(client, "add_event", CAMPSITE)
        again = await call(client, "add_event", CAMPSITE)  # a retry with the same client_ref
        vet = await call(
            client, "add_event", {"title": "Vet", "starts_at": "2026-12-10T00:30:00Z", "kind": "appointment"}
        )
        listed = await call(client, "list_events", {})
        context = await call(client, "get_context", {})
    event = booked["event"]
    assert booked["duplicate"] is False and booked["time_zone"] == "Australia/Brisbane"
    assert again["duplicate"] is True and again["event"] == event
    assert event["starts_at"] == "2026-12-05T14:00:00+10:00" and event["ends_at"] == "2026-12-07T10:00:00+10:00"
    assert (event["first_day"], event["last_day"], event["cost"], event["kind"]) == (
        "2026-12-05", "2026-12-07", "38.50", "booking",
    )  # fmt: skip
    # Given in UTC, shown in Brisbane's offset: 10:30 on the 10th there.
    assert vet["event"]["starts_at"] == "2026-12-10T10:30:00+10:00" and vet["event"]["ends_at"] is None
    # The person's today (1 December, though UTC is still in November) and 30 days on.
    assert (listed["start"], listed["end"], listed["truncated"]) == ("2026-12-01", "2026-12-31", False)
    assert [e["title"] for e in listed["events"]] == ["Lake Hume campsite", "Vet"]
    assert listed["events"][0] == event
    upcoming = {e["title"]: e for e in context["upcoming_events"]}
    assert set(upcoming) == {"Lake Hume campsite", "Vet"}
    shown = dt.datetime.fromisoformat(upcoming["Lake Hume campsite"]["starts_at"])
    assert shown == dt.datetime.fromisoformat(CAMPSITE["starts_at"])


async def test_an_all_day_event_covers_the_persons_days_from_midnight_to_midnight(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await brisbane(db, new_user)
    async with session(app_at(make_app, user)) as client:
        added = await call(client, "add_event", {"title": "Christmas at Mum's", "starts_at": "2026-12-24",
                                                 "ends_at": "2026-12-26"})  # fmt: skip
        last_day = await call(client, "list_events", {"start": "2026-12-26", "end": "2026-12-26"})
        after = await call(client, "list_events", {"start": "2026-12-27", "end": "2027-01-05"})
        moved = await call(client, "update_event", {"event_id": added["event"]["event_id"], "starts_at": "2026-12-30"})
    event = added["event"]
    assert event["all_day"] is True
    assert (event["starts_at"], event["ends_at"]) == ("2026-12-24T00:00:00+10:00", "2026-12-27T00:00:00+10:00")
    assert (event["first_day"], event["last_day"]) == ("2026-12-24", "2026-12-26")
    assert [e["title"] for e in last_day["events"]] == ["Christmas at Mum's"]
    assert after["events"] == []
    # Moved, it keeps its three days.
    assert (moved["after"]["first_day"], moved["after"]["last_day"]) == ("2026-12-30", "2027-01-01")


async def test_changing_an_event_returns_before_and_after_and_its_end_moves_with_its_start(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await brisbane(db, new_user)
    async with session(app_at(make_app, user)) as client:
        event = (await call(client, "add_event", CAMPSITE))["event"]
        changed = await call(
            client,
            "update_event",
            {"event_id": event["event_id"], "starts_at": "2026-12-06T14:00:00+10:00", "clear": ["location"],
             "notes": "site 14"},
        )  # fmt: skip
        listed = await call(client, "list_events", {})
    assert changed["before"] == event
    after = changed["after"]
    assert (after["starts_at"], after["ends_at"]) == ("2026-12-06T14:00:00+10:00", "2026-12-08T10:00:00+10:00")
    assert (after["location"], after["notes"], after["cost"], after["title"]) == (
        None, "site 14", "38.50", "Lake Hume campsite",
    )  # fmt: skip
    assert listed["events"] == [after]


async def test_removing_an_event_returns_it_and_a_second_removal_is_not_found(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user, other = await brisbane(db, new_user), await new_user()
    async with session(app_at(make_app, user)) as client:
        event = (await call(client, "add_event", CAMPSITE))["event"]
        async with session(app_at(make_app, other)) as theirs:  # someone else's id is as unknown as any
            for tool, args in (("update_event", {"title": "Mine now"}), ("remove_event", {})):
                text = await error(theirs, tool, {"event_id": event["event_id"], **args})
                assert f"event_id: no event {event['event_id']}" in text and "saved" not in text
        removed = await call(client, "remove_event", {"event_id": event["event_id"]})
        again = await error(client, "remove_event", {"event_id": event["event_id"]})
        listed = await call(client, "list_events", {})
    assert removed["removed"] == event
    assert "event_id: no event" in again and "list_events" in again and "saved" not in again
    assert listed["events"] == []


async def test_correcting_an_expense_moves_the_totals_and_deleting_it_takes_it_out(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user, other = await brisbane(db, new_user), await new_user()
    november = {"start": "2026-11-01", "end": "2026-11-30"}
    async with session(app_at(make_app, user)) as client:
        fuel = await call(client, "log_expense", {"amount": "88.10", "category": "fuel", "spent_on": "2026-11-20"})
        await call(client, "log_expense", {"amount": "12.00", "category": "food", "spent_on": "2026-11-21"})
        expense_id = fuel["expense"]["expense_id"]
        async with session(app_at(make_app, other)) as theirs:
            text = await error(theirs, "correct_expense", {"expense_id": expense_id, "amount": "1.00"})
            assert f"expense_id: no expense {expense_id}" in text and "saved" not in text
        corrected = await call(
            client, "correct_expense", {"expense_id": expense_id, "amount": "80.10", "category": "food",
                                        "description": "lunch, not diesel"},
        )  # fmt: skip
        totals = await call(client, "query_expenses", november)
        deleted = await call(client, "delete_expense", {"expense_id": expense_id})
        after = await call(client, "query_expenses", november)
        again = await error(client, "delete_expense", {"expense_id": expense_id})
    assert corrected["before"] == fuel["expense"]
    assert (corrected["after"]["amount"], corrected["after"]["category"], corrected["after"]["spent_on"]) == (
        "80.10", "food", "2026-11-20",
    )  # fmt: skip
    assert {g["key"]: g["total"] for g in totals["groups"]} == {"food": "92.10"}
    assert totals["total"] == "92.10" and totals["count"] == 2
    assert deleted["deleted"] == corrected["after"]
    assert (after["total"], after["count"]) == ("12.00", 1)
    assert f"expense_id: no expense {expense_id}" in again and "saved" not in again


async def test_a_trip_is_changed_with_before_and_after_and_deleting_it_keeps_its_expenses(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await brisbane(db, new_user)
    async with session(app_at(make_app, user)) as client:
        trip = await call(client, "log_trip", {"started_at": "2026-11-27T07:30:00+10:00", "title": "Hay"})
        spent = await call(
            client, "log_expense", {"amount": "50.00", "category": "fuel", "spent_on": "2026-11-27",
                                    "trip_id": trip["trip_id"]},
        )  # fmt: skip
        early = await error(
            client, "update_trip", {"trip_id": trip["trip_id"], "ended_at": "2026-11-26T10:00:00+10:00"}
        )
        changed = await call(
            client, "update_trip", {"trip_id": trip["trip_id"], "ended_at": "2026-11-27T16:00:00+10:00",
                                    "notes": "windy", "clear": ["title"]},
        )  # fmt: skip
        deleted = await call(client, "delete_trip", {"trip_id": trip["trip_id"]})
        again = await error(client, "delete_trip", {"trip_id": trip["trip_id"]})
        items = await call(client, "query_expenses", {"start": "2026-11-01", "include_items": True})
    assert "ended_at is before the trip started (2026-11-27T07:30:00+10:00)" in early
    assert changed["before"]["title"] == "Hay" and changed["before"]["ended_at"] is None
    assert changed["after"]["started_at"] == "2026-11-27T07:30:00+10:00"  # the person's morning, not UTC's evening
    assert (changed["after"]["title"], changed["after"]["ended_at"], changed["after"]["notes"]) == (
        None, "2026-11-27T16:00:00+10:00", "windy",
    )  # fmt: skip
    assert deleted["deleted"] == changed["after"] and deleted["expenses_unlinked"] == 1
    assert "1 expense(s) are kept" in deleted["summary"]
    assert f"trip_id: no trip {trip['trip_id']}" in again and "saved" not in again
    assert [(i["expense_id"], i["trip_id"]) for i in items["items"]] == [(spent["expense"]["expense_id"], None)]


BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    ("add_event", {"title": "x", "starts_at": "tomorrow"}, ["starts_at", "ISO 8601", "YYYY-MM-DD"]),
    ("add_event", {"title": "x", "starts_at": "2026-12-05T14:00"}, ["starts_at", "no UTC offset"]),
    ("add_event", {"title": "x", "starts_at": "05/12/2026"}, ["starts_at", "YYYY-MM-DD"]),
    (
        "add_event",
        {"title": "x", "starts_at": "2026-12-05T14:00:00+10:00", "ends_at": "2026-12-05T13:00:00+10:00"},
        ["ends_at is before starts_at"],
    ),
    ("add_event", {"title": "x", "starts_at": "2026-12-05", "all_day": False}, ["starts_at is a date", "all_day"]),
    ("add_event", {"title": "x", "starts_at": "2026-12-05", "kind": "party"}, ["kind"]),
    ("add_event", {"title": "", "starts_at": "2026-12-05"}, ["title"]),
    ("list_events", {"start": "30/11/2026"}, ["start", "YYYY-MM-DD"]),
    ("list_events", {"start": "2026-12-01", "end": "2028-01-01"}, ["366 days"]),
    ("update_event", {"event_id": str(uuid.uuid4())}, ["nothing to change"]),
    ("update_event", {"event_id": "42", "title": "x"}, ["event_id", "UUID"]),
    ("update_event", {"event_id": str(uuid.uuid4()), "notes": "x", "clear": ["notes"]}, ["notes is both given"]),
    ("correct_expense", {"expense_id": str(uuid.uuid4())}, ["nothing to change", "amount"]),
    ("correct_expense", {"expense_id": str(uuid.uuid4()), "spent_on": "2026-12-09"}, ["spent_on is in the future"]),
    ("correct_expense", {"expense_id": str(uuid.uuid4()), "category": "beer"}, ["category"]),
    ("correct_expense", {"expense_id": str(uuid.uuid4()), "amount": "-3"}, ["amount"]),
    ("update_trip", {"trip_id": str(uuid.uuid4()), "ended_at": "2026-11-27 16:00"}, ["ended_at", "UTC offset"]),
    ("delete_trip", {"trip_id": "trip-1"}, ["trip_id"]),
]


@pytest.mark.parametrize(("tool", "arguments", "said"), BAD, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(BAD)])
async def test_bad_inputs_name_the_argument_and_the_format(
    make_app: Callable[..., App], new_user: NewUser, db: Database, tool: str, arguments: dict[str, Any], said: list[str]
) -> None:
    user = await brisbane(db, new_user)
    async with session(app_at(make_app, user)) as client:
        text = await error(client, tool, arguments)
    assert all(part in text for part in said), text


async def test_the_tools_say_honestly_what_they_change(make_app: Callable[..., App], new_user: NewUser) -> None:
    async with Client(build_server(make_app(await new_user()))) as client:
        tools = {t.name: t.annotations for t in (await client.list_tools()).tools}
    for name in ("update_event", "remove_event", "correct_expense", "delete_expense", "update_trip", "delete_trip"):
        annotations = tools[name]
        assert annotations is not None and annotations.destructive_hint is True, name
    assert tools["list_events"] is not None and tools["list_events"].read_only_hint is True


@pytest.mark.parametrize(
    "values",
    [
        "('x', '2026-12-05T14:00:00Z', '2026-12-05T13:00:00Z', false, 'other', null)",  # ends before it starts
        "('x', '2026-12-05T14:00:00Z', null, true, 'other', null)",  # all-day without its end
        "('x', '2026-12-05T14:00:00Z', null, false, 'party', null)",  # no such kind
        "('x', '2026-12-05T14:00:00Z', null, false, 'booking', 'NaN')",  # a cost that poisons sums
        "('x', '2026-12-05T14:00:00Z', null, false, 'booking', -5)",
    ],
)
async def test_the_database_itself_refuses_events_that_make_no_sense(
    new_user: NewUser, db: Database, values: str
) -> None:
    """Written straight through the API (as Supabase's REST API would), not through a tool."""
    sql = f"insert into public.calendar_events (title, starts_at, ends_at, all_day, kind, cost) values {values}"
    assert await refused(db, await new_user(), sql) is asyncpg.CheckViolationError
