"""Time inside the server per tool call, apart from the transport and the client's output validation.

A middleware placed just outside pam-mcp's own guard (so identity, the rate limit and the tool
are inside it, the JSON-RPC framing and the transport outside) records each ``tools/call`` by
tool name. The SDK client's validation of the structured result against the output schema
happens after the answer leaves the server, so it is not in these figures.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer


class ServerClock:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    async def _timed(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        name = str((ctx.params or {}).get("name", ""))
        start = time.perf_counter()
        try:
            return await call_next(ctx)
        finally:
            self.samples[name].append(time.perf_counter() - start)

    def install(self, server: MCPServer[Any]) -> None:
        """Just outside the user middleware build_server added (pam-mcp's guard), inside the SDK's."""
        chain = server.middleware
        chain.insert(max(0, len(chain) - 1), self._timed)

    def take(self) -> dict[str, float]:
        """Each tool's median in ms since the last take; the samples are then cleared."""
        medians = {name: round(statistics.median(v) * 1000, 4) for name, v in self.samples.items() if v}
        self.samples.clear()
        return medians
