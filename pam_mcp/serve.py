"""Run the server: open the backends, build the App, serve stdio or streamable HTTP."""

from __future__ import annotations

import gc
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp

from pam_mcp.embedded import stop_all
from pam_mcp.errors import ConfigurationError
from pam_mcp.identity import SupabaseJwtVerifier
from pam_mcp.oauth.consent import consent_page
from pam_mcp.oauth.front import BearerGate, Public, host_checks, metadata_routes, with_cors
from pam_mcp.ratelimit import RateLimiter
from pam_mcp.runtime import Runtime, open_runtime, stdio_user
from pam_mcp.server import App, build_server, http_app, new_app, run_stdio
from pam_mcp.settings import Settings
from pam_mcp.tools.offload import SWITCH_INTERVAL_S

log = logging.getLogger(__name__)


def make_app(runtime: Runtime, *, key_prefix: str = "pam:rl") -> App:
    """The App for the runtime's backends, configured by its settings (rates parsed when read)."""
    settings = runtime.settings
    return new_app(
        runtime.store,
        RateLimiter(runtime.redis, key_prefix=key_prefix, fail_open=settings.pam_rate_limit_on_redis_down == "allow"),
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
    mcp_app = http_app(
        server,
        host=host,
        allowed_hosts=checks.hosts,
        allowed_origins=checks.origins,
        streaming=settings.pam_http_streaming,
    )
    if public is not None and verifier.issuer is not None:
        mcp_app.routes.extend(metadata_routes(public, verifier.issuer))
        page = consent_page(settings, public, app.limiter)
        if page is not None:
            mcp_app.routes.extend(page.routes())
            _close_at_shutdown(mcp_app, page.aclose)
    gated = BearerGate(mcp_app, verifier, public.metadata_url if public else None)
    return with_cors(gated, checks.origins)


def _close_at_shutdown(starlette_app: Any, close: Callable[[], Awaitable[None]]) -> None:
    """Run ``close`` when the app's lifespan ends, after the SDK's own shutdown."""
    inner = starlette_app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with inner(app) as state:
            try:
                yield state
            finally:
                await close()

    starlette_app.router.lifespan_context = lifespan


# Set once the stdio session has ended and the clean-up is under way.
_orderly_stop = threading.Event()


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP/SIGINT (Ctrl-C): stop the embedded servers, then exit at once.

    MCP clients send SIGTERM when the server has not exited soon after they close stdin
    (the SDK after 2 s, desktop clients on quit). The stdio transport reads stdin in a
    thread that cancellation cannot interrupt, so unwinding could hang (that is why Ctrl-C
    used to do nothing until stdin closed); and dying without clean-up would leave the
    embedded PostgreSQL running, with pgserver believing a dead process still uses it.
    Committed calls are safe: each call is its own transaction.
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


async def serve(
    settings: Settings,
    transport: Literal["stdio", "http"],
    host: str,
    port: int,
    announce: Callable[[str], None] = lambda _line: None,
) -> None:
    """Serve until stdin closes (stdio) or a signal arrives; ``announce`` gets the one "ready" line."""
    # Process-wide: the event loop waits at most this long for the GIL while a worker thread computes.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    verifier = SupabaseJwtVerifier.from_settings(settings) if transport == "http" else None
    # Before the embedded servers start, so a signal during start-up stops them too. Over
    # HTTP uvicorn installs its own handlers once it runs, and shuts down gracefully.
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _exit_on_signal)
    async with open_runtime(settings) as runtime:
        app = make_app(runtime)
        if transport == "stdio":
            app.stdio_user = await stdio_user(runtime)
            server = build_server(app)
            announce(f"ready on stdio, acting for user {app.stdio_user}")
            try:
                await run_stdio(server)
            finally:
                _orderly_stop.set()  # stdin closed: the runtime's clean-up below must not be cut short
            return
        assert verifier is not None
        config = uvicorn.Config(
            build_http_app(settings, app, verifier, host), host=host, port=port, log_level="warning", lifespan="on"
        )
        log.warning("pam-mcp listening on http://%s:%d/mcp", host, port)
        # Full garbage collections stop every call on the event loop while they walk every object
        # the process holds. A large call (a trip of 5,000 points) makes tens of thousands of
        # objects that survive long enough to set off full collections of 35-220 ms (measured
        # during the stall bench); frozen, the start-up heap (the SDK, pydantic's schemas, the
        # guardrail rules) is left out of them, and they take a few ms.
        gc.freeze()
        await uvicorn.Server(config).serve()
