"""Start-up: what the server refuses before it serves a single call."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pam_mcp.errors import ConfigurationError
from pam_mcp.runtime import Runtime, open_runtime, stdio_user
from pam_mcp.settings import Settings
from pam_mcp.store import admin
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore
from tests.conftest import NewUser

pytestmark = pytest.mark.anyio


async def test_a_configured_database_without_the_migrations_is_refused_with_what_to_run(
    fresh_database: Callable[[str], str], redis_url: str, tmp_path: Path
) -> None:
    settings = Settings(DATABASE_URL=fresh_database("unmigrated"), REDIS_URL=redis_url, PAM_DATA_DIR=tmp_path)
    with pytest.raises(ConfigurationError, match=r"pam-mcp migrate") as refused:
        async with open_runtime(settings):
            pass
    assert "20261121000100_shared_helpers.sql (pending)" in str(refused.value)


async def test_a_migrated_database_is_served(database_url: str, redis_url: str, tmp_path: Path) -> None:
    settings = Settings(DATABASE_URL=database_url, REDIS_URL=redis_url, PAM_DATA_DIR=tmp_path)
    async with open_runtime(settings) as runtime:
        assert runtime.db is not None
        assert await runtime.redis.ping()


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pam-mcp configuration from the environment: each test's Settings say it all."""
    for key in list(os.environ):
        name = key.upper()
        if name in ("DATABASE_URL", "REDIS_URL") or (name.startswith(("SUPABASE_", "PAM_")) and "_TEST_" not in name):
            monkeypatch.delenv(key)


@pytest.mark.usefixtures("unconfigured")
async def test_the_stdio_user_named_by_pam_user_id_must_be_in_auth_users(
    db: Database, redis_client: Any, new_user: NewUser, tmp_path: Path
) -> None:
    known, stranger = await new_user(), uuid.uuid4()
    runtime = Runtime(
        Settings(PAM_USER_ID=str(known), PAM_DATA_DIR=tmp_path), PostgresStore(db), db, redis_client, "", ""
    )
    assert await stdio_user(runtime) == known
    runtime.settings = Settings(PAM_USER_ID=str(stranger), PAM_DATA_DIR=tmp_path)
    with pytest.raises(ConfigurationError, match=rf"PAM_USER_ID {stranger} is not a user of this database"):
        await stdio_user(runtime)


@pytest.mark.usefixtures("unconfigured")
async def test_the_embedded_default_makes_one_local_user_and_keeps_it_across_starts(
    db: Database, redis_client: Any, tmp_path: Path
) -> None:
    # No DATABASE_URL: the embedded default's rules (the test database stands in for the embedded one).
    runtime = Runtime(Settings(PAM_DATA_DIR=tmp_path), PostgresStore(db), db, redis_client, None, "")
    first = await stdio_user(runtime)
    assert (tmp_path / "local-user-id").read_text(encoding="utf-8").strip() == str(first)
    assert await admin.user_exists(db, first)
    assert await stdio_user(runtime) == first  # the same person on the next start, not a new one
