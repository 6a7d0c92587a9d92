"""Faults: PAM keeps its promises when PostgreSQL or Redis fail under it, or a client walks away.

- A call in flight when its database connection dies fails with a clean message, writes
  nothing (the savings event it had already inserted goes with its transaction), and the
  next calls succeed on the same server and session.
- PostgreSQL restarted while people keep calling (a private embedded server, since the
  shared one must not be restarted): calls during the restart fail cleanly, calls after it
  succeed without restarting pam-mcp, nothing is half-written, and no pooled connection
  carries a user's role or claims afterwards.
- Redis stopped while people keep calling (a private redis-server): every call is refused
  with the documented message and writes nothing; when Redis is back the same sessions
  are served again, with no restart. (tests/test_limiter_outage.py covers the simple outage.)
- A client that disconnects while its call waits in the database: the server keeps serving
  others, no connection stays busy, and the interrupted write happened whole or not at all.

Waits on the database use a bounded loop of pg_stat_activity queries (each iteration is a
round trip, there is no sleep); waits on the workers use events they set.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import anyio.lowlevel
import asyncpg
import pytest
from mcp.client import Client
from mcp_types import CallToolResult

from pam_mcp.embedded import start_postgres
from pam_mcp.errors import OutcomeUnknown
from pam_mcp.migrate import migrate
from pam_mcp.ratelimit import RateLimiter, parse_rate
from pam_mcp.runtime import redis_client
from pam_mcp.server import App, build_server, new_app
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore
from tests.conftest import NewUser, mint_token, run_blocking
from tests.support_http import http_server, serving, signed_in, text_of
from tests.support_process import RedisServer

pytestmark = pytest.mark.anyio

DB_DOWN = "The database cannot be reached right now; nothing was saved. Try again shortly."
LIMITER_DOWN = "The rate limiter (Redis) cannot be reached right now; try again shortly."
# The connection broke while a COMMIT was under way; record_saving takes a client_ref, so the hint.
MAY_HAVE_BEEN_SAVED = str(OutcomeUnknown()).removesuffix(".") + " (a retry with the same client_ref counts once)."
DAY = "2026-04-14"


def with_application_name(dsn: str, name: str) -> str:
    """The DSN with an application_name, so the test can find (and kill) exactly this pool's backends."""
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "application_name"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("application_name", name)])))


def tool_text(tool: str, result: CallToolResult) -> str:
    """The error text without the SDK's 'Error executing tool X: ' prefix."""
    return text_of(result).removeprefix(f"Error executing tool {tool}: ")


async def wait_until_waiting_on_a_lock(admin: asyncpg.Connection[Any], application: str) -> None:
    with anyio.fail_after(10):
        while not await admin.fetchval(
            "select exists (select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock')",
            application,
        ):
            pass  # each check is a round trip to the server


async def wait_until_idle(admin: asyncpg.Connection[Any], application: str) -> int:
    """Until none of the pool's backends is in a transaction or running a statement; returns how many there are."""
    with anyio.fail_after(10):
        while True:
            states = await admin.fetch("select state from pg_stat_activity where application_name = $1", application)
            if all(row["state"] == "idle" for row in states):
                return len(states)


async def pooled_identities(db: Database, size: int) -> list[tuple[str, str, str, int]]:
    """Borrow ``size`` connections at once (all of the pool) and report who each one is outside a user transaction."""
    seen: list[tuple[str, str, str, int]] = []
    everyone_in = anyio.Event()

    async def borrow() -> None:
        async with db.as_owner() as tx:
            row = await tx.fetchrow(
                "select session_user::text, current_user::text,"
                " coalesce(current_setting('request.jwt.claims', true), ''), pg_backend_pid()"
            )
            assert row is not None
            seen.append((str(row[0]), str(row[1]), str(row[2]), int(row[3])))
            if len(seen) == size:
                everyone_in.set()
            await everyone_in.wait()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(size):
                tg.start_soon(borrow)
    return seen


