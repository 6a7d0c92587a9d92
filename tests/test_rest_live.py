"""The behaviour tests of ``tests/test_tools.py``, on the REST store, against a REAL Supabase project.

Runs only when pointed at a project:

    PAM_TEST_SUPABASE_URL               https://<ref>.supabase.co
    PAM_TEST_SUPABASE_ANON_KEY          the project's anon key (what every user request carries)
    PAM_TEST_SUPABASE_SERVICE_ROLE_KEY  creates and deletes the test users (Auth admin API) only
    PAM_TEST_SUPABASE_DB_URL            the project's Postgres URL, for the tests' own checks
                                        (row counts, seed rows), never for the store under test

The project must have pam-mcp's migrations applied (``pam-mcp migrate`` or ``supabase db
push``). Each test user is created through the admin API with a password, signs in as
themselves exactly as a stdio user does, and is deleted at the end (their rows go with them).
Note that Supabase Auth rate-limits sign-ins per IP; a full run signs in about fifty users.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

LIVE = (
    "PAM_TEST_SUPABASE_URL",
    "PAM_TEST_SUPABASE_ANON_KEY",
    "PAM_TEST_SUPABASE_SERVICE_ROLE_KEY",
    "PAM_TEST_SUPABASE_DB_URL",
)
if not all(os.environ.get(name) for name in LIVE):
    pytest.skip(f"live Supabase suite: set {', '.join(LIVE)} to run it", allow_module_level=True)

import httpx  # noqa: E402

from pam_mcp.migrate import migration_status  # noqa: E402
from pam_mcp.ratelimit import RateLimiter, parse_rate  # noqa: E402
from pam_mcp.server import App, new_app  # noqa: E402
from pam_mcp.store.rest_store import RestStore  # noqa: E402
from pam_mcp.store.supabase_session import SupabaseSession  # noqa: E402
from tests import test_tools as behaviour  # noqa: E402
from tests.conftest import RUN_ID  # noqa: E402
from tests.postgrest_fake import SwitchableTransport  # noqa: E402

# The same behaviour tests, collected here too (with the `mode` fixture they use); the
# fixtures below replace test_tools' store fixtures with the live project.
globals().update({name: item for name, item in vars(behaviour).items() if name.startswith("test_")})
mode = behaviour.mode
pytestmark = behaviour.pytestmark

SUPABASE_URL = os.environ["PAM_TEST_SUPABASE_URL"].rstrip("/")
ANON_KEY = os.environ["PAM_TEST_SUPABASE_ANON_KEY"]
SERVICE_KEY = os.environ["PAM_TEST_SUPABASE_SERVICE_ROLE_KEY"]

Accounts = dict[uuid.UUID, tuple[str, str]]


@pytest.fixture(scope="session")
def database_url() -> str:
    """The project's own database (for the tests' checks), which must already be migrated."""
    from tests.conftest import run_blocking

    url = os.environ["PAM_TEST_SUPABASE_DB_URL"]
    pending = [s.version for s in run_blocking(migration_status, url) if s.state != "applied"]
    if pending:
        pytest.skip(f"live Supabase suite: apply the migrations first (pending: {', '.join(pending)})")
    return url


@pytest.fixture
async def accounts() -> AsyncIterator[Accounts]:
    """Test users made through Supabase Auth's admin API (the service-role key's only use), then deleted."""
    made: Accounts = {}
    yield made
    admin = {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}
    async with httpx.AsyncClient(timeout=30) as http:
        for user_id in made:
            await http.delete(f"{SUPABASE_URL}/auth/v1/admin/users/{user_id}", headers=admin)


@pytest.fixture
def new_user(accounts: Accounts) -> Callable[..., Awaitable[uuid.UUID]]:
    async def make(email: str | None = None) -> uuid.UUID:
        address = email or f"pam-live-{RUN_ID}-{secrets.token_hex(4)}@example.com"
        password = secrets.token_urlsafe(18)
        admin = {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{SUPABASE_URL}/auth/v1/admin/users",
                headers=admin,
                json={"email": address, "password": password, "email_confirm": True},
            )
        response.raise_for_status()
        user_id = uuid.UUID(response.json()["id"])
        accounts[user_id] = (address, password)
        return user_id

    return make


@pytest.fixture
def transport() -> SwitchableTransport:
    return SwitchableTransport(httpx.AsyncHTTPTransport(retries=0))


@pytest.fixture
async def make_app(
    accounts: Accounts, transport: SwitchableTransport, redis_client: Any, redis_prefix: str
) -> AsyncIterator[Callable[..., App]]:
    """The REST store on the live project; each stdio user signs in with their own password."""
    async with httpx.AsyncClient(transport=transport, timeout=30) as http:

        def make(user: uuid.UUID | None = None, *, rate: str = "1000/hour", **kwargs: Any) -> App:
            session = None
            if user in accounts:
                email, password = accounts[user]
                session = SupabaseSession(
                    supabase_url=SUPABASE_URL, anon_key=ANON_KEY, http=http, email=email, password=password
                )
            store = RestStore(supabase_url=SUPABASE_URL, anon_key=ANON_KEY, http=http, session=session)
            limiter = RateLimiter(redis_client, key_prefix=redis_prefix)
            return new_app(store=store, limiter=limiter, rate=parse_rate(rate), stdio_user=user, **kwargs)

        yield make


@pytest.fixture
def outage(transport: SwitchableTransport) -> Callable[[], Awaitable[None]]:
    """The project becomes unreachable: every new connection is refused."""

    async def cut() -> None:
        transport.stop()

    return cut
