"""Each tool call is one database transaction and one operation statement, watched on the wire.

Every statement the PostgreSQL store sends goes through a pooled connection; here a Database
over the test's pool puts asyncpg's query logger on every connection it hands out, and the
tools are driven through the real in-memory MCP client. A call must send exactly one
statement that calls an operation (``public.pam_<name>``, migrations/20261201000100_operations.sql)
inside at most one BEGIN and one COMMIT: no time-zone lookup first, no second read after.
Through Supabase's REST API the same calls are one request each (``POST /rest/v1/rpc/pam_...``).

The one exception is check_guardrails when it warns or blocks: its rules need the person's
level and country before they run, and only their verdict says whether there is anything to
log, so the safety event is a second call, after the rules (see the test below).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from mcp.client import Client

from pam_mcp.server import App, build_server
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore
from tests.conftest import NewUser
from tests.postgrest_fake import PostgrestFake, rest_store

pytestmark = pytest.mark.anyio

OPERATION = re.compile(r"\bpublic\.(pam_[a-z_]+)\(")
CALL_AS = re.compile(r"\bpam_internal\.call_as\(")
Sent = tuple[str, tuple[Any, ...]]  # a statement's text and its arguments
# A call's arguments, or a function of the latest result of each tool so far (for an id).
Arguments = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


class WatchedDatabase(Database):
    """The test's pool, recording every statement sent on the connections it hands out."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        super().__init__(pool)
        self.statements: list[Sent] = []
        self._watched: set[int] = set()

    async def _acquire(self) -> Any:
        conn = await super()._acquire()
        if id(conn._con) not in self._watched:  # type: ignore[attr-defined]
            self._watched.add(id(conn._con))  # type: ignore[attr-defined]
            conn.add_query_logger(lambda logged: self.statements.append((logged.query, tuple(logged.args))))
        return conn

    def transactions(self, statements: list[Sent]) -> int:
        """BEGINs, plus each call_as statement (one statement outside BEGIN: its own transaction)."""
        begun = sum(1 for text, _ in statements if text.lstrip().upper().startswith("BEGIN"))
        return begun + sum(1 for text, _ in statements if CALL_AS.search(text))


def operations(statements: list[Sent]) -> list[str]:
    """The pam_ operations called: named in the text, or call_as's function argument."""
    named = []
    for text, args in statements:
        named += OPERATION.findall(text)
        if CALL_AS.search(text):
            named.append(str(args[1]))
    return named


async def watched_calls(
    app: App, db: WatchedDatabase, calls: list[tuple[str, Arguments]]
) -> dict[str, list[list[Sent]]]:
    """Each call's statements, by tool (or resource) name."""
    sent: dict[str, list[list[Sent]]] = {}
    seen: dict[str, Any] = {}
    async with Client(build_server(app)) as client:
        for name, given in calls:
            arguments = given(seen) if callable(given) else given
            before = len(db.statements)
            if name.startswith("pam://"):
                await client.read_resource(name.format(**arguments))
            else:
                result = await client.call_tool(name, arguments)
                assert not result.is_error, (name, result.content)
                seen[name] = result.structured_content
            sent.setdefault(name, []).append(db.statements[before:])
    return sent


def tool_calls(today: dt.date, session_id: str) -> list[tuple[str, Arguments]]:
    """A call of every tool (and the resources that read the store), the write paths twice."""
    return [
        ("log_trip", {"started_at": f"{today}T07:00:00+10:00", "title": "Cobar to Bourke"}),
        ("record_saving", {"amount": "6.40", "category": "fuel", "description": "diesel 8c/L cheaper"}),
        ("log_expense", {"amount": "88.10", "category": "fuel", "description": "diesel at Cobar"}),
        ("log_expense", {"amount": "88.10", "category": "fuel", "client_ref": "r1"}),
        ("log_expense", {"amount": "88.10", "category": "fuel", "client_ref": "r1"}),  # the duplicate path
        # fuel and maintenance (the write paths twice: the second is the duplicate path)
        ("log_fillup", {"volume": "60", "price_per_unit": "1.899", "odometer": "1000", "client_ref": "f1"}),
        ("log_fillup", {"volume": "60", "price_per_unit": "1.899", "odometer": "1000", "client_ref": "f1"}),
        ("fuel_economy", {}),
        ("log_service", {"service": "oil change", "interval_months": 6, "client_ref": "s1"}),
        ("log_service", {"service": "oil change", "interval_months": 6, "client_ref": "s1"}),
        ("maintenance_due", {}),
        ("query_expenses", {}),
        ("query_expenses", {"group_by": "day", "include_items": True}),
        ("spending_overview", {}),  # the dashboard's own tools (MCP Apps)
        ("spending_items", {"category": "fuel"}),
        ("check_guardrails", {"text": "Where can we camp near Bourke tonight?"}),
        ("set_guardrails", {"safety_level": "high"}),
        ("update_context", {"facts": {"dog": "Rex"}}),
        ("get_context", {}),
        ("log_message", {"session_id": session_id, "role": "user", "content": "hi"}),
        # calendar and corrections: ids from the calls before
        ("add_event", {"title": "Campsite", "starts_at": f"{today}", "kind": "booking", "client_ref": "c1"}),
        ("add_event", {"title": "Campsite", "starts_at": f"{today}", "kind": "booking", "client_ref": "c1"}),
        ("list_events", {}),
        ("update_event", lambda seen: {"event_id": seen["add_event"]["event"]["event_id"], "location": "Hay"}),
        ("remove_event", lambda seen: {"event_id": seen["add_event"]["event"]["event_id"]}),
        ("correct_expense", lambda seen: {"expense_id": seen["log_expense"]["expense"]["expense_id"], "amount": "8"}),
        ("delete_expense", lambda seen: {"expense_id": seen["log_expense"]["expense"]["expense_id"]}),
        ("show_trip", lambda seen: {"trip_id": seen["log_trip"]["trip_id"]}),  # the trip map (MCP Apps)
        ("update_trip", lambda seen: {"trip_id": seen["log_trip"]["trip_id"], "notes": "windy"}),
        ("delete_trip", lambda seen: {"trip_id": seen["log_trip"]["trip_id"]}),
        ("pam://savings/{month}", {"month": f"{today:%Y-%m}"}),  # the guarantee needs the person's today
        ("pam://expenses/{month}", {"month": f"{today:%Y-%m}"}),
        ("pam://trips", {}),
        # profile, budgets, income
        ("update_profile", {"timezone": "Australia/Sydney", "currency": "AUD"}),
        ("set_budget", {"category": "fuel", "monthly_limit": "400"}),
        ("set_budget", {"category": "fuel", "monthly_limit": None}),
        ("list_budgets", {}),
        ("log_income", {"amount": "50.00", "source": "hustle", "client_ref": "i-1"}),
        ("log_income", {"amount": "50.00", "source": "hustle", "client_ref": "i-1"}),  # the duplicate path
        ("cash_flow", {}),
        ("pam://profile", {}),
        ("pam://guardrails", {}),
    ]