def assert_pool_is_clean(identities: list[tuple[str, str, str, int]], size: int) -> None:
    assert len({pid for *_, pid in identities}) == size, "every pooled connection was checked"
    for login, current, claims, _ in identities:
        assert current == login, f"a pooled connection still acts as {current}"
        assert claims == "", f"a pooled connection still carries claims {claims}"


async def savings_state(db: Database, user: uuid.UUID) -> tuple[Decimal, Decimal, list[str]]:
    """The month's stored total, the sum of its events and the events' client_refs."""
    async with db.as_owner() as tx:
        total = await tx.fetchval(
            "select coalesce(sum(total_saved), 0) from public.pam_savings where user_id = $1", user
        )
        rows = await tx.fetch(
            "select amount, client_ref from public.pam_savings_events where user_id = $1 order by client_ref", user
        )
    return total, sum((r["amount"] for r in rows), Decimal("0")), [str(r["client_ref"]) for r in rows]


def app_on(db: Database, limiter: RateLimiter, user: uuid.UUID | None = None) -> App:
    return new_app(store=PostgresStore(db), limiter=limiter, rate=parse_rate("1000000/hour"), stdio_user=user)


def saving(ref: str, amount: str = "5.00") -> dict[str, Any]:
    return {"amount": amount, "category": "fuel", "description": "cheaper diesel", "saved_on": DAY, "client_ref": ref}


# -- a connection dies under a call ------------------------------------------------------------------


@dataclass
class Killed:
    """What a person saw when the connection under their call was killed, and what was stored."""

    in_flight: CallToolResult
    state_after_kill: tuple[Decimal, Decimal, list[str]]
    after: list[CallToolResult]
    retried: CallToolResult
    final_state: tuple[Decimal, Decimal, list[str]]
    pool: list[tuple[str, str, str, int]]


async def kill_a_call_in_flight(
    database_url: str, redis_client: Any, redis_prefix: str, user: uuid.UUID, db: Database
) -> Killed:
    """record_saving inserts its event, waits on the month's total row, and its backend is killed."""
    name = f"pam_faults_{uuid.uuid4().hex[:10]}"
    appdb = await Database.connect(with_application_name(database_url, name), min_size=2, max_size=3)
    admin = await asyncpg.connect(database_url)
    try:
        app = app_on(appdb, RateLimiter(redis_client, key_prefix=redis_prefix), user)
        async with Client(build_server(app)) as client:
            assert not (await client.call_tool("record_saving", saving("before"))).is_error

            lock = admin.transaction()
            await lock.start()
            await admin.execute("select 1 from public.pam_savings where user_id = $1 for update", user)
            in_flight: list[CallToolResult] = []
            async with anyio.create_task_group() as tg:

                async def call() -> None:
                    in_flight.append(await client.call_tool("record_saving", saving("in-flight")))

                tg.start_soon(call)
                await wait_until_waiting_on_a_lock(admin, name)
                killed = await admin.fetchval(
                    "select count(pg_terminate_backend(pid)) from pg_stat_activity"
                    " where application_name = $1 and wait_event_type = 'Lock'",
                    name,
                )
                assert killed == 1
            await lock.rollback()
            state_after_kill = await savings_state(db, user)

            # The same server and session carry on; retrying the failed call records it once.
            after = [await client.call_tool("record_saving", saving(f"after-{n}")) for n in range(3)]
            retried = await client.call_tool("record_saving", saving("in-flight"))
        return Killed(
            in_flight[0],
            state_after_kill,
            after,
            retried,
            await savings_state(db, user),
            await pooled_identities(appdb, 3),
        )
    finally:
        await admin.close()
        await appdb.close()


async def test_a_write_whose_database_connection_dies_mid_statement_says_it_may_or_may_not_be_saved(
    database_url: str, redis_client: Any, redis_prefix: str, new_user: NewUser, db: Database
) -> None:
    # The call is one statement in its own transaction (call_as: one round trip), so a connection
    # lost after it was sent cannot tell "rolled back" from "committed, answer lost": the person is
    # told the truth, and the next test shows what the retry with the same client_ref then does.
    seen = await kill_a_call_in_flight(database_url, redis_client, redis_prefix, await new_user(), db)
    assert seen.in_flight.is_error
    assert tool_text("record_saving", seen.in_flight) == MAY_HAVE_BEEN_SAVED


