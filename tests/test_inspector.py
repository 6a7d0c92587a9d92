"""Interop with the MCP Inspector's command line (npm ``@modelcontextprotocol/inspector`` 2.x).

A client written by someone else, in another language, drives the server as people will.
Over stdio it launches ``python -m pam_mcp`` itself; over streamable HTTP it talks to a
running ``pam-mcp serve --transport http`` with a Supabase bearer token. Over both it lists
the tools, calls every one with arguments typed the way a shell user types them
(``--tool-arg key=value``, JSON for numbers, lists and objects) and reads a resource; over
HTTP a bad call comes back as a readable tool error, and a call without a token is refused
as unauthenticated.

The inspector and the Node 22 it needs live in ``.tools/`` (or ``$PAM_INSPECTOR_DIR``),
installed from the npm registry by ``scripts/install-inspector``, which this module runs
itself when npm is at hand. Only where Node/npm are absent does it skip.

Each inspector invocation is one process (and over stdio one server process too), so
independent calls run side by side and calls that build on earlier ones wait for them."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.conftest import NewUser, mint_token
from tests.support_npm import found_or_installed
from tests.support_process import SERVER_COMMAND, TOOL_NAMES, child_env, delete_limiter_keys, serve_env, serve_processes

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = ROOT / "scripts" / "install-inspector"
CALL_TIMEOUT = 60  # one inspector run: Node start, server start, one request
EMERGENCY = "There's smoke pouring out of the van and my husband collapsed, this is an emergency!"
# Two inspector runs at once: each is a Node process plus (over stdio) a Python server.
PARALLEL_RUNS = 2


# -- the installed inspector ---------------------------------------------------------------------


@dataclass(frozen=True)
class Inspector:
    node: Path
    entry: Path

    def command(self, *args: str) -> list[str]:
        return [str(self.node), str(self.entry), "--cli", "--format", "json", *args]


def tools_dir() -> Path:
    return Path(os.environ.get("PAM_INSPECTOR_DIR") or ROOT / ".tools")


def find_inspector(directory: Path) -> Inspector | None:
    """The Node 22 binary and the inspector's launcher script, if both are installed."""
    node = directory / "node_modules" / "node" / "bin" / "node"
    package = directory / "node_modules" / "@modelcontextprotocol" / "inspector" / "package.json"
    if not (node.is_file() and package.is_file()):
        return None
    bins = json.loads(package.read_text(encoding="utf-8"))["bin"]
    return Inspector(node, package.parent / bins["mcp-inspector"])


@pytest.fixture(scope="session")
def inspector() -> Inspector:
    return found_or_installed("the MCP Inspector", INSTALL_SCRIPT, "PAM_INSPECTOR_DIR", tools_dir(), find_inspector)


# -- running it ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        assert self.stdout.strip(), f"no output from {self.args}; stderr:\n{self.stderr[-3000:]}"
        out: dict[str, Any] = json.loads(self.stdout)
        return out

    def result(self) -> dict[str, Any]:
        """The result of a run that succeeded."""
        assert self.returncode == 0, f"{self.args} exited {self.returncode}:\n{self.stdout}\n{self.stderr[-3000:]}"
        result: dict[str, Any] = self.json()["result"]
        return result

    def structured(self) -> dict[str, Any]:
        """The structured content of a tool call that was not an error."""
        result = self.result()
        assert result.get("isError") is False, result
        content: dict[str, Any] = result["structuredContent"]
        # The text block carries the same JSON, for clients that ignore structured content.
        assert json.loads(result["content"][0]["text"]) == content
        return content

    def error(self) -> dict[str, Any]:
        """The error envelope the CLI writes on stderr (its last JSON line) when a run fails."""
        lines = [line for line in self.stderr.splitlines() if line.startswith('{"error"')]
        assert lines, f"no error envelope from {self.args}; stderr:\n{self.stderr[-3000:]}"
        envelope: dict[str, Any] = json.loads(lines[-1])["error"]
        return envelope

    def resource(self) -> Any:
        contents = self.result()["contents"]
        assert contents[0]["mimeType"] == "application/json"
        return json.loads(contents[0]["text"])


def inspector_env(home: Path) -> dict[str, str]:
    """The machine's environment without pam-mcp's settings, and a home of the test's own.

    The inspector keeps a catalog and OAuth state under ``~/.mcp-inspector``; a private HOME
    keeps the test from reading a developer's or writing into it.
    """
    home.mkdir(parents=True, exist_ok=True)
    return child_env(HOME=str(home))


