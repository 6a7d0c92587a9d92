"""Doctor's checks of the local configuration and backends: store, limiter, PostgreSQL, Redis, schema, user.

The database is asked through ``pam_mcp.store.admin`` (owner-level reads, never a person's
data) and ``pam_mcp.migrate``; this module writes no SQL of its own.
"""

from __future__ import annotations

import time
import uuid
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import anyio

from pam_mcp.doctor.report import Check, describe, ms
from pam_mcp.masking import mask_url
from pam_mcp.settings import Settings

if TYPE_CHECKING:
    from pam_mcp.store.postgres import Database

# Bounds on every wait, so a stopped or black-holed server turns into a failed row quickly.
CONNECT_TIMEOUT = 5.0
# Starting the embedded PostgreSQL on a fresh data directory runs initdb first.
EMBEDDED_START_TIMEOUT = 120.0
QUERY_TIMEOUT = 30.0


def store_config(settings: Settings) -> list[Check]:
    if settings.rest_store:
        key = "anon key set" if settings.supabase_anon_key is not None else "SUPABASE_ANON_KEY is missing"
        return [
            Check(
                "store",
                settings.supabase_anon_key is not None,
                f"Supabase REST API at {settings.supabase_url} ({key}; every request carries the user's own token)",
            )
        ]
    if settings.database_url is not None:
        return [Check("store", True, f"DATABASE_URL {mask_url(settings.database_url.get_secret_value())}")]
    return [
        Check(
            "store",
            True,
            f"embedded PostgreSQL in {settings.pam_data_dir / 'postgres'} "
            "(private to pam-mcp: doctor starts it and applies migrations as `pam-mcp serve` does)",
        )
    ]


def limiter_config(settings: Settings) -> Check:
    # The rates themselves were validated when the settings were read.
    if settings.redis_url is not None:
        where = f"REDIS_URL {mask_url(settings.redis_url.get_secret_value())}"
    else:
        where = f"embedded Redis in {settings.pam_data_dir / 'redis'}"
    tools = "".join(f", {name} {rates}" for name, rates in sorted(settings.tool_rate_limits.items()))
    on_down = settings.pam_rate_limit_on_redis_down
    return Check("limiter", True, f"{where}, limit {settings.rate_limits}{tools}, {on_down} calls when Redis is down")


async def postgres(dsn: str) -> Check:
    from pam_mcp.store.admin import probe_server

    probe = await probe_server(dsn, connect_timeout=CONNECT_TIMEOUT, query_timeout=QUERY_TIMEOUT)
    latency = ms(probe.select_seconds)
    detail = f"PostgreSQL {probe.version}: select 1 in {latency} ms (connect {ms(probe.connect_seconds)} ms)"
    return Check("postgres", True, detail, latency)


async def redis(url: str, shown: str) -> Check:
    from pam_mcp.runtime import redis_client

    client = redis_client(url)
    try:
        try:
            with anyio.fail_after(CONNECT_TIMEOUT):
                await client.ping()  # opens the connection
                started = time.perf_counter()
                await client.ping()
                latency = time.perf_counter() - started
                info = await client.info("server")
        except Exception as exc:
            return Check("redis", False, f"cannot be reached at {shown}: {describe(exc)}")
    finally:
        await client.aclose()
    version = info.get("redis_version", "?") if isinstance(info, dict) else "?"
    return Check("redis", True, f"Redis {version}: PING in {ms(latency)} ms", ms(latency))


async def redis_configured_or_embedded(settings: Settings, stack: AsyncExitStack) -> Check:
    from pam_mcp.runtime import resolve_redis_url

    if settings.redis_url is None:
        with anyio.fail_after(EMBEDDED_START_TIMEOUT):
            url = await resolve_redis_url(settings, stack)
        return await redis(url, "the embedded Redis")
    url = settings.redis_url.get_secret_value()
    return await redis(url, mask_url(url))


async def migrations(dsn: str) -> Check:
    from pam_mcp.migrate import migration_status

    with anyio.fail_after(QUERY_TIMEOUT):
        rows = await migration_status(dsn)
    pending = [f"{r.version}_{r.name}.sql" for r in rows if r.state == "pending"]
    changed = [f"{r.version}_{r.name}.sql" for r in rows if r.state == "changed"]
    applied = [r for r in rows if r.state in ("applied", "unchecked")]
    others = [r for r in rows if r.state == "missing_file"]
    lines: list[str] = []
    if pending:
        lines.append(f"{len(pending)} pending (run `pam-mcp migrate`): " + ", ".join(pending))
    if changed:
        lines.append(
            f"{len(changed)} changed after being applied (restore the file; add a new migration instead): "
            + ", ".join(changed)
        )
    summary = f"{len(applied)} of {len(rows) - len(others)} applied"
    if others:
        # A Supabase project shares this history with its other tools' migrations.
        summary += f"; {len(others)} other version(s) in the history that pam-mcp does not ship"
    if lines:
        return Check("migrations", False, "; ".join(lines) + f" ({summary})")
    return Check("migrations", True, summary)


async def schema(dsn: str, settings: Settings) -> list[Check]:
    from pam_mcp.store.admin import schema_report
    from pam_mcp.store.postgres import Database

    with anyio.fail_after(CONNECT_TIMEOUT + QUERY_TIMEOUT):
        db = await Database.connect(dsn, min_size=1, max_size=1)
        try:
            report = await schema_report(db)
            user = await _user(db, settings)
        finally:
            await db.close()
    problems, tables = report.problems, report.tables
    rls = [p for p in problems if p.rule == "rls_disabled_in_public"]
    rest = [p for p in problems if p.rule != "rls_disabled_in_public"]
    rls_check = (
        Check("row level security", False, "; ".join(f"{p.rule}: table {p.table} ({p.detail})" for p in rls))
        if rls
        else Check(
            "row level security",
            True,
            f"on for all {tables} tables in schema public" if tables else "no tables in schema public yet",
        )
    )
    lint_check = (
        Check("schema lint", False, "; ".join(f"{p.rule}: {p.table} ({p.detail})" for p in rest))
        if rest
        else Check("schema lint", True, "every linter rule holds in schema public")
    )
    return [rls_check, lint_check, user]


async def _user(db: Database, settings: Settings) -> Check:
    from pam_mcp.store.admin import user_exists

    async def exists(user_id: uuid.UUID) -> bool:
        return await user_exists(db, user_id)

    if settings.pam_user_id is not None:
        if await exists(settings.pam_user_id):
            return Check("user", True, f"PAM_USER_ID {settings.pam_user_id} is a user of this database")
        return Check("user", False, f"PAM_USER_ID {settings.pam_user_id} is not in auth.users of this database")
    if not settings.embedded_postgres:
        return Check(
            "user",
            None,
            "PAM_USER_ID is not set: fine for HTTP mode (each token names its user), but stdio mode needs it "
            "set to a UUID from auth.users",
        )
    marker = settings.pam_data_dir / "local-user-id"
    if not marker.exists():
        return Check("user", None, f"no local user yet: it is created on first start ({marker})")
    try:
        local = uuid.UUID(marker.read_text(encoding="utf-8").strip())
    except ValueError:
        return Check("user", False, f"{marker} does not hold a user id; delete it to have a new local user made")
    if await exists(local):
        return Check("user", True, f"local user {local} ({marker})")
    return Check("user", None, f"local user {local} is not in auth.users yet; it is added again on next start")
