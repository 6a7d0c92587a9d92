"""The servers a bench run uses, and everything it creates on them (removed at the end).

``PAM_BENCH_DATABASE_URL`` / ``PAM_BENCH_REDIS_URL`` name servers to use; unset, embedded
ones start in a temporary directory, so the bench runs on a laptop with nothing but Python.
Every database the run makes is dropped at the end, and every Redis key it (or a server it
started) wrote is deleted: keys under the run's prefix, and the limiter keys of the users
the run created.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg
import jwt
import redis.asyncio as aioredis

from pam_mcp.embedded import start_postgres, start_redis
from pam_mcp.migrate import migrate
from pam_mcp.ratelimit import Rate
from pam_mcp.runtime import redis_client
from pam_mcp.store.postgres import Database

RUN_ID = uuid.uuid4().hex[:8]
JWT_SECRET = f"bench-only-jwt-secret-{uuid.uuid4().hex}"
# "The rate limit raised": the largest a rate may be, far more than any bench makes in an hour.
UNLIMITED = Rate(limit=1_000_000, window_seconds=3600)
UNLIMITED_TEXT = "1000000/hour"
SERVER_KEY_PREFIX = "pam:rl"  # what `pam-mcp serve` uses


def note(message: str) -> None:
    """Progress goes to stderr; stdout carries the table alone."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def mint_token(user: uuid.UUID) -> str:
    """A Supabase-shaped access token (HS256), as Supabase Auth issues at sign-in."""
    now = int(time.time())
    claims = {"sub": str(user), "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 6 * 3600}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


@dataclass
class Bench:
    """One run's servers and the things it made on them."""

    server_dsn: str
    redis_url: str
    embedded: bool
    tmp: Path
    quick: bool
    redis: aioredis.Redis
    key_prefix: str = f"pambench:{RUN_ID}"
    _databases: list[str] = field(default_factory=list)
    _users: list[uuid.UUID] = field(default_factory=list)

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.server_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def database(self, label: str) -> str:
        """A new database with every migration applied; dropped at the end of the run."""
        name = f"pam_bench_{RUN_ID}_{label}"
        await self._admin(f'create database "{name}"')
        self._databases.append(name)
        dsn = with_database(self.server_dsn, name)
        await migrate(dsn)
        return dsn

    async def new_user(self, db: Database) -> uuid.UUID:
        """A user in auth.users, as Supabase Auth makes one at sign-up."""
        user = uuid.uuid4()
        async with db.as_owner() as tx:
            await tx.execute("insert into auth.users (id, email) values ($1, $2)", user, f"{user}@bench.invalid")
        self._users.append(user)
        return user

    async def _cleanup(self) -> None:
        patterns = [f"{self.key_prefix}:*"] + [f"{SERVER_KEY_PREFIX}:{user}:*" for user in self._users]
        for pattern in patterns:
            keys = [key async for key in self.redis.scan_iter(match=pattern, count=1000)]
            if keys:
                await self.redis.delete(*keys)
        for name in self._databases:
            await self._admin(f'drop database if exists "{name}" with (force)')


async def seed_user(db: Database, user: uuid.UUID, today: dt.date, expenses: int = 120) -> None:
    """A user with a month of spending, budgets and a trip, so reads return something real."""
    first, _ = month_bounds(today)
    categories = ["fuel", "food", "campground", "maintenance", "propane"]
    rows = [
        (user, Decimal(10 + i % 90) + Decimal("0.45"), categories[i % 5], first + dt.timedelta(days=i % today.day))
        for i in range(expenses)
    ]
    async with db.as_owner() as tx:
        await tx.executemany(
            "insert into public.expenses (user_id, amount, category, spent_on) values ($1, $2, $3, $4)", rows
        )
        await tx.executemany(
            "insert into public.budgets (user_id, category, monthly_limit) values ($1, $2, $3)",
            [(user, c, Decimal(800)) for c in categories[:3]],
        )


@asynccontextmanager
async def open_bench(tmp: Path, *, quick: bool) -> AsyncIterator[Bench]:
    """The run's servers (configured or embedded); cleans up whatever the run made on them."""
    server_dsn = os.environ.get("PAM_BENCH_DATABASE_URL") or ""
    redis_url = os.environ.get("PAM_BENCH_REDIS_URL") or ""
    async with AsyncExitStack() as stack:
        if not server_dsn:
            note("starting an embedded PostgreSQL (set PAM_BENCH_DATABASE_URL to use a server of your own)")
            pg = await anyio.to_thread.run_sync(lambda: start_postgres(tmp / "servers", cleanup_mode="delete"))
            stack.callback(pg.stop)
            server_dsn = pg.dsn
        if not redis_url:
            note("starting an embedded Redis (set PAM_BENCH_REDIS_URL to use a server of your own)")
            rd = await anyio.to_thread.run_sync(start_redis, tmp / "servers")
            stack.callback(rd.stop)
            redis_url = rd.url  # its stop shuts the server down: this run is its only user
        client = redis_client(redis_url)
        stack.push_async_callback(client.aclose)
        embedded = "PAM_BENCH_DATABASE_URL" not in os.environ or "PAM_BENCH_REDIS_URL" not in os.environ
        bench = Bench(server_dsn, redis_url, embedded, tmp, quick, client)
        try:
            yield bench
        finally:
            with anyio.CancelScope(shield=True):
                await bench._cleanup()


@contextmanager
def scratch_dir() -> Iterator[Path]:
    # Short: unix socket paths inside it must stay under ~100 bytes.
    path = Path(tempfile.mkdtemp(prefix="pam-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
