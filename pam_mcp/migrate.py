"""The migration runner: applies ``migrations/*.sql`` in order and keeps one history with
the Supabase CLI.

History lives where ``supabase db push`` keeps its own,
``supabase_migrations.schema_migrations`` (version, name, statements), with one added
column, ``checksum``, so that a file changed after it was applied is caught. A row the CLI
wrote has no checksum and is accepted as applied ("unchecked").

On a plain PostgreSQL (no ``auth.users``) the Supabase stand-in in ``sql/`` is installed
first: the ``auth`` schema, ``auth.uid()``/``auth.jwt()`` and the three API roles. On a
real Supabase database that step is skipped and nothing of Supabase's is touched.

Each file runs in its own transaction; an advisory lock keeps two processes that start at
once (several server replicas, say) from applying the same file twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import asyncpg

from pam_mcp.errors import MigrationError
from pam_mcp.store.translate import translate

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")
# Any fixed 64-bit number; the same one in every pam-mcp process.
_LOCK_KEY = 0x70616D5F6D6967
_STANDIN = Path(__file__).parent / "sql" / "supabase_auth_standin.sql"

State = Literal["applied", "pending", "changed", "unchecked", "missing_file"]


def migrations_dir() -> Path:
    """The ``migrations/`` folder: beside the package in a checkout, inside it when installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "migrations", here / "migrations"):
        if candidate.is_dir():
            return candidate
    raise MigrationError("The migrations folder is missing from this installation of pam-mcp.")


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    version: str
    name: str
    state: State


def load_migrations(folder: Path) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: migration files are named YYYYMMDDHHMMSS_snake_name.sql (Supabase CLI style)."
            )
        found.append(Migration(match["version"], match["name"], path, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError("Two migration files share one version number.")
    return found


async def _ensure_history(conn: asyncpg.Connection[Any]) -> None:
    await conn.execute(
        """
        create schema if not exists supabase_migrations;
        create table if not exists supabase_migrations.schema_migrations (
          version text primary key, statements text[], name text);
        alter table supabase_migrations.schema_migrations add column if not exists checksum text;
        """
    )


async def _applied(conn: asyncpg.Connection[Any]) -> dict[str, str | None]:
    """Applied versions and their checksums (None where the Supabase CLI applied the file).

    Reading must not need the ``checksum`` column: on a database only ``supabase db push``
    has migrated it does not exist, and ``migrate --status``, ``doctor`` and ``serve`` read
    this history there too. Only ``migrate`` adds the column. ``to_jsonb`` of the whole row
    gives NULL for a key that is not there, so one query serves both shapes of the table.
    """
    rows = await conn.fetch(
        "select h.version, to_jsonb(h) ->> 'checksum' as checksum from supabase_migrations.schema_migrations as h"
    )
    return {row["version"]: row["checksum"] for row in rows}


def _status(files: list[Migration], applied: dict[str, str | None]) -> list[MigrationStatus]:
    out: list[MigrationStatus] = []
    for m in files:
        if m.version not in applied:
            state: State = "pending"
        elif applied[m.version] is None:
            state = "unchecked"
        elif applied[m.version] != m.checksum:
            state = "changed"
        else:
            state = "applied"
        out.append(MigrationStatus(m.version, m.name, state))
    known = {m.version for m in files}
    out.extend(MigrationStatus(v, "", "missing_file") for v in sorted(applied) if v not in known)
    return sorted(out, key=lambda s: s.version)


async def _connect(dsn: str) -> asyncpg.Connection[Any]:
    try:
        return await asyncpg.connect(dsn)
    except Exception as exc:
        raise translate(exc) from None


async def migration_status(dsn: str, folder: Path | None = None) -> list[MigrationStatus]:
    files = load_migrations(folder or migrations_dir())
    conn = await _connect(dsn)
    try:
        exists = await conn.fetchval("select to_regclass('supabase_migrations.schema_migrations') is not null")
        applied = await _applied(conn) if exists else {}
        return _status(files, applied)
    finally:
        await conn.close()


async def install_supabase_standin(conn: asyncpg.Connection[Any]) -> bool:
    """Install the auth stand-in when this is not a Supabase database. Returns True if it did."""
    if await conn.fetchval("select to_regclass('auth.users') is not null"):
        return False
    async with conn.transaction():
        await conn.execute(_STANDIN.read_text(encoding="utf-8"))
    log.info("installed the Supabase auth stand-in (schema auth, roles anon/authenticated/service_role)")
    return True


async def migrate(dsn: str, folder: Path | None = None) -> list[str]:
    """Apply every pending migration; return the versions applied (empty when up to date)."""
    files = load_migrations(folder or migrations_dir())
    conn = await _connect(dsn)
    try:
        await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
        try:
            return await _migrate_locked(conn, files)
        finally:
            await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"Migration failed: {exc.__class__.__name__}: {exc}") from None
    finally:
        await conn.close()


async def _migrate_locked(conn: asyncpg.Connection[Any], files: list[Migration]) -> list[str]:
    await install_supabase_standin(conn)
    await _ensure_history(conn)
    status = _status(files, await _applied(conn))
    changed = [s for s in status if s.state == "changed"]
    if changed:
        names = ", ".join(f"{s.version}_{s.name}.sql" for s in changed)
        raise MigrationError(
            f"Refusing to migrate: already-applied migration(s) were changed afterwards: {names}. "
            "Add a new migration instead of editing an applied one."
        )
    pending = {s.version for s in status if s.state == "pending"}
    done: list[str] = []
    for m in files:
        if m.version not in pending:
            continue
        try:
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "insert into supabase_migrations.schema_migrations (version, name, statements, checksum)"
                    " values ($1, $2, $3, $4)",
                    m.version,
                    m.name,
                    [m.sql],
                    m.checksum,
                )
        except asyncpg.PostgresError as exc:
            raise MigrationError(f"{m.path.name} failed and was rolled back: {exc}") from None
        log.info("applied migration %s_%s", m.version, m.name)
        done.append(m.version)
    return done
