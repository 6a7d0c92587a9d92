"""``pam-mcp doctor``: what is configured, what can be reached, and what is wrong.

Each check ends as one row: ok, failed, or skipped (with the reason or advice). A check
never raises: whatever goes wrong inside it becomes that row's failure, in words for a
person, with every configured secret scrubbed out. Doctor changes nothing on a configured
database or Redis; on the embedded default it starts the private embedded servers and
applies migrations exactly as ``pam-mcp serve`` would on start.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio

from pam_mcp.errors import PamError
from pam_mcp.masking import mask_url, url_secrets
from pam_mcp.settings import Settings

# Bounds on every wait, so a stopped or black-holed server turns into a failed row quickly.
CONNECT_TIMEOUT = 5.0
# Starting the embedded PostgreSQL on a fresh data directory runs initdb first.
EMBEDDED_START_TIMEOUT = 120.0
QUERY_TIMEOUT = 30.0
HTTP_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    """One row of the report. ``ok`` is None when the check was skipped."""

    name: str
    ok: bool | None
    detail: str
    latency_ms: float | None = None

    @property
    def status(self) -> str:
        return "ok" if self.ok else "skipped" if self.ok is None else "FAILED"


def _secrets(settings: Settings) -> list[str]:
    found = [
        key.get_secret_value()
        for key in (settings.supabase_jwt_secret, settings.supabase_service_role_key, settings.supabase_anon_key)
        if key is not None
    ]
    for url in (settings.database_url, settings.redis_url):
        if url is None:
            continue
        # A URL's secrets are its password and secret parameters; the host is what a person needs to see.
        found += url_secrets(url.get_secret_value())
    # Longest first, so a password inside a whole URL does not leave the rest behind.
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _describe(exc: BaseException) -> str:
    """An exception as one sentence for a person (never a traceback)."""
    if isinstance(exc, PamError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    # Redis's connection errors already say what happened; their class name adds nothing.
    if type(exc).__name__ in ("ConnectionError", "TimeoutError"):
        return text[0]
    return f"{type(exc).__name__}: {text[0]}"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# -- the checks ----------------------------------------------------------------------------------


def _store_config(settings: Settings) -> list[Check]:
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


async def _rest_api(settings: Settings) -> list[Check]:
    """The REST store's reachability, and the stdio user's sign-in when credentials are set."""
    import httpx

    from pam_mcp.store.supabase_session import SupabaseSession

    not_checked = [
        Check(name, None, "not checked over the REST API: run doctor with DATABASE_URL, or `supabase db lint`")
        for name in ("migrations", "row level security", "schema lint")
    ]
    if settings.supabase_anon_key is None or not settings.supabase_url:
        return [Check("supabase rest", False, "set SUPABASE_ANON_KEY (the project's anon key)"), *not_checked]
    base = settings.supabase_url.rstrip("/")
    checks: list[Check] = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(CONNECT_TIMEOUT)) as http:
        started = time.perf_counter()
        try:
            response = await http.get(
                f"{base}/rest/v1/", headers={"apikey": settings.supabase_anon_key.get_secret_value()}
            )
        except httpx.HTTPError as exc:
            return [Check("supabase rest", False, f"cannot be reached at {base}: {_describe(exc)}"), *not_checked]
        elapsed = _ms(time.perf_counter() - started)
        if response.status_code >= 400:
            checks.append(
                Check("supabase rest", False, f"{base}/rest/v1/ answered HTTP {response.status_code}", elapsed)
            )
        else:
            checks.append(Check("supabase rest", True, f"{base}/rest/v1/ answered in {elapsed} ms", elapsed))
        if settings.pam_user_email or settings.pam_user_refresh_token:
            try:
                user = await SupabaseSession.from_settings(settings, http).sign_in()
                checks.append(Check("user", True, f"signs in as {user}"))
            except Exception as exc:
                checks.append(Check("user", False, f"cannot sign in: {_describe(exc)}"))
        else:
            checks.append(
                Check("user", None, "stdio needs PAM_USER_EMAIL + PAM_USER_PASSWORD or PAM_USER_REFRESH_TOKEN")
            )
    return checks + not_checked


def _limiter_config(settings: Settings) -> Check:
    # The rates themselves were validated when the settings were read.
    if settings.redis_url is not None:
        where = f"REDIS_URL {mask_url(settings.redis_url.get_secret_value())}"
    else:
        where = f"embedded Redis in {settings.pam_data_dir / 'redis'}"
    tools = "".join(f", {name} {rates}" for name, rates in sorted(settings.tool_rate_limits.items()))
    on_down = settings.pam_rate_limit_on_redis_down
    return Check("limiter", True, f"{where}, limit {settings.rate_limits}{tools}, {on_down} calls when Redis is down")


async def _postgres(dsn: str) -> Check:
    import asyncpg

    started = time.perf_counter()
    with anyio.fail_after(CONNECT_TIMEOUT + 1):
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    connected = time.perf_counter() - started
    try:
        with anyio.fail_after(QUERY_TIMEOUT):
            await conn.fetchval("select 1")  # the first query also pays for statement preparation
            started = time.perf_counter()
            await conn.fetchval("select 1")
            latency = time.perf_counter() - started
            version = await conn.fetchval("show server_version")
    finally:
        await conn.close()
    detail = f"PostgreSQL {str(version).split()[0]}: select 1 in {_ms(latency)} ms (connect {_ms(connected)} ms)"
    return Check("postgres", True, detail, _ms(latency))


async def _redis(url: str, shown: str) -> Check:
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
            return Check("redis", False, f"cannot be reached at {shown}: {_describe(exc)}")
    finally:
        await client.aclose()
    version = info.get("redis_version", "?") if isinstance(info, dict) else "?"
    return Check("redis", True, f"Redis {version}: PING in {_ms(latency)} ms", _ms(latency))


async def _migrations(dsn: str) -> Check:
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


async def _schema(dsn: str, settings: Settings) -> list[Check]:
    from pam_mcp.store.lint import lint
    from pam_mcp.store.postgres import Database

    with anyio.fail_after(CONNECT_TIMEOUT + QUERY_TIMEOUT):
        db = await Database.connect(dsn, min_size=1, max_size=1)
        try:
            async with db.as_owner() as tx:
                problems = await lint(tx)
                tables = await tx.fetchval(
                    "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                    " where n.nspname = 'public' and c.relkind in ('r', 'p')"
                )
            user = await _user(db, settings)
        finally:
            await db.close()
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


async def _user(db: Any, settings: Settings) -> Check:
    async def exists(user_id: uuid.UUID) -> bool:
        async with db.as_owner() as tx:
            if not await tx.fetchval("select to_regclass('auth.users') is not null"):
                return False
            return bool(await tx.fetchval("select exists (select 1 from auth.users where id = $1)", user_id))

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


async def _jwt_secret(settings: Settings) -> Check:
    import jwt

    from pam_mcp.identity import AUDIENCE, SupabaseJwtVerifier

    assert settings.supabase_jwt_secret is not None
    secret = settings.supabase_jwt_secret.get_secret_value()
    verifier = SupabaseJwtVerifier(secret=secret, supabase_url=settings.supabase_url)
    sub = uuid.uuid4()
    now = int(time.time())
    claims: dict[str, Any] = {"sub": str(sub), "aud": AUDIENCE, "role": AUDIENCE, "iat": now, "exp": now + 60}
    if settings.supabase_url:
        claims["iss"] = f"{settings.supabase_url.rstrip('/')}/auth/v1"
    token = jwt.encode(claims, secret, algorithm="HS256")
    verified = await verifier.verify(token)
    if verified.user_id != sub:
        return Check("jwt (HS256)", False, "a token minted with SUPABASE_JWT_SECRET verified as another user")
    if not settings.supabase_url:
        return Check(
            "jwt (HS256)",
            True,
            "a token signed with SUPABASE_JWT_SECRET verifies; "
            "its issuer is not checked (set SUPABASE_URL to check it)",
        )
    return Check("jwt (HS256)", True, "a token signed with SUPABASE_JWT_SECRET verifies")


def _fetch_jwks(url: str) -> dict[str, Any]:
    import urllib.request

    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("SUPABASE_URL must start with https://")
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - scheme checked above
        data: Any = json.loads(response.read(1_000_000))
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("the answer is not a JWKS document")
    return data


async def _jwks(settings: Settings) -> Check:
    assert settings.supabase_url is not None
    url = f"{settings.supabase_url.rstrip('/')}/auth/v1/.well-known/jwks.json"
    started = time.perf_counter()
    try:
        # urllib's own timeout bounds the thread; fail_after bounds the wait for it.
        with anyio.fail_after(HTTP_TIMEOUT + 1):
            data = await anyio.to_thread.run_sync(_fetch_jwks, url, abandon_on_cancel=True)
    except Exception as exc:
        reason = getattr(exc, "reason", None)
        text = str(reason) if reason is not None else _describe(exc)
        return Check("jwt (JWKS)", False, f"cannot fetch {url}: {text}")
    latency = time.perf_counter() - started
    keys = len(data["keys"])
    if keys == 0 and settings.supabase_jwt_secret is None:
        return Check(
            "jwt (JWKS)",
            False,
            f"{url} lists no signing keys: this project signs with HS256, so set SUPABASE_JWT_SECRET",
            _ms(latency),
        )
    return Check("jwt (JWKS)", True, f"{url}: {keys} signing key(s)", _ms(latency))


def _fetch_json(url: str) -> Any:
    import urllib.request

    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("SUPABASE_URL must start with https://")
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - scheme checked above
        return json.loads(response.read(1_000_000))


async def _oauth(settings: Settings) -> Check:
    """Remote clients: the public URL, and Supabase Auth's OAuth server as discovery will name it."""
    from pam_mcp.oauth.front import Public

    public = Public.from_settings(settings)
    assert public is not None
    if not settings.supabase_url:
        return Check("oauth", False, f"PAM_PUBLIC_URL {public.base_url} needs SUPABASE_URL (where people sign in)")
    base = settings.supabase_url.rstrip("/")
    url = f"{base}/.well-known/oauth-authorization-server/auth/v1"
    try:
        with anyio.fail_after(HTTP_TIMEOUT + 1):
            metadata = await anyio.to_thread.run_sync(_fetch_json, url, abandon_on_cancel=True)
    except Exception as exc:
        reason = getattr(exc, "reason", None)
        return Check(
            "oauth", False, f"cannot fetch {url}: {reason or _describe(exc)} (enable Authentication > OAuth Server)"
        )
    if not isinstance(metadata, dict) or metadata.get("issuer") != f"{base}/auth/v1":
        return Check("oauth", False, f"{url} does not describe the issuer {base}/auth/v1")
    registration = (
        "dynamic client registration on"
        if metadata.get("registration_endpoint")
        else "dynamic client registration off: each client needs a client id registered in the dashboard"
    )
    consent = settings.pam_consent_path.strip()
    if consent.lower() != "off" and settings.supabase_anon_key is None:
        return Check("oauth", False, "the consent page signs people in with SUPABASE_ANON_KEY: set it")
    page = (
        "consent page off (the app hosts it)"
        if consent.lower() == "off"
        else f"consent page {public.base_url}{consent}"
    )
    return Check("oauth", True, f"{public.resource} signs in at {base}/auth/v1; {registration}; {page}")


