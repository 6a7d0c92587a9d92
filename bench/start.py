"""5. Start: from launching ``python -m pam_mcp`` (stdio, the embedded default) to the first
answered ``tools/list``.

Cold: an empty data directory (PostgreSQL's initdb, the migrations, the local user, Redis).
Warm: the same directory again after the previous server has exited, as a desktop client
restarts it. Each launch is a fresh process through the SDK's stdio client, exactly as a
desktop client starts it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import StdioServerParameters
from mcp.client import Client
from mcp.client.stdio import stdio_client

from bench.env import Bench, note
from bench.processes import REPO, clean_env


async def _launch(data_dir: Path, log: Path) -> tuple[float, bool]:
    """Seconds to the first answered tools/list, and whether the server's exit stopped PostgreSQL."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "pam_mcp"], env=clean_env(PAM_DATA_DIR=str(data_dir)), cwd=str(REPO)
    )
    with log.open("a") as errlog, anyio.fail_after(180):
        began = time.perf_counter()
        async with Client(stdio_client(params, errlog=errlog)) as client:
            tools = (await client.list_tools()).tools
            elapsed = time.perf_counter() - began
    if not tools:
        raise RuntimeError(f"the server listed no tools; see {log}")
    return elapsed, await _ensure_stopped(data_dir)


async def _wait_gone(path: Path, seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        # A file, not an event: polling is the only way to see it go.
        while path.exists():  # noqa: ASYNC110, ASYNC240 - a stat, between sleeps
            await anyio.sleep(0.05)  # readiness poll of a stopping process
        return True
    return False


async def _ensure_stopped(data_dir: Path) -> bool:
    """A warm start must start PostgreSQL, not join one still running, and the run must leave
    no server behind. The SDK's stdio client gives a server 2 s to exit after stdin closes,
    then signals its process group; if PostgreSQL outlives that, stop it here (fast
    shutdown) and report it. Returns True when the server's own exit stopped it."""
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if await _wait_gone(pid_file, 15):
        return True
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
    if not await _wait_gone(pid_file, 30):
        raise RuntimeError(f"the embedded PostgreSQL in {data_dir} did not stop")
    return False


async def run(bench: Bench) -> dict[str, Any]:
    if importlib.util.find_spec("pgserver") is None:
        return {"skipped": "no embedded PostgreSQL (pgserver) for this Python"}
    colds, warms = (1, 2) if bench.quick else (2, 4)
    cold: list[float] = []
    warm: list[float] = []
    stopped: list[bool] = []
    log = bench.tmp / "start.log"
    for i in range(colds):
        data_dir = bench.tmp / f"start{i}"
        note(f"start: cold start {i + 1}/{colds}")
        seconds, clean = await _launch(data_dir, log)
        cold.append(seconds)
        stopped.append(clean)
        for j in range(warms // colds):
            note(f"start: warm start {j + 1}/{warms // colds}")
            seconds, clean = await _launch(data_dir, log)
            warm.append(seconds)
            stopped.append(clean)
    return {
        "transport": "stdio",
        "cold_s": [round(x, 3) for x in cold],
        "warm_s": [round(x, 3) for x in warm],
        "cold_median_s": round(statistics.median(cold), 3),
        "warm_median_s": round(statistics.median(warm), 3),
        "postgres_left_running": f"{stopped.count(False)} of {len(stopped)}",
    }
