"""Cross-tenant matrix: every table, every access class, enforced by Postgres RLS.

User B cannot select, update, delete or insert-as user A's rows; ``anon`` reads nothing;
a signed-in user cannot write the catalog or the service-role-only tables. The tables
come from the database itself, so a new table without a sample row here fails the suite.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from pam_mcp.errors import Forbidden, NotFound
from pam_mcp.store.postgres import Database
from tests.conftest import NewUser

pytestmark = pytest.mark.anyio

# One valid row per user-owned table, as column -> SQL expression. {session}, {group},
# {product}, {idea}, {trip} and {me} are the parents made for user A.
SAMPLES: dict[str, dict[str, str]] = {
    "profiles": {"id": "'{me}'", "display_name": "'Alex'"},
    "user_active_sessions": {"transport": "'stdio'"},
    "pam_sessions": {"context": """'{{"mood": "curious"}}'"""},
    "pam_messages": {"session_id": "'{session}'", "role": "'user'", "content": "'hello'"},
    "pam_conversation_sessions": {"channel": "'mcp'"},
    "pam_conversation_memory": {"role": "'user'", "content": "'remember the dog'"},
    "pam_memory": {"key": "'dog'", "value": """'{{"name": "Rex"}}'"""},
    "pam_user_context": {"context_type": "'travel'"},
    "chat_sessions": {"status": "'active'"},
    "trips": {"started_at": "now()", "title": "'Nullarbor'"},
    "pam_savings": {"month": "date_trunc('month', now())::date", "total_saved": "5"},
    "pam_savings_events": {"amount": "3.50", "category": "'fuel'", "description": "'cheaper diesel'"},
    "pam_guardrails_config": {"safety_level": "'high'"},
    "safety_events": {"event_type": "'emergency'", "severity": "'warn'"},
    "expenses": {"amount": "42.10", "category": "'fuel'"},
    "budgets": {"category": "'food'", "monthly_limit": "400"},
    "income_entries": {"amount": "100", "source": "'market stall'", "category": "'hustle'"},
    "maintenance_records": {"service_type": "'oil change'"},
    "fuel_log": {"liters": "60", "price_per_liter": "1.899", "total_cost": "113.94"},
    "calendar_events": {"title": "'Dump station run'", "starts_at": "now()"},
    "user_hustle_attempts": {"hustle_idea_id": "'{idea}'"},
    "shop_orders": {"product_id": "'{product}'", "quantity": "1"},  # priced by the database
    "group_memberships": {"group_id": "'{group}'"},
    "active_recommendations": {"title": "'Try the free camp'", "kind": "'campground'"},
    "social_groups": {"name": "'Grey nomads'"},
    "social_posts": {"content": "'Sunset at Uluru'"},
}
# Rows users may read but not write: the trigger on pam_savings_events keeps the monthly totals.
OWNER_MADE = {"pam_savings"}
# Derived rows keyed by (user, day, category), no id: tests/test_expense_rollup.py covers them.
ROLLUPS = {"expense_daily_totals"}
CATALOG_SAMPLES: dict[str, dict[str, str]] = {
    "budget_categories": {"name": "'test_category_{alpha}'"},
    "fuel_stations": {"name": "'Roadhouse'", "lat": "-31.9", "lon": "141.4"},
    "camping_locations": {"name": "'Free camp'", "lat": "-31.9", "lon": "141.4"},
    "local_events": {"title": "'Markets'", "starts_at": "now()"},
    "hustle_ideas": {"title": "'Sell photos'"},
    "youtube_hustles": {"video_id": "'abc{rand}'", "title": "'Van life vlog'"},
    "shop_products": {"name": "'Water filter'", "price": "49.95"},
    "admin_users": {"user_id": "'{me}'"},
    "affiliate_sales": {"partner": "'x'", "order_ref": "'r{rand}'", "sale_amount": "1"},
    "pam_analytics_logs": {"event_type": "'tool_call'"},
    "analytics_summary": {
        "metric": "'m{rand}'",
        "period": "'day'",
        "period_start": "current_date",
        "value": "1",
    },
    "analytics_daily": {"day": "current_date", "metric": "'m{rand}'"},
    "audio_cache": {"cache_key": "'k{rand}'", "text_content": "'hi'", "voice": "'v'", "storage_path": "'p'"},
    "pam_test_data": {"test_name": "'t'"},
}


async def _classes(db: Database) -> dict[str, str]:
    async with db.as_owner() as tx:
        rows = await tx.fetch(
            "select c.relname, split_part(obj_description(c.oid, 'pg_class'), ':', 1) from pg_class c"
            " where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'"
        )
    return {r[0]: r[1] for r in rows}


async def test_every_table_has_a_sample_row_for_the_matrix(db: Database) -> None:
    classes = await _classes(db)
    owned = {t for t, c in classes.items() if c in ("own", "community")}
    assert owned == set(SAMPLES) | ROLLUPS
    assert {t for t, c in classes.items() if c in ("shared_read", "service_only")} == set(CATALOG_SAMPLES)


async def _parents(db: Database, me: uuid.UUID) -> dict[str, str]:
    async with db.as_owner() as tx:
        product = await tx.fetchval(
            "insert into public.shop_products (name, price, stock) values ('Hose', 20, 5) returning id"
        )
        idea = await tx.fetchval("insert into public.hustle_ideas (title) values ('Dog walking') returning id")
    async with db.as_user(me) as tx:
        session = await tx.fetchval("insert into public.pam_sessions default values returning id")
        group = await tx.fetchval("insert into public.social_groups (name) values ('Parent group') returning id")
    return {
        "me": str(me),
        "session": str(session),
        "group": str(group),
        "product": str(product),
        "idea": str(idea),
    }


def _insert_sql(
    table: str, sample: dict[str, str], parents: dict[str, str], extra: dict[str, str] | None = None
) -> str:
    values = {**sample, **(extra or {})}
    cols = ", ".join(values)
    rand = uuid.uuid4().hex[:8]
    alpha = rand.translate(str.maketrans("0123456789", "ghijklmnop"))
    exprs = ", ".join(v.format(**parents, rand=rand, alpha=alpha) for v in values.values())
    return f"insert into public.{table} ({cols}) values ({exprs}) returning id"


async def _refused_or_noop(db: Database, user: uuid.UUID, sql: str, *args: Any) -> None:
    """The statement either is refused (no privilege / RLS) or touches no row."""
    try:
        async with db.as_user(user) as tx:
            status = await tx.execute(sql, *args)
    except (Forbidden, NotFound):
        return
    assert status.endswith(" 0"), f"{sql!r} changed rows: {status}"


@pytest.mark.parametrize("table", sorted(SAMPLES))
async def test_another_user_cannot_read_change_delete_or_forge_rows(
    db: Database, new_user: NewUser, database_url: str, table: str
) -> None:
    classes = await _classes(db)
    alice, bob = await new_user(), await new_user()
    parents = await _parents(db, alice)
    owner_col = "id" if table == "profiles" else "user_id"
    if table in OWNER_MADE:
        async with db.as_owner() as tx:
            row_id = await tx.fetchval(_insert_sql(table, {**SAMPLES[table], "user_id": "'{me}'"}, parents))
    else:
        async with db.as_user(alice) as tx:
            row_id = await tx.fetchval(_insert_sql(table, SAMPLES[table], parents))
    async with db.as_user(alice) as tx:
        before = await tx.fetchrow(f"select * from public.{table} where id = $1", row_id)
    assert before is not None

    async with db.as_user(bob) as tx:
        seen = await tx.fetchval(f"select count(*) from public.{table} where id = $1", row_id)
    assert seen == (1 if classes[table] == "community" else 0)

    await _refused_or_noop(db, bob, f"update public.{table} set updated_at = now() where id = $1", row_id)
    await _refused_or_noop(db, bob, f"delete from public.{table} where id = $1", row_id)
    await _refused_or_noop(db, bob, f"update public.{table} set {owner_col} = $1 where id = $2", bob, row_id)
    # Writing a row in Alice's name is refused by the policy's WITH CHECK.
    forged = SAMPLES[table] if table == "profiles" else {**SAMPLES[table], owner_col: "'{me}'"}
    with pytest.raises(Forbidden):
        async with db.as_user(bob) as tx:
            await tx.fetchval(_insert_sql(table, forged, parents))

    async with db.as_user(alice) as tx:
        after = await tx.fetchrow(f"select * from public.{table} where id = $1", row_id)
    assert after == before

    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                "select set_config('role', 'anon', true), set_config('request.jwt.claims', '{\"role\": \"anon\"}', true)"
            )
            try:
                anon_rows = await conn.fetchval(f"select count(*) from public.{table}")
            except asyncpg.InsufficientPrivilegeError:
                anon_rows = 0
    finally:
        await conn.close()
    assert anon_rows == 0


@pytest.mark.parametrize("table", sorted(CATALOG_SAMPLES))
async def test_a_signed_in_user_cannot_write_catalog_or_service_tables(
    db: Database, new_user: NewUser, table: str
) -> None:
    classes = await _classes(db)
    user = await new_user()
    parents = {"me": str(user)}
    async with db.as_owner() as tx:
        row_id = await tx.fetchval(_insert_sql(table, CATALOG_SAMPLES[table], parents))

    with pytest.raises(Forbidden):
        async with db.as_user(user) as tx:
            await tx.fetchval(_insert_sql(table, CATALOG_SAMPLES[table], parents))
    await _refused_or_noop(db, user, f"update public.{table} set updated_at = now() where id = $1", row_id)
    await _refused_or_noop(db, user, f"delete from public.{table} where id = $1", row_id)

    try:
        async with db.as_user(user) as tx:
            seen = await tx.fetchval(f"select count(*) from public.{table} where id = $1", row_id)
    except Forbidden:
        seen = 0
    assert seen == (1 if classes[table] == "shared_read" else 0)


@pytest.mark.parametrize(
    "sql",
    [
        "update public.pam_savings set total_saved = 0",
        "delete from public.pam_savings",
        "insert into public.pam_savings (month, total_saved) values ('2026-01-01', 100)",
        "update public.pam_savings_events set amount = 0.01",
        "delete from public.pam_savings_events",
        "update public.safety_events set severity = 'info'",
        "delete from public.safety_events",
    ],
)
async def test_a_user_cannot_rewrite_their_own_savings_or_safety_record(
    db: Database, new_user: NewUser, sql: str
) -> None:
    """The guarantee pays out on a low month total: a user must not be able to lower it."""
    alice = await new_user()
    async with db.as_user(alice) as tx:
        await tx.fetchrow("select * from public.record_saving(20, 'fuel', 'cheaper diesel', current_date, null)")
        await tx.execute("insert into public.safety_events (event_type, severity) values ('emergency', 'warn')")
    with pytest.raises(Forbidden):
        async with db.as_user(alice) as tx:
            await tx.execute(sql)
    async with db.as_user(alice) as tx:
        totals = await tx.fetch("select total_saved from public.pam_savings")
        events = await tx.fetchval("select count(*) from public.pam_savings_events")
    assert [r["total_saved"] for r in totals] == [Decimal("20.00")]
    assert events == 1


# -- forging without RETURNING ----------------------------------------------------------------------------
#
# With ``... returning id`` (or an UPDATE whose WHERE names a column) PostgreSQL also checks
# the new row against the SELECT policy, and that check refuses a forged row even when the
# INSERT or UPDATE policy's WITH CHECK is missing or always true. Supabase's REST API inserts
# with ``Prefer: return=minimal`` (no RETURNING), so the INSERT and UPDATE policies must hold
# on their own: these tests write without RETURNING or WHERE and then look, as the owner, at
# everything the victim owns.


async def _footprint(db: Database, user: uuid.UUID) -> dict[str, str]:
    """Everything ``user`` owns, per table (a digest of the rows), seen as the owner past RLS."""
    async with db.as_owner() as tx:
        tables = await tx.fetch(
            "select c.relname, a.attname from pg_class c join pg_attribute a on a.attrelid = c.oid"
            " where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and not a.attisdropped"
            " and (a.attname = 'user_id' or (c.relname = 'profiles' and a.attname = 'id'))"
        )
        parts = [
            f"select '{t}', coalesce(md5(string_agg(x::text, '|' order by x::text)), '')"
            f" from public.{t} as x where x.{col} = $1"
            for t, col in tables
        ]
        rows = await tx.fetch(" union all ".join(parts), user)
    return {r[0]: r[1] for r in rows}


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The tables in which the rows differ."""
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


