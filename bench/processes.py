"""Server processes for the HTTP parts: started, awaited (bounded), always stopped."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from anyio.abc import Process

from bench.env import JWT_SECRET

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without pam-mcp's own variables, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith(("PAM_", "SUPABASE_"))
    }
    return env | extra


def server_env(database_url: str, redis_url: str, data_dir: Path, rate: str, **extra: str) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SUPABASE_JWT_SECRET=JWT_SECRET,
        PAM_RATE_LIMIT=rate,
        PAM_TOOL_RATE_LIMITS=f"check_guardrails={rate}",  # its own bucket, by default far smaller
        PAM_DATA_DIR=str(data_dir),
        **extra,
    )


async def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port (within half a second)."""
    try:
        with anyio.fail_after(0.5):
            stream = await anyio.connect_tcp("127.0.0.1", port)
    except (OSError, TimeoutError):
        return False
    await stream.aclose()
    return True


async def stop(process: Process) -> None:
    """SIGTERM with 10 s to go, then SIGKILL; shielded, so it runs whole even while cancelling."""
    if process.returncode is None:
        process.terminate()
        with anyio.move_on_after(10, shield=True) as waited:
            await process.wait()
        if waited.cancelled_caught:
            process.kill()
            with anyio.fail_after(5, shield=True):
                await process.wait()


@asynccontextmanager
async def http_servers(
    module: str,
    count: int,
    env: dict[str, str],
    log_dir: Path,
    *,
    start_timeout: float = 60,
    pids: list[int] | None = None,
) -> AsyncIterator[list[str]]:
    """Run ``count`` processes of ``python -m <module> ... --port N``; yields their /mcp URLs
    (and puts their process ids in ``pids``, to read their CPU time)."""
    ports = [free_port() for _ in range(count)]
    args: Sequence[str] = ["serve", "--transport", "http", "--host", "127.0.0.1"] if module == "pam_mcp" else []
    processes: list[tuple[Process, Path]] = []
    try:
        for port in ports:
            log = log_dir / f"{module}-{port}.log"
            with log.open("wb") as stderr:
                process = await anyio.open_process(
                    [sys.executable, "-m", module, *args, "--port", str(port)], env=env, stderr=stderr, cwd=REPO
                )
            processes.append((process, log))
            if pids is not None:
                pids.append(process.pid)
        with anyio.fail_after(start_timeout):
            for port, (process, log) in zip(ports, processes, strict=True):
                while not await port_open(port):
                    if process.returncode is not None:
                        raise RuntimeError(f"{module} exited with {process.returncode}:\n{log.read_text()}")
                    await anyio.sleep(0.05)  # readiness poll of a starting process
        yield [f"http://127.0.0.1:{port}/mcp" for port in ports]
    finally:
        for process, _ in processes:
            await stop(process)
