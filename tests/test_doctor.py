"""``pam-mcp doctor`` as a person runs it when something is wrong: one command, a readable
report, exit status 0 only when everything is fine, ``--json`` for scripts.

Every run is a real child process (``python -m pam_mcp doctor``) against real servers: the
suite's PostgreSQL and Redis, a port nothing listens on for a stopped one, and the embedded
default in a fresh data directory. Every wait is bounded with ``anyio.fail_after``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from pam_mcp.doctor import run_checks
from pam_mcp.masking import mask_url
from pam_mcp.migrate import load_migrations, migrate, migrations_dir
from pam_mcp.settings import Settings
from tests.conftest import JWT_SECRET

pytestmark = pytest.mark.anyio

DOCTOR = [sys.executable, "-m", "pam_mcp", "doctor"]
# Port 1 (tcpmux) is privileged and unused here: connecting to it is refused at once.
STOPPED_REDIS = "redis://:redis-password-never-shown@127.0.0.1:1/0"
STOPPED_POSTGRES = "postgresql://postgres:pg-password-never-shown@127.0.0.1:1/postgres"


def _is_pam_setting(key: str) -> bool:
    key = key.upper()
    return key.startswith(("PAM_", "SUPABASE_")) or key in ("DATABASE_URL", "REDIS_URL")


def child_env(**settings: str) -> dict[str, str]:
    """The parent's environment without any pam-mcp configuration (PAM_TEST_* too), plus ``settings``."""
    env = {key: value for key, value in os.environ.items() if not _is_pam_setting(key)}
    env.update(settings)
    return env


async def doctor(env: dict[str, str], *args: str, seconds: float = 60) -> subprocess.CompletedProcess[bytes]:
    with anyio.fail_after(seconds):
        return await anyio.run_process([*DOCTOR, *args], env=env, check=False)


async def doctor_json(env: dict[str, str], seconds: float = 60) -> tuple[int, dict[str, Any]]:
    result = await doctor(env, "--json", seconds=seconds)
    return result.returncode, json.loads(result.stdout)


def rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def failed(report: dict[str, Any]) -> list[str]:
    return [check["name"] for check in report["checks"] if check["ok"] is False]


