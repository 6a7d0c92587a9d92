"""Doctor's checks of Supabase: the REST API and the stdio user's sign-in, JWT verification, OAuth discovery."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import anyio

from pam_mcp.doctor.checks import CONNECT_TIMEOUT
from pam_mcp.doctor.report import Check, describe, guard, ms
from pam_mcp.settings import Settings

HTTP_TIMEOUT = 5.0


async def rest_api(settings: Settings) -> list[Check]:
    """The REST store's reachability, and the stdio user's sign-in when credentials are set."""
    import httpx

    from pam_mcp.runtime import supabase_session

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
            return [Check("supabase rest", False, f"cannot be reached at {base}: {describe(exc)}"), *not_checked]
        elapsed = ms(time.perf_counter() - started)
        if response.status_code >= 400:
            checks.append(
                Check("supabase rest", False, f"{base}/rest/v1/ answered HTTP {response.status_code}", elapsed)
            )
        else:
            checks.append(Check("supabase rest", True, f"{base}/rest/v1/ answered in {elapsed} ms", elapsed))
        if settings.pam_user_email or settings.pam_user_refresh_token:
            try:
                user = await supabase_session(settings, http).sign_in()
                checks.append(Check("user", True, f"signs in as {user}"))
            except Exception as exc:
                checks.append(Check("user", False, f"cannot sign in: {describe(exc)}"))
        else:
            checks.append(
                Check("user", None, "stdio needs PAM_USER_EMAIL + PAM_USER_PASSWORD or PAM_USER_REFRESH_TOKEN")
            )
    return checks + not_checked


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
        text = str(reason) if reason is not None else describe(exc)
        return Check("jwt (JWKS)", False, f"cannot fetch {url}: {text}")
    latency = time.perf_counter() - started
    keys = len(data["keys"])
    if keys == 0 and settings.supabase_jwt_secret is None:
        return Check(
            "jwt (JWKS)",
            False,
            f"{url} lists no signing keys: this project signs with HS256, so set SUPABASE_JWT_SECRET",
            ms(latency),
        )
    return Check("jwt (JWKS)", True, f"{url}: {keys} signing key(s)", ms(latency))


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
            "oauth", False, f"cannot fetch {url}: {reason or describe(exc)} (enable Authentication > OAuth Server)"
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


async def jwt_checks(settings: Settings) -> list[Check]:
    checks: list[Check] = []
    if settings.supabase_jwt_secret is not None:
        checks += await guard("jwt (HS256)", lambda: _jwt_secret(settings))
    if settings.supabase_url:
        checks += await guard("jwt (JWKS)", lambda: _jwks(settings))
    if settings.supabase_jwt_secret is None and not settings.supabase_url:
        checks.append(Check("jwt", None, "HTTP mode needs SUPABASE_JWT_SECRET or SUPABASE_URL (stdio does not)"))
    if settings.pam_public_url:
        checks += await guard("oauth", lambda: _oauth(settings))
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
