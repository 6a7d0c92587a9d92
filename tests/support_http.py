"""PAM over streamable HTTP in-process: a real server on loopback and signed-in SDK clients.

The server is the one ``pam-mcp serve --transport http`` builds (stateless, JSON responses,
Supabase HS256 bearer tokens) on whatever App the test makes, served by uvicorn on a socket
that listens before uvicorn starts, so a client may connect at once and no readiness poll
is needed. Tests of the real command as a process use tests/support_process.py instead.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Literal

import anyio
import httpx2
import uvicorn
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent

from pam_mcp.identity import SupabaseJwtVerifier
from pam_mcp.server import App, build_server
from tests.conftest import JWT_SECRET

Mode = Literal["auto", "legacy"]
# One or more windows; a refused check_guardrails adds the emergency numbers after the wait.
RATE_LIMITED = re.compile(
    r"^Rate limit of \d+/\w+(?:,\d+/\w+)* reached; the next call is allowed in \d+ s\.(?: If this is an emergency, .+)?$"
)
JSON_RPC_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def http_server(app: App) -> MCPServer[Any]:
    """The server `pam-mcp serve --transport http` builds: Supabase HS256 tokens, no JWKS."""
    return build_server(app, verifier=SupabaseJwtVerifier(secret=JWT_SECRET, supabase_url=None))


@asynccontextmanager
async def serving(server: MCPServer[Any]) -> AsyncIterator[str]:
    """Serve ``server`` on a loopback port for the block, as the serve command does; yields the URL.

    The socket listens before uvicorn starts, so a client may connect at once: its request
    waits in the backlog until the app is up, and no readiness poll is needed. It is made
    with proto=IPPROTO_TCP because asyncio sets TCP_NODELAY on accepted connections only
    then; with the default proto=0, Nagle and delayed ACKs add ~40 ms to every response.
    """
    http_app = server.streamable_http_app(stateless_http=True, json_response=True, host="127.0.0.1")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    # Room for many clients connecting at once, before uvicorn accepts any of them.
    sock.listen(512)
    port = sock.getsockname()[1]
    config = uvicorn.Config(http_app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    userver = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(userver.serve, sockets=[sock]))
            try:
                yield f"http://127.0.0.1:{port}/mcp"
            finally:
                userver.should_exit = True
    finally:
        sock.close()


@asynccontextmanager
async def signed_in(url: str, token: str, mode: Mode = "auto") -> AsyncIterator[Client]:
    """An SDK client session carrying ``Authorization: Bearer <token>``.

    ``mode="legacy"`` speaks the initialize-handshake protocol; "auto" negotiates 2026-07-28.
    """
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


def text_of(result: CallToolResult) -> str:
    """The text of a tool result, which PAM always sends as one text block first."""
    first = result.content[0]
    assert isinstance(first, TextContent)
    return first.text
