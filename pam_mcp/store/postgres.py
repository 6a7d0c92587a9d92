"""PostgreSQL connections, and the two ways to act for a user: ``Database.as_user`` and ``Database.call_as``.

Every read or write on a person's behalf runs in one transaction in which, exactly as
PostgREST does behind Supabase's API, the role is ``authenticated`` and
``request.jwt.claims`` names the user, both set transaction-locally
(``set_config(..., true)``). Row level security then decides what the statement may
touch. Nothing is set at session level, so a pooled connection carries nothing from
one borrower to the next (asyncpg's own reset runs ``RESET ALL``, which would not undo a
session ``SET ROLE`` anyway).

``as_user`` is an open transaction (BEGIN with the claims, the statements, COMMIT: three round
trips at least). ``call_as`` runs one operation, ``public.<function>(named args)``, in ONE
round trip: a single statement, its own transaction, that calls
``pam_internal.call_as`` (migrations/20261201000500_call_as_person.sql), which sets the
same two settings transaction-locally and then calls the operation as ``authenticated``.
Its security review is docs/security-call-as-person.md.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from pam_mcp.errors import DatabaseUnavailable, OutcomeUnknown
from pam_mcp.store.arguments import json_arguments
from pam_mcp.store.translate import translate

Record = asyncpg.Record
ACQUIRE_TIMEOUT_SECONDS = 10
# Warm connections: a statement's first run on a new connection is about 5x slower (it is
# parsed, planned and prepared there), so the pool opens this many at start and keeps them.
WARM_CONNECTIONS = 4
# asyncpg closes a connection idle this long (its default is 300 s, which made a quiet
# server pay the cold start again every few minutes); 30 minutes still lets a pooler or a
# restarted server's dead connections go.
IDLE_CONNECTION_SECONDS = 1800.0

# One statement text for every operation, so asyncpg prepares it once per connection and each
# call is Bind/Execute/Sync: one round trip. The arguments travel as JSON text (cast here, so
# the jsonb codec does not encode the text a second time); the answer comes back as text so
# money keeps its digits (json.loads with parse_float=Decimal below).
_CALL_AS = "select pam_internal.call_as($1::uuid, $2::text, $3::text::jsonb)::text"
# What a function or argument name may look like. The database resolves both against the
# catalog and never splices them into SQL unquoted; refusing anything else here fails a
# programming error before it costs a round trip.
_SQL_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    """JSON in and out as Python objects, once per new connection (no per-call cost)."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(_conn: asyncpg.Connection[Any]) -> None:
    """Pool reset hook: nothing to reset.

    All per-user state is transaction-local, and asyncpg rolls back any open transaction
    before calling this. Skipping its default ``RESET ALL`` saves a round trip per call.
    """


def claims_for(user_id: uuid.UUID) -> str:
    """The JWT claims a Supabase access token for this user carries, as RLS reads them."""
    return json.dumps({"sub": str(user_id), "role": "authenticated", "aud": "authenticated"})


def call_arguments(function: str, args: dict[str, Any]) -> str:
    """The named arguments of ``public.<function>`` as one JSON object; refuses names that are not
    plain lower-case SQL identifiers (the database would refuse them too)."""
    for name in (function, *args):
        if not _SQL_NAME.fullmatch(name):
            raise ValueError(f"call_as: {name!r} is not a function or argument name")
    return json_arguments(args)


def _transaction_pooler(dsn: str) -> bool:
    parts = urlsplit(dsn)
    return parts.port == 6543 or "pgbouncer=true" in parts.query


class UserTx:
    """One open transaction acting as one user. Driver errors leave it as PamErrors."""

    def __init__(
        self,
        conn: asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any],
        user_id: uuid.UUID,
    ) -> None:
        self._conn = conn
        self.user_id = user_id

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        try:
            return await self._conn.fetch(sql, *args)
        except Exception as exc:
            raise translate(exc) from None

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        try:
            return await self._conn.fetchrow(sql, *args)
        except Exception as exc:
            raise translate(exc) from None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self._conn.fetchval(sql, *args)
        except Exception as exc:
            raise translate(exc) from None

    async def execute(self, sql: str, *args: Any) -> str:
        try:
            return await self._conn.execute(sql, *args)
        except Exception as exc:
            raise translate(exc) from None

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            await self._conn.executemany(sql, rows)
        except Exception as exc:
            raise translate(exc) from None


