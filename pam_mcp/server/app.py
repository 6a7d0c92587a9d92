"""What the server runs on (``App``), built by one factory, and who is calling.

``new_app`` is the only place an ``App`` is assembled: production (``pam_mcp.serve``), the
tests and the benchmarks all call it, so a new setting reaches every one of them the same way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal

from mcp.server.auth.middleware.auth_context import get_access_token

from pam_mcp.buckets import TOOL_NAMES
from pam_mcp.errors import Forbidden
from pam_mcp.ratelimit import Rate, RateLimiter, Rates, parse_rates
from pam_mcp.store.base import Caller, Store
from pam_mcp.tools.common import ToolConfig, ToolContext, utc_now

__all__ = ["GLOBAL_BUCKET", "App", "bucket", "identify", "new_app", "tool_context"]

GLOBAL_BUCKET = "all"

# The caller the guard identified, for the handler it lets through (same task, same context).
current_caller: ContextVar[Caller | None] = ContextVar("pam_caller", default=None)


@dataclass
class App:
    """Everything the server needs. Build it with ``new_app``."""

    store: Store
    limiter: RateLimiter
    # The global bucket's windows, and the tools with a bucket of their own (see buckets.py).
    rate: Rate | Rates
    tool_rates: Mapping[str, Rate | Rates] = field(default_factory=dict)
    stdio_user: uuid.UUID | None = None
    config: ToolConfig = field(default_factory=ToolConfig)

    def __post_init__(self) -> None:
        # A misspelt tool would leave the tool it meant in the global bucket, silently.
        if unknown := set(self.tool_rates) - TOOL_NAMES:
            raise ValueError(f"tool_rates names no tool: {', '.join(sorted(unknown))}.")


def new_app(
    store: Store,
    limiter: RateLimiter,
    *,
    rate: Rate | Rates | str,
    tool_rates: Mapping[str, Rate | Rates] | None = None,
    stdio_user: uuid.UUID | None = None,
    subscription_price: Decimal = Decimal("14.99"),
    now: Callable[[], dt.datetime] = utc_now,
) -> App:
    """The one way to build an ``App``: ``rate`` as windows or as text ("500/hour,50/minute")."""
    return App(
        store=store,
        limiter=limiter,
        rate=parse_rates(rate) if isinstance(rate, str) else rate,
        tool_rates=dict(tool_rates or {}),
        stdio_user=stdio_user,
        config=ToolConfig(subscription_price=subscription_price, now=now),
    )


def identify(app: App) -> Caller:
    """The verified bearer token's subject over HTTP, else the configured stdio user."""
    token = get_access_token()
    if token is not None and token.subject:
        return Caller(uuid.UUID(token.subject), token.token)
    if app.stdio_user is not None:
        return Caller(app.stdio_user)
    raise Forbidden("No signed-in user: send an Authorization: Bearer <Supabase access token> header.")


def tool_context(app: App) -> ToolContext:
    user = current_caller.get()
    if user is None:  # only when a handler runs outside the guard, which registration prevents
        user = identify(app)
    return ToolContext(store=app.store, user=user, config=app.config)


def bucket(app: App, tool: str | None) -> tuple[str, Rate | Rates]:
    """A tool with its own limit counts against that limit instead of the global one, so every
    call costs exactly one script; a resource counts as the tool whose data it shows."""
    if tool is not None and tool in app.tool_rates:
        return f"tool.{tool}", app.tool_rates[tool]
    return GLOBAL_BUCKET, app.rate
