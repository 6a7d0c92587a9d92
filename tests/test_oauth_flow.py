"""A person connects a remote MCP client to a hosted pam-mcp, end to end, starting from its URL alone.

The parts are real: the SDK's OAuth client (``OAuthClientProvider``: discovery, dynamic
registration, PKCE, token exchange), ``pam-mcp serve --transport http`` as a process on the
real PostgreSQL and Redis, and Debian's chromium driven by Playwright, which signs the person
in on pam-mcp's consent page and presses Approve or Deny. Supabase Auth's OAuth server is the
one stand-in (tests/supabase_oauth_standin.py), at the HTTP boundary.

Screenshots of the consent page at phone and desktop width go to ``PAM_SCREENSHOT_DIR`` when
it is set (to look at), else to the test's temporary directory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import pytest
from mcp import MCPError
from mcp.client import Client
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from pam_mcp.store.postgres import Database
from tests.conftest import NewUser
from tests.supabase_oauth_standin import ANON_KEY, SupabaseOAuthStandIn, serving_asgi
from tests.support_process import delete_limiter_keys, free_port, port_open, serve_command, serve_env, stop

pytestmark = pytest.mark.anyio

CHROMIUM = "/usr/bin/chromium"
# No sandbox (the suite may run as root in a container), no GPU, no network but the test's.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where the client says the browser comes back to; the browser never reaches it: the test
# catches the navigation (as a native client's loopback listener would) and reads the code.
CALLBACK = "http://127.0.0.1:47913/callback"
PASSWORD = "correct horse battery staple"


def _browser_or_skip() -> Any:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("needs the playwright package (pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}: run scripts/install-browser as root")
    return async_playwright


class MemoryTokens:
    """The client's token storage: in memory, inspected by the tests."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@asynccontextmanager
async def deployment(
    standin: SupabaseOAuthStandIn, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[str]:
    """The stand-in on one port, ``pam-mcp serve`` on another with its public URL; yields that URL."""
    async with serving_asgi(standin.app()) as auth_port:
        port = free_port()
        public = f"http://localhost:{port}"
        standin.url = f"http://127.0.0.1:{auth_port}"
        standin.site_url = public  # Supabase's Site URL: where the consent path is served
        env = serve_env(
            database_url,
            redis_url,
            tmp_path,
            SUPABASE_URL=standin.url,
            SUPABASE_ANON_KEY=ANON_KEY,
            PAM_PUBLIC_URL=public,
        )
        log = tmp_path / "serve.log"
        with log.open("wb") as stderr:
            process = await anyio.open_process(serve_command(port), env=env, stderr=stderr)
        try:
            with anyio.fail_after(30):
                while not await port_open(port):
                    if process.returncode is not None:
                        pytest.fail(f"pam-mcp serve exited with {process.returncode}:\n{log.read_text()}")
                    await anyio.sleep(0.05)  # readiness poll of a starting process only
            yield public
        finally:
            await stop(process)


class Person:
    """The person at the browser: signs in on the consent page and decides."""

    def __init__(self, page: Any, email: str, decision: str, shots: Path | None) -> None:
        self.page = page
        self.email = email
        self.decision = decision
        self.shots = shots
        self.came_back: str | None = None
        self._back = anyio.Event()

    async def start(self) -> None:
        async def catch(route: Any) -> None:
            self.came_back = route.request.url
            self._back.set()
            await route.fulfill(status=200, content_type="text/plain", body="You can close this window.")

        await self.page.route(CALLBACK + "**", catch)

    async def authorize(self, url: str) -> None:
        """The client's redirect handler: what the person does in the browser."""
        page = self.page
        with anyio.fail_after(30):
            await page.goto(url)
            if self.shots is not None:
                await page.screenshot(path=str(self.shots / "sign-in-desktop.png"), full_page=True)
            await page.get_by_label("Email").fill(self.email)
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await page.get_by_role("heading", name="wants to use PAM as you").wait_for()
            if self.shots is not None:
                await page.screenshot(path=str(self.shots / "consent-desktop.png"), full_page=True)
                await page.set_viewport_size({"width": 390, "height": 844})
                await page.screenshot(path=str(self.shots / "consent-phone.png"), full_page=True)
            await page.get_by_role("button", name=self.decision).click()
            await self._back.wait()

    async def callback(self) -> AuthorizationCodeResult:
        """The client's callback handler: the code from where the browser came back to."""
        assert self.came_back is not None
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.came_back).query).items()}
        if "error" in query:
            raise OAuthFlowError(f"authorization failed: {query['error']}: {query.get('error_description', '')}")
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"))


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    async_playwright = _browser_or_skip()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 860})
            yield await context.new_page()
        finally:
            await browser.close()


def _client(url: str, person: Person, storage: MemoryTokens) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="Trip Planner (test client)",
            redirect_uris=[AnyUrl(CALLBACK)],
            token_endpoint_auth_method="none",
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage,
        redirect_handler=person.authorize,
        callback_handler=person.callback,
    )


def _recorder(exchange: list[str]) -> dict[str, list[Any]]:
    async def record(response: httpx2.Response) -> None:
        request = response.request
        line = f"{request.method} {request.url.copy_with(query=None)} -> {response.status_code}"
        if "www-authenticate" in response.headers:
            line += f"  WWW-Authenticate: {response.headers['www-authenticate']}"
        exchange.append(line)

    return {"response": [record]}


