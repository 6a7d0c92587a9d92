"""Money and dates the database will not let anyone corrupt, written as Supabase's REST API would.

People write every table through PostgREST without pam-mcp, so each forgery here runs as
PostgREST runs a request: one transaction with ``role`` and ``request.jwt.claims`` set
transaction-locally from the caller's token (``authenticated`` with the person's ``sub``).
The rules live in the migrations ``20261130000200`` ... ``20261130000220``; these tests
show each forgery refused (by its rule, named by its SQLSTATE) and PAM still answering.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from mcp.client import Client

from pam_mcp.errors import MigrationError
from pam_mcp.migrate import migrate, migration_status, migrations_dir
from pam_mcp.server import App, build_server
from pam_mcp.store.postgres import Database
from tests.conftest import NewUser
from tests.postgrest_fake import PostgrestFake
from tests.test_tenancy import CATALOG_SAMPLES, SAMPLES

pytestmark = pytest.mark.anyio

CHECK = asyncpg.CheckViolationError  # 23514: a rule of the data refused the row
DENIED = asyncpg.InsufficientPrivilegeError  # 42501: a grant or a policy refused the caller


@asynccontextmanager
async def as_api(db: Database, user: uuid.UUID | None, role: str = "authenticated") -> AsyncIterator[Any]:
    """One request as PostgREST runs it: role and JWT claims set inside its own transaction."""
    claims = {"role": role} if user is None else {"sub": str(user), "role": role, "aud": "authenticated"}
    async with db.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)",
            role,
            json.dumps(claims),
        )
        yield conn


@asynccontextmanager
async def as_owner_rolled_back(db: Database) -> AsyncIterator[Any]:
    """The schema owner (constraints bind every role), in a transaction that is never kept."""
    async with db.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            yield conn
        finally:
            await tx.rollback()


async def refused(db: Database, user: uuid.UUID, sql: str, *args: Any) -> type[BaseException]:
    """Runs ``sql`` as ``user`` through the API's path; returns the class of the refusal."""
    try:
        async with as_api(db, user) as conn:
            await conn.execute(sql, *args)
    except asyncpg.PostgresError as exc:
        return type(exc)
    raise AssertionError(f"{sql!r} was accepted")


# -- every number, every date: read from the catalog ------------------------------------------


async def _columns(db: Database, types: tuple[str, ...]) -> list[tuple[str, str, str]]:
    async with db.pool.acquire() as conn:
        rows = await conn.fetch(
            "select c.relname, a.attname, format_type(a.atttypid, null) from pg_attribute a"
            " join pg_class c on c.oid = a.attrelid"
            " where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'"
            " and a.attnum > 0 and not a.attisdropped and format_type(a.atttypid, null) = any($1::text[])"
            " order by 1, 2",
            list(types),
        )
    return [(r[0], r[1], r[2]) for r in rows]


async def _parents(db: Database, me: uuid.UUID) -> dict[str, str]:
    async with db.pool.acquire() as conn:
        product = await conn.fetchval(
            "insert into public.shop_products (name, price, stock) values ('Hose', 20, 50) returning id"
        )
        idea = await conn.fetchval("insert into public.hustle_ideas (title) values ('Dog walking') returning id")
        session = await conn.fetchval("insert into public.pam_sessions (user_id) values ($1) returning id", me)
        group = await conn.fetchval(
            "insert into public.social_groups (user_id, name) values ($1, 'Parents') returning id", me
        )
    return {"me": str(me), "session": str(session), "group": str(group), "product": str(product), "idea": str(idea)}


# Rows only triggers write (people cannot), written here as the owner to test their columns' rules.
DERIVED_SAMPLES: dict[str, dict[str, str]] = {
    "expense_daily_totals": {
        "user_id": "'{me}'", "day": "'2026-11-01'", "category": "'fuel'", "total": "1", "count": "1"
    },
}  # fmt: skip