async def test_a_call_whose_database_connection_dies_writes_nothing_and_the_next_calls_succeed(
    database_url: str, redis_client: Any, redis_prefix: str, new_user: NewUser, db: Database
) -> None:
    seen = await kill_a_call_in_flight(database_url, redis_client, redis_prefix, await new_user(), db)
    assert seen.in_flight.is_error
    # Nothing half-written: the event it had inserted went with its transaction.
    assert seen.state_after_kill == (Decimal("5.00"), Decimal("5.00"), ["before"])
    assert [tool_text("record_saving", r) for r in seen.after if r.is_error] == []
    assert not seen.retried.is_error and seen.retried.structured_content is not None
    assert seen.retried.structured_content["duplicate"] is False
    assert seen.final_state == (
        Decimal("25.00"),
        Decimal("25.00"),
        ["after-0", "after-1", "after-2", "before", "in-flight"],
    )
    assert_pool_is_clean(seen.pool, 3)


# -- PostgreSQL restarts while people keep calling ------------------------------------------------------


@dataclass
class Private:
    dsn: str
    data: Path


def _pg_ctl(data: Path, *args: str) -> None:
    from pgserver._commands import POSTGRES_BIN_PATH  # the embedded server's own binaries

    # As root, pgserver runs PostgreSQL as its own 'pgserver' system user; so must pg_ctl.
    user = "pgserver" if os.geteuid() == 0 else None
    command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data), "-w", "-t", "30", "-l", str(data / "log"), *args]
    # Output to files, not pipes: a pipe held open by the postmaster would never reach EOF.
    with tempfile.TemporaryFile() as out:
        subprocess.run(command, check=True, stdout=out, stderr=out, user=user, timeout=60)  # noqa: S603


@pytest.fixture
def private_postgres() -> Iterator[Private]:
    """A PostgreSQL of this test's own, migrated, that the test may restart.

    Not under pytest's tmp_path: as root, pgserver runs PostgreSQL as its own 'pgserver'
    user, and every pytest start resets /tmp/pytest-of-root to mode 0700, which would lock
    that user out of a data directory beneath it while the test runs.
    """
    home = Path(tempfile.mkdtemp(prefix="pam-pg-"))
    home.chmod(0o755)
    data = home / "postgres"
    try:
        server = start_postgres(home, cleanup_mode="delete")
        try:
            run_blocking(migrate, server.dsn)
            yield Private(server.dsn, data)
        finally:
            # pgserver only stops the postmaster it started; after a restart that is another one.
            if (data / "postmaster.pid").exists():
                _pg_ctl(data, "-m", "immediate", "stop")
            server.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class Worker:
    """One person calling record_saving in a loop; every outcome is kept, by phase."""

    user: uuid.UUID
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # (phase, ref, error text or "")

    def count(self, phase: str, *, ok: bool) -> int:
        return sum(1 for p, _, error in self.outcomes if p == phase and (error == "") == ok)


class Progress:
    """Lets the conductor wait for what the workers have done, without sleeping."""

    def __init__(self) -> None:
        self.phase = "before"
        self._waiting: list[tuple[Callable[[], bool], anyio.Event]] = []

    def changed(self) -> None:
        for condition, event in self._waiting:
            if condition():
                event.set()

    async def until(self, condition: Callable[[], bool], within: float = 20) -> None:
        event = anyio.Event()
        self._waiting.append((condition, event))
        self.changed()
        with anyio.fail_after(within):
            await event.wait()
        self._waiting.remove((condition, event))


async def _keep_calling(
    client: Client, worker: Worker, progress: Progress, tool: str, make_args: Callable[[str], dict[str, Any]]
) -> None:
    n = 0
    while progress.phase != "done":
        ref = f"{worker.user.hex[:8]}-{n}"
        n += 1
        phase = progress.phase
        result = await client.call_tool(tool, make_args(ref))
        worker.outcomes.append((phase, ref, tool_text(tool, result) if result.is_error else ""))
        progress.changed()
        await anyio.lowlevel.checkpoint()  # let the conductor run between calls


