"""Start-up: what the server refuses before it serves a single call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pam_mcp.errors import ConfigurationError
from pam_mcp.runtime import open_runtime
from pam_mcp.settings import Settings

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