async def test_every_tool_call_is_one_transaction_and_one_operation_statement(
    db: Database, new_user: NewUser, make_app: Callable[..., App]
) -> None:
    watched = WatchedDatabase(db.pool)
    user = await new_user()
    app = make_app(user)
    app = dataclasses.replace(app, store=PostgresStore(watched))
    today = dt.date.today()
    async with Client(build_server(app)) as client:  # a session to log a message in
        session = (await client.call_tool("update_context", {"facts": {"rig": "22ft Jayco"}})).structured_content
    assert session is not None
    calls = tool_calls(today, session["session_id"])
    sent = await watched_calls(app, watched, calls)
    shape = {name: [(watched.transactions(s), len(operations(s))) for s in runs] for name, runs in sent.items()}
    assert shape == {name: [(1, 1)] * len(runs) for name, runs in sent.items()}
    # ...and one round trip: the call is the only statement sent, with no lookups of its own and
    # no BEGIN or COMMIT around it (call_as sets the role and claims inside the statement).
    for runs in sent.values():
        for statements in runs:
            assert len(statements) == 1 and CALL_AS.search(statements[0][0]), statements


async def test_a_guardrail_warning_adds_only_the_call_that_logs_it(
    db: Database, new_user: NewUser, make_app: Callable[..., App]
) -> None:
    watched = WatchedDatabase(db.pool)
    app = make_app(await new_user())
    app = dataclasses.replace(app, store=PostgresStore(watched))
    sent = await watched_calls(app, watched, [("check_guardrails", {"text": "my card is 4111 1111 1111 1111"})])
    (statements,) = sent["check_guardrails"]
    # The settings, then (after the rules ran, off any transaction) the safety event.
    assert operations(statements) == ["pam_guardrail_settings", "pam_insert_safety_event"]
    assert watched.transactions(statements) == 2


async def test_a_refused_call_gives_its_connection_back(
    db: Database, new_user: NewUser, make_app: Callable[..., App]
) -> None:
    app = make_app(await new_user())
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    async with Client(build_server(app)) as client:
        for _ in range(db.pool.get_max_size() + 1):  # one connection kept per call would run the pool dry
            refused = await client.call_tool(
                "record_saving", {"amount": "1.00", "category": "fuel", "description": "x", "saved_on": future}
            )
            assert refused.is_error
            assert "saved_on is in the future" in str(refused.content)
    assert db.pool.get_idle_size() == db.pool.get_size()


async def test_every_tool_call_is_one_request_on_supabases_rest_api(
    database_url: str, new_user: NewUser, make_app: Callable[..., App]
) -> None:
    user = await new_user()
    async with PostgrestFake.running(database_url) as fake, fake.client() as http:
        app = make_app(user)
        app = dataclasses.replace(app, store=rest_store(fake, http, user))
        async with Client(build_server(app)) as client:
            session = (await client.call_tool("update_context", {"facts": {"rig": "22ft Jayco"}})).structured_content
            assert session is not None
            requests: dict[str, list[list[str]]] = {}
            seen: dict[str, Any] = {}
            for name, given in tool_calls(dt.date.today(), session["session_id"]):
                arguments = given(seen) if callable(given) else given
                before = len(fake.requests)
                if name.startswith("pam://"):
                    await client.read_resource(name.format(**arguments))
                else:
                    result = await client.call_tool(name, arguments)
                    assert not result.is_error, (name, result.content)
                    seen[name] = result.structured_content
                # The stdio user's sign-in (once, then renewed before expiry) is Auth's, not a data request.
                sent = [r.path for r in fake.requests[before:] if r.path.startswith("/rest/")]
                requests.setdefault(name, []).append(sent)
    assert {name: [len(s) for s in runs] for name, runs in requests.items()} == {
        name: [1] * len(runs) for name, runs in requests.items()
    }
    assert all(path.startswith("/rest/v1/rpc/pam_") for runs in requests.values() for s in runs for path in s)