def _row(table: str, parents: dict[str, str], **override: str) -> str:
    """The tenancy matrix's sample row for ``table``, owned by ``me``, with ``override`` applied."""
    sample = dict(SAMPLES.get(table) or CATALOG_SAMPLES.get(table) or DERIVED_SAMPLES[table])
    if table in SAMPLES and table != "profiles":
        sample["user_id"] = "'{me}'"
    sample.update(override)
    rand = uuid.uuid4().hex[:8]
    alpha = rand.translate(str.maketrans("0123456789", "ghijklmnop"))
    values = ", ".join(v.format(**parents, rand=rand, alpha=alpha) for v in sample.values())
    return f"insert into public.{table} ({', '.join(sample)}) values ({values})"


async def _attempt(conn: Any, sql: str) -> Any:
    """Runs ``sql`` in a savepoint that is always rolled back, so attempts do not meet each other."""
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        return await conn.fetchval(sql)
    finally:
        await savepoint.rollback()


async def _stored_or_refused(conn: Any, table: str, column: str, parents: dict[str, str], value: str) -> Any:
    """Inserts the sample row with ``column`` = ``value``; returns what was stored, or the refusal."""
    try:
        return await _attempt(conn, _row(table, parents, **{column: value}) + f" returning {column}::text")
    except (CHECK, asyncpg.NumericValueOutOfRangeError) as exc:
        return exc


async def test_no_number_column_of_any_table_stores_nan_or_infinity(db: Database, new_user: NewUser) -> None:
    """Every numeric, real and double precision column, from the catalog: NaN and ±Infinity never stay."""
    me = await new_user()
    parents = await _parents(db, me)
    columns = await _columns(db, ("numeric", "real", "double precision"))
    assert len(columns) > 20
    kept: list[str] = []
    async with as_owner_rolled_back(db) as conn:
        for table, column, _ in columns:
            await _attempt(conn, _row(table, parents))  # the sample is valid: refusals below are the value's
            for value in ("'NaN'", "'Infinity'", "'-Infinity'"):
                stored = await _stored_or_refused(conn, table, column, parents, value)
                if isinstance(stored, str) and stored.lstrip("-") in ("NaN", "Infinity"):
                    kept.append(f"{table}.{column} = {stored}")
    assert kept == []


async def test_no_date_or_time_column_of_any_table_stores_infinity_or_a_date_outside_2000_2099(
    db: Database, new_user: NewUser
) -> None:
    me = await new_user()
    parents = await _parents(db, me)
    columns = await _columns(db, ("date", "timestamp with time zone", "timestamp without time zone"))
    assert len(columns) > 100
    kept: list[str] = []
    async with as_owner_rolled_back(db) as conn:
        for table, column, kind in columns:
            zone = "+00" if kind == "timestamp with time zone" else ""
            for value in ("'infinity'", "'-infinity'", f"'1999-12-31{zone}'", f"'2100-01-01{zone}'"):
                stored = await _stored_or_refused(conn, table, column, parents, value)
                if isinstance(stored, str) and not "2000" <= stored[:4] <= "2099":
                    kept.append(f"{table}.{column} = {stored}")
    assert kept == []


async def test_every_table_with_audit_times_has_them_set_by_the_database(db: Database) -> None:
    async with db.pool.acquire() as conn:
        missing = await conn.fetch(
            "select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'"
            " and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'created_at')"
            " and not exists (select 1 from pg_trigger t where t.tgrelid = c.oid"
            "                 and t.tgname = 'keep_audit_times' and not t.tgisinternal)"
        )
    assert [r[0] for r in missing] == []