async def _guard(name: str, check: Callable[[], Awaitable[Check | list[Check]]]) -> list[Check]:
    try:
        result = await check()
    except Exception as exc:
        return [Check(name, False, _describe(exc))]
    return result if isinstance(result, list) else [result]


async def _redis_configured_or_embedded(settings: Settings, stack: AsyncExitStack) -> Check:
    from pam_mcp.runtime import resolve_redis_url

    if settings.redis_url is None:
        with anyio.fail_after(EMBEDDED_START_TIMEOUT):
            url = await resolve_redis_url(settings, stack)
        return await _redis(url, "the embedded Redis")
    url = settings.redis_url.get_secret_value()
    return await _redis(url, mask_url(url))


async def _jwt_checks(settings: Settings) -> list[Check]:
    checks: list[Check] = []
    if settings.supabase_jwt_secret is not None:
        checks += await _guard("jwt (HS256)", lambda: _jwt_secret(settings))
    if settings.supabase_url:
        checks += await _guard("jwt (JWKS)", lambda: _jwks(settings))
    if settings.supabase_jwt_secret is None and not settings.supabase_url:
        checks.append(Check("jwt", None, "HTTP mode needs SUPABASE_JWT_SECRET or SUPABASE_URL (stdio does not)"))
    if settings.pam_public_url:
        checks += await _guard("oauth", lambda: _oauth(settings))
    elif settings.pam_allowed_origins.strip() and not settings.pam_allowed_hosts.strip():
        checks.append(
            Check(
                "http hosts",
                None,
                "PAM_ALLOWED_ORIGINS without PAM_ALLOWED_HOSTS or PAM_PUBLIC_URL: HTTP serves on loopback only "
                "(bound to another address it refuses to start)",
            )
        )
    return checks