Runner = Callable[..., Awaitable[Run]]


def runner(inspector: Inspector, env: Mapping[str, str], target: list[str]) -> Runner:
    """``run(*inspector_args)``: one bounded inspector run against ``target`` (a command or URL)."""
    limiter = anyio.CapacityLimiter(PARALLEL_RUNS)

    async def run(*args: str) -> Run:
        # "--" ends the variadic options (--tool-arg, --header) before the target.
        command = inspector.command(*args, "--", *target)
        async with limiter:
            with anyio.fail_after(CALL_TIMEOUT):
                done = await anyio.run_process(command, env=dict(env), check=False)
        return Run(list(args), done.returncode, done.stdout.decode(), done.stderr.decode(errors="replace"))

    return run


async def run_all(**runs: Awaitable[Run]) -> dict[str, Run]:
    """Await independent runs side by side; results by name."""
    results: dict[str, Run] = {}

    async def one(name: str, pending: Awaitable[Run]) -> None:
        results[name] = await pending

    async with anyio.create_task_group() as tg:
        for name, pending in runs.items():
            tg.start_soon(one, name, pending)
    return results


def tool_call(name: str, *pairs: str) -> list[str]:
    args = ["--method", "tools/call", "--tool-name", name]
    return [*args, "--tool-arg", *pairs] if pairs else args


# -- what a user does with it: every tool, then a resource ---------------------------------------


async def every_tool_and_a_resource(call: Runner) -> None:
    """List the tools, call each of the nine as a shell user would type it, read ``pam://trips``.

    ``call(*inspector_args)`` runs the inspector once against one user's server. Later calls
    check what earlier ones stored, each through a fresh connection (over stdio, a fresh
    server process).
    """
    first = await run_all(
        # --strict: exit 6 if a tool schema has a portability error a client could trip on.
        listed=call("--method", "tools/list", "--strict"),
        trip=call(
            *tool_call(
                "log_trip",
                "started_at=2026-03-01T08:00:00+10:30",
                "ended_at=2026-03-01T13:30:00+10:30",
                "title=Broken Hill to Mildura",
                'route=[{"lat": -31.9539, "lon": 141.4539}, {"lat": -34.1855, "lon": 142.1625}]',
                'stops=[{"name": "Coombah Roadhouse", "lat": -32.98, "lon": 141.64, "kind": "fuel", "cost": "92.40"}]',
            )
        ),
        # The CLI turns 42.10 into the JSON number 42.1: the server must still book 42.10 exactly.
        expense=call(
            *tool_call(
                "log_expense", "amount=42.10", "category=fuel", "description=diesel at Cobar", "spent_on=2026-03-01"
            )
        ),
        saving=call(
            *tool_call(
                "record_saving",
                "amount=25",
                "category=fuel",
                "description=found diesel 12c/L cheaper",
                "saved_on=2026-03-02",
            )
        ),
        level=call(*tool_call("set_guardrails", "safety_level=high")),
        session=call(*tool_call("update_context", 'facts={"heading": "Uluru", "pets": ["Rex"]}')),
    )
    session_id = first["session"].structured()["session_id"]
    then = await run_all(
        message=call(*tool_call("log_message", f"session_id={session_id}", "role=user", "content=Where can we camp?")),
        spending=call(
            *tool_call(
                "query_expenses", "start=2026-03-01", "end=2026-03-31", 'categories=["fuel"]', "include_items=true"
            )
        ),
        check=call(*tool_call("check_guardrails", f"text={EMERGENCY}", "vehicle_moving=false")),
        trips=call("--method", "resources/read", "--uri", "pam://trips"),
    )
    # get_context last: it gathers what the other calls left behind.
    context = (await call(*tool_call("get_context", "message_limit=5"))).structured()

    tools = first["listed"].result()["tools"]
    assert {tool["name"] for tool in tools} == TOOL_NAMES
    assert all(tool["outputSchema"]["type"] == "object" for tool in tools)

    trip = first["trip"].structured()
    assert trip["stop_count"] == 1
    assert trip["duration_hours"] == 5.5
    assert 250 < trip["distance_km"] < 260

    expense = first["expense"].structured()
    assert expense["expense"]["amount"] == "42.10"
    assert expense["month_total_for_category"] == "42.10"
    assert expense["duplicate"] is False

    saving = first["saving"].structured()
    assert saving["month_total"] == "25.00"
    assert saving["guarantee"]["month"] == "2026-03"

    assert first["level"].structured() == {"safety_level": "high", "previous_level": "medium"}
    assert sorted(first["session"].structured()["keys"]) == ["heading", "pets"]

    message = then["message"].structured()
    assert message["session_id"] == session_id
    assert message["redacted"] is False

    spending = then["spending"].structured()
    assert spending["total"] == "42.10"
    assert [item["description"] for item in spending["items"]] == ["diesel at Cobar"]

    check = then["check"].structured()
    assert check["decision"] in ("warn", "block")
    assert check["safety_level"] == "high"
    assert any("000" in line or "911" in line for line in check["guidance"])
    assert check["logged_event_id"] is not None

    listed_trips = then["trips"].resource()["trips"]
    assert [t["trip_id"] for t in listed_trips] == [trip["trip_id"]]
    assert listed_trips[0]["title"] == "Broken Hill to Mildura"

    assert context["latest_trip"]["trip_id"] == trip["trip_id"]
    assert context["safety_level"] == "high"
    assert context["session_id"] == session_id
    assert context["session_context"] == {"heading": "Uluru", "pets": ["Rex"]}
    assert [m["content"] for m in context["messages"]] == ["Where can we camp?"]