# -- money: forgeries as a signed-in person ------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "insert into public.pam_savings_events (amount, category, description) values ('NaN', 'fuel', 'x')",
        "select * from public.record_saving('NaN', 'fuel', 'cheaper diesel', current_date, null)",
        "insert into public.pam_savings_events (amount, category, description) values (1000000.01, 'fuel', 'x')",
        "insert into public.expenses (amount, category) values ('NaN', 'fuel')",
        "insert into public.expenses (amount, category) values (1000000.01, 'fuel')",
        "insert into public.budgets (category, monthly_limit) values ('food', 'NaN')",
        "insert into public.trips (started_at, distance_km) values (now(), 'NaN')",
        "insert into public.fuel_log (liters, price_per_liter, total_cost) values ('NaN', 1.9, 100)",
        "insert into public.fuel_log (liters, price_per_liter, total_cost) values (60, 'NaN', 100)",
        "insert into public.fuel_log (liters, price_per_liter, total_cost) values (60, 1.9, 'NaN')",
        "insert into public.income_entries (amount, source) values ('NaN', 'market stall')",
        "insert into public.maintenance_records (service_type, cost) values ('oil', 'NaN')",
        "insert into public.user_hustle_attempts (hustle_idea_id, earned_total)"
        " select id, 'NaN' from public.hustle_ideas limit 1",
    ],
)
async def test_nan_and_absurd_amounts_are_refused_through_the_api(db: Database, new_user: NewUser, sql: str) -> None:
    me = await new_user()
    async with db.pool.acquire() as conn:
        await conn.execute("insert into public.hustle_ideas (title) values ('Photos')")
    assert await refused(db, me, sql) is CHECK
    async with as_api(db, me) as conn:
        assert await conn.fetchval("select count(*) from public.pam_savings") == 0


@pytest.mark.parametrize(
    "saved_on", ["2099-01-01", "infinity", "-infinity", "1999-12-31", "today+3"], ids=lambda d: str(d)
)
async def test_savings_dated_far_ahead_infinite_or_before_2000_are_refused(
    db: Database, new_user: NewUser, saved_on: str
) -> None:
    me = await new_user()
    day = "(now() at time zone 'UTC')::date + 3" if saved_on == "today+3" else f"'{saved_on}'::date"
    assert await refused(db, me, f"select * from public.record_saving(5, 'fuel', 'x', {day}, null)") is CHECK
    insert = f"insert into public.pam_savings_events (amount, category, description, saved_on) values (5, 'fuel', 'x', {day})"
    assert await refused(db, me, insert) is CHECK


async def test_a_saving_dated_tomorrow_anywhere_on_earth_is_accepted(db: Database, new_user: NewUser) -> None:
    """Kiribati (UTC+14) is a day ahead of UTC, and the tools accept 'today + 1 day' there."""
    me = await new_user()
    async with as_api(db, me) as conn:
        row = await conn.fetchrow(
            "select * from public.record_saving(5, 'fuel', 'x', (now() at time zone 'UTC')::date + 2, null)"
        )
    assert row["month_total"] == Decimal("5.00")


@pytest.mark.parametrize(
    "sql",
    [
        "insert into public.expenses (amount, category, spent_on) values (5, 'fuel', 'infinity')",
        "insert into public.expenses (amount, category, spent_on) values (5, 'fuel', '2099-06-01')",
        "insert into public.income_entries (amount, source, received_on) values (5, 'x', '2099-06-01')",
        "insert into public.calendar_events (title, starts_at) values ('x', 'infinity')",
        "insert into public.trips (started_at) values ('-infinity')",
        "insert into public.trips (started_at) values (now() + interval '2 years')",
    ],
)
async def test_dates_that_make_no_sense_are_refused_through_the_api(db: Database, new_user: NewUser, sql: str) -> None:
    assert await refused(db, await new_user(), sql) is CHECK


async def test_future_dates_that_make_sense_are_kept(db: Database, new_user: NewUser) -> None:
    me = await new_user()
    async with as_api(db, me) as conn:
        await conn.execute("insert into public.calendar_events (title, starts_at) values ('Rego', now() + '3 years')")
        await conn.execute(
            "insert into public.maintenance_records (service_type, next_due_on) values ('tyres', current_date + 900)"
        )


async def test_the_database_sets_created_at_whatever_the_writer_says(db: Database, new_user: NewUser) -> None:
    me = await new_user()
    async with as_api(db, me) as conn:
        now = await conn.fetchval("select now()")
        forged = [
            await conn.fetchval(
                "insert into public.safety_events (event_type, severity, created_at, updated_at)"
                " values ('emergency', 'warn', '2001-01-01', '2001-01-01') returning created_at"
            ),
            await conn.fetchval(
                "insert into public.pam_savings_events (amount, category, description, created_at)"
                " values (5, 'fuel', 'x', '2099-01-01') returning created_at"
            ),
            await conn.fetchval(
                "insert into public.expenses (amount, category, created_at) values (5, 'fuel', '2003-03-03')"
                " returning created_at"
            ),
        ]
    assert forged == [now, now, now]
    async with as_api(db, me) as conn:
        await conn.execute("update public.expenses set created_at = '2001-01-01', amount = 6")
        kept = await conn.fetchval("select created_at from public.expenses")
        updated = await conn.fetchval("select updated_at from public.expenses")
    assert kept == now and updated > now


