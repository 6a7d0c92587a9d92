"""stdio: serve over stdin/stdout, answering every line the transport cannot read."""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

__all__ = ["run_stdio", "unreadable_line_error"]


async def run_stdio(server: MCPServer[Any]) -> None:
    """Serve ``server`` over stdin/stdout until stdin closes, answering every line it cannot read.

    The SDK's stdio transport passes a line it cannot parse on as an exception, which the
    session then drops: the client waits for ever. JSON nested deeper than the SDK's parser
    allows (about 200 levels, e.g. ``update_context`` facts) is such a line although it is
    valid JSON. Here each one is answered: with the request's id and "invalid request" when
    the line is JSON that names one, else with a parse error (id null), and serving goes on.
    """
    lowlevel = server._lowlevel_server  # what MCPServer.run_stdio_async runs, over the same transport
    async with stdio_server() as (read_stream, write_stream):
        await lowlevel.run(
            _AnswerUnreadable(read_stream, write_stream), write_stream, lowlevel.create_initialization_options()
        )


class _AnswerUnreadable:
    """The stdio read stream, minus unreadable lines, each answered on the write stream instead."""

    def __init__(self, inner: Any, out: Any) -> None:
        self._inner = inner
        self._out = out

    @property
    def last_context(self) -> Any:  # the SDK restores each message's sender context from this
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item  # type: ignore[no-any-return]
            await self._out.send(SessionMessage(unreadable_line_error(item)))

    def __aiter__(self) -> _AnswerUnreadable:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _AnswerUnreadable:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


def unreadable_line_error(exc: Exception) -> JSONRPCError:
    """The JSON-RPC answer to a line the transport could not read (``exc`` from its parser)."""
    line = None
    if isinstance(exc, ValidationError) and exc.errors():
        raw = exc.errors()[0].get("input")
        line = raw if isinstance(raw, str | bytes) else None
    request_id = None
    try:
        # Python's parser goes deeper than the SDK's (until RecursionError), enough to find the id.
        message = json.loads(line) if line is not None else None
    except (ValueError, RecursionError):
        message = None
    if isinstance(message, dict) and isinstance(message.get("id"), str | int) and not isinstance(message["id"], bool):
        request_id = message["id"]
    too_deep = "recursion limit" in str(exc)
    if request_id is None:
        reason = "the message nests too deeply to read" if too_deep else "the line is not a JSON-RPC message"
        return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=PARSE_ERROR, message=f"Parse error: {reason}"))
    reason = (
        "its JSON nests more than about 200 levels deep; send flatter arguments"
        if too_deep
        else "it is not a valid JSON-RPC 2.0 request"
    )
    return JSONRPCError(
        jsonrpc="2.0", id=request_id, error=ErrorData(code=INVALID_REQUEST, message=f"Invalid request: {reason}")
    )