async def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a person would read them. Never raises for a check's failure."""
    checks: list[Check] = []
    checks += _store_config(settings)
    checks += await _guard("limiter", lambda: _async(_limiter_config(settings)))

    if settings.rest_store:
        checks += await _guard("supabase rest", lambda: _rest_api(settings))
        async with AsyncExitStack() as stack:
            checks += await _guard("redis", lambda: _redis_configured_or_embedded(settings, stack))
        checks += await _jwt_checks(settings)
        secrets = _secrets(settings)
        return [Check(c.name, c.ok, _scrub(c.detail, secrets), c.latency_ms) for c in checks]

    async with AsyncExitStack() as stack:
        dsn: str | None = None

        async def postgres() -> Check:
            nonlocal dsn
            from pam_mcp.runtime import resolve_database_url

            with anyio.fail_after(EMBEDDED_START_TIMEOUT if settings.embedded_postgres else CONNECT_TIMEOUT):
                resolved = await resolve_database_url(settings, stack)
            check = await _postgres(resolved)
            dsn = resolved
            return check

        postgres_checks = await _guard("postgres", postgres)
        if dsn is None and settings.database_url is not None:
            shown = mask_url(settings.database_url.get_secret_value())
            postgres_checks = [
                Check(c.name, c.ok, f"cannot be reached at {shown}: {c.detail}", c.latency_ms) for c in postgres_checks
            ]
        checks += postgres_checks

        checks += await _guard("redis", lambda: _redis_configured_or_embedded(settings, stack))

        if dsn is None:
            for name in ("migrations", "row level security", "schema lint", "user"):
                checks.append(Check(name, None, "not checked: the database cannot be reached"))
        else:
            reached = dsn
            checks += await _guard("migrations", lambda: _migrations(reached))
            checks += await _guard("schema", lambda: _schema(reached, settings))

    checks += await _jwt_checks(settings)
    secrets = _secrets(settings)
    return [Check(c.name, c.ok, _scrub(c.detail, secrets), c.latency_ms) for c in checks]


