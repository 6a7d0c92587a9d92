"""What a remote client and a person's browser meet at a hosted pam-mcp, before and around MCP.

The HTTP app ``pam-mcp serve`` builds (``build_http_app``), in process on the real store and
limiter, with Supabase Auth's OAuth server as the stand-in (tests/supabase_oauth_standin.py):
discovery at both well-known paths, a 401 that says why (missing, expired, another client,
another key), CORS preflight, the Host/Origin checks when bound to every interface, and the
consent page's refusals in words a person understands. The whole sign-in, with a browser,
is tests/test_oauth_flow.py.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from redis.asyncio import Redis
from starlette.types import ASGIApp, Receive, Scope, Send

from pam_mcp.doctor import run_checks
from pam_mcp.errors import ConfigurationError
from pam_mcp.identity import InvalidToken, SupabaseJwtVerifier
from pam_mcp.oauth.front import Public
from pam_mcp.oauth.pages import form_target
from pam_mcp.ratelimit import RateLimiter
from pam_mcp.serve import build_http_app
from pam_mcp.server import App
from pam_mcp.settings import Settings
from tests.conftest import JWT_SECRET, NewUser
from tests.supabase_oauth_standin import (
    ANON_KEY,
    Authorization,
    SupabaseOAuthStandIn,
    new_signing_key,
    serving_asgi,
)
from tests.support_http import JSON_RPC_HEADERS
from tests.support_process import free_port

pytestmark = pytest.mark.anyio

ALLOWED_CLIENT = "5b1f4ad0-6f0e-4c43-9a43-1d3c2a9c0b11"
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


@asynccontextmanager
async def hosted(
    make_app: Callable[..., App],
    *,
    bind: str = "127.0.0.1",
    public_as: str = "http://127.0.0.1:{port}",
    wrap_standin: Callable[[ASGIApp], ASGIApp] = lambda app: app,
    **settings: str,
) -> AsyncIterator[tuple[str, SupabaseOAuthStandIn]]:
    """The stand-in and pam-mcp's HTTP app, both on loopback; yields pam-mcp's public URL.

    ``public_as``: how PAM_PUBLIC_URL is written ({port} filled in); ``wrap_standin`` puts
    an ASGI layer in front of the stand-in (for answers it does not give on its own).
    """
    standin = SupabaseOAuthStandIn()
    async with serving_asgi(wrap_standin(standin.app())) as auth_port:
        standin.url = f"http://127.0.0.1:{auth_port}"
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        standin.site_url = public
        # model_validate: these values only, not the environment's
        config = Settings.model_validate(
            {
                "SUPABASE_URL": standin.url,
                "SUPABASE_ANON_KEY": ANON_KEY,
                "PAM_PUBLIC_URL": public_as.format(port=port),
                **settings,
            }
        )
        app = build_http_app(config, make_app(), SupabaseJwtVerifier.from_settings(config), bind)
        async with serving_asgi(app, port=port):
            yield public, standin


# -- discovery ------------------------------------------------------------------------------------


async def test_both_well_known_paths_name_supabase_auth_as_where_to_sign_in(make_app: Callable[..., App]) -> None:
    async with hosted(make_app) as (public, standin), httpx2.AsyncClient(timeout=30) as http:
        root = await http.get(f"{public}/.well-known/oauth-protected-resource")
        suffixed = await http.get(f"{public}/.well-known/oauth-protected-resource/mcp")
    assert root.status_code == suffixed.status_code == 200
    for document in (root.json(), suffixed.json()):
        assert document["resource"] == f"{public}/mcp"
        assert document["authorization_servers"] == [f"{standin.url}/auth/v1"]
        assert document["bearer_methods_supported"] == ["header"]


async def test_a_request_without_a_token_is_told_where_to_sign_in_and_nothing_else(
    make_app: Callable[..., App],
) -> None:
    async with hosted(make_app) as (public, _), httpx2.AsyncClient(timeout=30) as http:
        refused = await http.post(f"{public}/mcp", json=LIST_TOOLS, headers=JSON_RPC_HEADERS)
    challenge = refused.headers["www-authenticate"]
    assert refused.status_code == 401
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{public}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert "error=" not in challenge  # RFC 6750 3.1: no error code when no token was sent


# -- tokens -----------------------------------------------------------------------------------------


def _expired(standin: SupabaseOAuthStandIn, user: uuid.UUID) -> str:
    return standin.mint(user, client_id=ALLOWED_CLIENT, expires_in=-3600)


def _another_client(standin: SupabaseOAuthStandIn, user: uuid.UUID) -> str:
    return standin.mint(user, client_id=str(uuid.uuid4()))


def _another_key(standin: SupabaseOAuthStandIn, user: uuid.UUID) -> str:
    return standin.mint(user, client_id=ALLOWED_CLIENT, key=new_signing_key())  # same kid, other key


def _plain_session(standin: SupabaseOAuthStandIn, user: uuid.UUID) -> str:
    return standin.mint(user)  # no client_id: the app's own sign-in


@pytest.mark.parametrize(
    ("bad_token", "says"),
    [
        (_expired, "The access token has expired; sign in again."),
        (_another_client, "This client is not allowed to use this server."),
        (_another_key, "The access token is not valid for this server."),
        (_plain_session, "This client is not allowed to use this server."),
    ],
    ids=["expired", "client-not-on-the-allow-list", "signed-by-another-key", "session-token-when-refused"],
)
async def test_a_refused_token_gets_401_saying_why_and_nothing_more(
    make_app: Callable[..., App],
    new_user: NewUser,
    bad_token: Callable[[SupabaseOAuthStandIn, uuid.UUID], str],
    says: str,
) -> None:
    alice = await new_user()
    options: dict[str, Any] = {"PAM_OAUTH_CLIENT_IDS": ALLOWED_CLIENT, "PAM_ACCEPT_SESSION_TOKENS": "false"}
    async with hosted(make_app, **options) as (public, standin), httpx2.AsyncClient(timeout=30) as http:

        async def post_with(token: str) -> httpx2.Response:
            headers = JSON_RPC_HEADERS | {"authorization": f"Bearer {token}"}
            return await http.post(f"{public}/mcp", json=LIST_TOOLS, headers=headers)

        refused = await post_with(bad_token(standin, alice))
        accepted = await post_with(standin.mint(alice, client_id=ALLOWED_CLIENT))  # for contrast
    challenge = refused.headers["www-authenticate"]
    assert refused.status_code == 401
    assert f'error="invalid_token", error_description="{says}"' in challenge
    assert f'resource_metadata="{public}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert refused.json() == {"error": "invalid_token", "error_description": says}
    assert accepted.status_code == 200, accepted.text


async def test_a_verified_token_is_remembered_until_it_expires_and_not_a_moment_longer() -> None:
    clock = [time.time()]
    verifier = SupabaseJwtVerifier(secret=JWT_SECRET, supabase_url=None, now=lambda: clock[0])
    claims = {"sub": str(uuid.uuid4()), "aud": "authenticated", "role": "authenticated", "exp": int(clock[0]) + 60}
    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")

    first = await verifier.verify(token)
    again = await verifier.verify(token)
    clock[0] += 60 + 31  # past expiry and the 30 s leeway, by the verifier's clock only
    with pytest.raises(InvalidToken) as expired:
        await verifier.verify(token)

    assert again is first  # the second call was answered from the cache
    assert expired.value.reason == "expired"


# -- browsers and public deployment ------------------------------------------------------------------


async def test_a_browser_clients_preflight_is_answered_for_allowed_origins_only(
    make_app: Callable[..., App],
) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
    }
    async with hosted(make_app, PAM_ALLOWED_ORIGINS="https://app.example") as (public, _):
        async with httpx2.AsyncClient(timeout=30) as http:
            allowed = await http.options(f"{public}/mcp", headers=preflight | {"origin": "https://app.example"})
            foreign = await http.options(f"{public}/mcp", headers=preflight | {"origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers


async def test_bound_to_every_interface_a_foreign_host_or_origin_is_refused_even_with_a_good_token(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    alice = await new_user()
    async with hosted(make_app, bind="0.0.0.0") as (public, standin), httpx2.AsyncClient(timeout=30) as http:  # noqa: S104
        headers = JSON_RPC_HEADERS | {"authorization": f"Bearer {standin.mint(alice)}"}
        ok = await http.post(f"{public}/mcp", json=LIST_TOOLS, headers=headers)
        evil_host = await http.post(f"{public}/mcp", json=LIST_TOOLS, headers=headers | {"host": "evil.example"})
        evil_origin = await http.post(
            f"{public}/mcp", json=LIST_TOOLS, headers=headers | {"origin": "https://evil.example"}
        )
    assert ok.status_code == 200, ok.text
    assert evil_host.status_code == 421
    assert evil_origin.status_code == 403


@pytest.mark.parametrize(
    ("written", "base_url", "origin", "host"),
    [
        ("https://PAM.Example.com:443/", "https://pam.example.com", "https://pam.example.com", "pam.example.com"),
        ("HTTP://pam.example.com:80/mcp/", "http://pam.example.com", "http://pam.example.com", "pam.example.com"),
        (
            "https://pam.example.com:8443/pam",
            "https://pam.example.com:8443/pam",
            "https://pam.example.com:8443",
            "pam.example.com:8443",
        ),
        ("http://[::1]:80", "http://[::1]", "http://[::1]", "[::1]"),
    ],
)
def test_the_public_url_is_written_the_way_browsers_send_origin_and_host(
    written: str, base_url: str, origin: str, host: str
) -> None:
    public = Public.from_settings(Settings.model_validate({"PAM_PUBLIC_URL": written}))
    assert public is not None
    assert (public.base_url, public.origin, public.host) == (base_url, origin, host)


@pytest.mark.parametrize(
    "written",
    ["pam.example.com", "ftp://pam.example.com", "https://user:pw@pam.example.com", "https://pam.example.com:99999"],
)
def test_a_public_url_that_is_not_a_plain_http_url_is_refused_at_start_up_saying_what_is_expected(
    written: str,
) -> None:
    with pytest.raises(ConfigurationError, match=r"is not an http\(s\) URL such as https://pam\.example\.com"):
        Public.from_settings(Settings.model_validate({"PAM_PUBLIC_URL": written}))


async def test_a_public_url_written_in_capitals_with_its_default_port_still_lets_browsers_and_clients_in(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    alice = await new_user()
    async with hosted(make_app, bind="0.0.0.0", public_as="HTTP://LOCALHOST:{port}/") as (public, standin):  # noqa: S104
        async with httpx2.AsyncClient(timeout=30) as http:
            headers = JSON_RPC_HEADERS | {"authorization": f"Bearer {standin.mint(alice)}"}
            served = await http.post(
                f"{public}/mcp",
                json=LIST_TOOLS,
                headers=headers | {"host": public.removeprefix("http://").replace("127.0.0.1", "localhost")},
            )
    assert served.status_code == 200, served.text


async def test_allowed_origins_without_any_allowed_host_refuse_to_start_instead_of_refusing_every_request(
    make_app: Callable[..., App],
) -> None:
    config = Settings.model_validate({"SUPABASE_JWT_SECRET": JWT_SECRET, "PAM_ALLOWED_ORIGINS": "https://app.example"})
    verifier = SupabaseJwtVerifier.from_settings(config)
    with pytest.raises(ConfigurationError, match="PAM_ALLOWED_ORIGINS needs PAM_ALLOWED_HOSTS"):
        build_http_app(config, make_app(), verifier, "0.0.0.0")  # noqa: S104
    with_hosts = Settings.model_validate(
        {
            "SUPABASE_JWT_SECRET": JWT_SECRET,
            "PAM_ALLOWED_ORIGINS": "https://app.example",
            "PAM_ALLOWED_HOSTS": "pam.example.com",
        }
    )
    assert build_http_app(with_hosts, make_app(), verifier, "0.0.0.0") is not None  # noqa: S104


async def test_allowed_origins_alone_on_loopback_still_serve_mcp(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    alice = await new_user()
    config = Settings.model_validate({"SUPABASE_JWT_SECRET": JWT_SECRET, "PAM_ALLOWED_ORIGINS": "https://app.example"})
    app = build_http_app(config, make_app(), SupabaseJwtVerifier.from_settings(config), "127.0.0.1")
    token = jwt.encode(
        {"sub": str(alice), "aud": "authenticated", "role": "authenticated", "exp": int(time.time()) + 600},
        JWT_SECRET,
        algorithm="HS256",
    )
    async with serving_asgi(app) as port, httpx2.AsyncClient(timeout=30) as http:
        headers = JSON_RPC_HEADERS | {"authorization": f"Bearer {token}", "origin": "https://app.example"}
        served = await http.post(f"http://127.0.0.1:{port}/mcp", json=LIST_TOOLS, headers=headers)
    assert served.status_code == 200, served.text


# -- the consent page ---------------------------------------------------------------------------------


def _cookie(response: httpx2.Response, name: str) -> tuple[str, str] | None:
    """The value and the attributes of a Set-Cookie (the client would not keep a Secure cookie over http)."""
    for header in response.headers.get_list("set-cookie"):
        first, _, attributes = header.partition(";")
        key, _, value = first.partition("=")
        if key.strip() == name:
            return value.strip(), attributes.lower()
    return None


async def test_the_consent_page_opened_on_its_own_says_where_to_start_under_a_strict_policy(
    make_app: Callable[..., App],
) -> None:
    async with hosted(make_app) as (public, _), httpx2.AsyncClient(timeout=30) as http:
        page = await http.get(f"{public}/oauth/consent")
    policy = page.headers["content-security-policy"]
    assert page.status_code == 400
    assert "opens from that app" in page.text
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert "<script" not in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_a_wrong_password_is_told_plainly_and_the_password_is_never_echoed_or_logged(
    make_app: Callable[..., App], new_user: NewUser, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await new_user()
    wrong = "not-the-password-Zq81"
    caplog.set_level(logging.DEBUG)
    async with hosted(make_app) as (public, standin), httpx2.AsyncClient(timeout=30) as http:
        standin.add_user(alice, "alice@example.test", "the-right-password")
        form_page = await http.get(f"{public}/oauth/consent", params={"authorization_id": "abc123"})
        csrf = _cookie(form_page, "__Host-pam_csrf")
        assert csrf is not None
        answer = await http.post(
            f"{public}/oauth/consent/sign-in",
            data={"csrf": csrf[0], "authorization_id": "abc123", "email": "alice@example.test", "password": wrong},
            headers={"cookie": f"__Host-pam_csrf={csrf[0]}", "origin": public},
        )
    assert "Sign in" in form_page.text
    assert "httponly" in csrf[1] and "secure" in csrf[1] and "samesite=strict" in csrf[1]
    assert answer.status_code == 400
    assert "That email and password do not match an account." in answer.text
    assert 'value="alice@example.test"' in answer.text  # the email is kept, the password is not
    assert wrong not in answer.text
    assert _cookie(answer, "__Host-pam_session") is None
    assert not [r for r in caplog.records if wrong in r.getMessage()]


async def test_a_form_posted_without_its_csrf_cookie_is_refused_before_anything_is_asked_of_supabase(
    make_app: Callable[..., App],
) -> None:
    async with hosted(make_app) as (public, standin), httpx2.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{public}/oauth/consent/sign-in",
            data={"csrf": "forged", "authorization_id": "abc123", "email": "a@example.test", "password": "x"},
            headers={"cookie": "__Host-pam_csrf=another-value", "origin": public},
        )
    assert answer.status_code == 403
    assert "This form has expired." in answer.text
    assert ("POST", "/auth/v1/token") not in standin.requests


async def _sign_in(
    http: httpx2.AsyncClient, public: str, authorization_id: str, email: str, password: str
) -> httpx2.Response:
    """Open the consent page for ``authorization_id`` and post the sign-in form, as a browser would."""
    form_page = await http.get(f"{public}/oauth/consent", params={"authorization_id": authorization_id})
    csrf = _cookie(form_page, "__Host-pam_csrf")
    assert csrf is not None
    return await http.post(
        f"{public}/oauth/consent/sign-in",
        data={"csrf": csrf[0], "authorization_id": authorization_id, "email": email, "password": password},
        headers={"cookie": f"__Host-pam_csrf={csrf[0]}", "origin": public},
    )


def _pending(standin: SupabaseOAuthStandIn, redirect_uri: str) -> str:
    """A client that asked to connect, waiting at the consent page: its authorization id."""
    client_id = str(uuid.uuid4())
    standin.clients[client_id] = {
        "client_id": client_id,
        "client_name": "Cursor",
        "client_uri": "https://cursor.example",
        "redirect_uris": [redirect_uri],
    }
    found = Authorization(
        id=f"req-{uuid.uuid4().hex}",
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope="email",
        state="s",
        code_challenge="c" * 43,
        expires_at=time.time() + 600,
    )
    standin.authorizations[found.id] = found
    return found.id


async def test_signing_in_for_an_expired_request_says_so_and_sets_no_session_cookie(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    alice = await new_user()
    async with hosted(make_app) as (public, standin), httpx2.AsyncClient(timeout=30) as http:
        standin.add_user(alice, "alice@example.test", "the-right-password")
        answer = await _sign_in(http, public, "long-gone", "alice@example.test", "the-right-password")
    assert answer.status_code == 410
    assert "This request has expired or was already answered." in answer.text
    assert _cookie(answer, "__Host-pam_session") is None


async def test_signing_in_for_a_waiting_request_shows_it_and_keeps_the_session_in_a_strict_cookie(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    alice = await new_user()
    async with hosted(make_app) as (public, standin), httpx2.AsyncClient(timeout=30) as http:
        standin.add_user(alice, "alice@example.test", "the-right-password")
        waiting = _pending(standin, "https://app.example/callback")
        answer = await _sign_in(http, public, waiting, "alice@example.test", "the-right-password")
    session = _cookie(answer, "__Host-pam_session")
    assert answer.status_code == 200, answer.text
    assert "Cursor wants to use PAM as you" in answer.text
    assert session is not None and session[0]
    assert all(part in session[1] for part in ("httponly", "secure", "samesite=lax", "path=/"))
    assert len([h for h in answer.headers.get_list("set-cookie") if h.startswith("__Host-pam_session=")]) == 1


def _lookup_answers_403(error_code: str) -> Callable[[ASGIApp], ASGIApp]:
    """Supabase Auth answering the authorization lookup 403 with ``error_code``."""
    return lambda app: _Forbidding(app, error_code)


class _Forbidding:
    def __init__(self, app: ASGIApp, error_code: str) -> None:
        self.app, self.error_code = app, error_code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        if scope["type"] == "http" and scope["method"] == "GET" and "/oauth/authorizations/" in scope["path"]:
            body = b'{"code":403,"error_code":"%s","msg":"not allowed"}' % self.error_code.encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)


@pytest.mark.parametrize("error_code", ["forbidden", "bad_jwt"])
async def test_right_after_a_good_password_a_request_that_is_not_yours_is_not_called_an_expired_sign_in(
    make_app: Callable[..., App], new_user: NewUser, error_code: str
) -> None:
    alice = await new_user()
    async with hosted(make_app, wrap_standin=_lookup_answers_403(error_code)) as (public, standin):
        async with httpx2.AsyncClient(timeout=30) as http:
            standin.add_user(alice, "alice@example.test", "the-right-password")
            answer = await _sign_in(http, public, "someone-elses", "alice@example.test", "the-right-password")
    assert answer.status_code == 410
    assert "This request has expired or was already answered." in answer.text
    assert "Your sign-in has expired" not in answer.text
    assert not [h for h in answer.headers.get_list("set-cookie") if h.startswith("__Host-pam_session=")]


async def test_a_signed_in_person_opening_a_request_that_is_not_theirs_is_told_so_and_stays_signed_in(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    alice = await new_user()
    async with hosted(make_app, wrap_standin=_lookup_answers_403("forbidden")) as (public, standin):
        async with httpx2.AsyncClient(timeout=30) as http:
            page = await http.get(
                f"{public}/oauth/consent",
                params={"authorization_id": "someone-elses"},
                headers={"cookie": f"__Host-pam_session={standin.mint(alice)}"},
            )
    assert page.status_code == 410
    assert "This request has expired or was already answered." in page.text
    assert not [h for h in page.headers.get_list("set-cookie") if h.startswith("__Host-pam_session=")]


async def test_a_sixth_wrong_password_within_a_minute_is_refused_by_pam_mcp_without_asking_supabase(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    alice = await new_user()
    async with hosted(make_app) as (public, standin), httpx2.AsyncClient(timeout=30) as http:
        standin.add_user(alice, "alice@example.test", "the-right-password")
        tries = [await _sign_in(http, public, "abc123", "alice@example.test", f"guess-{n}") for n in range(5)]
        # The same account written another way counts as the same account.
        sixth = await _sign_in(http, public, "abc123", " ALICE@Example.test ", "the-right-password")
    assert [t.status_code for t in tries] == [400] * 5
    assert sixth.status_code == 429
    assert "Too many sign-in attempts; try again in 1 minute." in sixth.text
    assert 1 <= int(sixth.headers["retry-after"]) <= 60
    assert standin.requests.count(("POST", "/auth/v1/token")) == 5
    assert _cookie(sixth, "__Host-pam_session") is None


async def test_one_address_trying_many_accounts_is_slowed_down_too(make_app: Callable[..., App]) -> None:
    async with hosted(make_app) as (public, standin), httpx2.AsyncClient(timeout=30) as http:
        answers = [await _sign_in(http, public, "abc123", f"person{n}@example.test", "guess") for n in range(31)]
    assert [a.status_code for a in answers[:30]] == [400] * 30
    assert answers[30].status_code == 429
    assert "Too many sign-in attempts; try again in 1 minute." in answers[30].text
    assert standin.requests.count(("POST", "/auth/v1/token")) == 30


async def test_with_the_limiter_down_sign_in_waits_and_supabase_is_not_asked(make_app: Callable[..., App]) -> None:
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=2)  # nothing listens there
    without_limiter = dataclasses.replace(make_app(), limiter=RateLimiter(dead, key_prefix="pamtest:dead"))
    try:
        async with hosted(lambda: without_limiter) as (public, standin), httpx2.AsyncClient(timeout=30) as http:
            answer = await _sign_in(http, public, "abc123", "alice@example.test", "a-password")
    finally:
        await dead.aclose()
    assert answer.status_code == 503
    assert "Signing in is not possible for a moment. Try again in a minute." in answer.text
    assert ("POST", "/auth/v1/token") not in standin.requests


@pytest.mark.parametrize(
    ("redirect_uri", "allowed"),
    [("cursor://anysphere.cursor-retrieval/oauth/callback", "cursor:"), ("https://claude.ai/cb", "https://claude.ai")],
    ids=["custom-scheme", "https"],
)
async def test_approve_and_deny_may_lead_back_to_a_client_whatever_its_redirect_scheme(
    make_app: Callable[..., App], new_user: NewUser, redirect_uri: str, allowed: str
) -> None:
    alice = await new_user()
    async with hosted(make_app) as (public, standin), httpx2.AsyncClient(timeout=30) as http:
        standin.add_user(alice, "alice@example.test", "the-right-password")
        waiting = _pending(standin, redirect_uri)
        answer = await _sign_in(http, public, waiting, "alice@example.test", "the-right-password")
    assert answer.status_code == 200, answer.text
    policy = answer.headers["content-security-policy"]
    form_action = next(part.split()[1:] for part in policy.split(";") if part.strip().startswith("form-action"))
    assert form_action == ["'self'", allowed]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "https://", "no scheme"])
def test_a_redirect_that_could_run_or_embed_content_is_never_allowed_as_a_form_target(url: str) -> None:
    assert form_target(url) is None


async def test_use_another_account_forgets_the_session_and_asks_to_sign_in_again(
    make_app: Callable[..., App],
) -> None:
    async with hosted(make_app) as (public, _), httpx2.AsyncClient(timeout=30) as http:
        form_page = await http.get(f"{public}/oauth/consent", params={"authorization_id": "abc123"})
        csrf = _cookie(form_page, "__Host-pam_csrf")
        assert csrf is not None
        answer = await http.post(
            f"{public}/oauth/consent/sign-out",
            data={"csrf": csrf[0], "authorization_id": "abc123"},
            headers={"cookie": f"__Host-pam_csrf={csrf[0]}; __Host-pam_session=someones-token", "origin": public},
        )
    forgotten = _cookie(answer, "__Host-pam_session")
    assert answer.status_code == 200
    assert "Sign in to connect an app to PAM" in answer.text
    assert forgotten is not None and forgotten[0] in ("", '""') and "max-age=0" in forgotten[1]


# -- pam-mcp doctor --------------------------------------------------------------------------------


@pytest.mark.parametrize("registration", [True, False], ids=["registration-on", "registration-off"])
async def test_doctor_checks_the_oauth_set_up_the_way_discovery_will_see_it(
    database_url: str, redis_url: str, registration: bool
) -> None:
    standin = SupabaseOAuthStandIn(allow_dynamic_registration=registration)
    async with serving_asgi(standin.app()) as port:
        standin.url = f"http://127.0.0.1:{port}"
        values = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SUPABASE_URL": standin.url,
            "SUPABASE_ANON_KEY": ANON_KEY,
            "PAM_PUBLIC_URL": "https://pam.example.com/",
        }
        with anyio.fail_after(30):
            checks = {c.name: c for c in await run_checks(Settings.model_validate(values))}

    oauth, jwks = checks["oauth"], checks["jwt (JWKS)"]
    assert oauth.ok is True, oauth.detail
    assert oauth.detail.startswith(f"https://pam.example.com/mcp signs in at {standin.url}/auth/v1; ")
    assert ("dynamic client registration on" in oauth.detail) is registration
    assert oauth.detail.endswith("consent page https://pam.example.com/oauth/consent")
    assert (jwks.ok, jwks.detail) == (True, f"{standin.url}/auth/v1/.well-known/jwks.json: 1 signing key(s)")


async def test_doctor_says_when_supabase_auth_has_no_oauth_server_to_name(database_url: str, redis_url: str) -> None:
    values = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SUPABASE_URL": "http://127.0.0.1:1",
        "PAM_PUBLIC_URL": "https://pam.example.com",
    }
    with anyio.fail_after(30):
        checks = {c.name: c for c in await run_checks(Settings.model_validate(values))}
    assert checks["oauth"].ok is False
    assert "cannot fetch http://127.0.0.1:1/.well-known/oauth-authorization-server/auth/v1" in checks["oauth"].detail
    assert checks["oauth"].detail.endswith("(enable Authentication > OAuth Server)")


async def test_doctor_says_when_the_issuer_of_hs256_tokens_is_not_checked(database_url: str, redis_url: str) -> None:
    values = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SUPABASE_JWT_SECRET": JWT_SECRET}
    with anyio.fail_after(30):
        checks = {c.name: c for c in await run_checks(Settings.model_validate(values))}
    assert checks["jwt (HS256)"].ok is True
    assert checks["jwt (HS256)"].detail.endswith("its issuer is not checked (set SUPABASE_URL to check it)")


async def test_doctor_says_allowed_origins_need_allowed_hosts_to_serve_beyond_loopback(
    database_url: str, redis_url: str
) -> None:
    values = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SUPABASE_JWT_SECRET": JWT_SECRET,
        "PAM_ALLOWED_ORIGINS": "https://app.example",
    }
    with anyio.fail_after(30):
        checks = {c.name: c for c in await run_checks(Settings.model_validate(values))}
    assert checks["http hosts"].detail.startswith("PAM_ALLOWED_ORIGINS without PAM_ALLOWED_HOSTS or PAM_PUBLIC_URL")
