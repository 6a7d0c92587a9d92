"""The command line when the configuration is wrong, as a person meets it: one line, exit 2.

Every run is a real child process (``python -m pam_mcp <command>``) with the given environment
and nothing else of pam-mcp's. A bad setting gives one line naming the variable and what it
should look like: no traceback, no pydantic dump or its documentation URL, never the value
(a URL may hold a password). ``doctor`` shows URLs with every secret masked, in its table and
in ``--json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from pam_mcp.masking import mask_url
from tests.test_doctor import STOPPED_POSTGRES, child_env, doctor, doctor_json, rows

pytestmark = pytest.mark.anyio

SECRET = "pw-never-shown"
PREFIX = "pam-mcp: configuration error: "


async def run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    with anyio.fail_after(60):
        return await anyio.run_process([sys.executable, "-m", "pam_mcp", command], env=env, check=False)


BAD_SETTINGS = [
    ("serve", "REDIS_URL", "localhost:6379", "redis://localhost:6379/0"),
    ("serve", "PAM_USER_ID", "not-a-uuid", "a UUID"),
    ("migrate", "DATABASE_URL", f"mysql://me:{SECRET}@db.example/pam", "postgresql://"),
    ("migrate", "DATABASE_URL", f"postgresql://me:{SECRET}@db.example:port/pam", "postgresql://"),
    ("doctor", "SUPABASE_URL", "abcd1234.supabase.co", "https://abcd1234.supabase.co"),
    ("doctor", "SUPABASE_URL", f"https://me:{SECRET}@abcd1234.supabase.co", "https://abcd1234.supabase.co"),
    ("serve", "PAM_DB_POOL_SIZE", "0", "1 to 100"),
    ("migrate", "PAM_SUBSCRIPTION_PRICE", "free", "14.99"),
    ("doctor", "PAM_LOG_LEVEL", "LOUD", "DEBUG, INFO, WARNING or ERROR"),
    ("serve", "PAM_RATE_LIMIT_ON_REDIS_DOWN", "maybe", "refuse or allow"),
    ("doctor", "PAM_USER_EMAIL", "bob", "an email address"),
]


@pytest.mark.parametrize(("command", "name", "value", "expected"), BAD_SETTINGS)
async def test_a_bad_setting_is_one_line_naming_it_and_its_format_and_exit_2(
    command: str, name: str, value: str, expected: str, tmp_path: Path
) -> None:
    done = await run(command, child_env(**{name: value, "PAM_DATA_DIR": str(tmp_path)}))
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert done.stdout == b""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(PREFIX + name), err
    assert expected in err
    for word in ("Traceback", "pydantic", "errors.pydantic.dev", "validation error", "input_value", SECRET):
        assert word not in err


async def test_a_data_dir_that_is_a_file_is_named(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-directory"
    a_file.write_text("")
    done = await run("doctor", child_env(PAM_DATA_DIR=str(a_file)))
    assert done.returncode == 2
    assert done.stderr.decode().strip() == (
        PREFIX + "PAM_DATA_DIR is a file, not a directory; expected a directory path"
    )


async def test_every_bad_setting_is_named_on_the_same_line(tmp_path: Path) -> None:
    done = await run("serve", child_env(REDIS_URL="localhost:6379", PAM_USER_ID="x", PAM_DATA_DIR=str(tmp_path)))
    err = done.stderr.decode().strip()
    assert done.returncode == 2 and len(err.splitlines()) == 1
    assert "REDIS_URL" in err and "PAM_USER_ID" in err


async def test_a_configuration_problem_found_after_start_up_is_one_line_and_exit_2(
    redis_url: str, tmp_path: Path
) -> None:
    env = child_env(SUPABASE_URL="https://abcd1234.supabase.co", REDIS_URL=redis_url, PAM_DATA_DIR=str(tmp_path))
    done = await run("serve", env)
    err = done.stderr.decode().strip()
    assert done.returncode == 2, err
    assert err.startswith(PREFIX) and "SUPABASE_ANON_KEY" in err
    assert "Traceback" not in err


async def test_doctor_masks_every_secret_of_a_url_in_its_table_and_its_json(tmp_path: Path) -> None:
    database = f"{STOPPED_POSTGRES}?sslmode=disable&password=query-{SECRET}&sslpassword=ssl-{SECRET}"
    redis = f"redis://127.0.0.1:1/0?password=redis-{SECRET}"
    env = child_env(DATABASE_URL=database, REDIS_URL=redis, PAM_DATA_DIR=str(tmp_path))

    text = await doctor(env, seconds=30)
    code, report = await doctor_json(env, seconds=30)

    out = text.stdout.decode() + text.stderr.decode()
    assert text.returncode == code == 1
    assert SECRET not in out and SECRET not in json.dumps(report)
    shown = mask_url(database)
    assert shown == ("postgresql://postgres:***@127.0.0.1:1/postgres?sslmode=disable&password=***&sslpassword=***")
    assert shown in " ".join(out.split())
    assert "redis://127.0.0.1:1/0?password=***" in rows(report)["redis"]["detail"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://me:s3cret@db.example:5432/postgres", "postgresql://me:***@db.example:5432/postgres"),
        ("postgresql://me@db/pam?password=s3cret&sslmode=require", "postgresql://me@db/pam?password=***&sslmode=require"),
        ("postgresql:///pam?host=/var/run/postgresql&passwd=s3cret", "postgresql:///pam?host=/var/run/postgresql&passwd=***"),
        ("redis://:s3cret@cache:6379/0?token=s3cret", "redis://:***@cache:6379/0?token=***"),
        ("https://x.example/?apikey=s3cret&key=s3cret&secret=s3cret", "https://x.example/?apikey=***&key=***&secret=***"),
        ("postgresql://me@db.example/postgres?sslmode=disable", "postgresql://me@db.example/postgres?sslmode=disable"),
        ("postgresql://me:s3cret@[::1", "(a connection string that cannot be parsed)"),
    ],
)  # fmt: skip
def test_mask_url_hides_the_password_and_every_secret_parameter(url: str, shown: str) -> None:
    assert mask_url(url) == shown
