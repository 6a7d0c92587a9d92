"""The Supabase CLI and pam-mcp share one migration history, in either order.

With the real CLI (npm ``supabase``, exactly 2.117.0) against a fresh database carrying the
auth stand-in, as a Supabase project's database carries Supabase Auth:

- ``supabase db push`` first: ``pam-mcp migrate --status``, ``pam-mcp doctor`` and a served
  tools/call over stdio all work on the history the CLI wrote (which has no ``checksum``
  column), and reading it does not add that column; ``pam-mcp migrate`` then finds nothing
  to apply.
- ``pam-mcp migrate`` first: ``supabase migration list`` shows every file applied on both
  sides and ``supabase db push --dry-run`` finds nothing to do.

The CLI lives in ``.tools/supabase-cli/`` (or ``$PAM_SUPABASE_CLI_DIR``), installed from the
npm registry by ``scripts/install-supabase-cli``, which this module runs itself when npm is
at hand. Only where Node/npm are absent does it skip. The CLI needs no ``supabase init`` and
no ``config.toml`` for these commands: it reads ``supabase/migrations/*.sql`` under
``--workdir`` and talks to ``--db-url`` directly. Telemetry and the update check are turned
off, so it makes no network call besides the database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import asyncpg
import pytest
from mcp import StdioServerParameters
from mcp.client import Client
from mcp.client.stdio import stdio_client

from pam_mcp.migrate import install_supabase_standin, load_migrations, migrate, migrations_dir
from tests.conftest import run_blocking
from tests.support_http import text_of
from tests.support_npm import found_or_installed
from tests.support_process import SERVER_COMMAND, child_env, delete_limiter_keys

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = ROOT / "scripts" / "install-supabase-cli"
CLI_VERSION = "2.117.0"
COMMAND_TIMEOUT = 120  # one CLI or pam-mcp command: process start, connect, the work
# No telemetry, no update check: the CLI's only connection is to the database.
QUIET_CLI = {"SUPABASE_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1", "SUPABASE_NO_UPDATE_NOTIFIER": "1"}
VERSIONS = [m.version for m in load_migrations(migrations_dir())]


# -- the installed CLI ---------------------------------------------------------------------------


def cli_dir() -> Path:
    return Path(os.environ.get("PAM_SUPABASE_CLI_DIR") or ROOT / ".tools" / "supabase-cli")


def installed_cli(directory: Path) -> Path | None:
    launcher = directory / "node_modules" / ".bin" / "supabase"
    package = directory / "node_modules" / "supabase" / "package.json"
    if not (launcher.is_file() and package.is_file()):
        return None
    if json.loads(package.read_text(encoding="utf-8"))["version"] != CLI_VERSION:
        return None
    return launcher


@pytest.fixture(scope="session")
def supabase_cli() -> Path:
    return found_or_installed("the Supabase CLI", INSTALL_SCRIPT, "PAM_SUPABASE_CLI_DIR", cli_dir(), installed_cli)


# -- running commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Both streams: the CLI splits its report between them."""
        return self.stdout + self.stderr

    def ok(self) -> str:
        assert self.returncode == 0, f"{self.args} exited {self.returncode}:\n{self.output[-4000:]}"
        return self.output


async def run(args: list[str], env: dict[str, str]) -> Run:
    with anyio.fail_after(COMMAND_TIMEOUT):
        done = await anyio.run_process(args, env=env, check=False, stdin=subprocess.DEVNULL)
    return Run(args, done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))


def cli_url(url: str) -> str:
    """``url`` as the CLI takes it: ``sslmode=disable`` (it insists on TLS otherwise; the test servers
    speak plain TCP or a unix socket), and a host in the authority even for a socket URL such
    as the embedded server's ``postgresql://postgres:@/db?host=/dir``, which its parser
    rejects; the ``host=`` directory in the query still decides where it connects."""
    parts = urlsplit(url)
    if not parts.hostname:
        parts = parts._replace(netloc=parts.netloc + "localhost")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "sslmode"] + [("sslmode", "disable")]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Cli:
    launcher: Path
    workdir: Path
    database_url: str

    async def __call__(self, *args: str) -> Run:
        command = [
            str(self.launcher),
            *args,
            "--workdir",
            str(self.workdir),
            "--db-url",
            cli_url(self.database_url),
        ]
        # Its own HOME: the CLI keeps state in ~/.supabase (a device id, traces) even with
        # telemetry off; the test leaves the developer's home as it was.
        home = self.workdir.parent / "home"
        home.mkdir(exist_ok=True)
        return await run(command, child_env(HOME=str(home), **QUIET_CLI))


