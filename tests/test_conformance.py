"""The MCP conformance suite (npm ``@modelcontextprotocol/conformance`` 0.1.x) against the real server.

Server mode over streamable HTTP: a real ``pam-mcp serve --transport http`` on loopback (SSE
answers on, ``PAM_HTTP_STREAMING``, so log notifications have a wire), with a small proxy in
front that adds a signed-in person's bearer token, since the suite sends no Authorization
header. The suite and its Node 22 live in ``.tools/conformance`` (``scripts/install-conformance``,
which CI runs and this module runs itself when npm is at hand).

What the scenarios need, read from the suite's source:
- ``prompts-list``: every prompt has a name and a description. PAM's own prompts.
- ``completion-complete``: completes argument ``arg1`` of a prompt ``test_prompt_with_arguments``
  and wants a ``values`` array. PAM has no such prompt; an unknown reference completes to [].
- ``logging-set-level``: ``logging/setLevel`` answers ``{}``.
- ``tools-call-with-logging``: sets level ``debug``, calls the suite's fixture tool
  ``test_tool_with_logging`` and wants at least 3 ``notifications/message``. PAM has no test
  tools and ships none, so the proxy sends that one call to PAM's real ``get_context`` instead
  (``FIXTURE_TOOLS``); what is checked is PAM's: every tool call logs at debug that it was
  admitted (with the calls left), that its arguments were accepted, and that it answered.
The suite's other server scenarios assume its reference server's fixtures (``test_*`` tools,
``test://`` resources, image prompts, resource subscriptions) and are not run here.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn

from tests.conftest import NewUser, mint_token
from tests.support_npm import found_or_installed
from tests.support_process import delete_limiter_keys, serve_env, serve_processes

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = ROOT / "scripts" / "install-conformance"
SCENARIOS = ("prompts-list", "completion-complete", "logging-set-level", "tools-call-with-logging")
RUN_TIMEOUT = 120  # one scenario: Node start, a handful of requests
# The suite's fixture tools, mapped to the PAM tool (and arguments) the proxy calls instead.
FIXTURE_TOOLS: dict[str, tuple[str, dict[str, Any]]] = {"test_tool_with_logging": ("get_context", {})}


@dataclass(frozen=True)
class Suite:
    node: Path
    entry: Path

    def command(self, *args: str) -> list[str]:
        return [str(self.node), str(self.entry), *args]


def find_suite(directory: Path) -> Suite | None:
    node = directory / "node_modules" / "node" / "bin" / "node"
    package = directory / "node_modules" / "@modelcontextprotocol" / "conformance" / "package.json"
    if not (node.is_file() and package.is_file()):
        return None
    bins = json.loads(package.read_text(encoding="utf-8"))["bin"]
    return Suite(node, package.parent / bins["conformance"])


@pytest.fixture(scope="session")
def suite() -> Suite:
    directory = Path(os.environ.get("PAM_CONFORMANCE_DIR") or ROOT / ".tools" / "conformance")
    return found_or_installed("the MCP conformance suite", INSTALL_SCRIPT, "PAM_CONFORMANCE_DIR", directory, find_suite)


# -- the proxy that signs the suite's requests in ----------------------------------------------------


def _fixture_call(body: bytes) -> bytes:
    """A tools/call of one of the suite's fixture tools, made a call of PAM's tool instead."""
    try:
        message = json.loads(body)
    except ValueError:
        return body
    if isinstance(message, dict) and message.get("method") == "tools/call":
        params = message.get("params") or {}
        if params.get("name") in FIXTURE_TOOLS:
            name, arguments = FIXTURE_TOOLS[params["name"]]
            message["params"] = {**params, "name": name, "arguments": arguments}
            return json.dumps(message).encode()
    return body


def token_proxy(upstream: str, token: str, http: httpx.AsyncClient) -> Any:
    """An ASGI app forwarding every request to ``upstream`` with ``Authorization: Bearer <token>``."""
    dropped = {b"host", b"authorization", b"content-length"}
    dropped_back = {b"content-length", b"transfer-encoding", b"connection"}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"  # lifespan is off
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in dropped]
        headers.append((b"authorization", f"Bearer {token}".encode()))
        # Streamed through as it comes: a GET is the standalone SSE stream, open until the suite
        # goes away, and a call's log notifications arrive before its result.
        request = http.build_request(scope["method"], upstream, headers=headers, content=_fixture_call(body))
        async with anyio.create_task_group() as tg:

            async def until_hung_up() -> None:  # an idle stream notices the suite leaving only here
                while (await receive())["type"] != "http.disconnect":
                    pass
                tg.cancel_scope.cancel()

            tg.start_soon(until_hung_up)
            answer = await http.send(request, stream=True)
            try:
                back = [(k, v) for k, v in answer.headers.raw if k.lower() not in dropped_back]
                await send({"type": "http.response.start", "status": answer.status_code, "headers": back})
                async for chunk in answer.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            except (OSError, httpx.HTTPError):  # the suite hung up, or the server ended the stream
                pass
            finally:
                await answer.aclose()
                tg.cancel_scope.cancel()

    return app


@asynccontextmanager
async def proxied(upstream: str, token: str) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # listening before uvicorn starts: no readiness poll
    port = sock.getsockname()[1]
    async with httpx.AsyncClient(timeout=30) as http:
        config = uvicorn.Config(
            token_proxy(upstream, token, http), log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        server = uvicorn.Server(config)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(server.serve, sockets=[sock]))
                try:
                    yield f"http://127.0.0.1:{port}/mcp"
                finally:
                    server.should_exit = True
        finally:
            sock.close()


# -- the run -------------------------------------------------------------------------------------


def checks_of(output: Path) -> list[dict[str, Any]]:
    return [check for path in sorted(output.rglob("checks.json")) for check in json.loads(path.read_text())]


async def test_the_conformance_suite_passes_prompts_completions_and_logging(
    suite: Suite, new_user: NewUser, database_url: str, redis_url: str, redis_client: Any, tmp_path: Path
) -> None:
    user = await new_user()
    env = serve_env(database_url, redis_url, tmp_path, PAM_HTTP_STREAMING="true")
    results: dict[str, list[dict[str, Any]]] = {}
    logs: dict[str, str] = {}
    try:
        async with serve_processes(1, env, tmp_path) as [url], proxied(url, mint_token(user)) as front:
            for scenario in SCENARIOS:
                output = tmp_path / scenario
                with anyio.fail_after(RUN_TIMEOUT):
                    done = await anyio.run_process(
                        suite.command("server", "--url", front, "--scenario", scenario, "-o", str(output)),
                        check=False,
                    )
                logs[scenario] = (done.stdout + done.stderr).decode(errors="replace")[-3000:]
                results[scenario] = checks_of(output)
    finally:
        await delete_limiter_keys(redis_client, user)
    for scenario in SCENARIOS:
        checks = results[scenario]
        assert checks, f"{scenario} wrote no results:\n{logs[scenario]}"
        failed = [c for c in checks if c.get("status") not in ("SUCCESS", "INFO")]
        assert not failed, f"{scenario} failed: {json.dumps(failed, indent=1)[:3000]}\n{logs[scenario]}"