class Database:
    """A pool of connections to one PostgreSQL database."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int | None = None, max_size: int = 10) -> Database:
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min(WARM_CONNECTIONS, max_size) if min_size is None else min_size,
                max_size=max_size,
                max_inactive_connection_lifetime=IDLE_CONNECTION_SECONDS,
                reset=_keep_session,
                init=_init_connection,
                command_timeout=30,
                # A pooler in transaction mode (Supabase's port 6543) cannot keep prepared
                # statements between transactions; asyncpg must not cache them there.
                statement_cache_size=0 if _transaction_pooler(dsn) else 100,
            )
        except Exception as exc:
            raise DatabaseUnavailable(
                "The database cannot be reached; check DATABASE_URL and that PostgreSQL is running."
            ) from translate(exc)
        return cls(pool)

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        """The underlying pool, for measuring and admin tools: a user's data goes through ``as_user``."""
        return self._pool

    async def close(self) -> None:
        await self._pool.close()

    async def _acquire(self) -> asyncpg.pool.PoolConnectionProxy[Any]:
        try:
            # Bounded: with every connection busy, a call fails clearly instead of queueing forever.
            return await self._pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS)
        except Exception as exc:
            raise translate(exc) from None

    async def _release(self, conn: asyncpg.pool.PoolConnectionProxy[Any]) -> None:
        try:
            await self._pool.release(conn)
        except Exception as exc:  # the pool has terminated the connection; nothing leaks
            translate(exc)

    @asynccontextmanager
    async def _transaction(self, begin: str, user_id: uuid.UUID) -> AsyncIterator[UserTx]:
        """BEGIN, yield, COMMIT (ROLLBACK on error)."""
        conn = await self._acquire()
        try:
            try:
                await conn.execute(begin)
            except Exception as exc:
                # BEGIN may have run before set_config failed: end it here, not in the pool.
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
                raise translate(exc) from None
            try:
                yield UserTx(conn, user_id)
            except BaseException:
                try:
                    await conn.execute("ROLLBACK")
                except BaseException:
                    # A connection whose transaction state is unknown must never be reused.
                    # When the server dropped it, asyncpg has already detached it from us
                    # and terminate() raises too; either way it is gone from the pool.
                    with contextlib.suppress(Exception):
                        conn.terminate()
                raise
            try:
                await conn.execute("COMMIT")
            except Exception as exc:
                error = translate(exc)
                # COMMIT was sent and no answer came: the server may have committed.
                raise (OutcomeUnknown() if isinstance(error, DatabaseUnavailable) else error) from None
        finally:
            await self._release(conn)

    def as_user(self, user_id: uuid.UUID) -> AbstractAsyncContextManager[UserTx]:
        """One transaction as ``user_id`` under RLS: committed on success, rolled back on error.

        For several statements in one transaction; one operation is cheaper as ``call_as``.
        """
        # The claims are built from a parsed UUID, never from text a caller supplied, so
        # embedding them lets BEGIN and both set_config calls travel in one round trip.
        user_id = uuid.UUID(str(user_id))
        claims = claims_for(user_id).replace("'", "''")
        begin = (
            "BEGIN; SELECT set_config('role', 'authenticated', true), "
            f"set_config('request.jwt.claims', '{claims}', true)"
        )
        return self._transaction(begin, user_id)

    async def call_as(
        self, user_id: uuid.UUID, function: str, args: dict[str, Any] | None = None, *, writes: bool = True
    ) -> Any:
        """``public.<function>(**args)`` as ``user_id`` under RLS, in one round trip and one transaction.

        The result is the function's value as JSON (a set-returning function's rows as a list of
        objects), numbers as ``int`` or ``Decimal``. Only a function in schema ``public`` that role
        ``authenticated`` may execute, that is not SECURITY DEFINER, has no overload and is owned
        by the migrations' role is called (the database checks). Errors leave as PamErrors,
        exactly as from ``as_user``. The statement is its own transaction, so when the connection
        breaks after it was sent, the change may have committed: ``OutcomeUnknown`` unless
        ``writes=False`` says the function changes nothing.
        """
        payload = call_arguments(function, args or {})
        user_id = uuid.UUID(str(user_id))
        conn = await self._acquire()
        try:
            text = await conn.fetchval(_CALL_AS, user_id, function, payload)
        except Exception as exc:
            error = translate(exc)
            # An error the statement raised (a rule, a cancel) rolled it back; a connection that
            # broke or a server that shut down after the statement was sent leaves it unknown.
            lost = isinstance(error, DatabaseUnavailable) and not isinstance(exc, asyncpg.QueryCanceledError)
            raise (OutcomeUnknown() if writes and lost else error) from None
        except BaseException:
            # Cancelled mid-statement: the connection's state is unknown; never reuse it.
            with contextlib.suppress(Exception):
                conn.terminate()
            raise
        finally:
            await self._release(conn)
        return None if text is None else json.loads(text, parse_float=Decimal)

    def as_owner(self) -> AbstractAsyncContextManager[UserTx]:
        """A transaction as the login role (the schema owner): migrations and admin work only.

        Never used for a user's data; the owner bypasses row level security.
        """
        return self._transaction("BEGIN", uuid.UUID(int=0))