async def test_the_service_role_may_import_rows_with_their_original_times(db: Database, new_user: NewUser) -> None:
    """Back-office imports keep their history; only the API roles (people) have their times set."""
    me = await new_user()
    async with as_api(db, None, role="service_role") as conn:
        created = await conn.fetchval(
            "insert into public.safety_events (user_id, event_type, severity, created_at)"
            " values ($1, 'emergency', 'warn', '2001-01-01 00:00+00') returning created_at",
            me,
        )
    assert created == dt.datetime(2001, 1, 1, tzinfo=dt.UTC)


# -- the tools still answer after a forgery was refused --------------------------------------


@pytest.fixture(params=["postgres", "rest"])
async def app_for(
    request: pytest.FixtureRequest, database_url: str, make_app: Callable[..., App]
) -> AsyncIterator[Callable[[uuid.UUID], App]]:
    """An App for a person, on PostgreSQL directly or through Supabase's REST API (the fake)."""
    if request.param == "postgres":
        yield make_app
        return
    from tests.postgrest_fake import rest_store

    async with PostgrestFake.running(database_url) as fake, fake.client() as http:

        def make(user: uuid.UUID) -> App:
            app: App = make_app(user)
            app.store = rest_store(fake, http, user)
            return app

        yield make


async def test_after_a_nan_saving_was_refused_record_saving_get_context_and_savings_still_answer(
    db: Database, new_user: NewUser, app_for: Callable[[uuid.UUID], App], database_url: str
) -> None:
    me = await new_user()
    # The forgery, as Supabase's REST API would run it with the person's own token.
    forged = await refused(
        db, me, "insert into public.pam_savings_events (amount, category, description) values ('NaN', 'fuel', 'x')"
    )

    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    async with Client(build_server(app_for(me))) as client:
        saved = await client.call_tool("record_saving", {"amount": "6.20", "category": "fuel", "description": "Diesel"})
        context = await client.call_tool("get_context", {})
        savings = json.loads((await client.read_resource(f"pam://savings/{month}")).contents[0].text)  # type: ignore[union-attr]
    assert not saved.is_error and saved.structured_content is not None
    assert saved.structured_content["month_total"] == "6.20"
    assert not context.is_error
    assert savings["guarantee"]["total_saved"] == "6.20" and len(savings["savings"]) == 1
    assert forged is asyncpg.CheckViolationError


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("record_saving", {"amount": 5, "category": "fuel", "description": "x", "saved_on": "1999-12-31"}),
        ("log_expense", {"amount": 5, "category": "fuel", "spent_on": "1999-12-31"}),
    ],
)
async def test_the_tools_name_a_date_before_2000_as_the_database_would_refuse_it(
    make_app: Callable[..., App], new_user: NewUser, tool: str, args: dict[str, Any]
) -> None:
    async with Client(build_server(make_app(await new_user()))) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Invalid arguments" in text and next(k for k in args if k.endswith("_on")) in text and "2000-01-01" in text


async def test_a_database_already_holding_a_nan_saving_refuses_the_migration_and_says_where(
    fresh_database: Callable[[str], str], tmp_path: Path
) -> None:
    """An existing poisoned row is not repaired by guessing: the migration stops and names it."""
    dsn = fresh_database("nan_before")
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted(migrations_dir().glob("*.sql")):
        if path.name < "20261130000200":
            shutil.copy(path, before / path.name)
    await migrate(dsn, before)
    conn = await asyncpg.connect(dsn)
    try:
        user = await conn.fetchval(
            "insert into auth.users (id, email) values (gen_random_uuid(), 'n@x.test') returning id"
        )
        await conn.execute(
            "insert into public.pam_savings_events (user_id, amount, category, description) values ($1, 'NaN', 'fuel', 'x')",
            user,
        )
    finally:
        await conn.close()

    with pytest.raises(MigrationError) as failed:
        await migrate(dsn)
    message = str(failed.value)
    assert "20261130000200_sane_numbers_and_dates.sql" in message
    assert "pam_savings" in message and "finite" in message and "1 row(s)" in message
    pending = {s.version for s in await migration_status(dsn) if s.state == "pending"}
    assert "20261130000200" in pending


