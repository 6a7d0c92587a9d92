"""Every statement a tool or resource sends runs as the caller: role ``authenticated``, their claims.

The store's queries also say ``where user_id = $1``, so a query that ran as the login role
(the schema owner, who bypasses row level security) would return exactly the same rows
and no behavioural test would notice. Here every connection of the store's pool is an
audited asyncpg connection: before and after each statement it asks PostgreSQL, on the
same connection and in the same transaction, ``current_user`` and
``request.jwt.claims``, and the test asserts that every statement of every tool and
resource call, driven through the real in-memory MCP client, ran as ``authenticated`` with
the caller's ``sub``.

A call through ``pam_internal.call_as`` (one round trip: the role and claims are set inside the
statement, for it alone) cannot be probed from outside; for it the audit records the person it
names, and ``tests/test_call_as_person.py`` proves that inside it the role is ``authenticated``
with that person's claims.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from mcp.client import Client

from pam_mcp.server import App, build_server
from pam_mcp.store import postgres
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore
from tests.conftest import NewUser, mint_token
from tests.support_http import http_server, serving, signed_in

pytestmark = pytest.mark.anyio

_PROBE = "select current_user::text, current_setting('request.jwt.claims', true)"


@dataclass(frozen=True)
class Seen:
    """One statement and who PostgreSQL said was running it."""

    sql: str
    when: str  # "before" or "after" the statement
    role: str
    sub: str | None


@dataclass
class Audit:
    recording: bool = False
    seen: list[Seen] = field(default_factory=list)


AUDIT = Audit()


if TYPE_CHECKING:
    _Connection = asyncpg.Connection[Any]
else:
    _Connection = asyncpg.Connection  # generic only in the stubs


class AuditedConnection(_Connection):
    """An asyncpg connection that asks who it is acting as around every statement the store sends."""

    async def _who(self, sql: str, when: str) -> None:
        try:
            role, claims = await super().fetchrow(_PROBE)  # type: ignore[misc]
        except asyncpg.InFailedSQLTransactionError:
            return  # the statement failed: the transaction is rolled back and nothing ran as anyone
        sub = json.loads(claims).get("sub") if claims else None
        AUDIT.seen.append(Seen(sql, when, role, sub))

    async def _audited(self, method: Callable[..., Any], sql: str, *args: Any, **kwargs: Any) -> Any:
        if AUDIT.recording and "pam_internal.call_as(" in sql:
            AUDIT.seen.append(Seen(f"call_as {args[1]}", "call_as", "authenticated", str(args[0])))
            return await method(sql, *args, **kwargs)
        control = sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))
        if not AUDIT.recording or (control and not sql.lstrip().upper().startswith("BEGIN")):
            return await method(sql, *args, **kwargs)
        if not control:
            await self._who(sql, "before")
        result = await method(sql, *args, **kwargs)
        await self._who(sql, "after")
        return result

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._audited(super().execute, query, *args, **kwargs)

    async def executemany(self, command: str, args: Any, **kwargs: Any) -> Any:
        return await self._audited(super().executemany, command, args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._audited(super().fetch, query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._audited(super().fetchrow, query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._audited(super().fetchval, query, *args, **kwargs)

    async def fetchmany(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._audited(super().fetchmany, query, *args, **kwargs)


@pytest.fixture
async def audited_db(database_url: str) -> AsyncIterator[Database]:
    """The pool ``Database.connect`` makes, with audited connections (same init and reset hooks)."""
    pool = await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=4,
        reset=postgres._keep_session,
        init=postgres._init_connection,
        connection_class=AuditedConnection,
    )
    try:
        yield Database(pool)
    finally:
        await pool.close()


@pytest.fixture
def audited_app(make_app: Callable[..., App], audited_db: Database) -> Callable[[uuid.UUID | None], App]:
    def make(user: uuid.UUID | None) -> App:
        app = make_app(user)
        app.store = PostgresStore(audited_db)
        return app

    return make


async def ok(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, (name, result.content)
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


async def test_every_statement_of_every_tool_and_resource_runs_as_the_caller_under_rls(
    audited_app: Callable[[uuid.UUID | None], App], new_user: NewUser
) -> None:
    alice = await new_user()
    called: set[str] = set()
    read: set[str] = set()
    AUDIT.seen.clear()
    AUDIT.recording = True
    try:
        async with Client(build_server(audited_app(alice))) as client:

            async def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
                called.add(name)
                return await ok(client, name, arguments)

            async def read_resource(uri: str, pattern: str | None = None) -> None:
                read.add(pattern or uri)
                await client.read_resource(uri)

            trip = await call("log_trip", {"started_at": "2026-01-02T08:00:00+10:00", "title": "Dubbo"})
            await call("record_saving", {"amount": "5.00", "category": "fuel", "description": "cheap diesel"})
            for ref in ("first", "first"):  # the second finds the earlier expense: its own query
                await call(
                    "log_expense",
                    {"amount": "9.50", "category": "fuel", "spent_on": "2026-01-03", "client_ref": ref},
                )
            await call("log_expense", {"amount": "4.00", "category": "food", "spent_on": "2026-01-04"})
            await call("log_expense", {"amount": "3.00", "category": "food", "trip_id": trip["trip_id"]})
            # fuel and maintenance
            fill = {"volume": "60", "total_cost": "113.94", "odometer": "1000", "trip_id": trip["trip_id"]}
            for ref in ("fill", "fill"):  # the second finds the earlier fill-up
                fillup = await call("log_fillup", {**fill, "filled_on": "2026-01-05", "client_ref": ref})
            await call("correct_fillup", {"fillup_id": fillup["fillup"]["fillup_id"], "total_cost": "110.00"})
            await call("fuel_economy", {"start": "2026-01-01", "end": "2026-01-31"})
            await call("delete_fillup", {"fillup_id": fillup["fillup"]["fillup_id"]})
            for ref in ("oil", "oil"):
                await call(
                    "log_service", {"service": "oil change", "odometer": "900", "interval_months": 6, "client_ref": ref}
                )
            await call("maintenance_due", {})
            session = await call("update_context", {"facts": {"dog": "Rex"}})
            await call("update_context", {"session_id": session["session_id"], "facts": {"cat": "Tom"}})
            await call("log_message", {"session_id": session["session_id"], "role": "user", "content": "hi"})
            await call("get_context", {})
            await call("get_context", {"session_id": session["session_id"], "message_limit": 5})
            await call("check_guardrails", {"text": "he's having a seizure", "amount": "500"})
            await call("set_guardrails", {"safety_level": "high"})
            # calendar and corrections
            camp = {"title": "Campsite", "starts_at": "2026-01-10", "kind": "booking", "client_ref": "camp"}
            event = (await call("add_event", camp))["event"]
            await call("add_event", camp)  # the duplicate finds the earlier event: its own query
            await call("update_event", {"event_id": event["event_id"], "ends_at": "2026-01-12"})
            await call("list_events", {"start": "2026-01-01"})
            await call("remove_event", {"event_id": event["event_id"]})
            mistake = await call("log_expense", {"amount": "7.00", "category": "food", "spent_on": "2026-01-05"})
            await call("correct_expense", {"expense_id": mistake["expense"]["expense_id"], "amount": "7.50"})
            await call("delete_expense", {"expense_id": mistake["expense"]["expense_id"]})
            await call("show_trip", {"trip_id": trip["trip_id"]})  # the trip map
            spare = await call("log_trip", {"started_at": "2026-01-05T08:00:00+10:00"})
            await call("update_trip", {"trip_id": spare["trip_id"], "title": "Orange"})
            await call("delete_trip", {"trip_id": spare["trip_id"]})
            # profile, budgets, income
            await call("update_profile", {"timezone": "Australia/Sydney", "currency": "AUD", "tank_size": "120"})
            await call("set_budget", {"category": "fuel", "monthly_limit": "400"})
            await call("list_budgets", {"month": "2026-01"})
            await call("log_income", {"amount": "50.00", "source": "hustle", "client_ref": "i-1"})
            await call("log_income", {"amount": "50.00", "source": "hustle", "client_ref": "i-1"})  # the duplicate
            await call("cash_flow", {"start": "2026-01-01", "end": "2026-02-28"})
            page = await call(
                "query_expenses", {"start": "2026-01-01", "end": "2026-01-31", "include_items": True, "limit": 1}
            )
            assert page["next_cursor"]
            await call(
                "query_expenses",
                {"start": "2026-01-01", "end": "2026-01-31", "include_items": True, "limit": 1,
                 "cursor": page["next_cursor"]},
            )  # fmt: skip
            await call("query_expenses", {"start": "2026-01-01", "group_by": "day", "categories": ["fuel"]})

            static = {r.uri for r in (await client.list_resources()).resources}
            for uri in sorted(static):
                await read_resource(uri)
            month = dt.date.today().strftime("%Y-%m")
            await read_resource(f"pam://trips/{trip['trip_id']}", "pam://trips/{trip_id}")
            await read_resource(f"pam://savings/{month}", "pam://savings/{month}")
            await read_resource("pam://expenses/2026-01", "pam://expenses/{month}")
            tools = {t.name for t in (await client.list_tools()).tools}
            templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    finally:
        AUDIT.recording = False

    # Every tool and every resource was exercised: a new one without a call here fails the test.
    assert called == tools
    assert read == static | templates
    assert len({s.sql for s in AUDIT.seen}) >= 15, "the audit saw too few statements to mean anything"
    wrong = sorted({(s.when, s.role, s.sub, " ".join(s.sql.split())[:120]) for s in AUDIT.seen
                    if (s.role, s.sub) != ("authenticated", str(alice))})  # fmt: skip
    assert wrong == []


async def test_over_http_every_statement_runs_as_the_user_the_bearer_token_names(
    audited_app: Callable[[uuid.UUID | None], App], new_user: NewUser
) -> None:
    alice, bob = await new_user(), await new_user()
    app = audited_app(None)  # no configured user: only the token says who is calling
    AUDIT.seen.clear()
    async with serving(http_server(app)) as url:
        for user in (alice, bob):
            AUDIT.recording = True
            try:
                async with signed_in(url, mint_token(user)) as client:
                    await ok(client, "log_expense", {"amount": "2.00", "category": "food"})
                    await ok(client, "query_expenses", {"include_items": True})
                    await ok(client, "get_context", {})
                    await client.read_resource("pam://profile")
            finally:
                AUDIT.recording = False
            seen, AUDIT.seen = AUDIT.seen, []
            assert len(seen) == 4  # one statement per call: log_expense, query_expenses, get_context, profile
            assert {(s.role, s.sub) for s in seen} == {("authenticated", str(user))}
