"""``Database.call_as``: one operation as the person, in one round trip (docs/security-call-as-person.md).

On a database of its own (it creates test functions in ``public`` and roles of its own), with
every migration applied. Round trips are counted on the wire: a relay between asyncpg and
PostgreSQL counts the server's ReadyForQuery messages, one per answer a client waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import anyio
import asyncpg
import pytest

from pam_mcp.errors import Conflict, DatabaseUnavailable, Forbidden, InvalidInput, NotFound, OutcomeUnknown, PamError
from pam_mcp.migrate import migrate
from pam_mcp.store import postgres
from pam_mcp.store.postgres import Database
from tests.conftest import NewUser, run_blocking

pytestmark = pytest.mark.anyio

WRAPPER = "pam_internal.call_as(uuid, text, jsonb)"
TODAY = dt.date.today()
MONTH = (TODAY.replace(day=1), TODAY)
# Test functions, created by the login role (the owner, as the migrations' functions are).
FUNCTIONS = """
create or replace function public.call_as_test_whoami() returns jsonb language sql stable set search_path = ''
as $$ select pg_catalog.jsonb_build_object('current_user', current_user, 'uid', auth.uid(), 'jwt', auth.jwt()) $$;
create or replace function public.call_as_test_fail(p_sqlstate text) returns jsonb language plpgsql
set search_path = '' as $$
begin
  if p_sqlstate = '23503' then
    raise exception 'insert or update violates foreign key' using errcode = '23503', constraint = 'expenses_trip_fkey';
  end if;
  raise exception 'driver text: table public.secret_things' using errcode = p_sqlstate;
end $$;
create or replace function public.call_as_test_definer() returns jsonb language sql security definer
set search_path = '' as $$ select '{}'::jsonb $$;
create or replace function public.call_as_test_overloaded(p_a integer) returns integer language sql
set search_path = '' as $$ select p_a $$;
create or replace function public.call_as_test_overloaded(p_a text) returns text language sql
set search_path = '' as $$ select p_a $$;
create or replace function public.call_as_test_not_granted() returns integer language sql
set search_path = '' as $$ select 1 $$;
create or replace function public.call_as_test_other_owner() returns integer language sql
set search_path = '' as $$ select 1 $$;
revoke all on function public.call_as_test_not_granted() from public, anon, authenticated, service_role;
grant execute on function public.call_as_test_whoami(), public.call_as_test_fail(text),
  public.call_as_test_definer(), public.call_as_test_overloaded(integer), public.call_as_test_overloaded(text),
  public.call_as_test_other_owner() to authenticated;
"""


@pytest.fixture(scope="module")
def database_url(fresh_database: Callable[[str], str]) -> str:
    """This module's own database (overrides conftest's, so ``db`` and ``new_user`` use it)."""
    dsn = fresh_database("call_as")
    run_blocking(migrate, dsn)

    async def create() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(FUNCTIONS)
        finally:
            await conn.close()

    run_blocking(create)
    return dsn


@contextlib.asynccontextmanager
async def a_role(db: Database, *, owns: str | None = None) -> AsyncIterator[str]:
    """A role of this test's own with no grant at all: what PUBLIC may do, it may do."""
    role = f"call_as_{uuid.uuid4().hex[:10]}"
    async with db.pool.acquire() as conn:
        await conn.execute(f"create role {role} nologin")
        if owns:
            await conn.execute(f"alter function {owns} owner to {role}")
    try:
        yield role
    finally:
        async with db.pool.acquire() as conn:
            if owns:
                await conn.execute(f"alter function {owns} owner to current_user")
            await conn.execute(f"drop role {role}")


def saving(amount: str = "6.40", **more: Any) -> dict[str, Any]:
    return {"p_amount": Decimal(amount), "p_category": "fuel", "p_description": "diesel 8c/L cheaper",
            "p_saved_on": TODAY, **more}  # fmt: skip


def snapshot_args() -> dict[str, Any]:
    return {"p_session_id": None, "p_message_limit": 5, "p_month_start": MONTH[0], "p_month_end": MONTH[1],
            "p_now": dt.datetime.now(dt.UTC)}  # fmt: skip