# -- the shop: priced by the database, moved along by the service role --------------------------


async def _product(
    db: Database, *, price: str = "50", sale: str | None = None, stock: int = 10, active: bool = True
) -> uuid.UUID:
    async with db.pool.acquire() as conn:
        product: uuid.UUID = await conn.fetchval(
            "insert into public.shop_products (name, price, sale_price, stock, active, currency)"
            " values ('Water filter', $1::numeric, $2::numeric, $3, $4, 'NZD') returning id",
            price,
            sale,
            stock,
            active,
        )
    return product


async def test_an_order_is_priced_from_the_catalogue_and_starts_pending(db: Database, new_user: NewUser) -> None:
    me = await new_user()
    product = await _product(db, price="50", sale="40")
    async with as_api(db, me) as conn:
        order = await conn.fetchrow(
            "insert into public.shop_orders (product_id, quantity) values ($1, 2)"
            " returning unit_price, total, currency, status",
            product,
        )
    assert dict(order) == {
        "unit_price": Decimal("40.00"),
        "total": Decimal("80.00"),
        "currency": "NZD",
        "status": "pending",
    }


@pytest.mark.parametrize(
    ("columns", "values", "product_kind", "refusal"),
    [
        ("product_id, status", "$1, 'paid'", "normal", DENIED),
        ("product_id, unit_price, total", "$1, 0.01, 0", "normal", DENIED),
        ("product_id, total", "$1, 0", "normal", DENIED),
        ("product_id, currency", "$1, 'IDR'", "normal", DENIED),
        ("product_id, quantity", "$1, 11", "normal", CHECK),  # 10 in stock
        ("product_id", "$1", "inactive", CHECK),
        ("product_id", "$1", "sold out", CHECK),
        ("product_id, quantity", "$1, 101", "plenty", CHECK),
    ],
)
async def test_a_person_cannot_forge_an_order(
    db: Database,
    new_user: NewUser,
    columns: str,
    values: str,
    product_kind: str,
    refusal: type[BaseException],
) -> None:
    me = await new_user()
    product = await _product(
        db, active=product_kind != "inactive", stock={"sold out": 0, "plenty": 500}.get(product_kind, 10)
    )
    assert await refused(db, me, f"insert into public.shop_orders ({columns}) values ({values})", product) is refusal
    async with as_api(db, me) as conn:
        assert await conn.fetchval("select count(*) from public.shop_orders") == 0


async def _order(db: Database, me: uuid.UUID) -> uuid.UUID:
    product = await _product(db)
    async with as_api(db, me) as conn:
        order: uuid.UUID = await conn.fetchval(
            "insert into public.shop_orders (product_id) values ($1) returning id", product
        )
    return order


async def _status(db: Database, order: uuid.UUID) -> str:
    async with db.pool.acquire() as conn:
        status: str = await conn.fetchval("select status from public.shop_orders where id = $1", order)
    return status


@pytest.mark.parametrize("status", ["paid", "shipped", "delivered", "refunded"])
async def test_only_the_service_role_moves_an_order_past_pending(db: Database, new_user: NewUser, status: str) -> None:
    me = await new_user()
    order = await _order(db, me)
    sql = "update public.shop_orders set status = $1 where id = $2"
    assert await refused(db, me, sql, status, order) is DENIED
    assert await refused(db, me, "update public.shop_orders set total = 0 where id = $1", order) is DENIED
    assert await _status(db, order) == "pending"
    async with as_api(db, None, role="service_role") as conn:
        assert await conn.execute(sql, status, order) == "UPDATE 1"
    assert await _status(db, order) == status
    # Once paid (or further), the person can neither cancel nor delete it.
    async with as_api(db, me) as conn:
        assert (
            await conn.execute("update public.shop_orders set status = 'cancelled' where id = $1", order) == "UPDATE 0"
        )
        assert await conn.execute("delete from public.shop_orders where id = $1", order) == "DELETE 0"
    assert await _status(db, order) == status


