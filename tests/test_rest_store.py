"""The Supabase REST store at the HTTP boundary: what it sends, and what it makes of the answers.

The server on the other side is ``tests.postgrest_fake`` (a fake PostgREST and Supabase
Auth over the real test database). These tests pin the exact requests (RPC paths, arguments,
headers, bodies), the mapping of PostgREST's error responses to the project's errors,
the stdio sign-in and its renewal before expiry (with an injected clock), and that the
service-role key never travels on a user's behalf nor shows up in a log or an error.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from mcp.client import Client

from pam_mcp.errors import (
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    PamError,
)
from pam_mcp.runtime import open_runtime, stdio_user
from pam_mcp.serve import make_app
from pam_mcp.server import build_server
from pam_mcp.settings import Settings
from pam_mcp.store.base import Caller
from pam_mcp.store.postgres import Database
from pam_mcp.store.records import NewExpense, NewTrip
from pam_mcp.store.rest_store import RestStore
from pam_mcp.store.sql_store import PostgresStore
from pam_mcp.store.supabase_session import SupabaseSession
from tests.conftest import NewUser
from tests.postgrest_fake import URL, PostgrestFake, RecordedRequest, service_role_key

pytestmark = pytest.mark.anyio


@pytest.fixture
async def fake(database_url: str) -> AsyncIterator[PostgrestFake]:
    async with PostgrestFake.running(database_url) as running:
        yield running


@pytest.fixture
async def http(fake: PostgrestFake) -> AsyncIterator[httpx.AsyncClient]:
    async with fake.client() as client:
        yield client


@pytest.fixture
def store(fake: PostgrestFake, http: httpx.AsyncClient) -> RestStore:
    return RestStore(supabase_url=URL, anon_key=fake.anon_key, http=http)


async def caller(fake: PostgrestFake, new_user: NewUser) -> Caller:
    """An HTTP caller: their id and the access token Supabase Auth gave them."""
    user = await new_user()
    return Caller(user, fake.mint(user))


def rest(fake: PostgrestFake) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.path.startswith("/rest/")]


async def test_every_request_carries_the_anon_key_and_the_callers_own_token(
    fake: PostgrestFake, store: RestStore, new_user: NewUser
) -> None:
    me = await caller(fake, new_user)
    await store.insert_trip(me, NewTrip(title="Hay", started_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                                        ended_at=None, route=[], stops=[], notes=None, distance_km=Decimal("0")))  # fmt: skip
    await store.recent_trips(me, 5)
    await store.record_saving(me, Decimal("6.20"), "fuel", "diesel", dt.date(2026, 11, 2), None)
    await store.safety_level(me)
    assert len(rest(fake)) == 4
    for request in rest(fake):
        assert request.headers["apikey"] == fake.anon_key
        assert request.headers["authorization"] == f"Bearer {me.access_token}"


async def test_every_operation_is_one_rpc_with_named_arguments_and_no_query_string(
    fake: PostgrestFake, store: RestStore, new_user: NewUser
) -> None:
    me = await caller(fake, new_user)
    last = uuid.uuid4()
    await store.recent_trips(me, 5)
    await store.expense_page(
        me, dt.date(2026, 10, 1), dt.date(2026, 10, 31), ["food", "fuel"], (dt.date(2026, 10, 5), last), 11
    )
    at = dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)
    await store.upcoming_events(me, at, 10)
    trips, page, events = rest(fake)
    # Trips as summaries, counted in SQL: routes never travel for a list.
    assert (trips.method, trips.path, trips.body) == ("POST", "/rest/v1/rpc/pam_recent_trips", {"p_limit": 5})
    assert (page.path, page.body) == (
        "/rest/v1/rpc/pam_expense_page",
        {
            "p_start": "2026-10-01", "p_end": "2026-10-31", "p_categories": ["food", "fuel"],
            "p_after_day": "2026-10-05", "p_after_id": str(last), "p_limit": 11,
        },
    )  # fmt: skip
    assert (events.path, events.body) == (
        "/rest/v1/rpc/pam_upcoming_events",
        {"p_after": "2026-11-21T10:00:00+00:00", "p_limit": 10},
    )
    assert all(r.method == "POST" and r.query == [] for r in (trips, page, events))


async def test_an_expense_is_posted_without_a_user_id_and_a_retry_finds_the_first(
    fake: PostgrestFake, store: RestStore, new_user: NewUser
) -> None:
    me = await caller(fake, new_user)
    expense = NewExpense(amount=Decimal("12.50"), category="fuel", description=None, spent_on=dt.date(2026, 11, 20),
                         trip_id=None, client_ref="r-1")  # fmt: skip
    first, first_dup = await store.insert_expense(me, expense)
    again, again_dup = await store.insert_expense(me, expense)
    post, retry = rest(fake)
    assert post.path == retry.path == "/rest/v1/rpc/pam_log_expense"
    assert post.body == retry.body
    assert "user_id" not in post.body and "p_user_id" not in post.body  # the token says who
    assert (first_dup, again_dup) == (False, True) and again.id == first.id
    assert str(first.amount) == "12.50"


async def test_multi_statement_operations_are_one_rpc_each(
    fake: PostgrestFake, store: RestStore, new_user: NewUser
) -> None:
    me = await caller(fake, new_user)
    now = dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)
    saved = await store.record_saving(
        me, Decimal("6.20"), "fuel", "Cheaper diesel", dt.date(2026, 11, 2), "s-1", now=now
    )
    ses = await store.merge_context(me, None, {"dog": "Rex"}, [])
    await store.insert_message(me, ses.id, "user", "hello", {})
    await store.log_expense(me, NewExpense(amount=Decimal("3.10"), category="food", description=None, spent_on=None,
                                           trip_id=None, client_ref=None), now=now)  # fmt: skip
    await store.expense_report(me, None, None, None, "week", now=now)
    calls = rest(fake)
    assert [(r.method, r.path) for r in calls] == [
        ("POST", "/rest/v1/rpc/pam_record_saving"),
        ("POST", "/rest/v1/rpc/pam_merge_context"),
        ("POST", "/rest/v1/rpc/pam_log_message"),
        ("POST", "/rest/v1/rpc/pam_log_expense"),
        ("POST", "/rest/v1/rpc/pam_expense_report"),
    ]
    assert calls[0].body == {
        "p_amount": "6.20", "p_category": "fuel", "p_description": "Cheaper diesel", "p_saved_on": "2026-11-02",
        "p_client_ref": "s-1", "p_now": "2026-11-20T08:00:00+00:00",
    }  # fmt: skip
    assert calls[1].body == {"p_session_id": None, "p_facts": {"dog": "Rex"}, "p_remove": []}
    assert calls[4].body == {
        "p_start": None, "p_end": None, "p_categories": None, "p_group_by": "week", "p_after_day": None,
        "p_after_id": None, "p_limit": None, "p_now": "2026-11-20T08:00:00+00:00",
    }  # fmt: skip
    assert all(r.query == [] for r in calls)
    # PostgREST sends numeric as written (6.20); a float would have made it 6.2.
    assert str(saved.month_total) == "6.20"


async def test_row_level_security_decides_by_the_token_so_another_users_trip_is_not_found(
    fake: PostgrestFake, store: RestStore, new_user: NewUser
) -> None:
    alice, bob = await caller(fake, new_user), await caller(fake, new_user)
    trip = await store.insert_trip(alice, NewTrip(title="Secret", started_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                                                  ended_at=None, route=[], stops=[], notes=None, distance_km=Decimal("0")))  # fmt: skip
    with pytest.raises(NotFound, match=f"No trip {trip.id}"):
        await store.get_trip(bob, trip.id)
    assert (await store.get_trip(alice, trip.id)).title == "Secret"


async def test_a_refusal_an_operation_words_for_the_person_reads_the_same_on_both_stores(
    fake: PostgrestFake, store: RestStore, new_user: NewUser, db: Database
) -> None:
    me = await caller(fake, new_user)
    now = dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)
    late = NewExpense(amount=Decimal(5), category="food", description=None, spent_on=dt.date(2026, 12, 25),
                      trip_id=None, client_ref=None)  # fmt: skip
    with pytest.raises(InvalidInput) as over_rest:
        await store.log_expense(me, late, now=now)  # PostgREST passes SQLSTATE PAM01 and its message on
    with pytest.raises(InvalidInput) as over_pg:
        await PostgresStore(db).log_expense(me, late, now=now)
    assert str(over_rest.value) == str(over_pg.value)
    assert str(over_pg.value) == "Invalid arguments: spent_on is in the future; log expenses when they happen."


CANNED = [
    (403, {"code": "42501", "message": "permission denied for table trips", "details": None, "hint": None},
     Forbidden, "not yours"),
    (409, {"code": "23505", "message": 'duplicate key value violates unique constraint "trips_pkey"',
           "details": "Key (id)=(1) already exists.", "hint": None}, Conflict, "already exists"),
    (409, {"code": "23503", "message": "insert or update on table violates foreign key constraint",
           "details": None, "hint": None}, NotFound, "does not exist"),
    (400, {"code": "23514", "message": 'new row violates check constraint "trips_check"', "details": None,
           "hint": None}, InvalidInput, "break a rule"),
    (400, {"code": "P0001", "message": "custom trigger text", "details": None, "hint": None}, InvalidInput,
     "refused by a rule"),
    (401, {"code": "PGRST303", "message": "JWT expired", "details": None, "hint": None}, Forbidden, "sign in again"),
    (503, {"code": "PGRST001", "message": "Database client error. Retrying the connection.", "details": None,
           "hint": None}, DatabaseUnavailable, "cannot be reached"),
    (502, "<html><body>502 Bad Gateway (cloudflare)</body></html>", DatabaseUnavailable, "cannot be reached"),
    (404, {"code": "PGRST205", "message": "Could not find the table 'public.trips' in the schema cache",
           "details": None, "hint": None}, ConfigurationError, "apply the migrations"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "body", "error", "words"), CANNED)
async def test_postgrest_error_responses_become_the_projects_errors_without_their_text(
    fake: PostgrestFake, store: RestStore, new_user: NewUser, status: int, body: Any, error: type[PamError], words: str
) -> None:
    me = await caller(fake, new_user)
    fake.respond_next(status, body, "text/html" if isinstance(body, str) else "application/json")
    with pytest.raises(error) as raised:
        await store.get_trip(me, uuid.uuid4())
    assert type(raised.value) is error and words in str(raised.value)
    for leak in ("trips", "constraint", "JWT", "Bad Gateway", "schema cache", "custom trigger", "Retrying"):
        assert leak not in str(raised.value)


async def test_the_same_refusal_reads_the_same_on_both_stores(
    fake: PostgrestFake, store: RestStore, new_user: NewUser, db: Database
) -> None:
    me = await caller(fake, new_user)
    dangling = NewExpense(amount=Decimal(5), category="food", description=None, spent_on=dt.date(2026, 11, 1),
                          trip_id=uuid.uuid4(), client_ref=None)  # fmt: skip
    with pytest.raises(NotFound) as over_rest:
        await store.insert_expense(me, dangling)  # a real 409 / 23503 from the fake
    with pytest.raises(NotFound) as over_pg:
        await PostgresStore(db).insert_expense(me, dangling)
    assert rest(fake)[-1].path == "/rest/v1/rpc/pam_log_expense"
    assert str(over_rest.value) == str(over_pg.value)


async def test_an_expired_token_is_refused_by_the_server_and_asks_to_sign_in_again(
    fake: PostgrestFake, store: RestStore, new_user: NewUser
) -> None:
    user = await new_user()
    with pytest.raises(Forbidden, match="sign in again"):
        await store.recent_trips(Caller(user, fake.mint(user, expires_in=-120)), 1)


async def test_a_wrong_anon_key_names_the_variable_to_fix(
    fake: PostgrestFake, http: httpx.AsyncClient, new_user: NewUser
) -> None:
    wrong = RestStore(supabase_url=URL, anon_key="not-the-projects-key", http=http)
    with pytest.raises(ConfigurationError, match="SUPABASE_ANON_KEY"):
        await wrong.recent_trips(await caller(fake, new_user), 1)


async def test_a_refused_connection_is_database_unavailable_without_driver_text(new_user: NewUser) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    user = await new_user()
    async with httpx.AsyncClient(timeout=5) as http:
        store = RestStore(supabase_url=f"http://127.0.0.1:{port}", anon_key="anon", http=http)
        with pytest.raises(DatabaseUnavailable) as raised:
            await store.recent_trips(Caller(user, "token"), 1)
    assert "nothing was saved" in str(raised.value)
    for word in ("httpx", "Connect", "Errno", "127.0.0.1", "refused"):
        assert word not in str(raised.value)


async def test_a_call_without_a_token_or_session_sends_nothing(fake: PostgrestFake, store: RestStore) -> None:
    with pytest.raises(Forbidden, match="sign in again"):
        await store.recent_trips(Caller(uuid.uuid4()), 1)
    assert fake.requests == []


# -- stdio: the user signs in as themselves -----------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_stdio_signs_in_with_email_and_password_and_renews_before_expiry(
    database_url: str, new_user: NewUser
) -> None:
    clock = Clock()
    async with PostgrestFake.running(database_url, now=clock) as fake, fake.client() as http:
        user = await new_user()
        fake.add_password("robyn@example.test", "correct horse", user)
        session = SupabaseSession(supabase_url=URL, anon_key=fake.anon_key, http=http, email="robyn@example.test",
                                  password="correct horse", clock=clock, refresh_margin=60)  # fmt: skip
        store = RestStore(supabase_url=URL, anon_key=fake.anon_key, http=http, session=session)
        assert await session.sign_in() == user
        await store.recent_trips(Caller(user), 1)
        clock.now += 3600 - 61  # not yet within the margin: the same token
        await store.recent_trips(Caller(user), 1)
        clock.now += 2  # 59 s before expiry: renewed first
        await store.recent_trips(Caller(user), 1)
        clock.now += 3600 - 30  # and again: the rotated refresh token was kept
        await store.recent_trips(Caller(user), 1)
    sign_in, first, same, refresh, renewed, refresh2, renewed2 = fake.requests
    assert (sign_in.path, sign_in.param("grant_type")) == ("/auth/v1/token", ["password"])
    assert sign_in.body["email"] == "robyn@example.test" and sign_in.body["password"] == "correct horse"
    assert sign_in.headers["apikey"] == fake.anon_key
    assert first.headers["authorization"] == same.headers["authorization"]
    assert (refresh.path, refresh.param("grant_type")) == ("/auth/v1/token", ["refresh_token"])
    assert renewed.headers["authorization"] != first.headers["authorization"]
    assert refresh2.param("grant_type") == ["refresh_token"] and refresh2.body != refresh.body
    assert renewed2.headers["authorization"] not in (first.headers["authorization"], renewed.headers["authorization"])


async def test_stdio_with_a_refresh_token_that_is_revoked_later_asks_to_sign_in_again(
    database_url: str, new_user: NewUser
) -> None:
    clock = Clock()
    async with PostgrestFake.running(database_url, now=clock) as fake, fake.client() as http:
        user = await new_user()
        session = SupabaseSession(supabase_url=URL, anon_key=fake.anon_key, http=http,
                                  refresh_token=fake.issue_refresh_token(user), clock=clock)  # fmt: skip
        store = RestStore(supabase_url=URL, anon_key=fake.anon_key, http=http, session=session)
        await store.recent_trips(Caller(user), 1)
        fake.revoke_refresh_tokens()
        clock.now += 3600
        with pytest.raises(Forbidden, match="sign in again"):
            await store.recent_trips(Caller(user), 1)


async def test_stdio_with_a_wrong_password_is_a_configuration_error_that_does_not_repeat_it(
    fake: PostgrestFake, http: httpx.AsyncClient, new_user: NewUser
) -> None:
    fake.add_password("robyn@example.test", "correct horse", await new_user())
    session = SupabaseSession(supabase_url=URL, anon_key=fake.anon_key, http=http, email="robyn@example.test",
                              password="battery staple")  # fmt: skip
    with pytest.raises(ConfigurationError, match="PAM_USER_PASSWORD") as raised:
        await session.sign_in()
    assert "battery" not in str(raised.value)


async def test_a_stdio_session_never_lends_its_token_to_another_user(
    fake: PostgrestFake, http: httpx.AsyncClient, new_user: NewUser
) -> None:
    user = await new_user()
    session = SupabaseSession(supabase_url=URL, anon_key=fake.anon_key, http=http,
                              refresh_token=fake.issue_refresh_token(user))  # fmt: skip
    store = RestStore(supabase_url=URL, anon_key=fake.anon_key, http=http, session=session)
    with pytest.raises(Forbidden):
        await store.recent_trips(Caller(uuid.uuid4()), 1)
    assert rest(fake) == []


# -- wiring: SUPABASE_URL without DATABASE_URL ----------------------------------------------------


def settings(**env: str) -> Settings:
    return Settings.model_validate(env)


@pytest.fixture
def supabase_env(monkeypatch: pytest.MonkeyPatch, fake: PostgrestFake) -> Callable[..., Settings]:
    for name in ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "PAM_USER_ID",
                 "PAM_USER_EMAIL", "PAM_USER_PASSWORD", "PAM_USER_REFRESH_TOKEN"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    # The one seam: the runtime's HTTP client talks to the fake instead of the internet.
    monkeypatch.setattr("pam_mcp.runtime.supabase_http_client", fake.client)
    return settings


async def test_supabase_url_without_database_url_serves_over_rest_and_the_service_key_never_travels(
    fake: PostgrestFake,
    supabase_env: Callable[..., Settings],
    new_user: NewUser,
    redis_url: str,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    service = service_role_key()
    user = await new_user()
    fake.add_password("robyn@example.test", "pw-1", user)
    config = supabase_env(
        SUPABASE_URL=URL, SUPABASE_ANON_KEY=fake.anon_key, SUPABASE_SERVICE_ROLE_KEY=service, REDIS_URL=redis_url,
        PAM_USER_EMAIL="robyn@example.test", PAM_USER_PASSWORD="pw-1",
    )  # fmt: skip
    texts: list[str] = []
    async with open_runtime(config) as runtime:
        assert runtime.db is None and isinstance(runtime.store, RestStore)
        app = make_app(runtime, key_prefix=redis_prefix)
        app.stdio_user = await stdio_user(runtime)
        async with Client(build_server(app)) as client:
            ok = await client.call_tool("log_expense", {"amount": 9, "category": "food"})
            bad = await client.call_tool(
                "log_message", {"session_id": str(uuid.uuid4()), "role": "user", "content": "hi"}
            )
            texts += [c.text for c in ok.content + bad.content]  # type: ignore[union-attr]
    assert app.stdio_user == user and not ok.is_error and bad.is_error
    assert [r.path for r in rest(fake)] == ["/rest/v1/rpc/pam_log_expense", "/rest/v1/rpc/pam_log_message"]
    for request in fake.requests:
        assert service not in repr(request)
        assert request.headers["apikey"] == fake.anon_key
    assert service not in caplog.text and all(service not in t for t in texts)


async def test_the_rest_store_needs_the_anon_key_and_stdio_needs_the_users_credentials(
    fake: PostgrestFake, supabase_env: Callable[..., Settings], redis_url: str
) -> None:
    with pytest.raises(ConfigurationError, match="SUPABASE_ANON_KEY"):
        async with open_runtime(supabase_env(SUPABASE_URL=URL, REDIS_URL=redis_url)):
            pass
    async with open_runtime(supabase_env(SUPABASE_URL=URL, SUPABASE_ANON_KEY=fake.anon_key, REDIS_URL=redis_url)) as rt:
        with pytest.raises(ConfigurationError, match="PAM_USER_EMAIL and PAM_USER_PASSWORD, or PAM_USER_REFRESH_TOKEN"):
            await stdio_user(rt)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        # A gateway's timeout may come after PostgREST committed: unknown, never "nothing was saved".
        (504, "<html><body>504 Gateway Time-out</body></html>", OutcomeUnknown, "may or may not have been saved"),
        (503, {"code": "57P01", "message": "terminating connection due to administrator command"}, OutcomeUnknown,
         "may or may not have been saved"),
        # PostgREST never reached the database: nothing ran.
        (503, {"code": "PGRST001", "message": "Database client error."}, DatabaseUnavailable, "nothing was saved"),
        # 2xx: it committed, even if the answer cannot be read.
        (200, "<html>not json</html>", PamError, "saved the change"),
    ],
)  # fmt: skip
async def test_a_write_whose_answer_is_lost_says_what_is_known_of_it(
    fake: PostgrestFake, store: RestStore, new_user: NewUser, status: int, body: Any, error: type[PamError], words: str
) -> None:
    me = await caller(fake, new_user)
    fake.respond_next(status, body, "text/html" if isinstance(body, str) else "application/json")
    with pytest.raises(error) as raised:
        await store.call(me, "pam_log_income", saved="the income", p_amount=Decimal("5.00"))
    assert type(raised.value) is error and words in str(raised.value)
