"""CPU time per component, read from /proc: utime + stime of the processes that did the work.

Components: the pam-mcp server processes, the PostgreSQL backends connected to the bench's
database (found in pg_stat_activity), Redis (its process_id from INFO; shared with whatever
else uses that Redis on the machine), and the load generator (this process). Linux only;
elsewhere every figure is None.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` so far, in seconds; 0 when it is gone or unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / TICKS


def available() -> bool:
    return Path(f"/proc/{os.getpid()}/stat").exists()


async def backend_pids(dsn: str) -> list[int]:
    """The PostgreSQL backends connected to this DSN's database (other than the asking one)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]


async def redis_pid(redis: Any) -> int | None:
    info = await redis.info("server")
    pid = info.get("process_id")
    return int(pid) if pid is not None else None


class Meter:
    """CPU seconds per component between ``start`` and ``stop``."""

    def __init__(self, dsn: str, redis: Any, server_pids: Iterable[int]) -> None:
        self.dsn, self.redis, self.server_pids = dsn, redis, list(server_pids)
        self._before: dict[str, dict[int, float]] = {}

    async def _pids(self) -> dict[str, list[int]]:
        rpid = await redis_pid(self.redis)
        return {
            "server": self.server_pids,
            "postgres": await backend_pids(self.dsn),
            "redis": [rpid] if rpid else [],
            "load_generator": [os.getpid()],
        }

    async def start(self) -> None:
        self._before = {k: {p: cpu_seconds(p) for p in pids} for k, pids in (await self._pids()).items()}

    async def stop(self) -> dict[str, float]:
        """CPU seconds per component since ``start`` (backends that came and went in between are missed)."""
        used: dict[str, float] = {}
        for component, pids in (await self._pids()).items():
            before = self._before.get(component, {})
            used[component] = sum(cpu_seconds(p) - before.get(p, 0.0) for p in pids)
        return used