async def test_a_person_may_cancel_their_own_pending_order_once(db: Database, new_user: NewUser) -> None:
    me, other = await new_user(), await new_user()
    order = await _order(db, me)
    async with as_api(db, other) as conn:
        assert (
            await conn.execute("update public.shop_orders set status = 'cancelled' where id = $1", order) == "UPDATE 0"
        )
    async with as_api(db, me) as conn:
        assert (
            await conn.execute("update public.shop_orders set status = 'cancelled' where id = $1", order) == "UPDATE 1"
        )
        assert await conn.execute("update public.shop_orders set status = 'pending' where id = $1", order) == "UPDATE 0"
    assert await _status(db, order) == "cancelled"


async def test_a_paid_order_forged_through_the_rest_api_is_refused(
    db: Database, new_user: NewUser, database_url: str
) -> None:
    me = await new_user()
    product = await _product(db)
    # As Supabase's REST API would run each insert with the person's own token.
    forged = await refused(
        db, me, "insert into public.shop_orders (product_id, status, total) values ($1, 'paid', 0)", product
    )
    async with as_api(db, me) as conn:
        await conn.execute("insert into public.shop_orders (product_id, quantity) values ($1, 3)", product)
    assert forged is asyncpg.InsufficientPrivilegeError
    async with as_api(db, me) as conn:
        rows = await conn.fetch("select status, total from public.shop_orders")
    assert [tuple(r) for r in rows] == [("pending", Decimal("150.00"))]


# -- groups: members only -----------------------------------------------------------------------


async def test_only_members_of_a_group_may_post_into_it(db: Database, new_user: NewUser) -> None:
    founder, member, outsider = await new_user(), await new_user(), await new_user()
    async with as_api(db, founder) as conn:
        group = await conn.fetchval("insert into public.social_groups (name) values ('Grey nomads') returning id")
        other_group = await conn.fetchval("insert into public.social_groups (name) values ('Surfers') returning id")
    async with as_api(db, member) as conn:
        await conn.execute("insert into public.group_memberships (group_id) values ($1)", group)
        await conn.execute("insert into public.social_posts (group_id, content) values ($1, 'Hello all')", group)
        post = await conn.fetchval("insert into public.social_posts (content) values ('Sunset') returning id")

    insert = "insert into public.social_posts (group_id, content) values ($1, 'Buy my stuff')"
    assert await refused(db, outsider, insert, group) is DENIED
    assert await refused(db, founder, insert, group) is DENIED  # creating a group is not joining it
    move = "update public.social_posts set group_id = $1 where id = $2"
    assert await refused(db, member, move, other_group, post) is DENIED
    async with as_api(db, outsider) as conn:
        posts = await conn.fetch("select content from public.social_posts where group_id = $1", group)
    assert [r[0] for r in posts] == ["Hello all"]


async def _private_group(db: Database, founder: uuid.UUID) -> Any:
    async with as_api(db, founder) as conn:
        return await conn.fetchval(
            "insert into public.social_groups (name, is_private) values ('Family convoy', true) returning id"
        )


async def test_nobody_can_join_a_private_group_by_themselves(db: Database, new_user: NewUser) -> None:
    founder, stranger = await new_user(), await new_user()
    group = await _private_group(db, founder)

    join = "insert into public.group_memberships (group_id) values ($1)"
    assert await refused(db, stranger, join, group) is DENIED
    post = "insert into public.social_posts (group_id, content) values ($1, 'Let me in')"
    assert await refused(db, stranger, post, group) is DENIED
    async with as_owner_rolled_back(db) as conn:
        assert await conn.fetchval("select count(*) from public.group_memberships where group_id = $1", group) == 0