@asynccontextmanager
async def workers(
    app: App, users: list[uuid.UUID], progress: Progress, tool: str, make_args: Callable[[str], dict[str, Any]]
) -> AsyncIterator[list[Worker]]:
    """One in-memory client session per user, calling ``tool`` until the phase is 'done'."""
    crew = [Worker(user) for user in users]
    async with anyio.create_task_group() as tg:
        for worker in crew:

            async def run(worker: Worker = worker) -> None:
                async with Client(build_server(dataclasses.replace(app, stdio_user=worker.user))) as client:
                    await _keep_calling(client, worker, progress, tool, make_args)

            tg.start_soon(run)
        try:
            yield crew
        finally:
            progress.phase = "done"


async def test_a_postgres_restart_under_load_fails_calls_cleanly_and_pam_recovers_without_a_restart(
    private_postgres: Private, redis_client: Any, redis_prefix: str
) -> None:
    appdb = await Database.connect(private_postgres.dsn, min_size=3, max_size=3)
    try:
        users = []
        async with appdb.as_owner() as tx:
            for _ in range(3):
                users.append(await tx.fetchval("insert into auth.users (email) values (null) returning id"))
        app = app_on(appdb, RateLimiter(redis_client, key_prefix=redis_prefix))
        progress = Progress()
        async with workers(app, users, progress, "record_saving", saving) as crew:
            await progress.until(lambda: all(w.count("before", ok=True) >= 3 for w in crew))
            progress.phase = "restarting"
            await anyio.to_thread.run_sync(_pg_ctl, private_postgres.data, "-m", "fast", "restart")
            progress.phase = "after"
            await progress.until(lambda: all(w.count("after", ok=True) >= 5 for w in crew))
            progress.phase = "settled"
            await progress.until(lambda: all(w.count("settled", ok=True) >= 3 for w in crew))

        errors = {error for w in crew for _, _, error in w.outcomes if error}
        clean = {DB_DOWN, MAY_HAVE_BEEN_SAVED}
        assert errors and errors <= clean, f"the restart failed calls, each cleanly: {errors}"
        for worker in crew:
            settled = [error for phase, _, error in worker.outcomes if phase == "settled"]
            assert settled and not any(settled), "once PostgreSQL is back, every call succeeds"
            total, events, refs = await savings_state(appdb, worker.user)
            assert total == events, "the month's total is the sum of its savings"
            accepted = {ref for _, ref, error in worker.outcomes if not error}
            failed = {ref for _, ref, error in worker.outcomes if error}
            assert len(refs) == len(set(refs)), "no saving counted twice"
            assert accepted <= set(refs), "every accepted saving is stored"
            # A failed call wrote nothing, save the one case no server can rule out: the commit
            # landed and the connection died before its acknowledgement arrived.
            assert len(set(refs) & failed) <= 1, sorted(set(refs) & failed)
            # ... and that call said it may have been saved, never "nothing was saved".
            told = {ref: error for _, ref, error in worker.outcomes if error}
            assert all(told[ref] == MAY_HAVE_BEEN_SAVED for ref in set(refs) & failed), told
        assert_pool_is_clean(await pooled_identities(appdb, 3), 3)
    finally:
        await appdb.close()


# -- Redis stops while people keep calling -----------------------------------------------------------------


@pytest.fixture
async def private_redis() -> AsyncIterator[RedisServer]:
    # A short directory: unix socket paths are limited to about 100 bytes.
    directory = Path(tempfile.mkdtemp(prefix="pam-r-"))
    try:
        server = RedisServer(directory / "redis.sock")
        await server.start()  # a server that never becomes ready stops itself
        try:
            yield server
        finally:
            await server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def expense(ref: str) -> dict[str, Any]:
    return {"amount": "9.90", "category": "food", "spent_on": DAY, "client_ref": ref}


