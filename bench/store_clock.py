"""Where a tool call's server-side time goes: the store's share, apart from the rest.

The overhead targets compare (tool - echo) inside the server with the floor. When a target is
missed the question is what limits it: the database work (round trips, SQL, mapping rows to
records) or the Python around it (the SDK's dispatch, argument and result validation, the
tool's own logic). ``StoreClock`` wraps the store the server is given and sums the time spent
awaiting store methods during each ``tools/call``, by tool; ``ServerClock`` times the whole call,
so the difference is what the server does in Python besides waiting for the store.
"""

from __future__ import annotations

import inspect
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer

_current: ContextVar[list[float] | None] = ContextVar("bench_store_time", default=None)


class TimedStore:
    """Every coroutine method of ``store``, timed into the running call's total; the rest passes through."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        method: Callable[..., Any] = attribute

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                if (total := _current.get()) is not None:
                    total[0] += time.perf_counter() - start

        return timed


class StoreClock:
    """Per tool: the median time its calls spent awaiting the store, in ms."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    async def _timed(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        total = [0.0]
        token = _current.set(total)
        try:
            return await call_next(ctx)
        finally:
            _current.reset(token)
            self.samples[str((ctx.params or {}).get("name", ""))].append(total[0])

    def install(self, server: MCPServer[Any]) -> None:
        server.middleware.insert(0, self._timed)

    def take(self) -> dict[str, float]:
        medians = {name: round(statistics.median(v) * 1000, 4) for name, v in self.samples.items() if v}
        self.samples.clear()
        return medians
