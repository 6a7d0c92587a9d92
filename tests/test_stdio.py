"""The server as Claude Desktop runs it: ``python -m pam_mcp``, a subprocess speaking stdio.

Everything here goes through a real child process: the SDK's stdio client for what a
desktop client sees, raw pipes where the bytes themselves matter (stdout must carry only
JSON-RPC), and the zero-config embedded default (pgserver + Valkey in PAM_DATA_DIR),
which is the journey of a person who installs pam-mcp and changes nothing.

Nothing sleeps: every wait is bounded with ``anyio.fail_after``/``move_on_after``, and a
process's end is awaited on a pidfd rather than polled.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import anyio
import asyncpg
import pytest
from anyio.abc import ByteReceiveStream, Process
from mcp import StdioServerParameters
from mcp.client import Client
from mcp.client.stdio import stdio_client
from mcp_types import CallToolResult, TextResourceContents

from pam_mcp.store.postgres import Database
from tests.conftest import NewUser
from tests.support_http import text_of
from tests.support_process import SERVER_COMMAND, TOOL_NAMES, child_env

pytestmark = pytest.mark.anyio

TRIP: dict[str, Any] = {
    "title": "Broken Hill to Mildura",
    "started_at": "2026-03-01T08:00:00+10:30",
    "ended_at": "2026-03-01T13:30:00+10:30",
    "route": [{"lat": -31.9539, "lon": 141.4539}, {"lat": -34.1855, "lon": 142.1625}],
    "stops": [{"name": "Coombah Roadhouse", "lat": -32.98, "lon": 141.64, "kind": "fuel", "cost": "92.40"}],
}
LEGACY_VERSION = "2025-11-25"


# -- helpers -------------------------------------------------------------------------------------


def stdio_params(env: Mapping[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=SERVER_COMMAND[0], args=SERVER_COMMAND[1:], env=dict(env))


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


def resource_json(contents: list[Any]) -> Any:
    first = contents[0]
    assert isinstance(first, TextResourceContents)
    return json.loads(first.text)


@pytest.fixture
def child_stderr(tmp_path: Path) -> Iterator[TextIO]:
    """Where the child's stderr (its logs) goes: ``server-stderr.log`` in the test's tmp_path."""
    with (tmp_path / "server-stderr.log").open("w", encoding="utf-8") as sink:
        yield sink


@contextmanager
def show_on_failure(sink: TextIO) -> Iterator[None]:
    """Print the child's stderr when the block fails, so a dead server explains itself."""
    path = Path(sink.name)
    try:
        yield
    except BaseException:
        sys.stderr.write(f"--- the server's stderr ({path}) ---\n{path.read_text(encoding='utf-8')[-6000:]}\n")
        raise


async def drain(stream: ByteReceiveStream | None, sink: bytearray) -> None:
    assert stream is not None
    async for chunk in stream:
        sink.extend(chunk)


async def run_to_exit(env: Mapping[str, str], seconds: float = 60) -> tuple[int, bytes, bytes]:
    """Start the server with stdin held open (as a client would) and wait for it to exit on its own."""
    out, err = bytearray(), bytearray()
    with anyio.fail_after(seconds):
        async with await anyio.open_process(SERVER_COMMAND, env=env, start_new_session=True) as proc:
            async with anyio.create_task_group() as tg:
                tg.start_soon(drain, proc.stdout, out)
                tg.start_soon(drain, proc.stderr, err)
                returncode = await proc.wait()
    return returncode, bytes(out), bytes(err)