async def _attempt(db: Database, user: uuid.UUID, sql: str, *args: Any) -> None:
    """Run ``sql`` as ``user``; a refusal is fine, what counts is what it left behind."""
    try:
        async with db.as_user(user) as tx:
            await tx.execute(sql, *args)
    except (Forbidden, NotFound):
        pass


@pytest.mark.parametrize("table", sorted(SAMPLES))
async def test_a_row_forged_in_another_users_name_without_returning_is_not_written(
    db: Database, new_user: NewUser, table: str
) -> None:
    alice, bob = await new_user(), await new_user()
    parents = await _parents(db, alice)  # the forged row points at Alice's own parents
    owner_col = "id" if table == "profiles" else "user_id"
    before = await _footprint(db, alice)

    forged = _insert_sql(table, {**SAMPLES[table], owner_col: "'{me}'"}, parents).removesuffix(" returning id")
    await _attempt(db, bob, forged)

    assert _changed(before, await _footprint(db, alice)) == []


@pytest.mark.parametrize("table", sorted(set(SAMPLES) - OWNER_MADE - {"profiles"}))
async def test_a_user_cannot_hand_their_own_row_to_another_user_without_returning(
    db: Database, new_user: NewUser, table: str
) -> None:
    alice, bob = await new_user(), await new_user()
    await _parents(db, alice)
    parents = await _parents(db, bob)
    async with db.as_user(bob) as tx:
        await tx.fetchval(_insert_sql(table, SAMPLES[table], parents))
    alice_before, bob_before = await _footprint(db, alice), await _footprint(db, bob)

    # No WHERE: one that names a column makes PostgreSQL check the new row against the SELECT
    # policy too, which would hide a missing WITH CHECK on the UPDATE policy.
    await _attempt(db, bob, f"update public.{table} set user_id = $1", alice)

    assert _changed(alice_before, await _footprint(db, alice)) == []
    assert _changed(bob_before, await _footprint(db, bob)) == []


async def test_a_profile_cannot_be_renamed_to_another_users_id_without_returning(
    db: Database, new_user: NewUser
) -> None:
    alice, bob = await new_user(), await new_user()
    async with db.as_user(bob) as tx:
        await tx.execute("insert into public.profiles (id, display_name) values ($1, 'Bob')", bob)
    alice_before, bob_before = await _footprint(db, alice), await _footprint(db, bob)

    await _attempt(db, bob, "update public.profiles set id = $1", alice)

    assert _changed(alice_before, await _footprint(db, alice)) == []
    assert _changed(bob_before, await _footprint(db, bob)) == []
