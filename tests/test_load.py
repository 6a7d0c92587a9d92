"""Load: many people hammering PAM over HTTP at once, on loopback, for a bounded number of calls.

Eight people, each with their own token and SDK client, run the same mix of writes and
reads at the same time, on the same dates and categories, so only row level security keeps
their rows apart. The per-person limits are set low enough that both the global limit and a
per-tool limit refuse calls during the run. What a person would notice is checked:

- the only errors are rate-limit refusals (no timeouts, no database errors, no crashes);
- every write the server accepted is in the database exactly once, as that person's, and
  every refused write is not there at all;
- the month's savings total equals the sum of its savings, for each person;
- no read (query_expenses items, get_context) ever returns another person's row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from mcp.client import Client

from pam_mcp.ratelimit import parse_rate
from pam_mcp.server import App
from pam_mcp.store.postgres import Database
from tests.conftest import NewUser, mint_token
from tests.support_http import RATE_LIMITED, http_server, serving, signed_in, text_of

pytestmark = pytest.mark.anyio

PEOPLE = 8
ROUNDS = 12  # five calls a round: 60 calls a person, 480 in all
GLOBAL_RATE = "40/minute"  # 48 calls a person count against it: the last 8 are refused
EXPENSE_RATE = "8/minute"  # log_expense has its own bucket: 4 of its 12 calls are refused
DAY = "2026-03-10"


@dataclass
class Person:
    id: uuid.UUID
    tag: str
    accepted_expenses: dict[str, str] = field(default_factory=dict)  # client_ref -> expense id
    refused_expenses: list[str] = field(default_factory=list)
    accepted_savings: dict[str, str] = field(default_factory=dict)  # client_ref -> saving id
    refused_savings: list[str] = field(default_factory=list)
    trips: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    seen_expenses: set[str] = field(default_factory=set)
    seen_trips: set[str] = field(default_factory=set)
    seen_sessions: set[str] = field(default_factory=set)
    refusals: int = 0
    unexpected: list[str] = field(default_factory=list)


async def _call(person: Person, client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """The result's structured content, or None for a refusal; anything else is recorded as unexpected."""
    result = await client.call_tool(tool, arguments)
    if not result.is_error:
        content: dict[str, Any] | None = result.structured_content
        assert content is not None
        return content
    text = text_of(result)
    if RATE_LIMITED.match(text):
        person.refusals += 1
    else:
        person.unexpected.append(f"{tool}: {text}")
    return None


async def _hammer(url: str, person: Person) -> None:
    async with signed_in(url, mint_token(person.id)) as client:
        for n in range(ROUNDS):
            ref = f"load-{person.tag}-{n}"
            expense = await _call(
                person,
                client,
                "log_expense",
                {"amount": "12.34", "category": "fuel", "spent_on": DAY, "client_ref": ref},
            )
            if expense is None:
                person.refused_expenses.append(ref)
            else:
                person.accepted_expenses[ref] = expense["expense"]["expense_id"]

            saving = await _call(
                person,
                client,
                "record_saving",
                {
                    "amount": "1.50",
                    "category": "fuel",
                    "description": "cheaper diesel",
                    "saved_on": DAY,
                    "client_ref": ref,
                },
            )
            if saving is None:
                person.refused_savings.append(ref)
            else:
                person.accepted_savings[ref] = saving["saving_id"]

            trip = await _call(person, client, "log_trip", {"started_at": f"{DAY}T08:{n:02d}:00+10:00"})
            if trip is not None:
                person.trips.add(trip["trip_id"])

            spent = await _call(
                person, client, "query_expenses", {"start": DAY, "end": DAY, "include_items": True, "limit": 100}
            )
            if spent is not None:
                person.seen_expenses |= {item["expense_id"] for item in spent["items"]}

            if n % 3 == 0:
                session = await _call(person, client, "update_context", {"facts": {"round": n}})
                if session is not None:
                    person.sessions.add(session["session_id"])
                continue
            context = await _call(person, client, "get_context", {"message_limit": n % 2})
            if context is not None and context["latest_trip"]:
                person.seen_trips.add(context["latest_trip"]["trip_id"])
            if context is not None and context["session_id"]:
                person.seen_sessions.add(context["session_id"])


async def _owned(db: Database, table: str, column: str, values: list[str]) -> list[tuple[str, uuid.UUID]]:
    async with db.as_owner() as tx:
        rows = await tx.fetch(
            f"select {column}::text, user_id from public.{table} where {column}::text = any($1::text[])", values
        )
    return [(str(r[0]), r[1]) for r in rows]


async def test_concurrent_people_see_only_refusals_every_accepted_write_once_and_only_their_own_rows(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    app = make_app(rate=GLOBAL_RATE, tool_rates={"log_expense": parse_rate(EXPENSE_RATE)})
    people = [Person(await new_user(), uuid.uuid4().hex[:8]) for _ in range(PEOPLE)]

    with anyio.fail_after(120):
        async with serving(http_server(app)) as url, anyio.create_task_group() as tg:
            for person in people:
                tg.start_soon(_hammer, url, person)

    for person in people:
        assert person.unexpected == [], person.unexpected
        # The limits bit: both buckets refused, and the refusals are exactly the calls over them.
        assert person.refusals == (ROUNDS * 4 - 40) + (ROUNDS - 8)
        assert len(person.refused_expenses) == ROUNDS - 8
        assert person.accepted_savings and person.trips

    all_refs = [ref for p in people for ref in [*p.accepted_expenses, *p.refused_expenses]]
    expense_rows = await _owned(db, "expenses", "client_ref", all_refs)
    saving_rows = await _owned(db, "pam_savings_events", "client_ref", all_refs)
    trip_rows = await _owned(db, "trips", "id", [t for p in people for t in p.trips])
    for person in people:
        mine_expenses = sorted(ref for ref, owner in expense_rows if owner == person.id)
        mine_savings = sorted(ref for ref, owner in saving_rows if owner == person.id)
        assert mine_expenses == sorted(person.accepted_expenses), "accepted expenses, once each, nothing refused"
        assert mine_savings == sorted(person.accepted_savings), "accepted savings, once each, nothing refused"
        assert sorted(t for t, owner in trip_rows if owner == person.id) == sorted(person.trips)
        # Every read returned this person's rows only.
        assert person.seen_expenses <= set(person.accepted_expenses.values())
        assert person.seen_trips <= person.trips
        assert person.seen_sessions <= person.sessions
        assert person.seen_expenses, "the reads saw this person's own expenses"
    # No row is claimed by two people: the refs are unique per person by construction.
    assert len(expense_rows) == sum(len(p.accepted_expenses) for p in people)
    assert len(saving_rows) == sum(len(p.accepted_savings) for p in people)

    async with db.as_owner() as tx:
        totals = await tx.fetch(
            "select s.user_id, s.total_saved, (select sum(e.amount) from public.pam_savings_events e"
            "  where e.user_id = s.user_id and date_trunc('month', e.saved_on) = s.month) as events"
            " from public.pam_savings s where s.user_id = any($1::uuid[])",
            [p.id for p in people],
        )
    assert len(totals) == PEOPLE
    assert all(row["total_saved"] == row["events"] for row in totals)