# -- who may run it ---------------------------------------------------------------------------


async def test_the_wrapper_is_not_security_definer_and_pins_its_search_path(db: Database) -> None:
    async with db.pool.acquire() as conn:
        row = await conn.fetchrow(
            f"select prosecdef, proconfig, proowner = (select oid from pg_roles where rolname = current_user) as mine"
            f" from pg_proc where oid = '{WRAPPER}'::regprocedure"
        )
    assert row is not None
    assert row["prosecdef"] is False
    assert row["proconfig"] == ['search_path=""']
    assert row["mine"], "the login role (which ran the migrations) owns it, so only it may execute it"


@pytest.mark.parametrize("role", ["anon", "authenticated", "service_role", "PUBLIC"])
async def test_api_roles_and_public_cannot_execute_it(db: Database, new_user: NewUser, role: str) -> None:
    person = await new_user()
    async with contextlib.AsyncExitStack() as stack:
        name = role if role != "PUBLIC" else await stack.enter_async_context(a_role(db))
        conn = await stack.enter_async_context(db.pool.acquire())
        assert not await conn.fetchval(f"select has_function_privilege('{name}', '{WRAPPER}', 'execute')")
        assert not await conn.fetchval(f"select has_schema_privilege('{name}', 'pam_internal', 'usage')")
        async with conn.transaction():
            await conn.execute(f"set local role {name}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                await conn.fetchval("select pam_internal.call_as($1, 'call_as_test_whoami', '{}')", person)


async def test_from_inside_a_persons_transaction_it_is_refused(db: Database, new_user: NewUser) -> None:
    # A statement running as the person (as_user) cannot reach it to become someone else.
    person, other = await new_user(), await new_user()
    with pytest.raises(Forbidden):
        async with db.as_user(person) as tx:
            await tx.fetchval("select pam_internal.call_as($1, 'call_as_test_whoami', '{}')", other)


# -- what runs inside -------------------------------------------------------------------------


async def test_inside_it_runs_as_authenticated_with_the_persons_claims_and_nothing_outlives_it(
    new_user: NewUser, database_url: str
) -> None:
    person = await new_user()
    db = await Database.connect(database_url, min_size=1, max_size=1)  # one connection: the next borrower sees it
    try:
        inside = await db.call_as(person, "call_as_test_whoami", {}, writes=False)
        assert inside == {
            "current_user": "authenticated",
            "uid": str(person),
            "jwt": {"sub": str(person), "role": "authenticated", "aud": "authenticated"},
        }
        async with db.pool.acquire() as conn:
            after = await conn.fetchrow("select current_user::text, current_setting('request.jwt.claims', true)")
        assert after is not None and after[0] != "authenticated" and not after[1]
    finally:
        await db.close()


async def test_rls_shows_each_person_only_their_own_rows_exactly_as_as_user(db: Database, new_user: NewUser) -> None:
    alice, bob = await new_user(), await new_user()
    saved = await db.call_as(alice, "record_saving", saving("6.40", p_client_ref="r1"))
    assert saved == [{"event_id": saved[0]["event_id"], "month": TODAY.replace(day=1).isoformat(),
                      "month_total": Decimal("6.40"), "duplicate": False}]  # fmt: skip
    again = await db.call_as(alice, "record_saving", saving("6.40", p_client_ref="r1"))
    assert again[0]["duplicate"] is True and again[0]["event_id"] == saved[0]["event_id"]
    args = snapshot_args()
    alices = await db.call_as(alice, "context_snapshot", args, writes=False)
    bobs = await db.call_as(bob, "context_snapshot", args, writes=False)
    assert alices["month_saved"] == Decimal("6.40")
    assert bobs["month_saved"] == 0
    for person, seen in ((alice, alices), (bob, bobs)):
        async with db.as_user(person) as tx:
            text = await tx.fetchval("select public.context_snapshot($1, $2, $3, $4, $5)::text", *args.values())
        assert json.loads(text, parse_float=Decimal) == seen


async def test_values_are_bound_never_spliced_and_keep_their_types(db: Database, new_user: NewUser) -> None:
    person = await new_user()
    hostile = "'); delete from public.pam_savings_events; --"
    await db.call_as(person, "record_saving", saving("0.10", p_description=hostile))
    await db.call_as(person, "record_saving", saving("98765.43"))
    async with db.as_user(person) as tx:
        rows = await tx.fetch("select amount, description from public.pam_savings_events order by amount")
    assert [(r["amount"], r["description"]) for r in rows] == [
        (Decimal("0.10"), hostile),
        (Decimal("98765.43"), "diesel 8c/L cheaper"),
    ]
    # An array parameter from a list; a left-out parameter (p_group_by) takes its default, 'category'.
    async with db.as_user(person) as tx:
        await tx.executemany(
            "insert into public.expenses (amount, category, spent_on) values ($1, $2, $3)",
            [
                (Decimal("40.00"), "fuel", TODAY),
                (Decimal("12.50"), "food", TODAY),
                (Decimal("30.00"), "campground", TODAY),
            ],
        )
    groups = await db.call_as(
        person,
        "expense_summary",
        {"p_start": MONTH[0], "p_end": MONTH[1], "p_categories": ["fuel", "food"]},
        writes=False,
    )
    assert groups == [
        {"key": "food", "total": Decimal("12.50"), "count": 1},
        {"key": "fuel", "total": Decimal("40.00"), "count": 1},
    ]


# -- one round trip ---------------------------------------------------------------------------


class Relay:
    """A TCP relay to PostgreSQL that counts the server's ReadyForQuery ('Z') messages: one per
    round trip of a client that waits for each answer. ``cut`` drops the client once the server
    has answered the next request, without passing the answer on (a connection lost in flight)."""

    def __init__(self, database_url: str) -> None:
        # The server the URL names: over TCP, or (the embedded server) a Unix socket in the
        # directory its ``host=`` query parameter gives.
        parts = urlsplit(database_url)
        port = parts.port or 5432
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        self.target: tuple[str, int] | str = (
            f"{socket_dir}/.s.PGSQL.{port}" if socket_dir.startswith("/") else (parts.hostname or "127.0.0.1", port)
        )
        self.ready = 0
        self.cut = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if isinstance(self.target, str):
            up_reader, up_writer = await asyncio.open_unix_connection(self.target)
        else:
            up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def upstream() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            buffer = b""
            while data := await up_reader.read(65536):
                buffer += data
                out = bytearray()
                while len(buffer) >= 5 and len(buffer) >= 1 + int.from_bytes(buffer[1:5], "big"):
                    size = 1 + int.from_bytes(buffer[1:5], "big")
                    message, buffer = buffer[:size], buffer[size:]
                    if message[:1] == b"Z":
                        self.ready += 1
                        if self.cut:
                            writer.transport.abort()
                            up_writer.close()
                            return
                    out += message
                writer.write(out)
                await writer.drain()
            writer.close()

        for job in (upstream(), downstream()):
            task = asyncio.ensure_future(job)
            self._tasks.add(task)


@pytest.fixture
async def relayed(database_url: str) -> AsyncIterator[tuple[Relay, Database]]:
    """A Database (one connection, as the store opens them) whose every byte passes the relay."""
    parts = urlsplit(database_url)
    relay = Relay(database_url)
    port = await relay.start()
    user = f"{parts.username}@" if parts.username else ""
    dsn = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}", query="sslmode=disable"))
    db = await Database.connect(dsn, min_size=1, max_size=1)
    try:
        yield relay, db
    finally:
        with anyio.fail_after(10):
            await db.close()
            await relay.close()


