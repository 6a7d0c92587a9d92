"""The running backends of one pam-mcp process: database pool, Redis client, embedded servers.

``open_runtime`` resolves the configuration into live connections: the servers named by
``DATABASE_URL``/``REDIS_URL``, or embedded ones started in ``PAM_DATA_DIR``. On the
embedded default it also applies the migrations, so a fresh machine needs no set-up step;
against a configured database it never changes the schema (that is ``pam-mcp migrate``'s
job, or ``supabase db push``'s).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import anyio
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pam_mcp.embedded import start_postgres, start_redis
from pam_mcp.errors import ConfigurationError
from pam_mcp.migrate import migrate
from pam_mcp.settings import Settings
from pam_mcp.store.postgres import Database

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    database_url: str
    redis_url: str


async def resolve_database_url(settings: Settings, stack: AsyncExitStack) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    server = await anyio.to_thread.run_sync(start_postgres, settings.pam_data_dir)
    # Stops the server only when this is the last process using the data directory.
    stack.callback(server.stop)
    await migrate(server.dsn)
    return server.dsn


async def resolve_redis_url(settings: Settings, stack: AsyncExitStack) -> str:
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value()
    server = await anyio.to_thread.run_sync(start_redis, settings.pam_data_dir)
    stack.callback(server.stop)
    return server.url


def redis_client(url: str) -> aioredis.Redis:
    # Short timeouts: the limiter guards every call, and a hung Redis must turn into a
    # clear "limiter unavailable" quickly rather than a hung tool call.
    client: aioredis.Redis = aioredis.Redis.from_url(
        url,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=15,
        retry=Retry(NoBackoff(), 0),
    )
    return client


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as stack:
        database_url = await resolve_database_url(settings, stack)
        redis_url = await resolve_redis_url(settings, stack)
        db = await Database.connect(database_url, max_size=settings.pam_db_pool_size)
        stack.push_async_callback(db.close)
        client = redis_client(redis_url)
        stack.push_async_callback(client.aclose)
        yield Runtime(settings, db, client, database_url, redis_url)


async def stdio_user(runtime: Runtime) -> uuid.UUID:
    """The person a stdio session acts for: ``PAM_USER_ID``, or the embedded default's local user.

    The id is checked against ``auth.users`` once at start-up (an admin read, not a user's data).
    """
    settings = runtime.settings
    if settings.pam_user_id is not None:
        async with runtime.db.as_owner() as tx:
            exists = await tx.fetchval("select exists (select 1 from auth.users where id = $1)", settings.pam_user_id)
        if not exists:
            raise ConfigurationError(f"PAM_USER_ID {settings.pam_user_id} is not a user of this database (auth.users).")
        return settings.pam_user_id
    if not settings.embedded_postgres:
        raise ConfigurationError("Set PAM_USER_ID to the Supabase user (a UUID from auth.users) this server acts for.")
    return await _local_user(runtime)


async def _local_user(runtime: Runtime) -> uuid.UUID:
    """Create the embedded default's one local user on first start, and keep it."""
    marker = runtime.settings.pam_data_dir / "local-user-id"
    if marker.exists():
        user_id = uuid.UUID(marker.read_text(encoding="utf-8").strip())
    else:
        user_id = uuid.uuid4()
    async with runtime.db.as_owner() as tx:
        await tx.execute(
            "insert into auth.users (id, email, raw_user_meta_data) values ($1, $2, $3::jsonb)"
            " on conflict (id) do nothing",
            user_id,
            "local@pam-mcp.invalid",
            '{"created_by": "pam-mcp embedded default"}',
        )
    if not marker.exists():
        marker.write_text(f"{user_id}\n", encoding="utf-8")
        log.info("created the local user %s", user_id)
    return user_id
