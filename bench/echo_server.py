"""``python -m bench.echo_server --port N``: what ``pam-mcp serve --transport http`` runs, plus echo.

Also ``floor``: a Redis PING and a PostgreSQL ``select 1`` on the server's own connections.

The same runtime, App, guard and HTTP app as ``pam_mcp.serve.serve`` (stateless, JSON
responses, Supabase bearer tokens), with one more tool, ``echo``, that touches no database:
the yardstick PAM's tools are measured against on the same server and transport. Its
limiter keys go under ``PAM_BENCH_KEY_PREFIX`` so the bench can delete them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

import anyio
import uvicorn

from bench.server_clock import ServerClock
from pam_mcp.identity import SupabaseJwtVerifier
from pam_mcp.runtime import open_runtime
from pam_mcp.serve import backend_options, make_app
from pam_mcp.server import build_server
from pam_mcp.settings import load_settings
from pam_mcp.tools.offload import SWITCH_INTERVAL_S


async def echo(text: str) -> str:
    """The yardstick: async like PAM's tools (a sync tool runs in a worker thread, about +0.45 ms)."""
    return text


def echo_sync(text: str) -> str:
    """The old yardstick, for reference: the SDK runs a sync tool in a worker thread."""
    return text


async def main(port: int) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # as pam_mcp.serve.serve does at start-up
    settings = load_settings()
    verifier = SupabaseJwtVerifier.from_settings(settings)
    async with open_runtime(settings) as runtime:
        app = make_app(runtime, key_prefix=os.environ.get("PAM_BENCH_KEY_PREFIX", "pam:rl"))
        server = build_server(app, verifier=verifier)
        clock = ServerClock()
        clock.install(server)
        server.add_tool(echo, name="echo")

        async def server_times() -> str:
            """Each tool's median time inside this server since the last call, as JSON (ms)."""
            times = clock.take()
            times.pop("server_times", None)
            return json.dumps(times)

        server.add_tool(server_times, name="server_times")
        if runtime.db is None:
            raise SystemExit("bench.echo_server measures the Postgres store: set DATABASE_URL")
        pool = runtime.db.pool

        async def floor() -> str:
            """The floor inside the server: one Redis and one PostgreSQL round trip on its connections."""
            await runtime.redis.ping()
            await pool.fetchval("select 1")
            return "ok"

        # Behind the same guard as echo: (floor - echo) over HTTP is the floor in the server.
        server.add_tool(floor, name="floor")
        http_app = server.streamable_http_app(stateless_http=True, json_response=True, host="127.0.0.1")
        config = uvicorn.Config(http_app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    anyio.run(main, parser.parse_args().port, backend_options=backend_options())