# -- over stdio: the inspector launches the server ------------------------------------------------


async def test_over_stdio_the_inspector_lists_and_calls_every_tool_and_reads_a_resource(
    inspector: Inspector, database_url: str, redis_url: str, new_user: NewUser, redis_client: Any, tmp_path: Path
) -> None:
    user = await new_user()
    server_env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PAM_USER_ID": str(user),
        "PAM_DATA_DIR": str(tmp_path / "data"),
    }
    env_flags = [flag for key, value in server_env.items() for flag in ("-e", f"{key}={value}")]
    run = runner(inspector, inspector_env(tmp_path / "home"), SERVER_COMMAND)

    async def stdio(*args: str) -> Run:
        # The CLI's default protocol era for a command target: legacy, as desktop clients speak it.
        return await run(*env_flags, *args)

    try:
        await every_tool_and_a_resource(stdio)
    finally:
        await delete_limiter_keys(redis_client, user)


# -- over streamable HTTP: a running server and a bearer token ------------------------------------


@asynccontextmanager
async def http_serve(database_url: str, redis_url: str, data_dir: Path) -> AsyncIterator[str]:
    """``pam-mcp serve --transport http`` on a free loopback port; yields its /mcp URL."""
    env = inspector_env(data_dir / "home") | serve_env(database_url, redis_url, data_dir)
    async with serve_processes(1, env, data_dir) as [url]:
        yield url


async def test_over_streamable_http_with_a_bearer_token_the_inspector_calls_every_tool_and_without_one_is_refused(
    inspector: Inspector, database_url: str, redis_url: str, new_user: NewUser, redis_client: Any, tmp_path: Path
) -> None:
    user = await new_user()
    bearer = f"Authorization: Bearer {mint_token(user)}"
    env = inspector_env(tmp_path / "home")
    (tmp_path / "data").mkdir()
    try:
        async with http_serve(database_url, redis_url, tmp_path / "data") as url:
            run = runner(inspector, env, [url])
            signed_in = ["--transport", "http", "--header", bearer]

            async def modern(*args: str) -> Run:
                # The 2026-07-28 protocol here; the stdio test covers the legacy handshake.
                return await run(*signed_in, "--protocol-era", "modern", *args)

            await every_tool_and_a_resource(modern)
            last = await run_all(
                refused=run(
                    *signed_in,
                    *tool_call(
                        "log_trip", "started_at=2026-04-01T08:00:00+09:30", 'route=[{"lat": 123, "lon": 134.7}]'
                    ),
                ),
                # --stored-auth-only: never start an interactive OAuth login; report and exit.
                anonymous=run("--transport", "http", "--stored-auth-only", "--method", "tools/list"),
            )
    finally:
        await delete_limiter_keys(redis_client, user)

    refused = last["refused"]
    assert refused.returncode == 5, refused  # the CLI's exit code for a tool that returned isError
    assert refused.error()["code"] == "tool_is_error"
    text = refused.json()["result"]["content"][0]["text"]
    assert text.startswith("Invalid arguments for log_trip: route.0.lat"), text
    assert "123" not in text, "the rejected value must not be echoed"

    anonymous = last["anonymous"]
    assert anonymous.returncode == 3, anonymous  # the CLI's exit code for "authentication required"
    assert anonymous.stdout == ""
    assert anonymous.error()["code"] == "auth_required"