async def test_starting_from_the_server_url_a_person_signs_in_approves_and_the_client_acts_as_them(
    database_url: str, redis_url: str, redis_client: Any, new_user: NewUser, db: Database, tmp_path: Path,
    browser_page: Any,
) -> None:  # fmt: skip
    alice, bob = await new_user("alice@example.test"), await new_user("bob@example.test")
    standin = SupabaseOAuthStandIn()
    standin.add_user(alice, "alice@example.test", PASSWORD)
    shots = Path(os.environ.get("PAM_SCREENSHOT_DIR") or tmp_path / "shots")
    await anyio.Path(shots).mkdir(parents=True, exist_ok=True)
    person = Person(browser_page, "alice@example.test", "Approve", shots)
    await person.start()
    storage, exchange = MemoryTokens(), list[str]()
    try:
        async with deployment(standin, database_url, redis_url, tmp_path) as public:
            url = f"{public}/mcp"
            # Bob has data of his own, written through his own (plain session) token.
            bob_headers = {"Authorization": f"Bearer {standin.mint(bob)}"}
            async with (
                httpx2.AsyncClient(headers=bob_headers, timeout=30) as http,
                Client(streamable_http_client(url, http_client=http)) as as_bob,
            ):
                bobs_trip = (await as_bob.call_tool("log_trip", {
                    "started_at": "2025-06-01T08:00:00+10:00", "title": "Bob to Bourke",
                    "route": [{"lat": -33.8, "lon": 151.2}, {"lat": -30.1, "lon": 145.9}],
                })).structured_content  # fmt: skip
            assert bobs_trip is not None

            auth = _client(url, person, storage)
            async with (
                httpx2.AsyncClient(auth=auth, timeout=60, event_hooks=_recorder(exchange)) as http,
                Client(streamable_http_client(url, http_client=http)) as as_alice,
            ):
                logged = await as_alice.call_tool(
                    "log_expense", {"amount": "61.30", "category": "fuel", "description": "Bourke BP"}
                )
                spent = await as_alice.call_tool("query_expenses", {})
                with pytest.raises(MCPError):
                    await as_alice.read_resource(f"pam://trips/{bobs_trip['trip_id']}")
    finally:
        await delete_limiter_keys(redis_client, alice)
        await delete_limiter_keys(redis_client, bob)
    await anyio.Path(shots / "discovery-exchange.txt").write_text("\n".join(exchange) + "\n")

    assert not logged.is_error, logged
    assert logged.structured_content is not None
    async with db.as_owner() as tx:
        owner = await tx.fetchval(
            "select user_id from public.expenses where id = $1",
            uuid.UUID(logged.structured_content["expense"]["expense_id"]),
        )
    assert owner == alice
    assert spent.structured_content is not None
    assert (spent.structured_content["total"], spent.structured_content["count"]) == ("61.30", 1)
    # The token the client holds was issued to it by the authorization server, for Alice.
    assert storage.tokens is not None and storage.client is not None
    assert storage.client.client_name == "Trip Planner (test client)"
    # Discovery went the way the MCP spec lays out, from the server URL alone.
    paths = [line.split(" -> ")[0].split(" ", 1)[1] for line in exchange]
    assert f"{public}/.well-known/oauth-protected-resource/mcp" in paths
    assert f"{standin.url}/.well-known/oauth-authorization-server/auth/v1" in paths
    assert f"{standin.issuer}/oauth/clients/register" in paths
    assert f"{standin.issuer}/oauth/token" in paths
    first_refusal = next(line for line in exchange if "-> 401" in line)
    assert f'resource_metadata="{public}/.well-known/oauth-protected-resource/mcp"' in first_refusal
    assert (await anyio.Path(shots / "consent-phone.png").stat()).st_size > 0


async def test_denying_on_the_consent_page_gives_the_client_an_error_and_no_token(
    database_url: str, redis_url: str, new_user: NewUser, tmp_path: Path, browser_page: Any
) -> None:
    carol = await new_user("carol@example.test")
    standin = SupabaseOAuthStandIn()
    standin.add_user(carol, "carol@example.test", PASSWORD)
    person = Person(browser_page, "carol@example.test", "Deny", None)
    await person.start()
    storage: MemoryTokens = MemoryTokens()
    async with deployment(standin, database_url, redis_url, tmp_path) as public:
        url = f"{public}/mcp"
        auth = _client(url, person, storage)
        with pytest.raises(BaseException) as caught:  # noqa: PT011 - the SDK may wrap it in a group
            async with (
                httpx2.AsyncClient(auth=auth, timeout=60) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                await client.list_tools()

    assert "access_denied" in _all_messages(caught.value)
    assert person.came_back is not None and "error=access_denied" in person.came_back
    assert "code=" not in person.came_back
    assert storage.tokens is None


def _all_messages(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        return " | ".join(_all_messages(e) for e in error.exceptions)
    return f"{type(error).__name__}: {error}" + (f" <- {_all_messages(error.__cause__)}" if error.__cause__ else "")