async def test_redis_stopping_under_load_refuses_every_call_cleanly_and_the_same_sessions_recover_when_it_returns(
    private_redis: RedisServer, db: Database, new_user: NewUser
) -> None:
    users = [await new_user() for _ in range(4)]
    limiter_redis = redis_client(private_redis.url)
    try:
        app = app_on(db, RateLimiter(limiter_redis, key_prefix="pamtest"))
        progress = Progress()
        async with workers(app, users, progress, "log_expense", expense) as crew:
            await progress.until(lambda: all(w.count("before", ok=True) >= 3 for w in crew))
            progress.phase = "stopping"
            await private_redis.stop()
            progress.phase = "down"
            await progress.until(lambda: all(w.count("down", ok=False) >= 3 for w in crew))
            progress.phase = "starting"
            await private_redis.start()
            progress.phase = "back"
            await progress.until(lambda: all(w.count("back", ok=True) >= 3 for w in crew))
            progress.phase = "settled"
            await progress.until(lambda: all(w.count("settled", ok=True) >= 3 for w in crew))

        assert {error for w in crew for _, _, error in w.outcomes if error} == {LIMITER_DOWN}
        for worker in crew:
            down = [error for phase, _, error in worker.outcomes if phase == "down"]
            settled = [error for phase, _, error in worker.outcomes if phase == "settled"]
            assert all(down), "while Redis is down every call is refused"
            assert settled and not any(settled), "once Redis is back every call is served"
        async with db.as_owner() as tx:
            stored = await tx.fetch(
                "select user_id, client_ref from public.expenses where user_id = any($1::uuid[])", users
            )
        for worker in crew:
            refs = sorted(str(r["client_ref"]) for r in stored if r["user_id"] == worker.user)
            assert refs == sorted(ref for _, ref, error in worker.outcomes if not error), "refused calls wrote nothing"
    finally:
        await limiter_redis.aclose()


# -- a client walks away mid-call -------------------------------------------------------------------------


async def test_a_client_that_disconnects_mid_call_leaves_no_busy_connection_and_no_half_write(
    database_url: str, redis_client: Any, redis_prefix: str, new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    name = f"pam_faults_{uuid.uuid4().hex[:10]}"
    appdb = await Database.connect(with_application_name(database_url, name), min_size=1, max_size=3)
    admin = await asyncpg.connect(database_url)
    try:
        app = app_on(appdb, RateLimiter(redis_client, key_prefix=redis_prefix))
        token = mint_token(user)
        async with serving(http_server(app)) as url:
            async with signed_in(url, token) as client:
                created = await client.call_tool("update_context", {"facts": {"dog": "Rex"}})
                assert created.structured_content is not None
                session_id = created.structured_content["session_id"]

            # Hold the session row, so the next update waits inside its transaction.
            lock = admin.transaction()
            await lock.start()
            await admin.execute("select 1 from public.pam_sessions where id = $1 for update", uuid.UUID(session_id))
            async with anyio.create_task_group() as tg:

                async def walk_away_mid_call() -> None:
                    async with signed_in(url, token) as leaving:
                        await leaving.call_tool("update_context", {"session_id": session_id, "facts": {"cat": "Tom"}})

                tg.start_soon(walk_away_mid_call)
                await wait_until_waiting_on_a_lock(admin, name)
                tg.cancel_scope.cancel()  # the client closes its connection mid-call
            await lock.rollback()

            # The server still serves others at once, and then everyone.
            other = await new_user()
            async with signed_in(url, mint_token(other)) as someone_else:
                assert not (await someone_else.call_tool("get_context", {})).is_error
            backends = await wait_until_idle(admin, name)
            async with signed_in(url, token) as back:
                context = await back.call_tool("get_context", {"session_id": session_id})
        assert backends <= 3
        assert context.structured_content is not None
        # Whole or not at all: never a context with part of the update.
        assert context.structured_content["session_context"] in ({"dog": "Rex"}, {"dog": "Rex", "cat": "Tom"})
        assert_pool_is_clean(await pooled_identities(appdb, 3), 3)
    finally:
        await admin.close()
        await appdb.close()
