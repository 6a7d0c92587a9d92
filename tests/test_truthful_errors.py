"""Errors that tell the truth and name the thing, through the real MCP client on both stores.

- A failure after a write committed says that it was saved (and how to retry safely), never
  "nothing was saved"; a failure before any commit still says nothing was saved.
- A trip_id that does not exist (or is someone else's) is named as the argument, on both stores.

The faults are real: the store underneath is the real one (PostgreSQL, or the PostgREST
stand-in over the same database), and the fault is injected right after one of its methods
returned, i.e. after that write committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from pam_mcp.server import App
from pam_mcp.store.base import Store
from tests.conftest import NewUser
from tests.test_tools import call, error, make_app, outage, rest_fake, session

__all__ = ["make_app", "outage", "rest_fake"]  # fixtures shared with test_tools, on both stores

pytestmark = pytest.mark.anyio

Fault = Callable[[], Awaitable[None]]


class FaultAfter:
    """The real store; right after ``method`` returns (its write committed), ``fault`` runs."""

    def __init__(self, store: Store, method: str, fault: Fault) -> None:
        self._store = store
        self._method = method
        self._fault = fault

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._store, name)
        if name != self._method:
            return real

        async def then_fail(*args: Any, **kwargs: Any) -> Any:
            result = await real(*args, **kwargs)
            await self._fault()
            return result

        return then_fail


async def rows_for(database_url: str, table: str, user: uuid.UUID) -> int:
    """Counted on a connection of its own: the test may have cut the app's database off."""
    conn = await asyncpg.connect(database_url)
    try:
        n: int = await conn.fetchval(f"select count(*) from public.{table} where user_id = $1", user)
    finally:
        await conn.close()
    return n


async def raise_a_bug() -> None:
    raise RuntimeError("a step after the write failed")


async def test_log_expense_says_the_expense_was_saved_when_the_database_goes_away_after_the_insert(
    make_app: Callable[..., App], new_user: NewUser, outage: Fault, database_url: str
) -> None:
    user = await new_user()
    app = make_app(user)
    app.store = FaultAfter(app.store, "insert_expense", outage)
    async with session(app) as client:
        text = await error(client, "log_expense", {"amount": "42.10", "category": "fuel", "client_ref": "fuel-1"})
    assert await rows_for(database_url, "expenses", user) == 1
    assert "nothing was saved" not in text.lower()
    assert "The expense " in text and " was saved" in text
    assert "the same client_ref counts it once" in text


async def test_record_saving_says_the_saving_was_saved_and_a_retry_with_its_client_ref_counts_once(
    make_app: Callable[..., App], new_user: NewUser, database_url: str
) -> None:
    user = await new_user()
    app = make_app(user)
    real = app.store
    app.store = FaultAfter(real, "record_saving", raise_a_bug)
    saving = {"amount": "7.50", "category": "fuel", "description": "cheaper diesel", "client_ref": "s-1"}
    async with session(app) as client:
        text = await error(client, "record_saving", saving)
    assert "nothing was saved" not in text.lower()
    assert "The saving " in text and " was saved" in text
    assert "a step after the write failed" not in text  # a bug's own text stays in the log
    app.store = real
    async with session(app) as client:
        retried = await call(client, "record_saving", saving)
    assert retried["duplicate"] is True
    assert retried["month_total"] == "7.50"
    assert await rows_for(database_url, "pam_savings_events", user) == 1


async def test_a_failure_before_anything_committed_still_says_nothing_was_saved(
    make_app: Callable[..., App], new_user: NewUser, outage: Fault, database_url: str
) -> None:
    user = await new_user()
    app = make_app(user)
    async with session(app) as client:
        await call(client, "get_context")  # the time zone is read before the write
        await outage()
        text = await error(client, "record_saving", {"amount": "3", "category": "food", "description": "x"})
    assert "nothing was saved" in text
    assert await rows_for(database_url, "pam_savings_events", user) == 0


async def test_an_unknown_or_someone_elses_trip_id_is_named_as_the_argument(
    make_app: Callable[..., App], new_user: NewUser, database_url: str
) -> None:
    me, other = await new_user(), await new_user()
    async with session(make_app(other)) as client:
        theirs = (await call(client, "log_trip", {"started_at": "2026-01-02T08:00:00+10:00"}))["trip_id"]
    async with session(make_app(me)) as client:
        unknown = await error(client, "log_expense", {"amount": 5, "category": "food", "trip_id": str(uuid.uuid4())})
        foreign = await error(client, "log_expense", {"amount": 5, "category": "food", "trip_id": theirs})
    assert unknown == foreign
    assert "trip_id: no such trip" in unknown
    for word in ("violates", "constraint", "expenses", "fkey", "exist"):
        assert word not in unknown
    assert await rows_for(database_url, "expenses", me) == 0