async def test_a_call_is_one_round_trip_where_as_user_takes_three(
    relayed: tuple[Relay, Database], new_user: NewUser
) -> None:
    relay, db = relayed
    person = await new_user()
    with anyio.fail_after(30):
        await db.call_as(person, "record_saving", saving())  # the first call prepares the statement
        async with db.as_user(person) as tx:
            await tx.fetchrow("select * from public.record_saving($1, $2, $3, $4)", *saving().values())
        counts = {}
        for way in ("call_as", "as_user", "call_as, another function"):
            before = relay.ready
            if way == "call_as":
                await db.call_as(person, "record_saving", saving())
            elif way == "as_user":
                async with db.as_user(person) as tx:
                    await tx.fetchrow("select * from public.record_saving($1, $2, $3, $4)", *saving().values())
            else:  # one statement text serves every function: still prepared
                await db.call_as(person, "context_snapshot", snapshot_args(), writes=False)
            counts[way] = relay.ready - before
    assert counts == {"call_as": 1, "as_user": 3, "call_as, another function": 1}


async def test_behind_a_transaction_pooler_a_call_is_still_one_round_trip(database_url: str, new_user: NewUser) -> None:
    # Port 6543 (Supabase's pooler in transaction mode): the store keeps no prepared statements
    # there (statement_cache_size=0). call_as is still one statement, one implicit transaction and
    # one round trip, where as_user holds a transaction open across three.
    parts = urlsplit(database_url)
    relay = Relay(database_url)
    port = await relay.start()
    user = f"{parts.username}@" if parts.username else ""
    dsn = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}", query="sslmode=disable"))
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=1,
        statement_cache_size=0,
        init=postgres._init_connection,
        reset=postgres._keep_session,
    )
    db = Database(pool)
    person = await new_user()
    try:
        with anyio.fail_after(30):
            counts = {}
            for way in ("call_as", "as_user"):
                before = relay.ready
                if way == "call_as":
                    await db.call_as(person, "record_saving", saving())
                else:
                    async with db.as_user(person) as tx:
                        await tx.fetchrow("select * from public.record_saving($1, $2, $3, $4)", *saving().values())
                counts[way] = relay.ready - before
    finally:
        with anyio.fail_after(10):
            await pool.close()
            await relay.close()
    assert counts == {"call_as": 1, "as_user": 3}


