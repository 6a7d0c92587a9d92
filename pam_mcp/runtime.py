"""The running backends of one pam-mcp process: the store, the Redis client, embedded servers.

``open_runtime`` resolves the configuration into live connections: the servers named by
``DATABASE_URL``/``REDIS_URL``, or embedded ones started in ``PAM_DATA_DIR``. On the
embedded default it also applies the migrations, so a fresh machine needs no set-up step;
against a configured database it never changes the schema (that is ``pam-mcp migrate``'s
job, or ``supabase db push``'s). With ``SUPABASE_URL`` and no ``DATABASE_URL`` the store is
Supabase's REST API instead, and no database pool is opened at all.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pam_mcp.embedded import start_postgres, start_redis
from pam_mcp.errors import ConfigurationError
from pam_mcp.migrate import migrate, migration_status
from pam_mcp.settings import Settings
from pam_mcp.store import admin
from pam_mcp.store.base import Store
from pam_mcp.store.postgres import Database
from pam_mcp.store.rest_store import RestStore
from pam_mcp.store.sql_store import PostgresStore
from pam_mcp.store.supabase_session import SupabaseSession

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    # None on the REST store: there is no database connection, only Supabase's API.
    db: Database | None
    redis: aioredis.Redis
    database_url: str | None
    redis_url: str
    # The HTTP client the REST store and the stdio sign-in share (None on the Postgres store).
    http: httpx.AsyncClient | None = None
    # The stdio user's own sign-in on the REST store, when credentials are configured.
    supabase_session: SupabaseSession | None = None


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


def supabase_http_client() -> httpx.AsyncClient:
    # One connection pool for every caller; each request carries its own caller's token.
    # Short timeouts, for the same reason as Redis's: a hung call should fail clearly.
    return httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0), limits=httpx.Limits(max_connections=50))


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as stack:
        redis_url = await resolve_redis_url(settings, stack)
        client = redis_client(redis_url)
        stack.push_async_callback(client.aclose)
        if settings.rest_store:
            if settings.supabase_anon_key is None:
                raise ConfigurationError(
                    "SUPABASE_URL without DATABASE_URL uses Supabase's REST API: set SUPABASE_ANON_KEY "
                    "(the project's anon key). The service-role key is never used for a user's data."
                )
            http = supabase_http_client()
            stack.push_async_callback(http.aclose)
            session = _stdio_session(settings, http)
            store = RestStore(
                supabase_url=str(settings.supabase_url),
                anon_key=settings.supabase_anon_key.get_secret_value(),
                http=http,
                session=session,
            )
            yield Runtime(settings, store, None, client, None, redis_url, http, session)
            return
        database_url = await resolve_database_url(settings, stack)
        if settings.database_url is not None:
            await require_current_schema(database_url)
        db = await Database.connect(database_url, max_size=settings.pam_db_pool_size)
        stack.push_async_callback(db.close)
        yield Runtime(settings, PostgresStore(db), db, client, database_url, redis_url)


async def require_current_schema(database_url: str) -> None:
    """Refuse to serve a configured database that lacks this version's migrations.

    Otherwise every tool would fail with an opaque database error; this way the person who
    starts the server reads what to run.
    """
    stale = [s for s in await migration_status(database_url) if s.state in ("pending", "changed")]
    if stale:
        names = ", ".join(f"{s.version}_{s.name}.sql ({s.state})" for s in stale)
        raise ConfigurationError(
            f"The database is not up to date with this pam-mcp: {names}. "
            "Run `pam-mcp migrate` (or `supabase db push`) first."
        )


def _stdio_session(settings: Settings, http: httpx.AsyncClient) -> SupabaseSession | None:
    """The stdio user's own sign-in, when credentials are configured (HTTP callers bring tokens)."""
    if not (settings.pam_user_email or settings.pam_user_password or settings.pam_user_refresh_token):
        return None
    return supabase_session(settings, http)


def supabase_session(settings: Settings, http: httpx.AsyncClient) -> SupabaseSession:
    """The configured user's Supabase sign-in (PAM_USER_EMAIL + PAM_USER_PASSWORD or PAM_USER_REFRESH_TOKEN)."""
    if not settings.supabase_url or settings.supabase_anon_key is None:
        raise ConfigurationError("Set SUPABASE_URL and SUPABASE_ANON_KEY to sign in to a Supabase project.")
    if settings.pam_user_email and settings.pam_user_password is None:
        raise ConfigurationError("PAM_USER_EMAIL is set without PAM_USER_PASSWORD.")
    password, refresh_token = settings.pam_user_password, settings.pam_user_refresh_token
    return SupabaseSession(
        supabase_url=settings.supabase_url,
        anon_key=settings.supabase_anon_key.get_secret_value(),
        http=http,
        email=settings.pam_user_email,
        password=password.get_secret_value() if password is not None else None,
        refresh_token=refresh_token.get_secret_value() if refresh_token is not None else None,
    )


async def stdio_user(runtime: Runtime) -> uuid.UUID:
    """The person a stdio session acts for.

    On the REST store: the user who signs in with PAM_USER_EMAIL + PAM_USER_PASSWORD (or
    PAM_USER_REFRESH_TOKEN). Otherwise ``PAM_USER_ID``, checked against ``auth.users`` once at
    start-up (an admin read, not a user's data), or the embedded default's local user.
    """
    settings = runtime.settings
    if runtime.db is None:
        session = runtime.supabase_session
        if session is None:
            raise ConfigurationError(
                "On a Supabase project the stdio user signs in as themselves: set PAM_USER_EMAIL and "
                "PAM_USER_PASSWORD, or PAM_USER_REFRESH_TOKEN."
            )
        user_id = await session.sign_in()
        if settings.pam_user_id is not None and settings.pam_user_id != user_id:
            raise ConfigurationError(
                f"PAM_USER_ID {settings.pam_user_id} is not the user who signed in ({user_id}); unset it or fix it."
            )
        return user_id
    if settings.pam_user_id is not None:
        if not await admin.user_exists(runtime.db, settings.pam_user_id):
            raise ConfigurationError(f"PAM_USER_ID {settings.pam_user_id} is not a user of this database (auth.users).")
        return settings.pam_user_id
    if not settings.embedded_postgres:
        raise ConfigurationError("Set PAM_USER_ID to the Supabase user (a UUID from auth.users) this server acts for.")
    return await _local_user(runtime)


async def _local_user(runtime: Runtime) -> uuid.UUID:
    """Create the embedded default's one local user on first start, and keep it."""
    assert runtime.db is not None  # the embedded default always has its database
    marker = runtime.settings.pam_data_dir / "local-user-id"
    if marker.exists():
        user_id = uuid.UUID(marker.read_text(encoding="utf-8").strip())
    else:
        user_id = uuid.uuid4()
    await admin.ensure_local_user(runtime.db, user_id)
    if not marker.exists():
        marker.write_text(f"{user_id}\n", encoding="utf-8")
        log.info("created the local user %s", user_id)
    return user_id
