"""Owner-level SQL that is nobody's data: start-up checks, the embedded local user, doctor's probes.

Every statement here runs as the login role (the schema owner), never for a person: it asks
whether an ``auth.users`` id exists, creates the embedded default's one local user, and
measures and inspects the database for ``pam-mcp doctor``. A person's reads and writes go
through ``Database.as_user`` and row level security, never through this module.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import anyio
import asyncpg

from pam_mcp.store.lint import Problem, lint
from pam_mcp.store.postgres import Database

LOCAL_USER_EMAIL = "local@pam-mcp.invalid"


@dataclass(frozen=True)
class ServerProbe:
    """What a fresh connection to the server measured."""

    version: str
    connect_seconds: float
    # One `select 1` on a connection that has already run it (statement preparation excluded).
    select_seconds: float


@dataclass(frozen=True)
class SchemaReport:
    problems: list[Problem]
    # Tables (plain and partitioned) in schema public.
    tables: int


async def probe_server(dsn: str, *, connect_timeout: float, query_timeout: float) -> ServerProbe:
    """Connect once (not through a pool) and time a trivial query; the driver's errors pass through,
    for the caller to describe (doctor says "connection refused", not a translated sentence)."""
    started = time.perf_counter()
    with anyio.fail_after(connect_timeout + 1):
        conn = await asyncpg.connect(dsn, timeout=connect_timeout)
    connected = time.perf_counter() - started
    try:
        with anyio.fail_after(query_timeout):
            await conn.fetchval("select 1")  # the first query also pays for statement preparation
            started = time.perf_counter()
            await conn.fetchval("select 1")
            latency = time.perf_counter() - started
            version = await conn.fetchval("show server_version")
    finally:
        await conn.close()
    return ServerProbe(str(version).split()[0], connected, latency)


async def user_exists(db: Database, user_id: uuid.UUID) -> bool:
    """Is ``user_id`` in ``auth.users``? False, not an error, on a database without that table."""
    async with db.as_owner() as tx:
        if not await tx.fetchval("select to_regclass('auth.users') is not null"):
            return False
        return bool(await tx.fetchval("select exists (select 1 from auth.users where id = $1)", user_id))


async def ensure_local_user(db: Database, user_id: uuid.UUID) -> None:
    """The embedded default's one local user, as Supabase Auth would have created it (idempotent)."""
    async with db.as_owner() as tx:
        await tx.execute(
            "insert into auth.users (id, email, raw_user_meta_data) values ($1, $2, $3::jsonb)"
            " on conflict (id) do nothing",
            user_id,
            LOCAL_USER_EMAIL,
            '{"created_by": "pam-mcp embedded default"}',
        )


async def schema_report(db: Database) -> SchemaReport:
    """Every linter problem in schema public, and how many tables it has, in one transaction."""
    async with db.as_owner() as tx:
        problems = await lint(tx)
        tables = await tx.fetchval(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'public' and c.relkind in ('r', 'p')"
        )
    return SchemaReport(problems, int(tables))