async def test_a_connection_lost_after_the_call_was_sent_is_an_unknown_outcome_not_nothing_saved(
    relayed: tuple[Relay, Database], db: Database, new_user: NewUser
) -> None:
    relay, relayed_db = relayed
    person = await new_user()
    with anyio.fail_after(30):
        await relayed_db.call_as(person, "record_saving", saving("1.00"))
        relay.cut = True
        with pytest.raises(OutcomeUnknown):
            await relayed_db.call_as(person, "record_saving", saving("2.00"))
        relay.cut = False
        # It had in fact committed: "nothing was saved" would have been false.
        async with db.as_user(person) as tx:
            total = await tx.fetchval("select sum(amount) from public.pam_savings_events")
        assert total == Decimal("3.00")
        relay.cut = True
        with pytest.raises(DatabaseUnavailable) as lost_read:
            await relayed_db.call_as(person, "context_snapshot", snapshot_args(), writes=False)
        assert not isinstance(lost_read.value, OutcomeUnknown)
        relay.cut = False
        # The broken connection was not given back to the pool: the next call works.
        answer = await relayed_db.call_as(person, "context_snapshot", snapshot_args(), writes=False)
    assert answer["month_saved"] == Decimal("3.00")


# -- errors, as before ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [("23505", Conflict), ("23503", NotFound), ("23514", InvalidInput), ("22P02", InvalidInput),
     ("P0001", InvalidInput), ("42501", Forbidden), ("XX000", PamError)],
)  # fmt: skip
async def test_errors_inside_map_exactly_as_through_as_user(
    db: Database, new_user: NewUser, sqlstate: str, expected: type[PamError]
) -> None:
    person = await new_user()
    with pytest.raises(expected) as via_call_as:
        await db.call_as(person, "call_as_test_fail", {"p_sqlstate": sqlstate})
    with pytest.raises(expected) as via_as_user:
        async with db.as_user(person) as tx:
            await tx.fetchval("select public.call_as_test_fail($1)", sqlstate)
    assert type(via_call_as.value) is type(via_as_user.value)
    assert str(via_call_as.value) == str(via_as_user.value)
    assert "secret_things" not in str(via_call_as.value)


async def test_a_broken_rule_of_the_data_reads_as_before(db: Database, new_user: NewUser) -> None:
    person = await new_user()
    for bad in (saving("-1.00"), saving("NaN"), {**saving(), "p_category": "x" * 500}):
        with pytest.raises(InvalidInput) as raised:
            await db.call_as(person, "record_saving", bad)
        assert str(raised.value).startswith("The values given break a rule of the data")