async def test_the_creator_of_a_private_group_adds_members_who_may_then_post(db: Database, new_user: NewUser) -> None:
    founder, friend, other = await new_user(), await new_user(), await new_user()
    group = await _private_group(db, founder)
    async with as_api(db, founder) as conn:
        await conn.execute("insert into public.group_memberships (group_id) values ($1)", group)  # joins own group
        await conn.execute("select public.add_group_member($1, $2)", group, friend)
        await conn.execute("select public.add_group_member($1, $2)", group, friend)  # already a member: no-op
        await conn.execute("insert into public.social_posts (group_id, content) values ($1, 'Meet at 8')", group)
    async with as_api(db, friend) as conn:
        await conn.execute("insert into public.social_posts (group_id, content) values ($1, 'See you')", group)

    # Someone who did not create the group cannot add anyone to it, by the function or directly.
    assert await refused(db, friend, "select public.add_group_member($1, $2)", group, other) is DENIED
    insert = "insert into public.group_memberships (group_id, user_id) values ($1, $2)"
    assert await refused(db, friend, insert, group, other) is DENIED
    async with as_owner_rolled_back(db) as conn:
        members = await conn.fetch("select user_id from public.group_memberships where group_id = $1", group)
        posts = await conn.fetchval("select count(*) from public.social_posts where group_id = $1", group)
    assert {r[0] for r in members} == {founder, friend}
    assert posts == 2


async def test_the_creator_of_an_open_group_cannot_sign_other_people_up(db: Database, new_user: NewUser) -> None:
    founder, someone = await new_user(), await new_user()
    async with as_api(db, founder) as conn:
        group = await conn.fetchval("insert into public.social_groups (name) values ('Open road') returning id")

    insert = "insert into public.group_memberships (group_id, user_id) values ($1, $2)"
    assert await refused(db, founder, insert, group, someone) is DENIED
    assert (
        await refused(db, founder, "select public.add_group_member($1, $2)", group, someone)
        is asyncpg.InvalidParameterValueError
    )


async def test_a_member_cannot_move_their_membership_into_another_group(db: Database, new_user: NewUser) -> None:
    founder, member = await new_user(), await new_user()
    async with as_api(db, founder) as conn:
        group = await conn.fetchval("insert into public.social_groups (name) values ('Grey nomads') returning id")
    private = await _private_group(db, founder)
    async with as_api(db, member) as conn:
        await conn.execute("insert into public.group_memberships (group_id) values ($1)", group)
        await conn.execute("update public.group_memberships set notify = false")  # the flag is theirs to change

    # No WHERE: one that names a column would also check the SELECT policy and hide a gap.
    assert await refused(db, member, "update public.group_memberships set group_id = $1", private) is DENIED
    post = "insert into public.social_posts (group_id, content) values ($1, 'Sneaked in')"
    assert await refused(db, member, post, private) is DENIED
    async with as_owner_rolled_back(db) as conn:
        rows = await conn.fetch("select group_id, notify from public.group_memberships where user_id = $1", member)
    assert [tuple(r) for r in rows] == [(group, False)]


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("insert into public.fuel_log (liters, price_per_liter, total_cost) values (0.001, 1, 999999)",
         "fuel_log_cost_matches_volume"),
        ("insert into public.maintenance_records (service_type) values ('   ')", "maintenance_records_service_not_blank"),
        ("insert into public.maintenance_records (service_type, odometer_km, next_due_km) values ('oil', 1000, 5)",
         "maintenance_records_next_due_after_done"),
        ("insert into public.calendar_events (title, starts_at) values ('  ', now())", "calendar_events_title_not_blank"),
        ("insert into public.income_entries (amount, source, received_on) values (5, ' ', current_date)",
         "income_entries_source_not_blank"),
    ],
)  # fmt: skip
async def test_issue_11_rules_hold_for_writes_through_the_rest_api_too(
    db: Database, new_user: NewUser, statement: str, constraint: str
) -> None:
    person = await new_user()
    with pytest.raises(asyncpg.CheckViolationError) as refused:
        async with as_api(db, person) as conn:
            await conn.execute(statement)
    assert refused.value.constraint_name == constraint
