"""``pam-mcp doctor``: what is configured, what can be reached, and what is wrong.

Each check ends as one row: ok, failed, or skipped (with the reason or advice). A check
never raises: whatever goes wrong inside it becomes that row's failure, in words for a
person, with every configured secret scrubbed out. Doctor changes nothing on a configured
database or Redis; on the embedded default it starts the private embedded servers and
applies migrations exactly as ``pam-mcp serve`` would on start.

The checks live in ``checks`` (configuration, PostgreSQL, Redis, schema, user) and
``auth_checks`` (Supabase's REST API, JWTs, OAuth); the rows and their rendering in ``report``.
Importing this package loads neither the server stack nor a driver: each check imports what it uses.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import anyio

from pam_mcp.doctor import checks as local
from pam_mcp.doctor.auth_checks import jwt_checks, rest_api
from pam_mcp.doctor.report import Check, guard, healthy, render_json, render_table, scrub, secrets_of
from pam_mcp.masking import mask_url
from pam_mcp.settings import Settings

# The limiter's row, importable alone (the rate configuration is reported without the server stack).
_limiter_config = local.limiter_config

__all__ = ["Check", "doctor", "healthy", "render_json", "render_table", "run_checks"]


async def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a person would read them. Never raises for a check's failure."""
    checks: list[Check] = []
    checks += local.store_config(settings)
    checks += await guard("limiter", lambda: _async(local.limiter_config(settings)))

    if settings.rest_store:
        checks += await guard("supabase rest", lambda: rest_api(settings))
        async with AsyncExitStack() as stack:
            checks += await guard("redis", lambda: local.redis_configured_or_embedded(settings, stack))
        checks += await jwt_checks(settings)
        secrets = secrets_of(settings)
        return [scrub(c, secrets) for c in checks]

    async with AsyncExitStack() as stack:
        dsn: str | None = None

        async def postgres() -> Check:
            nonlocal dsn
            from pam_mcp.runtime import resolve_database_url

            timeout = local.EMBEDDED_START_TIMEOUT if settings.embedded_postgres else local.CONNECT_TIMEOUT
            with anyio.fail_after(timeout):
                resolved = await resolve_database_url(settings, stack)
            check = await local.postgres(resolved)
            dsn = resolved
            return check

        postgres_checks = await guard("postgres", postgres)
        if dsn is None and settings.database_url is not None:
            shown = mask_url(settings.database_url.get_secret_value())
            postgres_checks = [
                Check(c.name, c.ok, f"cannot be reached at {shown}: {c.detail}", c.latency_ms) for c in postgres_checks
            ]
        checks += postgres_checks

        checks += await guard("redis", lambda: local.redis_configured_or_embedded(settings, stack))

        if dsn is None:
            for name in ("migrations", "row level security", "schema lint", "user"):
                checks.append(Check(name, None, "not checked: the database cannot be reached"))
        else:
            reached = dsn
            checks += await guard("migrations", lambda: local.migrations(reached))
            checks += await guard("schema", lambda: local.schema(reached, settings))

    checks += await jwt_checks(settings)
    secrets = secrets_of(settings)
    return [scrub(c, secrets) for c in checks]


async def _async(check: Check) -> Check:
    return check


async def doctor(settings: Settings, as_json: bool) -> int:
    """The ``pam-mcp doctor`` command: report on stdout, exit status 0 only when nothing failed."""
    checks = await run_checks(settings)
    print(render_json(checks) if as_json else render_table(checks))
    return 0 if healthy(checks) else 1
