"""Run the server: open the backends, build the App, serve stdio or streamable HTTP."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import threading
from types import FrameType
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

from pam_mcp.embedded import stop_all
from pam_mcp.errors import ConfigurationError
from pam_mcp.identity import SupabaseJwtVerifier
from pam_mcp.oauth.consent import consent_routes
from pam_mcp.oauth.front import BearerGate, Public, host_checks, metadata_routes, with_cors
from pam_mcp.ratelimit import RateLimiter
from pam_mcp.runtime import Runtime, open_runtime, stdio_user
from pam_mcp.server import App, build_server, http_app
from pam_mcp.settings import Settings

log = logging.getLogger(__name__)


def make_app(runtime: Runtime, *, key_prefix: str = "pam:rl") -> App:
    settings = runtime.settings  # its rates were validated when the environment was read
    return App(
        store=runtime.store,
        limiter=RateLimiter(
            runtime.redis, key_prefix=key_prefix, fail_open=settings.pam_rate_limit_on_redis_down == "allow"
        ),
        rate=settings.rate_limits,
        tool_rates=settings.tool_rate_limits,
        subscription_price=settings.pam_subscription_price,
    )


def build_http_app(settings: Settings, app: App, verifier: SupabaseJwtVerifier, host: str) -> ASGIApp:
    """The HTTP server: MCP at /mcp behind the OAuth front (discovery, honest 401s, CORS), and the consent page."""
    public = Public.from_settings(settings)
    if public is not None and verifier.issuer is None:
        raise ConfigurationError(
            "PAM_PUBLIC_URL needs SUPABASE_URL: discovery names <SUPABASE_URL>/auth/v1 as where to sign in."
        )
    server = build_server(
        app, verifier=verifier, issuer=verifier.issuer, resource_url=public.resource if public else None
    )
    checks = host_checks(settings, public, host)
    mcp_app = http_app(server, host=host, allowed_hosts=checks.hosts, allowed_origins=checks.origins)
    if public is not None and verifier.issuer is not None:
        mcp_app.routes.extend(metadata_routes(public, verifier.issuer))
        mcp_app.routes.extend(consent_routes(settings, public))
    gated = BearerGate(mcp_app, verifier, public.metadata_url if public else None)
    return with_cors(gated, checks.origins)


# Set once the stdio session has ended and the clean-up is under way.
_orderly_stop = threading.Event()


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP: stop the embedded servers, then exit.

    MCP clients send SIGTERM when the server has not exited soon after they close stdin
    (the SDK after 2 s, desktop clients on quit). The stdio transport reads stdin in a
    thread that cancellation cannot interrupt, so unwinding could hang; and dying without
    clean-up would leave the embedded PostgreSQL running, with pgserver believing a dead
    process still uses it. Committed calls are safe: each call is its own transaction.
    """
    if _orderly_stop.is_set():
        return  # already stopping in order (stdin closed): let that finish rather than cut it short
    stop_all()
    os._exit(128 + signum)


def backend_options() -> dict[str, bool]:
    """anyio's event loop options: uvloop where it is installed (the `fast` extra), asyncio's own otherwise.

    uvicorn picks httptools by itself when installed (``http="auto"``), and redis-py hiredis;
    the loop is anyio's to choose, since uvicorn runs inside the loop anyio.run made.
    """
    try:
        importlib.import_module("uvloop")  # imported, not only found: a broken install falls back too
    except ImportError:
        return {"use_uvloop": False}
    return {"use_uvloop": True}


async def serve(settings: Settings, transport: Literal["stdio", "http"], host: str, port: int) -> None:
    verifier = SupabaseJwtVerifier.from_settings(settings) if transport == "http" else None
    # Before the embedded servers start, so a signal during start-up stops them too. Over
    # HTTP uvicorn installs its own handlers once it runs, and shuts down gracefully.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    async with open_runtime(settings) as runtime:
        app = make_app(runtime)
        if transport == "stdio":
            app.stdio_user = await stdio_user(runtime)
            await build_server(app).run_stdio_async()
            _orderly_stop.set()
            return
        assert verifier is not None
        config = uvicorn.Config(
            build_http_app(settings, app, verifier, host), host=host, port=port, log_level="warning", lifespan="on"
        )
        log.warning("pam-mcp listening on http://%s:%d/mcp", host, port)
        await uvicorn.Server(config).serve()
