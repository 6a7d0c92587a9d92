"""Each tool call is one database transaction: BEGIN ... COMMIT once, not one per store method.

Every transaction goes through ``Database._transaction`` (as a user or as the owner); here a
Database over the test's pool counts the ones it begins, and the tools are driven through the real
in-memory MCP client. Each transaction costs at least three round trips (BEGIN with the
claims, the statement, COMMIT), so a call that opens two pays the floor twice.

The person's time zone is read once and then cached (``ToolContext.zone``): with the cache
cold, the tools that need the person's "today" read it in a transaction that their work then
continues and commits, so the count is one either way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp.client import Client

from pam_mcp.server import App, build_server
from pam_mcp.store.sql_store import PostgresStore
from pam_mcp.store.postgres import Database, UserTx
from tests.conftest import NewUser

pytestmark = pytest.mark.anyio


class CountingDatabase(Database):
    """The test's pool, counting the transactions begun on it."""

    begun = 0

    @asynccontextmanager
    async def _transaction(self, begin: str, user_id: uuid.UUID, **handover: Any) -> AsyncIterator[UserTx]:
        if handover.get("taken_over") is None:  # a transaction handed over is continued, not begun
            self.begun += 1
        async with super()._transaction(begin, user_id, **handover) as tx:
            yield tx


@pytest.mark.parametrize("zone", ["cached", "not yet read"])
async def test_every_tool_call_opens_exactly_one_transaction(
    zone: str, db: Database, new_user: NewUser, make_app: Callable[..., App]
) -> None:
    counting = CountingDatabase(db.pool)
    user = await new_user()
    app = make_app(user)
    app = App(**{**app.__dict__, "store": PostgresStore(counting)})
    today = dt.date.today()
    calls: list[tuple[str, dict[str, Any]]] = [
        ("log_trip", {"started_at": f"{today}T07:00:00+10:00", "title": "Cobar to Bourke"}),
        ("record_saving", {"amount": "6.40", "category": "fuel", "description": "diesel 8c/L cheaper"}),
        ("log_expense", {"amount": "88.10", "category": "fuel", "description": "diesel at Cobar"}),
        ("log_expense", {"amount": "88.10", "category": "fuel", "client_ref": "r1"}),
        ("log_expense", {"amount": "88.10", "category": "fuel", "client_ref": "r1"}),  # the duplicate path
        ("query_expenses", {}),
        ("query_expenses", {"group_by": "day", "include_items": True}),
        ("check_guardrails", {"text": "Where can we camp near Bourke tonight?"}),
        ("set_guardrails", {"safety_level": "high"}),
        ("update_context", {"facts": {"rig": "22ft Jayco"}}),
        ("get_context", {}),
    ]
    async with Client(build_server(app)) as client:
        await client.call_tool("query_expenses", {})  # the person's zone, read once and cached
        counts: dict[str, list[int]] = {}
        for name, arguments in calls:
            if zone != "cached":
                app.zones.clear()
            before = counting.begun
            result = await client.call_tool(name, arguments)
            assert not result.is_error, (name, result.content)
            counts.setdefault(name, []).append(counting.begun - before)
        session = (await client.call_tool("get_context", {})).structured_content or {}
        if zone != "cached":
            app.zones.clear()
        before = counting.begun
        logged = await client.call_tool(
            "log_message", {"session_id": session["session_id"], "role": "user", "content": "hi"}
        )
        assert not logged.is_error, logged.content
        counts["log_message"] = [counting.begun - before]
        if zone != "cached":
            app.zones.clear()
        before = counting.begun
        await client.read_resource(f"pam://savings/{today:%Y-%m}")  # the guarantee needs today after the read
        counts["pam://savings"] = [counting.begun - before]

    assert counts == {name: [1] * len(runs) for name, runs in counts.items()}


async def test_a_guardrail_warning_adds_only_the_transaction_that_logs_it(
    db: Database, new_user: NewUser, make_app: Callable[..., App]
) -> None:
    counting = CountingDatabase(db.pool)
    app = make_app(await new_user())
    app = App(**{**app.__dict__, "store": PostgresStore(counting)})
    async with Client(build_server(app)) as client:
        before = counting.begun
        result = await client.call_tool("check_guardrails", {"text": "my card is 4111 1111 1111 1111, pay it"})
        assert not result.is_error, result.content
        assert (result.structured_content or {})["decision"] != "allow"
        # The settings in one, the safety event (written after the rules ran, off the transaction) in one.
        assert counting.begun - before == 2


async def test_a_zone_read_that_no_work_follows_gives_its_connection_back(
    db: Database, new_user: NewUser, make_app: Callable[..., App]
) -> None:
    app = make_app(await new_user())
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    async with Client(build_server(app)) as client:
        for _ in range(db.pool.get_max_size() + 1):  # one connection kept per call would run the pool dry
            app.zones.clear()
            refused = await client.call_tool(
                "record_saving", {"amount": "1.00", "category": "fuel", "description": "x", "saved_on": future}
            )
            assert refused.is_error
            assert "saved_on is in the future" in str(refused.content)
    assert db.pool.get_idle_size() == db.pool.get_size()