async def pam_mcp(database_url: str, data_dir: Path, *args: str, **settings: str) -> Run:
    env = child_env(DATABASE_URL=database_url, PAM_DATA_DIR=str(data_dir), **settings)
    return await run([*SERVER_COMMAND, *args], env)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A Supabase project folder as the CLI expects it: ``supabase/migrations/`` with our files."""
    target = tmp_path / "project" / "supabase" / "migrations"
    target.mkdir(parents=True)
    for path in sorted(migrations_dir().glob("*.sql")):
        shutil.copyfile(path, target / path.name)
    return tmp_path / "project"


async def _with_standin(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        assert await install_supabase_standin(conn)
    finally:
        await conn.close()


@pytest.fixture
def supabase_database(fresh_database: Callable[[str], str], request: pytest.FixtureRequest) -> str:
    """A fresh database with the auth stand-in only (as a new Supabase project has Supabase Auth)."""
    url = fresh_database(f"cli_{request.node.name[5:25]}_{uuid.uuid4().hex[:6]}")
    run_blocking(_with_standin, url)
    return url


async def history_columns(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "select column_name from information_schema.columns"
            " where table_schema = 'supabase_migrations' and table_name = 'schema_migrations'"
        )
    finally:
        await conn.close()
    return {row["column_name"] for row in rows}


async def make_user(url: str) -> uuid.UUID:
    conn = await asyncpg.connect(url)
    try:
        user = uuid.uuid4()
        await conn.execute("insert into auth.users (id, email) values ($1, $2)", user, f"{user.hex[:12]}@example.test")
    finally:
        await conn.close()
    return user


def status_states(report: str) -> dict[str, str]:
    """``migrate --status`` lines: version, name, state."""
    rows = (line.split() for line in report.splitlines())
    return {row[0]: row[-1] for row in rows if len(row) >= 3 and re.fullmatch(r"\d{14}", row[0])}


# -- 1. the CLI first ----------------------------------------------------------------------------


async def test_a_database_the_supabase_cli_pushed_is_read_checked_and_served_by_pam_mcp(
    supabase_cli: Path,
    workdir: Path,
    supabase_database: str,
    redis_url: str,
    redis_client: Any,
    tmp_path: Path,
) -> None:
    url = supabase_database
    cli = Cli(supabase_cli, workdir, url)
    pushed = (await cli("db", "push", "--yes")).ok()
    assert "Finished supabase db push" in pushed
    assert "checksum" not in await history_columns(url)

    status = await pam_mcp(url, tmp_path / "data", "migrate", "--status")
    assert status_states(status.ok()) == dict.fromkeys(VERSIONS, "unchecked")

    doctor = await pam_mcp(url, tmp_path / "data", "doctor", "--json", REDIS_URL=redis_url)
    report = json.loads(doctor.stdout)
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["migrations"]["ok"], checks["migrations"]
    assert checks["migrations"]["detail"] == f"{len(VERSIONS)} of {len(VERSIONS)} applied"
    assert checks["schema lint"]["ok"], checks["schema lint"]
    assert doctor.returncode == 0, doctor.output

    user = await make_user(url)
    env = child_env(DATABASE_URL=url, REDIS_URL=redis_url, PAM_USER_ID=str(user), PAM_DATA_DIR=str(tmp_path / "data"))
    params = StdioServerParameters(command=SERVER_COMMAND[0], args=SERVER_COMMAND[1:], env=env)
    log = tmp_path / "server-stderr.log"
    try:
        with log.open("w", encoding="utf-8") as errlog, anyio.fail_after(COMMAND_TIMEOUT):
            served = await _serve_one_trip(params, errlog)
    except BaseException:
        print(log.read_text(encoding="utf-8"), file=sys.stderr)  # the server's own account
        raise
    finally:
        await delete_limiter_keys(redis_client, user)
    assert served == "Alice Springs to Uluru"

    # Reading the history left it as the CLI made it; only `pam-mcp migrate` adds the column.
    assert "checksum" not in await history_columns(url)
    migrated = (await pam_mcp(url, tmp_path / "data", "migrate")).ok()
    assert "database is up to date" in migrated
    assert "checksum" in await history_columns(url)
    assert status_states(migrated) == dict.fromkeys(VERSIONS, "unchecked")


async def _serve_one_trip(params: StdioServerParameters, errlog: TextIO) -> str:
    trip = {
        "title": "Alice Springs to Uluru",
        "started_at": "2026-05-02T07:00:00+09:30",
        "ended_at": "2026-05-02T13:00:00+09:30",
        "route": [{"lat": -23.698, "lon": 133.8807}, {"lat": -25.3444, "lon": 131.0369}],
    }
    async with Client(stdio_client(params, errlog=errlog)) as client:
        logged = await client.call_tool("log_trip", trip)
        assert not logged.is_error, text_of(logged)
        context = await client.call_tool("get_context", {})
        assert not context.is_error, text_of(context)
        assert context.structured_content is not None
        title: str = context.structured_content["latest_trip"]["title"]
        return title


# -- 2. pam-mcp first ----------------------------------------------------------------------------


async def test_after_pam_mcp_migrate_the_supabase_cli_sees_every_file_applied_and_nothing_to_push(
    supabase_cli: Path, workdir: Path, supabase_database: str
) -> None:
    url = supabase_database
    assert await migrate(url) == VERSIONS
    cli = Cli(supabase_cli, workdir, url)

    listed = (await cli("migration", "list")).ok()
    # Rows of its table: `local` | `remote` | `time`; a side that lacks a version shows blank.
    rows = re.findall(r"^\s*`?(\d{14})?`?\s*\|\s*`?(\d{14})?`?\s*\|", listed, flags=re.MULTILINE)
    assert rows == [(v, v) for v in VERSIONS], listed

    dry_run = (await cli("db", "push", "--dry-run")).ok()
    assert "Remote database is up to date." in dry_run
    assert "Would push" not in dry_run
