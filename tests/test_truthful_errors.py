"""Errors that tell the truth and name the thing, through the real MCP client on both stores.

- A failure after a write committed says that it was saved (and how to retry safely), never
  "nothing was saved"; a failure before any commit still says nothing was saved.
- When the connection breaks while a write is committing (PostgreSQL's COMMIT, or PostgREST's
  answer lost on the way back), pam-mcp cannot know: it says the change may have been saved,
  and a retry with the same client_ref then counts it exactly once.
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
import httpx
import pytest

from pam_mcp.migrate import migrate
from pam_mcp.ratelimit import RateLimiter, parse_rate
from pam_mcp.server import App, new_app
from pam_mcp.store.base import Store
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore
from tests.conftest import NewUser
from tests.postgrest_fake import PostgrestFake, rest_store
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


# log_expense's insert and its month's total are one function call on both stores
# (public.pam_log_expense): no moment comes after the insert commits and before the call ends,
# so the old test of a failure there is gone; tests/test_transactions_per_call.py counts it.


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


MAY_HAVE = "may or may not have been saved"


class AnswerLost(httpx.AsyncBaseTransport):
    """The PostgREST stand-in, except that the answer to the first call of ``function`` is lost
    on its way back (the connection resets after PostgREST committed)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, function: str) -> None:
        self._inner = inner
        self._table = function
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith(f"/{self._table}") and not self.lost:
            self.lost += 1
            await response.aclose()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


async def test_a_rest_answer_lost_after_the_write_says_it_may_have_been_saved_and_the_retry_counts_once(
    new_user: NewUser, database_url: str, redis_client: Any, redis_prefix: str
) -> None:
    user = await new_user()
    expense = {"amount": "12.00", "category": "food", "client_ref": "lunch-1"}
    async with PostgrestFake.running(database_url) as fake:
        losing = AnswerLost(fake.transport(), "pam_log_expense")
        async with httpx.AsyncClient(transport=losing) as http:
            store = rest_store(fake, http, user)
            app = new_app(store=store, limiter=RateLimiter(redis_client, key_prefix=redis_prefix),
                      rate=parse_rate("1000/hour"), stdio_user=user)  # fmt: skip
            async with session(app) as client:
                text = await error(client, "log_expense", expense)
                retried = await call(client, "log_expense", expense)
    assert losing.lost == 1
    assert MAY_HAVE in text and "same client_ref" in text
    assert "nothing was saved" not in text.lower()
    assert retried["duplicate"] is True  # it had been saved: the retry did not count it again
    assert await rows_for(database_url, "expenses", user) == 1


BREAK_AT_COMMIT = """
create function public.test_break_at_commit() returns trigger language plpgsql security definer
set search_path = '' as $$
begin
  perform pg_catalog.pg_terminate_backend(pg_catalog.pg_backend_pid());
  return null;
end $$;
create constraint trigger test_break_at_commit after insert on public.expenses
  deferrable initially deferred for each row when (new.description = 'break at commit')
  execute function public.test_break_at_commit();
"""


async def test_a_connection_lost_during_commit_says_it_may_have_been_saved_and_the_retry_counts_once(
    fresh_database: Callable[[str], str], redis_client: Any, redis_prefix: str
) -> None:
    dsn = fresh_database(f"commit_{uuid.uuid4().hex[:8]}")  # its own: the trigger below must not leak
    await migrate(dsn)
    user = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("insert into auth.users (id, email) values ($1, 'c@example.test')", user)
        await conn.execute(BREAK_AT_COMMIT)
    finally:
        await conn.close()
    db = await Database.connect(dsn, min_size=1, max_size=2)
    try:
        app = new_app(store=PostgresStore(db), limiter=RateLimiter(redis_client, key_prefix=redis_prefix),
                  rate=parse_rate("1000/hour"), stdio_user=user)  # fmt: skip
        expense = {"amount": "9.00", "category": "food", "client_ref": "c-1"}
        async with session(app) as client:
            text = await error(client, "log_expense", {**expense, "description": "break at commit"})
            retried = await call(client, "log_expense", {**expense, "description": "lunch"})
    finally:
        await db.close()
    assert MAY_HAVE in text and "same client_ref" in text
    assert "nothing was saved" not in text.lower()
    assert retried["duplicate"] is False  # this time the commit had not happened: the retry saved it, once
    assert await rows_for(dsn, "expenses", user) == 1
