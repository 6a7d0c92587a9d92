"""Answers a model can act on (issue 11, point 2), through the real MCP client, on both stores.

- get_context says the person's today, time zone and currency, and every time in an answer is
  in the person's own offset (a trip started at 07:30 in Brisbane reads 07:30+10:00, not the
  evening before in UTC);
- summaries show what exists: a trip's notes and stops, bounded;
- one error style, whatever found the problem, with the format a date or month takes and the
  argument a misnamed one probably meant;
- savings take every expense category; query_expenses says the range it counted; a month
  before the person's first activity is not "free".
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any, get_args

import pytest
from mcp import MCPError
from mcp.client import Client
from pydantic import Field, ValidationError

from pam_mcp.server import App
from pam_mcp.server.guard import invalid_arguments, tool_error
from pam_mcp.store.postgres import Database
from pam_mcp.tools.common import Input
from pam_mcp.tools.expenses import ExpenseCategory
from pam_mcp.tools.savings import SavingCategory
from tests.conftest import NewUser
from tests.test_tools import call, count, error, make_app, rest_fake, session

__all__ = ["make_app", "rest_fake"]  # fixtures shared with test_tools, on both stores

pytestmark = pytest.mark.anyio

# 08:00 on Friday 27 November 2026 in Brisbane (UTC+10, no daylight saving); still the 26th in UTC.
NOW = dt.datetime(2026, 11, 26, 22, 0, tzinfo=dt.UTC)
STOP = {"name": "Gympie", "lat": -26.19, "lon": 152.66, "kind": "fuel"}


async def own_profile(db: Database, user: uuid.UUID, zone: str = "Australia/Brisbane", currency: str = "AUD") -> None:
    async with db.as_user(user) as tx:
        await tx.execute(
            "insert into public.profiles (id, timezone, currency) values ($1, $2, $3)", user, zone, currency
        )


async def read(client: Client, uri: str) -> Any:
    return json.loads((await client.read_resource(uri)).contents[0].text)  # type: ignore[union-attr]


async def test_get_context_gives_today_zone_and_currency_and_every_time_in_the_persons_offset(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    await own_profile(db, user)
    async with db.as_user(user) as tx:
        await tx.execute(
            "insert into public.calendar_events (title, starts_at, ends_at) values"
            " ('Campsite: Noosa', '2026-11-28T14:00:00+10:00', '2026-11-30T10:00:00+10:00')"
        )
    async with session(make_app(user, now=lambda: NOW)) as client:
        trip = await call(
            client,
            "log_trip",
            {
                "started_at": "2026-11-27T07:30:00+10:00",
                "stops": [STOP, {**STOP, "name": "Noosa", "at": "2026-11-27T02:00:00Z"}],
                "notes": "Roadworks near Gympie",
            },
        )
        memory = await call(client, "update_context", {"facts": {"heading": "Noosa"}})
        await call(client, "log_message", {"session_id": memory["session_id"], "role": "user", "content": "Hi"})
        context = await call(client, "get_context")
        trips = await read(client, "pam://trips")
        one = await read(client, f"pam://trips/{trip['trip_id']}")
    assert (context["today"], context["timezone"], context["currency"]) == ("2026-11-27", "Australia/Brisbane", "AUD")
    latest = context["latest_trip"]
    assert latest["started_at"] == "2026-11-27T07:30:00+10:00"
    assert latest["notes"] == "Roadworks near Gympie" and latest["stop_count"] == 2
    assert latest["stops"] == [STOP, {**STOP, "name": "Noosa", "at": "2026-11-27T12:00:00+10:00"}]
    assert trips["trips"][0] == latest
    assert one["started_at"] == "2026-11-27T07:30:00+10:00" and one["stops"] == latest["stops"]
    assert context["messages"][0]["at"].endswith("+10:00")
    event = context["upcoming_events"][0]
    assert (event["starts_at"], event["ends_at"]) == ("2026-11-28T14:00:00+10:00", "2026-11-30T10:00:00+10:00")


async def test_without_a_profile_times_are_utc_and_the_currency_is_the_default(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    async with session(make_app(await new_user(), now=lambda: NOW)) as client:
        await call(client, "log_trip", {"started_at": "2026-11-27T07:30:00+10:00"})
        context = await call(client, "get_context")
    assert (context["today"], context["timezone"], context["currency"]) == ("2026-11-26", "UTC", "AUD")
    assert context["latest_trip"]["started_at"] == "2026-11-26T21:30:00Z"


async def test_trip_summaries_show_notes_and_stops_bounded_and_the_trip_itself_shows_them_whole(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    stops = [{**STOP, "name": f"Stop {i}"} for i in range(12)]
    notes = "n" * 4000
    async with session(make_app(await new_user(), now=lambda: NOW)) as client:
        trip = await call(client, "log_trip", {"started_at": "2026-11-20T08:00:00Z", "stops": stops, "notes": notes})
        summary = (await read(client, "pam://trips"))["trips"][0]
        context = await call(client, "get_context")
        whole = await read(client, f"pam://trips/{trip['trip_id']}")
    assert summary["stop_count"] == 12 and summary["stops"] == stops[:5]
    assert len(summary["notes"]) == 500 and summary["notes"].endswith("…[truncated]")
    assert context["latest_trip"] == summary
    assert whole["stops"] == stops and whole["notes"] == notes


async def test_every_tool_error_reads_in_one_style_whatever_found_it(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    lost = uuid.uuid4()
    async with session(make_app(await new_user(), now=lambda: NOW)) as client:
        by_guard = await error(client, "query_expenses", {"start": "2026-11-02", "end": "2026-11-01"})
        in_tool = await error(client, "query_expenses", {"cursor": "not-a-cursor"})
        in_sql = await error(client, "log_expense", {"amount": "5", "category": "food", "spent_on": "2026-12-25"})
        missing = await error(client, "log_message", {"session_id": str(lost), "role": "user", "content": "x"})
    assert by_guard == "Invalid arguments for query_expenses: end is before start"
    assert in_tool.startswith("Invalid arguments for query_expenses: cursor is not one this tool returned")
    assert in_sql.startswith("Invalid arguments for log_expense: spent_on is in the future")
    assert missing == f"No session {lost}."
    assert not any("Error executing tool" in text for text in (by_guard, in_tool, in_sql, missing))


@pytest.mark.parametrize("value", ["yesterday", "30/11/2026", "2026-11-31", "2026/11/30"])
@pytest.mark.parametrize(
    ("tool", "args", "argument"),
    [
        ("log_expense", {"amount": "5", "category": "food"}, "spent_on"),
        ("record_saving", {"amount": "5", "category": "food", "description": "x"}, "saved_on"),
        ("query_expenses", {}, "start"),
    ],
)
async def test_a_date_that_does_not_parse_gets_the_format_it_takes_and_nothing_is_saved(
    make_app: Callable[..., App], new_user: NewUser, db: Database, tool: str, args: dict[str, Any], argument: str,
    value: str,
) -> None:  # fmt: skip
    user = await new_user()
    async with session(make_app(user, now=lambda: NOW)) as client:
        text = await error(client, tool, {**args, argument: value})
    assert text.startswith(f"Invalid arguments for {tool}: {argument}: ")
    assert "YYYY-MM-DD" in text and value not in text
    assert await count(db, "expenses", user) == 0 and await count(db, "pam_savings_events", user) == 0


async def test_a_time_that_does_not_parse_gets_the_iso_format(make_app: Callable[..., App], new_user: NewUser) -> None:
    async with session(make_app(await new_user())) as client:
        text = await error(client, "log_trip", {"started_at": "yesterday"})
    assert text.startswith("Invalid arguments for log_trip: started_at: ") and "ISO 8601" in text


@pytest.mark.parametrize(
    ("tool", "args", "meant"),
    [
        ("log_expense", {"amount": "5", "category": "food", "date": "2026-11-20"}, "date (did you mean spent_on?)"),
        ("log_expense", {"ammount": "5", "category": "food"}, "ammount (did you mean amount?)"),
        ("record_saving", {"amount": "5", "category": "food", "description": "x", "date": "2026-11-20"},
         "date (did you mean saved_on?)"),
    ],
)  # fmt: skip
async def test_an_unknown_argument_is_answered_with_the_closest_declared_one(
    make_app: Callable[..., App], new_user: NewUser, db: Database, tool: str, args: dict[str, Any], meant: str
) -> None:
    user = await new_user()
    async with session(make_app(user, now=lambda: NOW)) as client:
        text = await error(client, tool, args)
    assert text.startswith(f"Unknown argument(s) for {tool}: {meant}.")
    assert await count(db, "expenses", user) == 0 and await count(db, "pam_savings_events", user) == 0


@pytest.mark.parametrize("uri", ["pam://expenses/2026-13", "pam://savings/2026-13", "pam://savings/November"])
async def test_a_month_resource_with_a_bad_month_says_the_format(
    make_app: Callable[..., App], new_user: NewUser, uri: str
) -> None:
    async with session(make_app(await new_user())) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource(uri)
    assert refused.value.error.code == -32002  # no resource at that address (the spec's not found), and the fix
    assert "YYYY-MM" in refused.value.error.message


async def test_savings_take_every_expense_category_and_route(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    assert list(get_args(SavingCategory)) == [*get_args(ExpenseCategory), "route"]
    user = await new_user()
    async with session(make_app(user, now=lambda: NOW)) as client:
        for category in get_args(SavingCategory):
            await call(client, "record_saving", {"amount": "1.00", "category": category, "description": "x"})
    assert await count(db, "pam_savings_events", user) == len(get_args(SavingCategory))


@pytest.mark.parametrize(
    ("args", "start", "end", "says"),
    [
        ({"start": "2026-10-15"}, "2026-10-15", "2026-10-31", "end was not given"),
        ({}, "2026-11-01", "2026-11-30", "current month"),
        ({"start": "2026-10-15", "end": "2026-11-20"}, "2026-10-15", "2026-11-20", "both days included."),
    ],
)
async def test_query_expenses_states_the_range_it_counted(
    make_app: Callable[..., App], new_user: NewUser, args: dict[str, Any], start: str, end: str, says: str
) -> None:
    async with session(make_app(await new_user(), now=lambda: NOW)) as client:
        result = await client.call_tool("query_expenses", args)
    out = result.structured_content
    assert out is not None and (out["start"], out["end"]) == (start, end)
    assert f"from {start} to {end}" in out["covers"] and says in out["covers"]
    assert out["covers"] in result.content[0].text  # type: ignore[union-attr]  # what a model reads


async def test_a_month_before_the_persons_first_activity_has_nothing_to_count_and_later_empty_months_are_free(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    december = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
    async with session(make_app(await new_user(), now=lambda: december)) as client:
        await call(
            client,
            "record_saving",
            {"amount": "2.00", "category": "route", "description": "x", "saved_on": "2026-09-15"},
        )
        before = (await read(client, "pam://savings/2026-08"))["guarantee"]
        long_before = (await read(client, "pam://savings/2020-01"))["guarantee"]
        after = (await read(client, "pam://savings/2026-10"))["guarantee"]
    for guarantee in (before, long_before):
        assert guarantee["month_ended"] is True and guarantee["free_month"] is False
        assert guarantee["summary"].startswith("Nothing to count") and "free" not in guarantee["summary"]
    assert after["free_month"] is True and after["summary"].endswith("this month is free.")


async def test_a_stop_time_written_outside_pam_mcp_that_is_not_a_time_is_shown_as_stored(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    async with db.as_user(user) as tx:  # as through Supabase's REST API, which pam-mcp's validation does not see
        await tx.execute(
            "insert into public.trips (started_at, stops) values"
            """ ('2026-11-20T08:00:00Z', '[{"name": "x", "at": "2026-13-45"}, {"name": "y", "at": 7}]')"""
        )
    async with session(make_app(user, now=lambda: NOW)) as client:
        summary = (await read(client, "pam://trips"))["trips"][0]
    assert summary["stops"] == [{"name": "x", "at": "2026-13-45"}, {"name": "y", "at": 7}]


class _MonthInput(Input):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="The month (YYYY-MM)")
    on: dt.date | None = Field(default=None, description="A day (YYYY-MM-DD)")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"month": "2026-13"}, "month: String should match pattern"),
        ({"month": "November"}, "month: String should match pattern"),
        ({"month": "2026-11", "on": "tomorrow"}, "on: "),
    ],
)
def test_a_value_that_does_not_fit_a_described_format_is_told_that_format(args: dict[str, Any], says: str) -> None:
    # For tools to come: a month argument described as YYYY-MM gets "use YYYY-MM" with no code of its own.
    with pytest.raises(ValidationError) as refused:
        _MonthInput.model_validate(args)
    text = invalid_arguments("set_budget", refused.value, _MonthInput)
    assert text.startswith(f"Invalid arguments for set_budget: {says}")
    assert text.endswith("use YYYY-MM" if "month: " in says else "use YYYY-MM-DD, e.g. 2026-11-30")


def test_errors_raised_inside_a_tool_read_like_the_guards() -> None:
    assert tool_error("query_expenses", "Invalid arguments: cursor is stale") == (
        "Invalid arguments for query_expenses: cursor is stale"
    )
    assert tool_error("log_message", "No session 1.") == "No session 1."
