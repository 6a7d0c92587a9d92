"""Both stores answer every store operation identically for the same person.

Each operation is one SQL function (migrations/20261201000100_operations.sql) that both stores
call: the PostgreSQL store in the person's transaction, the REST store through PostgREST's RPC
API (here the stand-in, which runs the function on the real database as the token's user).
A person is seeded with something of everything; every read is asked of both stores and the
records compared whole. Every write is made once through each store, for two people seeded
alike, and the records compared with what necessarily differs (fresh ids, times) set aside.
And on each store, another person asking for the same things (by the same ids) gets exactly
what they would if none of it existed: row level security leaves no trace of whose it is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from pam_mcp.errors import PamError
from pam_mcp.store.base import Caller
from pam_mcp.store.operations import StoreOperations
from pam_mcp.store.postgres import Database
from pam_mcp.store.records import NewExpense, NewTrip
from pam_mcp.store.rest_store import RestStore
from pam_mcp.store.sql_store import PostgresStore
from tests.conftest import NewUser
from tests.postgrest_fake import URL, PostgrestFake

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 11, 20, 21, 30, tzinfo=dt.UTC)  # already 21 November in Brisbane
MONTH = dt.date(2026, 11, 1)


async def seed(db: Database, user: uuid.UUID) -> dict[str, Any]:
    """Something of everything, as the person would have written it."""
    async with db.as_user(user) as tx:
        await tx.execute(
            "insert into public.profiles (id, display_name, timezone, country_code, preferences)"
            " values ($1, 'Robyn', 'Australia/Brisbane', 'AU', '{\"units\": \"metric\", \"ratio\": 1.5}')",
            user,
        )
        await tx.execute("insert into public.budgets (category, monthly_limit) values ('fuel', 400), ('food', 250.50)")
        trip = await tx.fetchval(
            "insert into public.trips (title, started_at, route, stops, notes, distance_km) values ('Hay',"
            " '2026-11-02T07:00:00Z', '[{\"lat\": -34.5, \"lon\": 144.8}]', '[{\"name\": \"Hay\"}]', 'dusty', 12.5)"
            " returning id"
        )
        await tx.execute(
            "insert into public.expenses (amount, category, description, spent_on, trip_id) values"
            " (88.10, 'fuel', 'diesel', '2026-11-02', $1), (12.00, 'food', null, '2026-11-03', null),"
            " (40.00, 'fuel', null, '2026-10-30', null)",
            trip,
        )
        await tx.execute(
            "insert into public.pam_savings_events (amount, category, description, saved_on)"
            " values (6.20, 'fuel', 'cheaper diesel', '2026-11-02')"
        )
        session = await tx.fetchval(
            'insert into public.pam_sessions (context) values (\'{"dog": "Rex", "rig": 7.5}\') returning id'
        )
        await tx.execute(
            "insert into public.pam_messages (session_id, role, content) values ($1, 'user', 'hi'), ($1, 'pam', 'hello')",
            session,
        )
        await tx.execute(
            "insert into public.calendar_events (title, starts_at, location) values ('Rally', '2026-11-25T00:00:00Z', 'Hay')"
        )
        await tx.execute("insert into public.pam_guardrails_config (safety_level) values ('high')")
    return {"trip": trip, "session": session}


Operation = Callable[[StoreOperations, Caller, dict[str, Any]], Awaitable[Any]]
EXPENSE = NewExpense(amount=Decimal("9.95"), category="food", description="pie", spent_on=None, trip_id=None,
                     client_ref="pie-1")  # fmt: skip
READS: dict[str, Operation] = {
    "get_trip": lambda s, u, seeded: s.get_trip(u, seeded["trip"]),
    "recent_trips": lambda s, u, _: s.recent_trips(u, 5),
    "month_savings": lambda s, u, _: s.month_savings(u, MONTH, event_limit=10, now=NOW),
    "expense_report by category": lambda s, u, _: s.expense_report(u, None, None, None, "category", now=NOW),
    "expense_report by day, a page": lambda s, u, _: s.expense_report(
        u, dt.date(2026, 10, 1), dt.date(2026, 11, 30), ["fuel"], "day", page=(None, 2), now=NOW
    ),
    "expense_report none": lambda s, u, _: s.expense_report(u, MONTH, None, ["food"], "none", now=NOW),
    "expense_page": lambda s, u, _: s.expense_page(u, dt.date(2026, 10, 1), dt.date(2026, 11, 30), None, None, 10),
    "profile": lambda s, u, _: s.profile(u),
    "timezone": lambda s, u, _: s.timezone(u),
    "session": lambda s, u, seeded: s.session(u, seeded["session"]),
    "latest_session": lambda s, u, _: s.latest_session(u),
    "recent_messages": lambda s, u, seeded: s.recent_messages(u, seeded["session"], 10),
    "upcoming_events": lambda s, u, _: s.upcoming_events(u, NOW, 10),
    "safety_level": lambda s, u, _: s.safety_level(u),
    "guardrail_settings": lambda s, u, _: s.guardrail_settings(u),
    "context_snapshot": lambda s, u, seeded: s.context_snapshot(u, None, 10, now=NOW),
    "schema": lambda s, u, _: s.schema(u),
}
WRITES: dict[str, Operation] = {
    "insert_trip": lambda s, u, _: s.insert_trip(
        u,
        NewTrip(
            title="Bourke",
            started_at=NOW,
            ended_at=None,
            route=[{"lat": -30.1, "lon": 145.9}],
            stops=[],
            notes=None,
            distance_km=Decimal("3.25"),
        ),
    ),
    # Over 250 points the route is encoded off the event loop and travels as JSON text.
    "insert_trip (a long route)": lambda s, u, _: s.insert_trip(
        u,
        NewTrip(
            title=None,
            started_at=NOW,
            ended_at=NOW,
            route=[{"lat": -30 - i / 1000, "lon": 145.9} for i in range(600)],
            stops=[{"name": "Cobar"}],
            notes="long",
            distance_km=Decimal("66.70"),
        ),
    ),
    "record_saving": lambda s, u, _: s.record_saving(u, Decimal("2.50"), "food", "cheaper pies", None, "s-1", now=NOW),
    "log_expense": lambda s, u, _: s.log_expense(u, EXPENSE, now=NOW),
    "insert_expense": lambda s, u, _: s.insert_expense(u, EXPENSE.model_copy(update={"spent_on": MONTH})),
    "merge_context": lambda s, u, seeded: s.merge_context(u, seeded["session"], {"cat": "Tom"}, ["dog"]),
    "insert_message": lambda s, u, seeded: s.insert_message(u, seeded["session"], "user", "more", {"k": 1.25}),
    "set_safety_level": lambda s, u, _: s.set_safety_level(u, "low"),
    "insert_safety_event": lambda s, u, _: s.insert_safety_event(u, "card", "block", {"text": "[card]"}),
}
APART = {"id", "event_id", "session_id", "created_at", "updated_at", "started_at", "context_id"}


def comparable(value: Any, seeded: dict[str, Any]) -> Any:
    """A result as plain data, with fresh ids and times (which differ between two people) set aside."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, tuple | list):
        return [comparable(v, seeded) for v in value]
    if isinstance(value, dict):
        return {k: ("<apart>" if k in APART else comparable(v, seeded)) for k, v in value.items()}
    if isinstance(value, uuid.UUID):
        return "<id>"
    return value