def jsonrpc(id_: int | None, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if id_ is not None:
        message["id"] = id_
    if params is not None:
        message["params"] = params
    return message


def initialize_messages() -> list[dict[str, Any]]:
    """The legacy handshake, byte for byte what desktop clients send first."""
    return [
        jsonrpc(
            1,
            "initialize",
            {"protocolVersion": LEGACY_VERSION, "capabilities": {}, "clientInfo": {"name": "raw-pipe", "version": "0"}},
        ),
        jsonrpc(None, "notifications/initialized"),
    ]


def encode(messages: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(m) + "\n" for m in messages).encode()


async def read_responses(proc: Process, out: bytearray, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Read stdout into ``out`` until every request id in ``ids`` has its response."""
    assert proc.stdout is not None
    answered: dict[int, dict[str, Any]] = {}
    while not ids <= answered.keys():
        out.extend(await proc.stdout.receive())
        for line in bytes(out).split(b"\n")[:-1]:
            message = json.loads(line)
            if isinstance(message.get("id"), int) and ("result" in message or "error" in message):
                answered[message["id"]] = message
    return answered


# -- processes of the embedded default -----------------------------------------------------------


def postmaster_pid(data_dir: Path) -> int | None:
    """The embedded PostgreSQL's pid while it runs (first line of postmaster.pid)."""
    pid_file = data_dir / "postgres" / "postmaster.pid"
    try:
        return int(pid_file.read_text(encoding="utf-8").splitlines()[0])
    except FileNotFoundError:
        return None


def embedded_redis_pid(data_dir: Path) -> int | None:
    """The embedded Redis server's pid while it runs (its pid file in PAM_DATA_DIR/redis)."""
    try:
        return int((data_dir / "redis" / "redis.pid").read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return None


def has_exited(pidfd: int) -> bool:
    """A pidfd turns readable when its process exits."""
    return bool(select.select([pidfd], [], [], 0)[0])


async def wait_until_gone(pid: int, seconds: float) -> bool:
    """True once process ``pid`` has exited (awaited on a pidfd), False if it outlives ``seconds``."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        if has_exited(fd):
            return True
        with anyio.move_on_after(seconds):
            await anyio.wait_readable(fd)
            return True
        return False
    finally:
        os.close(fd)


async def stop_leftovers(data_dir: Path) -> list[str]:
    """Stop embedded servers a killed pam-mcp left running (by their pids); name what was left."""
    left: list[str] = []
    for name, pid, sig in (
        ("postgres", postmaster_pid(data_dir), signal.SIGINT),  # SIGINT: PostgreSQL's fast shutdown
        ("redis", embedded_redis_pid(data_dir), signal.SIGTERM),
    ):
        if pid is None:
            continue
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            if has_exited(fd):
                continue
            left.append(f"{name} (pid {pid})")
            signal.pidfd_send_signal(fd, sig)
            with anyio.move_on_after(20):
                await anyio.wait_readable(fd)
        finally:
            os.close(fd)
    return left


@pytest.fixture
def embedded_home() -> Iterator[Path]:
    """A data directory for the embedded default, short (PostgreSQL's socket lives in it).

    Not under pytest's tmp_path: as root, pgserver runs PostgreSQL as its own 'pgserver'
    system user, which cannot enter pytest's 0700 base directory.
    """
    home = Path(tempfile.mkdtemp(prefix="pam-stdio-"))
    home.chmod(0o755)
    try:
        yield home / "pam"
    finally:
        shutil.rmtree(home, ignore_errors=True)


def require_embedded_postgres() -> None:
    try:
        import pgserver  # noqa: F401
    except ImportError:
        pytest.skip("pgserver (the embedded PostgreSQL wheel) is not installed: CPython 3.11-3.12 on Linux/macOS only")
    if not hasattr(os, "pidfd_open"):
        pytest.skip("needs os.pidfd_open (Linux) to await the embedded servers' exit without polling")


# -- 1. a configured server, through the SDK's stdio client --------------------------------------


@pytest.mark.parametrize(("mode", "protocol"), [("legacy", LEGACY_VERSION), ("auto", "2026-07-28")])
async def test_a_configured_server_serves_pam_user_id_over_stdio(
    mode: str,
    protocol: str,
    database_url: str,
    redis_url: str,
    new_user: NewUser,
    db: Database,
    redis_client: Any,
    tmp_path: Path,
    child_stderr: TextIO,
) -> None:
    user = await new_user()
    env = child_env(
        DATABASE_URL=database_url, REDIS_URL=redis_url, PAM_USER_ID=str(user), PAM_DATA_DIR=str(tmp_path / "data")
    )
    try:
        with show_on_failure(child_stderr), anyio.fail_after(60):
            async with Client(stdio_client(stdio_params(env), errlog=child_stderr), mode=mode) as client:
                assert client.protocol_version == protocol
                tools = (await client.list_tools()).tools
                assert {tool.name for tool in tools} == TOOL_NAMES

                logged = structured(await client.call_tool("log_trip", TRIP))
                trip_id = logged["trip_id"]
                assert logged["stop_count"] == 1
                assert logged["distance_km"] > 200

                context = structured(await client.call_tool("get_context", {}))
                assert context["latest_trip"]["trip_id"] == trip_id
                assert context["latest_trip"]["title"] == TRIP["title"]

                listed = resource_json((await client.read_resource("pam://trips")).contents)
                assert [trip["trip_id"] for trip in listed["trips"]] == [trip_id]
    finally:
        # The child's limiter keys live under the production prefix; leave the shared Redis clean.
        keys = [key async for key in redis_client.scan_iter(match=f"pam:rl:{user}:*")]
        if keys:
            await redis_client.delete(*keys)

    async with db.as_owner() as tx:
        owner = await tx.fetchval("select user_id from public.trips where id = $1", uuid.UUID(trip_id))
    assert owner == user


# -- 2. stdout is the protocol's alone -----------------------------------------------------------


async def test_stdout_carries_only_json_rpc_even_with_debug_logs_and_failing_calls(
    database_url: str, redis_url: str, new_user: NewUser, redis_client: Any, tmp_path: Path
) -> None:
    user = await new_user()
    env = child_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PAM_USER_ID=str(user),
        PAM_DATA_DIR=str(tmp_path / "data"),
        PAM_LOG_LEVEL="DEBUG",
    )
    bad_trip = {**TRIP, "route": [{"lat": 123.0, "lon": 141.45}]}  # no latitude is 123 degrees
    emergency = "There's smoke pouring out of the van and my husband collapsed, this is an emergency!"
    messages = [
        *initialize_messages(),
        jsonrpc(2, "tools/list", {}),
        jsonrpc(3, "tools/call", {"name": "log_trip", "arguments": bad_trip}),
        jsonrpc(4, "tools/call", {"name": "check_guardrails", "arguments": {"text": emergency}}),
        jsonrpc(5, "tools/call", {"name": "no_such_tool", "arguments": {}}),
    ]
    out, err = bytearray(), bytearray()
    try:
        with anyio.fail_after(60):
            async with await anyio.open_process(SERVER_COMMAND, env=env, start_new_session=True) as proc:
                assert proc.stdin is not None
                async with anyio.create_task_group() as tg:
                    tg.start_soon(drain, proc.stderr, err)  # DEBUG logging must never block on a full pipe
                    await proc.stdin.send(encode(messages))
                    answers = await read_responses(proc, out, {1, 2, 3, 4, 5})
                    await proc.stdin.aclose()  # the client goes away: the server must exit by itself
                    await drain(proc.stdout, out)
                    returncode = await proc.wait()
    finally:
        keys = [key async for key in redis_client.scan_iter(match=f"pam:rl:{user}:*")]
        if keys:
            await redis_client.delete(*keys)

    lines = bytes(out).decode("utf-8").split("\n")
    assert lines[-1] == "", "stdout must end with a complete line"
    for line in lines[:-1]:
        message = json.loads(line)  # a stray print or log line fails here
        assert message.get("jsonrpc") == "2.0", line
    assert returncode == 0, bytes(err).decode(errors="replace")[-2000:]

    assert answers[1]["result"]["protocolVersion"] == LEGACY_VERSION
    assert len(answers[2]["result"]["tools"]) == len(TOOL_NAMES)
    failed = answers[3]["result"]
    assert failed["isError"] is True
    assert "lat" in failed["content"][0]["text"]
    assert "123" not in failed["content"][0]["text"], "the rejected value must not be echoed"
    checked = answers[4]["result"]["structuredContent"]
    assert checked["decision"] == "warn"
    assert any("000" in line or "911" in line for line in checked["guidance"])
    assert answers[5]["result"]["isError"] is True

    logs = bytes(err).decode("utf-8", errors="replace")
    assert " DEBUG " in logs, "PAM_LOG_LEVEL=DEBUG should log at DEBUG, to stderr"


# -- 3. misconfiguration: a clear message on stderr, nothing on stdout, a non-zero exit ------------


async def test_a_pam_user_id_missing_from_auth_users_stops_the_server_with_a_clear_message(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    stranger = uuid.uuid4()
    env = child_env(
        DATABASE_URL=database_url, REDIS_URL=redis_url, PAM_USER_ID=str(stranger), PAM_DATA_DIR=str(tmp_path)
    )
    returncode, out, err = await run_to_exit(env, seconds=30)
    message = err.decode("utf-8", errors="replace")
    assert returncode != 0
    assert out == b""
    assert "PAM_USER_ID" in message
    assert str(stranger) in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PAM_RATE_LIMIT", "lots"),
        ("PAM_TOOL_RATE_LIMITS", "log_trip"),
        ("PAM_USER_ID", "not-a-uuid"),
        ("PAM_RATE_LIMIT_ON_REDIS_DOWN", "maybe"),
    ],
)
async def test_an_unreadable_setting_stops_the_server_naming_the_variable(
    variable: str, value: str, database_url: str, redis_url: str, new_user: NewUser, tmp_path: Path
) -> None:
    user = await new_user()
    env = child_env(DATABASE_URL=database_url, REDIS_URL=redis_url, PAM_USER_ID=str(user), PAM_DATA_DIR=str(tmp_path))
    env[variable] = value
    returncode, out, err = await run_to_exit(env, seconds=30)
    message = err.decode("utf-8", errors="replace")
    assert returncode != 0
    assert out == b""
    assert variable in message
    assert "Traceback" not in message


# -- 4. the zero-config embedded default ----------------------------------------------------------


async def test_the_embedded_default_creates_one_local_user_and_keeps_its_data_across_sessions(
    embedded_home: Path, child_stderr: TextIO
) -> None:
    require_embedded_postgres()
    data_dir = embedded_home
    assert not data_dir.exists()
    params = stdio_params(child_env(PAM_DATA_DIR=str(data_dir)))
    expense = {"amount": "23.40", "category": "propane", "description": "gas bottle at Cobar", "spent_on": "2026-03-14"}
    march = {"start": "2026-03-01", "end": "2026-03-31", "include_items": True}
    try:
        with show_on_failure(child_stderr), anyio.fail_after(180):
            started = time.perf_counter()
            async with Client(stdio_client(params, errlog=child_stderr)) as client:
                assert len((await client.list_tools()).tools) == len(TOOL_NAMES)
                cold_start = time.perf_counter() - started
                local_user = read_local_user(data_dir)
                logged = structured(await client.call_tool("log_expense", expense))
                expense_id = logged["expense"]["expense_id"]
                first = structured(await client.call_tool("query_expenses", march))
                assert [item["expense_id"] for item in first["items"]] == [expense_id]
                assert first["total"] == "23.40"

            started = time.perf_counter()
            async with Client(stdio_client(params, errlog=child_stderr)) as client:
                assert len((await client.list_tools()).tools) == len(TOOL_NAMES)
                warm_start = time.perf_counter() - started
                again = structured(await client.call_tool("query_expenses", march))
                assert [item["expense_id"] for item in again["items"]] == [expense_id]
                assert again["total"] == "23.40"
                # Look inside while the server runs: one local user, and it owns the expense.
                owners = await embedded_owners(data_dir, uuid.UUID(expense_id))
            assert read_local_user(data_dir) == local_user
            assert owners == ([local_user], local_user)
    finally:
        left = await stop_leftovers(data_dir)
        if left:
            print(f"\nembedded default: the client's kill escalation left {', '.join(left)} running; stopped it")
    print(
        f"\nembedded default: cold start {cold_start:.2f} s, warm start {warm_start:.2f} s "
        "(spawn to the first answered tools/list)"
    )


def read_local_user(data_dir: Path) -> uuid.UUID:
    return uuid.UUID((data_dir / "local-user-id").read_text(encoding="utf-8").strip())


async def embedded_owners(data_dir: Path, expense_id: uuid.UUID) -> tuple[list[uuid.UUID], uuid.UUID]:
    """Every auth user of the embedded database, and the expense's owner (over its unix socket)."""
    conn = await asyncpg.connect(host=str(data_dir / "postgres"), user="postgres", database="postgres")
    try:
        users = [row["id"] for row in await conn.fetch("select id from auth.users")]
        owner = await conn.fetchval("select user_id from public.expenses where id = $1", expense_id)
    finally:
        await conn.close()
    return users, owner


@dataclass
class EmbeddedServer:
    """``python -m pam_mcp`` on the embedded default, initialized, with its servers' pids."""

    proc: Process
    data_dir: Path
    postgres: int
    redis: int
    stderr: Path


@pytest.fixture
async def embedded_server(embedded_home: Path, tmp_path: Path) -> AsyncIterator[EmbeddedServer]:
    """``python -m pam_mcp`` on the embedded default, initialized over raw pipes; stopped afterwards.

    As CI and many desktops run it: no XDG_RUNTIME_DIR, default log level. Its stderr goes to
    ``server-stderr.log`` in tmp_path.
    """
    require_embedded_postgres()
    data_dir = embedded_home
    env = child_env(PAM_DATA_DIR=str(data_dir))
    env.pop("XDG_RUNTIME_DIR", None)
    stderr_path = tmp_path / "server-stderr.log"
    with stderr_path.open("wb") as stderr:
        proc = await anyio.open_process(SERVER_COMMAND, env=env, stderr=stderr, start_new_session=True)
    async with proc:
        try:
            assert proc.stdin is not None
            with anyio.fail_after(120):
                await proc.stdin.send(encode([*initialize_messages(), jsonrpc(2, "tools/list", {})]))
                answers = await read_responses(proc, bytearray(), {1, 2})
            assert len(answers[2]["result"]["tools"]) == len(TOOL_NAMES)
            postgres, redis = postmaster_pid(data_dir), embedded_redis_pid(data_dir)
            assert postgres is not None, "the embedded PostgreSQL should be running"
            assert redis is not None, "the embedded Redis should be running"
            yield EmbeddedServer(proc, data_dir, postgres, redis, stderr_path)
        finally:
            if proc.returncode is None:
                proc.kill()
            await stop_leftovers(data_dir)


async def servers_stopped(server: EmbeddedServer) -> None:
    assert await wait_until_gone(server.postgres, 10), "the embedded PostgreSQL outlived pam-mcp"
    assert not (server.data_dir / "postgres" / "postmaster.pid").exists()
    assert await wait_until_gone(server.redis, 10), "the embedded Redis outlived pam-mcp"


READY_LINE = re.compile(r"pam-mcp \S+ ready on stdio, acting for user [0-9a-f-]{36}")


async def test_closing_stdin_stops_the_server_and_its_embedded_servers_and_a_start_says_only_ready(
    embedded_server: EmbeddedServer,
) -> None:
    proc = embedded_server.proc
    assert proc.stdin is not None
    started = time.perf_counter()
    await proc.stdin.aclose()
    with anyio.fail_after(30):
        returncode = await proc.wait()
    exit_seconds = time.perf_counter() - started
    print(f"\nembedded default: exited {exit_seconds:.2f} s after stdin closed (the SDK client allows 2 s)")
    assert returncode == 0
    await servers_stopped(embedded_server)
    # A normal start and stop, at the default log level: the ready line, and not one warning.
    lines = embedded_server.stderr.read_text(encoding="utf-8", errors="replace").splitlines()
    assert len(lines) == 1, lines
    assert READY_LINE.fullmatch(lines[0]), lines[0]


async def test_sigterm_from_the_client_stops_the_server_and_its_embedded_servers(
    embedded_server: EmbeddedServer,
) -> None:
    embedded_server.proc.terminate()  # what MCP clients send when the server has not exited after stdin closed
    with anyio.fail_after(30):
        returncode = await embedded_server.proc.wait()
    assert returncode == 128 + signal.SIGTERM
    await servers_stopped(embedded_server)


async def test_ctrl_c_stops_the_server_and_its_embedded_servers(embedded_server: EmbeddedServer) -> None:
    # A terminal's Ctrl-C signals the whole foreground process group, with stdin still open.
    os.killpg(embedded_server.proc.pid, signal.SIGINT)
    with anyio.fail_after(30):
        returncode = await embedded_server.proc.wait()
    assert returncode == 128 + signal.SIGINT
    await servers_stopped(embedded_server)


# The server under a launcher that records how it ended: the SDK's client signals the whole
# process group, and the launcher outlives a SIGTERM just long enough to write the status.
RECORDING_LAUNCHER = """
import signal, subprocess, sys
signal.signal(signal.SIGTERM, lambda *_: None)
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as status:
    status.write(str(code))
"""


async def test_leaving_the_sdk_client_lets_the_server_exit_by_itself_with_its_embedded_servers_stopped(
    embedded_home: Path, tmp_path: Path, child_stderr: TextIO
) -> None:
    """The SDK's client closes stdin, waits 2 s, then SIGTERMs (the TypeScript SDK SIGKILLs at 4 s)."""
    require_embedded_postgres()
    status = tmp_path / "exit-status"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", RECORDING_LAUNCHER, str(status), *SERVER_COMMAND],
        env=child_env(PAM_DATA_DIR=str(embedded_home)),
    )
    try:
        with show_on_failure(child_stderr), anyio.fail_after(180):
            async with Client(stdio_client(params, errlog=child_stderr)) as client:
                assert len((await client.list_tools()).tools) == len(TOOL_NAMES)
                postgres, redis = postmaster_pid(embedded_home), embedded_redis_pid(embedded_home)
                assert postgres is not None
                assert redis is not None
                leaving = time.perf_counter()
            left_seconds = time.perf_counter() - leaving
        print(f"\nembedded default: the SDK client's exit took {left_seconds:.2f} s (2 s grace before SIGTERM)")
        assert status.exists(), "the server and its launcher had to be killed"
        assert status.read_text() == "0", "the server did not exit by itself before the client's SIGTERM"
        assert await wait_until_gone(postgres, 10), "the embedded PostgreSQL outlived pam-mcp"
        assert await wait_until_gone(redis, 10), "the embedded Redis outlived pam-mcp"
    finally:
        await stop_leftovers(embedded_home)


# -- 5. lines the SDK cannot read get an answer ----------------------------------------------------


def nested(depth: int) -> dict[str, Any]:
    facts: dict[str, Any] = {"leaf": "Cobar"}
    for _ in range(depth):
        facts = {"next": facts}
    return facts


async def test_facts_nested_200_deep_get_an_error_answer_and_the_server_keeps_serving(
    database_url: str, redis_url: str, new_user: NewUser, redis_client: Any, tmp_path: Path
) -> None:
    user = await new_user()
    env = child_env(DATABASE_URL=database_url, REDIS_URL=redis_url, PAM_USER_ID=str(user), PAM_DATA_DIR=str(tmp_path))
    deep = {"name": "update_context", "arguments": {"session_id": "deep", "facts": nested(200)}}
    lines = encode([*initialize_messages(), jsonrpc(2, "tools/call", deep)])
    lines += b'{"jsonrpc": "2.0", "id": 3, "method": "tools/list"\n'  # cut short: not JSON at all
    lines += encode([jsonrpc(4, "tools/list", {})])
    out = bytearray()
    try:
        with anyio.fail_after(60):
            async with await anyio.open_process(
                SERVER_COMMAND, env=env, stderr=subprocess.DEVNULL, start_new_session=True
            ) as proc:
                assert proc.stdin is not None
                await proc.stdin.send(lines)
                answers = await read_responses(proc, out, {1, 2, 4})
                await proc.stdin.aclose()
                await drain(proc.stdout, out)
                assert await proc.wait() == 0
    finally:
        keys = [key async for key in redis_client.scan_iter(match=f"pam:rl:{user}:*")]
        if keys:
            await redis_client.delete(*keys)

    too_deep = answers[2]["error"]
    assert too_deep["code"] == -32600  # invalid request, answered with the request's own id
    assert "deep" in too_deep["message"]
    unreadable = [json.loads(line) for line in bytes(out).splitlines() if json.loads(line).get("id") is None]
    assert [message["error"]["code"] for message in unreadable] == [-32700]  # parse error, id null
    assert len(answers[4]["result"]["tools"]) == len(TOOL_NAMES), "the server goes on serving after both"