async def _async(check: Check) -> Check:
    return check


# -- output --------------------------------------------------------------------------------------


def healthy(checks: list[Check]) -> bool:
    """True when no check failed; skipped checks are fine."""
    return all(c.ok is not False for c in checks)


def render_table(checks: list[Check], *, width: int = 100) -> str:
    """A plain-text table (no colour, no terminal tricks: it may well be pasted into an issue)."""
    import textwrap

    name_w = max((len(c.name) for c in checks), default=5)
    status_w = max(len(c.status) for c in [*checks, Check("", None, "")])
    latency_w = 10
    indent = status_w + name_w + latency_w + 6
    detail_w = max(40, width - indent)
    lines = [f"{'STATUS':<{status_w}}  {'CHECK':<{name_w}}  {'LATENCY':>{latency_w}}  DETAIL"]
    for c in checks:
        latency = f"{c.latency_ms:.2f} ms" if c.latency_ms is not None else ""
        wrapped: list[str] = []
        # Problems are separated by "; " so each one starts a line of its own.
        for part in c.detail.split("; "):
            wrapped += textwrap.wrap(part, detail_w, break_long_words=False, break_on_hyphens=False) or [""]
        lines.append(f"{c.status:<{status_w}}  {c.name:<{name_w}}  {latency:>{latency_w}}  {wrapped[0]}")
        lines += [" " * indent + more for more in wrapped[1:]]
    failed = [c.name for c in checks if c.ok is False]
    lines.append("")
    lines.append(f"{len(failed)} check(s) failed: {', '.join(failed)}" if failed else "everything is fine")
    return "\n".join(lines)


def render_json(checks: list[Check]) -> str:
    return json.dumps(
        {"ok": healthy(checks), "checks": [{**asdict(c), "status": c.status.lower()} for c in checks]}, indent=2
    )


async def doctor(settings: Settings, as_json: bool) -> int:
    """The ``pam-mcp doctor`` command: report on stdout, exit status 0 only when nothing failed."""
    checks = await run_checks(settings)
    print(render_json(checks) if as_json else render_table(checks))
    return 0 if healthy(checks) else 1
