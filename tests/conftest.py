"""Real servers for the suite: PostgreSQL and Redis, never mocks of them.

``PAM_TEST_DATABASE_URL`` / ``PAM_TEST_REDIS_URL`` name servers to use (CI points them
at the machine's PostgreSQL 15 and Redis 7); unset, the suite starts embedded ones from
PyPI wheels, so it also passes on a laptop with nothing but Python. Each run works in a
fresh database of its own, dropped at the end, and in a Redis key space of its own,
deleted at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg
import psutil
import pytest
import redis as sync_redis

from pam_mcp.embedded import start_postgres, start_redis
from pam_mcp.migrate import migrate
from pam_mcp.store.postgres import Database

T = TypeVar("T")
RUN_ID = uuid.uuid4().hex[:10]

# Everything this run puts in the temp directory (pytest's tmp_path too) lives under one
# directory of its own, so the processes it starts can be told apart from those of other
# runs on the same machine: see pytest_sessionfinish. 0755: as root, pgserver runs
# PostgreSQL as its own system user, which must be able to enter it.
RUN_TMP = Path(tempfile.mkdtemp(prefix=f"pam-test-{RUN_ID}-"))
RUN_TMP.chmod(0o755)
tempfile.tempdir = str(RUN_TMP)


def _processes_of_this_run() -> list[psutil.Process]:
    """Our descendants, and any process working in or named after this run's temp directory.

    Embedded servers detach (Redis daemonizes, pg_ctl starts PostgreSQL in a session of its
    own), so being a descendant is not enough; both chdir into their data directories.
    """
    me = psutil.Process()
    found = {child.pid: child for child in me.children(recursive=True)}
    root = str(RUN_TMP)
    for proc in psutil.process_iter(["cmdline", "cwd"], ad_value=None):
        cmdline, cwd = proc.info["cmdline"] or [], proc.info["cwd"] or ""
        if cwd.startswith(root) or any(root in part for part in cmdline):
            found[proc.pid] = proc
    found.pop(me.pid, None)
    return list(found.values())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if it leaves a process behind (after every fixture has been torn down)."""
    _gone, alive = psutil.wait_procs(_processes_of_this_run(), timeout=10)  # bounded: ones still exiting
    if alive:
        described = []
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                described.append(f"pid {proc.pid}: {' '.join(proc.cmdline())[:200]}")
                proc.kill()  # ours, found above: do not leave them to the next run
        psutil.wait_procs(alive, timeout=10)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "\nFAILED: the run left processes behind (now killed):\n  " + "\n  ".join(described), red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if session.exitstatus == pytest.ExitCode.OK:
        shutil.rmtree(RUN_TMP, ignore_errors=True)  # kept after a failure, for its logs


def run_blocking(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run async set-up outside the test's event loop, with a bounded wait."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, fn, *args).result(timeout=180)


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"  # asyncpg speaks asyncio only


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    url = os.environ.get("PAM_TEST_DATABASE_URL")
    if url:
        yield url
        return
    # Not under pytest's basetemp: pgserver runs PostgreSQL as its own system user when the
    # suite runs as root, and each new pytest run resets the basetemp root to mode 0700.
    home = Path(tempfile.mkdtemp(prefix="pam-test-pg-"))
    server = start_postgres(home, cleanup_mode="delete")
    try:
        yield server.dsn
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def fresh_database(pg_server_dsn: str) -> Iterator[Callable[[str], str]]:
    """Makes empty databases on the test server; every one is dropped at the end of the run."""
    made: list[str] = []

    def make(label: str) -> str:
        name = f"pam_test_{RUN_ID}_{label}"
        run_blocking(_admin, pg_server_dsn, f'create database "{name}"')
        made.append(name)
        return with_database(pg_server_dsn, name)

    yield make
    for name in made:
        run_blocking(_admin, pg_server_dsn, f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def database_url(fresh_database: Callable[[str], str]) -> str:
    """A database with the stand-in and every migration applied, shared by the run."""
    dsn = fresh_database("main")
    run_blocking(migrate, dsn)
    return dsn


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("PAM_TEST_REDIS_URL")
    if url:
        yield url
    else:
        server = start_redis(Path(tmp_path_factory.mktemp("redis")))
        yield server.url
        server.stop()
        return
    # A shared server: delete what this run wrote (keys also expire on their own).
    client = sync_redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"*{RUN_ID}*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to one test, inside this run's key space."""
    return f"pamtest:{RUN_ID}:{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await Database.connect(database_url, min_size=1, max_size=4)
    try:
        yield database
    finally:
        await database.close()


NewUser = Callable[..., Awaitable[uuid.UUID]]


@pytest.fixture
def new_user(db: Database) -> NewUser:
    """Creates a user in auth.users (as Supabase Auth would on sign-up) and returns its id."""

    async def make(email: str | None = None) -> uuid.UUID:
        user_id = uuid.uuid4()
        async with db.as_owner() as tx:
            await tx.execute(
                "insert into auth.users (id, email) values ($1, $2)",
                user_id,
                email or f"{user_id.hex[:12]}@example.test",
            )
        return user_id

    return make


# -- the server, as clients see it ------------------------------------------------------------

JWT_SECRET = "test-only-jwt-secret-with-enough-length-for-hs256"


def mint_token(
    user: uuid.UUID,
    *,
    expires_in: int = 3600,
    audience: str = "authenticated",
    secret: str = JWT_SECRET,
    role: str = "authenticated",
) -> str:
    """A Supabase-shaped access token (HS256), as Supabase Auth would issue at sign-in."""
    import time

    import jwt

    now = int(time.time())
    claims = {"sub": str(user), "aud": audience, "role": role, "iat": now, "exp": now + expires_in}
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Any]:
    from pam_mcp.runtime import redis_client as make_client

    client = make_client(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def make_app(db: Database, redis_client: Any, redis_prefix: str) -> Callable[..., Any]:
    """Builds the App the server runs on: the real store, the real limiter, this test's key space."""
    from pam_mcp.ratelimit import RateLimiter, parse_rate
    from pam_mcp.server import App, new_app
    from pam_mcp.store.sql_store import PostgresStore

    def make(user: uuid.UUID | None = None, *, rate: str = "1000/hour", **kwargs: Any) -> App:
        return new_app(
            store=PostgresStore(db),
            limiter=RateLimiter(redis_client, key_prefix=redis_prefix),
            rate=parse_rate(rate),
            stdio_user=user,
            **kwargs,
        )

    return make


# -- the slow marker ----------------------------------------------------------------------------

# Modules whose tests start child processes (servers, npm tools, a browser), restart servers or
# run load for seconds: `scripts/test -m "not slow"` leaves them out for quick feedback, while
# CI (and plain `scripts/test`) runs everything. Marked here, in one place, by module name.
SLOW_MODULES = frozenset(
    {
        "test_cli_errors",
        "test_conversation_script",
        "test_conformance",
        "test_doctor",
        "test_fairness",
        "test_faults",
        "test_hostile_input",
        "test_http",
        "test_inspector",
        "test_load",
        "test_multiprocess_limit",
        "test_oauth_flow",
        "test_stdio",
        "test_supabase_cli",
        "test_truthful_errors",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = sorted(name for name in SLOW_MODULES if not (Path(__file__).parent / f"{name}.py").exists())
    if missing:  # a renamed module would otherwise silently join the quick run
        raise pytest.UsageError(f"tests/conftest.py SLOW_MODULES names modules that do not exist: {missing}")
    for item in items:
        if item.path.stem in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