async def add_user(dsn: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("insert into auth.users (id, email) values ($1, $2)", user_id, f"{user_id.hex[:12]}@ex.test")
    finally:
        await conn.close()
    return user_id


@pytest.fixture
async def migrated_dsn(fresh_database: Callable[[str], str]) -> str:
    """A database of this test's own, with every migration applied (dropped at the end of the run)."""
    dsn = fresh_database(f"doctor_{uuid.uuid4().hex[:8]}")
    await migrate(dsn)
    return dsn


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings built in this process read only what the test gives them."""
    for key in list(os.environ):
        if _is_pam_setting(key):
            monkeypatch.delenv(key)


# -- healthy ---------------------------------------------------------------------------------------


async def test_doctor_reports_a_migrated_database_with_its_user_redis_and_jwt_secret_as_healthy(
    migrated_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    user = await add_user(migrated_dsn)
    env = child_env(
        DATABASE_URL=migrated_dsn,
        REDIS_URL=redis_url,
        PAM_USER_ID=str(user),
        SUPABASE_JWT_SECRET=JWT_SECRET,
        PAM_DATA_DIR=str(tmp_path),
    )

    text = await doctor(env)
    code, report = await doctor_json(env)

    out = text.stdout.decode()
    assert text.returncode == 0, out
    assert out.rstrip().endswith("everything is fine")
    assert code == 0
    assert report["ok"] is True
    checks = rows(report)
    assert [c["name"] for c in report["checks"] if c["ok"] is not True] == []
    assert {"store", "limiter", "postgres", "redis", "migrations", "row level security", "schema lint"} <= set(checks)
    assert checks["store"]["detail"] == f"DATABASE_URL {mask_url(migrated_dsn)}"
    assert checks["limiter"]["detail"].startswith(f"REDIS_URL {mask_url(redis_url)},")
    assert str(user) in checks["user"]["detail"]
    assert checks["jwt (HS256)"]["detail"].startswith("a token signed with SUPABASE_JWT_SECRET verifies")
    assert checks["postgres"]["latency_ms"] is not None
    assert checks["redis"]["latency_ms"] is not None
    # The report is for pasting into an issue: the secret must never be in it.
    assert JWT_SECRET not in out
    assert JWT_SECRET not in text.stderr.decode()


# -- something is wrong -----------------------------------------------------------------------


async def test_doctor_says_a_stopped_redis_cannot_be_reached_and_exits_non_zero(
    migrated_dsn: str, tmp_path: Path
) -> None:
    env = child_env(DATABASE_URL=migrated_dsn, REDIS_URL=STOPPED_REDIS, PAM_DATA_DIR=str(tmp_path))

    text = await doctor(env, seconds=30)
    code, report = await doctor_json(env, seconds=30)

    out = text.stdout.decode()
    assert text.returncode == 1
    assert code == 1
    assert failed(report) == ["redis"]
    redis_row = next(line for line in out.splitlines() if " redis " in line)
    assert redis_row.startswith("FAILED")
    assert "cannot be reached at redis://:***@127.0.0.1:1/0" in rows(report)["redis"]["detail"]
    assert "redis-password-never-shown" not in out + json.dumps(report)
    assert out.rstrip().endswith("1 check(s) failed: redis")


async def test_doctor_names_a_table_without_row_level_security_and_the_rule_it_breaks(
    migrated_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    conn = await asyncpg.connect(migrated_dsn)
    try:
        await conn.execute("create table public.oops (id int)")
    finally:
        await conn.close()
    env = child_env(DATABASE_URL=migrated_dsn, REDIS_URL=redis_url, PAM_DATA_DIR=str(tmp_path))

    text = await doctor(env)
    code, report = await doctor_json(env)

    out = text.stdout.decode()
    assert text.returncode == 1
    assert code == 1
    rls = rows(report)["row level security"]
    assert rls["ok"] is False
    assert rls["detail"] == "rls_disabled_in_public: table oops (row level security is off)"
    assert "rls_disabled_in_public: table oops" in out
    assert "row level security" in failed(report)


async def test_doctor_lists_every_pending_migration_of_an_empty_database(
    fresh_database: Callable[[str], str], redis_url: str, tmp_path: Path
) -> None:
    dsn = fresh_database(f"doctor_empty_{uuid.uuid4().hex[:8]}")
    env = child_env(DATABASE_URL=dsn, REDIS_URL=redis_url, PAM_DATA_DIR=str(tmp_path))

    code, report = await doctor_json(env)

    assert code == 1
    migrations = rows(report)["migrations"]
    assert migrations["ok"] is False
    files = [m.path.name for m in load_migrations(migrations_dir())]
    assert files
    for name in files:
        assert name in migrations["detail"]
    assert "run `pam-mcp migrate`" in migrations["detail"]


async def test_doctor_says_a_stopped_database_cannot_be_reached_without_showing_its_password(
    redis_url: str, tmp_path: Path
) -> None:
    env = child_env(DATABASE_URL=STOPPED_POSTGRES, REDIS_URL=redis_url, PAM_DATA_DIR=str(tmp_path))

    text = await doctor(env, seconds=30)

    out = text.stdout.decode()
    assert text.returncode == 1
    assert "pg-password-never-shown" not in out + text.stderr.decode()
    postgres_row = next(line for line in out.splitlines() if " postgres " in line)
    assert postgres_row.startswith("FAILED")
    assert "cannot be reached at postgresql://postgres:***@127.0.0.1:1/postgres" in " ".join(out.split())
    # What depends on the database is not guessed at: it is reported as not checked.
    assert "not checked: the database cannot be reached" in out
    assert "Traceback" not in out + text.stderr.decode()


async def test_doctor_fails_when_the_configured_user_is_not_in_the_database(
    migrated_dsn: str, redis_url: str, tmp_path: Path, clean_env: None
) -> None:
    stranger = uuid.uuid4()
    settings = Settings(
        DATABASE_URL=migrated_dsn, REDIS_URL=redis_url, PAM_USER_ID=str(stranger), PAM_DATA_DIR=str(tmp_path)
    )

    checks = {c.name: c for c in await run_checks(settings)}

    assert checks["user"].ok is False
    assert checks["user"].detail == f"PAM_USER_ID {stranger} is not in auth.users of this database"


async def test_doctor_skips_the_user_check_with_advice_when_no_user_is_configured_for_a_database(
    migrated_dsn: str, redis_url: str, tmp_path: Path, clean_env: None
) -> None:
    settings = Settings(DATABASE_URL=migrated_dsn, REDIS_URL=redis_url, PAM_DATA_DIR=str(tmp_path))

    checks = {c.name: c for c in await run_checks(settings)}

    assert checks["user"].ok is None
    assert "stdio mode needs it set to a UUID from auth.users" in checks["user"].detail
    assert checks["jwt"].ok is None
    assert checks["jwt"].detail.startswith("HTTP mode needs SUPABASE_JWT_SECRET or SUPABASE_URL")


async def test_doctor_fails_the_jwks_check_when_supabase_auth_cannot_be_reached(
    migrated_dsn: str, redis_url: str, tmp_path: Path, clean_env: None
) -> None:
    settings = Settings(
        DATABASE_URL=migrated_dsn,
        REDIS_URL=redis_url,
        SUPABASE_URL="http://127.0.0.1:1",
        SUPABASE_JWT_SECRET=JWT_SECRET,
        PAM_DATA_DIR=str(tmp_path),
    )

    with anyio.fail_after(30):
        checks = {c.name: c for c in await run_checks(settings)}

    assert checks["jwt (JWKS)"].ok is False
    assert checks["jwt (JWKS)"].detail.startswith("cannot fetch http://127.0.0.1:1/auth/v1/.well-known/jwks.json")
    # The secret still verifies a token carrying this project's issuer.
    assert checks["jwt (HS256)"].ok is True


async def test_doctor_on_the_rest_store_names_an_unreachable_project_and_never_starts_a_database(
    redis_url: str, tmp_path: Path, clean_env: None
) -> None:
    settings = Settings(
        SUPABASE_URL="http://127.0.0.1:1",
        SUPABASE_ANON_KEY="anon-key-for-test",
        REDIS_URL=redis_url,
        PAM_DATA_DIR=str(tmp_path),
    )

    with anyio.fail_after(30):
        checks = {c.name: c for c in await run_checks(settings)}

    assert checks["store"].detail.startswith("Supabase REST API at http://127.0.0.1:1")
    assert checks["supabase rest"].ok is False
    assert "cannot be reached at http://127.0.0.1:1" in checks["supabase rest"].detail
    assert checks["migrations"].ok is None
    assert "postgres" not in checks
    assert not (tmp_path / "postgres").exists()
    assert all("anon-key-for-test" not in c.detail for c in checks.values())


def test_a_printed_connection_string_has_its_password_masked() -> None:
    assert mask_url("postgresql://me:s3cret@db.example:5432/postgres") == "postgresql://me:***@db.example:5432/postgres"
    assert mask_url("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert mask_url("postgresql://me@db.example/postgres") == "postgresql://me@db.example/postgres"


# -- the zero-config default ------------------------------------------------------------------


async def test_doctor_on_a_fresh_machine_reports_the_embedded_default_healthy_and_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    pytest.importorskip("pgserver")
    data_dir = tmp_path / "data"
    env = child_env(PAM_DATA_DIR=str(data_dir))

    text = await doctor(env, seconds=180)

    out = text.stdout.decode()
    assert text.returncode == 0, out + text.stderr.decode()
    assert out.rstrip().endswith("everything is fine")
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith(("ok ", "skipped ", "FAILED "))}
    assert lines["store"].startswith("ok")
    assert "embedded PostgreSQL" in out
    assert "applies migrations as `pam-mcp serve` does" in " ".join(out.split())
    assert lines["postgres"].startswith("ok")
    assert lines["redis"].startswith("ok")
    assert lines["migrations"].startswith("ok")
    # Doctor does not create the local user; the first real start does.
    assert lines["user"].startswith("skipped")
    assert "created on first start" in out
    assert not (data_dir / "local-user-id").exists()
    # The embedded PostgreSQL it started is stopped again.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
