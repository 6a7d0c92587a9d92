"""Pure-CPU work (the guardrail engine, redaction) off the event loop, a few at a time.

The caps in ``limits`` keep such work bounded (tens of milliseconds at most); running the
larger pieces in a worker thread keeps even that from delaying other people's calls on the
same server. The threads come from a limiter of our own, not anyio's shared default of 40,
so one person's burst of large texts queues behind ``CPU_THREADS`` workers instead of
taking every thread the process has (the SDK runs sync tools on those).

The process's GIL switch interval matters as much: ``pam_mcp.serve.serve`` sets it to
``SWITCH_INTERVAL_S`` at start-up (a process-wide setting, so it is set where the process
starts, not here on first use).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

CPU_THREADS = 2
# How long the event loop may wait for the GIL while a worker computes (Python's default is
# 5 ms, paid again after every socket operation the loop makes: tens of ms for one answer).
# Set by pam_mcp.serve.serve at start-up.
SWITCH_INTERVAL_S = 0.001
# Below this many characters (or items) the work costs less than the hop to a thread (~0.1-0.5 ms).
INLINE_CHARS = 2_000

_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("pam_mcp_cpu_limiter")


def _limiter() -> anyio.CapacityLimiter:
    # One limiter per event loop (RunVar): a limiter belongs to the loop that made it.
    try:
        return _LIMITER.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(CPU_THREADS)
        _LIMITER.set(limiter)
        return limiter


async def run_cpu(size: int, func: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
    """``func(*args)``: inline when ``size`` (characters or items of input) is small, else in a worker thread."""
    if size <= INLINE_CHARS:
        return func(*args)
    return await anyio.to_thread.run_sync(func, *args, limiter=_limiter())
