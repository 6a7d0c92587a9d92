"""The migration runner, on an empty database of its own."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from pam_mcp.errors import MigrationError
from pam_mcp.migrate import load_migrations, migrate, migration_status, migrations_dir

pytestmark = pytest.mark.anyio

EXPECTED_TABLES = {
    # pam2-schema-playbook.md, plus the individual savings events beside the monthly totals
    "pam_messages", "pam_sessions", "trips", "pam_savings", "pam_savings_events",
    "pam_guardrails_config", "safety_events", "pam_test_data",
    # pam-backend-schema-requirements.md
    "profiles", "admin_users", "user_active_sessions", "pam_analytics_logs", "pam_conversation_memory",
    "pam_conversation_sessions", "pam_memory", "pam_user_context", "chat_sessions", "expenses", "budgets",
    "budget_categories", "income_entries", "maintenance_records", "fuel_log", "fuel_stations", "local_events",
    "camping_locations", "calendar_events", "youtube_hustles", "hustle_ideas", "user_hustle_attempts",
    "shop_products", "shop_orders", "affiliate_sales", "social_groups", "group_memberships", "social_posts",
    "analytics_summary", "analytics_daily", "active_recommendations", "audio_cache",
}  # fmt: skip


async def _schema_fingerprint(dsn: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            select 'col', table_name::text, column_name::text, data_type::text, coalesce(column_default, '')
              from information_schema.columns where table_schema = 'public'
            union all
            select 'pol', tablename::text, policyname::text, cmd::text, coalesce(qual, '') || coalesce(with_check, '')
              from pg_policies where schemaname = 'public'
            union all
            select 'idx', tablename::text, indexname::text, indexdef::text, '' from pg_indexes where schemaname = 'public'
            order by 1, 2, 3
            """
        )
        return [tuple(r) for r in rows]
    finally:
        await conn.close()


async def test_migrations_create_every_table_from_empty_and_a_second_run_changes_nothing(
    fresh_database: Callable[[str], str],
) -> None:
    dsn = fresh_database("migrate_twice")
    applied = await migrate(dsn)
    assert applied == [m.version for m in load_migrations(migrations_dir())]
    before = await _schema_fingerprint(dsn)
    assert await migrate(dsn) == []
    assert await _schema_fingerprint(dsn) == before
    assert {s.state for s in await migration_status(dsn)} == {"applied"}

    conn = await asyncpg.connect(dsn)
    try:
        tables = {r[0] for r in await conn.fetch("select tablename from pg_tables where schemaname = 'public'")}
        view = await conn.fetchval("select to_regclass('public.v_shop_products') is not null")
    finally:
        await conn.close()
    assert tables >= EXPECTED_TABLES
    assert view


async def test_every_migration_file_can_run_again_by_hand(database_url: str) -> None:
    """Each statement is re-runnable, as the seeds' "only add" rule needs on a live project."""
    conn = await asyncpg.connect(database_url)
    try:
        for migration in load_migrations(migrations_dir()):
            async with conn.transaction():
                await conn.execute(migration.sql)
    finally:
        await conn.close()


async def test_migrate_refuses_when_an_applied_file_was_changed(
    fresh_database: Callable[[str], str], tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder)
    dsn = fresh_database("changed_file")
    await migrate(dsn, folder)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")

    with pytest.raises(MigrationError, match=first.name):
        await migrate(dsn, folder)
    states = {s.name: s.state for s in await migration_status(dsn, folder)}
    assert states[first.stem.split("_", 1)[1]] == "changed"


async def test_status_lists_pending_files_before_they_are_applied(
    fresh_database: Callable[[str], str], tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder)
    dsn = fresh_database("pending")
    await migrate(dsn, folder)
    (folder / "29991231000000_later_feature.sql").write_text("create table if not exists public.x_later (id int);")

    states = {s.version: s.state for s in await migration_status(dsn, folder)}
    assert states["29991231000000"] == "pending"
    assert list(states.values()).count("applied") == len(states) - 1


async def test_history_is_kept_where_the_supabase_cli_keeps_it(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("select version, name, statements from supabase_migrations.schema_migrations")
    finally:
        await conn.close()
    names = {m.version: m.name for m in load_migrations(migrations_dir())}
    assert {r["version"]: r["name"] for r in rows} == names
    assert all(r["statements"] for r in rows)


def test_migration_files_are_named_as_the_supabase_cli_expects(tmp_path: Path) -> None:
    (tmp_path / "add_trips.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match=r"YYYYMMDDHHMMSS_snake_name\.sql"):
        load_migrations(tmp_path)


async def test_a_history_the_supabase_cli_wrote_reads_as_applied_unchecked_and_reading_adds_nothing(
    fresh_database: Callable[[str], str],
) -> None:
    """The CLI's table has no ``checksum`` column (tests/test_supabase_cli.py runs the CLI itself)."""
    from pam_mcp.runtime import require_current_schema

    dsn = fresh_database("cli_history")
    files = load_migrations(migrations_dir())
    conn = await asyncpg.connect(dsn)
    try:
        # The table as `supabase db push` (CLI 2.117) creates and fills it.
        await conn.execute(
            "create schema supabase_migrations;"
            " create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text)"
        )
        await conn.executemany(
            "insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)",
            [(m.version, m.name, [m.sql]) for m in files],
        )
        assert {s.state for s in await migration_status(dsn)} == {"unchecked"}
        await require_current_schema(dsn)  # what `serve` checks before it starts
        columns = await conn.fetch(
            "select column_name from information_schema.columns where table_schema = 'supabase_migrations'"
        )
    finally:
        await conn.close()
    assert {r["column_name"] for r in columns} == {"version", "statements", "name"}