# -- only a person's operations, no injection -------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["record_saving(1, 'a', 'b', null); drop table public.pam_savings_events; --", "public.record_saving",
     "Record_Saving", 'record_saving"', "", "x" * 64],
)  # fmt: skip
async def test_a_function_name_that_is_not_a_plain_name_is_refused_before_sending(
    db: Database, new_user: NewUser, name: str
) -> None:
    with pytest.raises(ValueError, match="not a function or argument name"):
        await db.call_as(await new_user(), name, {})
    with pytest.raises(ValueError, match="not a function or argument name"):
        await db.call_as(await new_user(), "record_saving", {"p_amount => 1); drop table x; --": 1})


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("record_saving'); drop table public.pam_savings_events; --", {}),
        ("public.record_saving", {}),
        ("set_config", {}),  # pg_catalog: every role may execute it, but it is no operation of PAM's
        ("pg_sleep", {}),
        ("roll_up_expenses", {}),  # a trigger function, and security definer
        ("call_as_test_definer", {}),
        ("call_as_test_overloaded", {"p_a": 1}),
        ("record_saving", {"p_amount => 1); drop table public.pam_savings_events; --": 1}),
        ("record_saving", {"event_id": "x"}),  # an output column is no argument
        ("does_not_exist", {}),
    ],
)
async def test_the_database_calls_only_a_persons_own_operations(
    db: Database, new_user: NewUser, name: str, args: dict[str, Any]
) -> None:
    person = await new_user()
    async with db.pool.acquire() as conn:
        with pytest.raises(asyncpg.UndefinedFunctionError, match="not an operation a person may call"):
            await conn.fetchval("select pam_internal.call_as($1, $2, $3)", person, name, args)
        assert await conn.fetchval("select to_regclass('public.pam_savings_events') is not null")


async def test_a_function_owned_by_another_role_or_not_granted_to_people_is_refused(
    db: Database, new_user: NewUser
) -> None:
    person = await new_user()
    with pytest.raises(Forbidden):  # PostgreSQL's own EXECUTE check, as `authenticated`
        await db.call_as(person, "call_as_test_not_granted", {})
    assert await db.call_as(person, "call_as_test_other_owner", {}) == 1
    async with a_role(db, owns="public.call_as_test_other_owner()"):
        with pytest.raises(PamError, match="could not complete"):
            await db.call_as(person, "call_as_test_other_owner", {})


async def test_no_operation_a_person_may_call_switches_role_or_identity(db: Database) -> None:
    # Code that call_as runs keeps the login role as its session user, so it could SET ROLE back
    # to it: the operations people may call must never do so (the review's trust boundary).
    async with db.pool.acquire() as conn:
        rows = await conn.fetch(
            "select p.proname from pg_proc p"
            " where p.pronamespace = 'public'::regnamespace and not p.prosecdef"
            " and has_function_privilege('authenticated', p.oid, 'execute')"
            " and p.prosrc ~* '(set_config\\s*\\(\\s*''(role|session_authorization|request\\.jwt[^'']*)''"
            "|set\\s+(local\\s+|session\\s+)?(role|session\\s+authorization))'"
        )
    assert [r["proname"] for r in rows] == []


async def test_inside_an_enclosing_transaction_nothing_after_the_call_runs_as_the_person(
    db: Database, new_user: NewUser
) -> None:
    person = await new_user()
    async with db.pool.acquire() as conn, conn.transaction():
        before = await conn.fetchrow(
            "select current_user::text as who, current_setting('request.jwt.claims', true) as c"
        )
        inside = await conn.fetchval(
            "select pam_internal.call_as($1::uuid, 'call_as_test_whoami', '{}'::jsonb)::text", person
        )
        after = await conn.fetchrow(
            "select current_user::text as who, current_setting('request.jwt.claims', true) as c"
        )
    assert before is not None and after is not None
    assert json.loads(inside)["current_user"] == "authenticated"
    assert (after["who"], after["c"] or "") == (before["who"], before["c"] or "")