@pytest.fixture
async def stores(database_url: str, db: Database) -> AsyncIterator[tuple[PostgresStore, RestStore, PostgrestFake]]:
    async with PostgrestFake.running(database_url) as fake, httpx.AsyncClient(transport=fake.transport()) as http:
        yield PostgresStore(db), RestStore(supabase_url=URL, anon_key=fake.anon_key, http=http), fake


def test_every_store_operation_is_covered() -> None:
    # ``call`` is the generic entry of capabilities that declare their own operation; each such
    # tool's tests run it on both stores.
    public = {n for n in vars(StoreOperations) if not n.startswith("_")} - {"call"}
    named = {n.split(" ")[0] for n in [*READS, *WRITES]}
    assert public == named


@pytest.mark.parametrize("name", list(READS))
async def test_both_stores_read_the_same(
    name: str, stores: tuple[PostgresStore, RestStore, PostgrestFake], db: Database, new_user: NewUser
) -> None:
    pg, rest, fake = stores
    user = await new_user()
    seeded = await seed(db, user)
    over_pg = await READS[name](pg, Caller(user), seeded)
    over_rest = await READS[name](rest, Caller(user, fake.mint(user)), seeded)
    assert over_pg == over_rest
    assert over_pg not in (None, [], {})  # the seed gives every read something to find


@pytest.mark.parametrize("name", list(WRITES))
async def test_both_stores_write_the_same(
    name: str, stores: tuple[PostgresStore, RestStore, PostgrestFake], db: Database, new_user: NewUser
) -> None:
    pg, rest, fake = stores
    first, second = await new_user(), await new_user()
    seeded_first, seeded_second = await seed(db, first), await seed(db, second)
    over_pg = await WRITES[name](pg, Caller(first), seeded_first)
    over_rest = await WRITES[name](rest, Caller(second, fake.mint(second)), seeded_second)
    assert comparable(over_pg, seeded_first) == comparable(over_rest, seeded_second)
    if name == "insert_trip (a long route)":
        assert over_pg.route_points == over_rest.route_points == 600
    operation = name.split(" ")[0]
    function = {"insert_message": "pam_log_message", "insert_expense": "pam_log_expense"}.get(
        operation, f"pam_{operation}"
    )
    assert [r.path for r in fake.requests] == [f"/rest/v1/rpc/{function}"]  # one request


async def outcome(operation: Awaitable[Any]) -> Any:
    """What a call gives: its result, or its error's type and words."""
    try:
        return await operation
    except PamError as exc:
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("kind", ["postgres", "rest"])
@pytest.mark.parametrize("name", list(READS))
async def test_another_person_reads_what_they_would_if_none_of_it_existed(
    name: str, kind: str, stores: tuple[PostgresStore, RestStore, PostgrestFake], db: Database, new_user: NewUser
) -> None:
    pg, rest, fake = stores
    owner, stranger = await new_user(), await new_user()
    seeded = await seed(db, owner)
    store: StoreOperations = pg if kind == "postgres" else rest
    caller = Caller(stranger, fake.mint(stranger))
    theirs = await outcome(READS[name](store, caller, seeded))
    # The same ids once nothing of the owner's exists at all.
    async with db.as_owner() as tx:
        await tx.execute("delete from auth.users where id = $1", owner)
    gone = await outcome(READS[name](store, caller, seeded))
    assert theirs == gone
