"""Registration: the declared tools and resources (``pam_mcp.tools.CATALOGUE``,
``pam_mcp.resources.RESOURCES``) become MCP tools and resources; and the server is assembled.

Errors are translated here, once: a person-readable message reaches the client, never driver
text or a traceback.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp import MCPError
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from mcp_types import CallToolResult, SetLevelRequestParams
from pydantic import BaseModel, Field, SkipValidation, ValidationError
from pydantic_core import PydanticUndefined

from pam_mcp import __version__, resources
from pam_mcp.errors import DatabaseUnavailable, InvalidInput, NotFound, OutcomeUnknown, PamError, failed_call_message
from pam_mcp.identity import SupabaseJwtVerifier
from pam_mcp.ratelimit import Rates
from pam_mcp.server.app import GLOBAL_BUCKET, App, bucket, tool_context
from pam_mcp.server.apps import apps_extension, hide_apps_from_other_clients, ui_meta
from pam_mcp.server.auth import SupabaseTokenVerifier
from pam_mcp.server.guard import (
    RESOURCE_NOT_FOUND,
    current_arguments,
    error_result,
    guard,
    invalid_arguments,
    read_arguments,
    tool_error,
)
from pam_mcp.server.logs import LogLevels, set_level_handler
from pam_mcp.server.prompts import register_prompts
from pam_mcp.tools import REGISTERED
from pam_mcp.tools.common import ToolContext
from pam_mcp.tools.spec import ResourceSpec, ToolSpec

__all__ = ["INSTRUCTIONS", "build_server", "http_app"]

log = logging.getLogger(__name__)

# Names every declared tool; a test holds it to the catalogue.
INSTRUCTIONS = """\
PAM is the assistant of Wheels & Wins, for people who live and travel in RVs. These tools act for one
signed-in person: their trips (log_trip), what PAM saved them (record_saving) and what they spent
(log_expense, query_expenses), their conversation memory (get_context, update_context, log_message)
and their safety settings (check_guardrails, set_guardrails). Their profile, time zone, currency and
units (update_profile), monthly budgets (set_budget, list_budgets), and income and cash flow
(log_income, cash_flow). Their calendar: add_event, update_event, remove_event, list_events (bookings,
appointments). Corrections, which return what was there before: correct_expense, delete_expense,
update_trip, delete_trip. Fill-ups: log_fillup (it is also the fuel expense: never log_expense it too),
fuel_economy, correct_fillup, delete_fillup; the rig's servicing: log_service, maintenance_due.
To show a saved trip (ids in pam://trips) on a map: show_trip.
Call get_context first in a conversation.
Run check_guardrails on messages that mention emergencies, money actions or personal numbers, and
follow its guidance. Every call counts against the person's rate limit; errors say what to fix."""


# -- tools ---------------------------------------------------------------------------------------


def _open_parameters(model: type[BaseModel]) -> list[inspect.Parameter]:
    """The input model's fields as keyword parameters the SDK does not validate.

    Clients see the same flat argument schema the fields make (``SkipValidation`` keeps each
    schema); the guard has already validated the arguments with the input model itself, so
    the SDK's own pass would only repeat the work (on the event loop, for a 5,000-point route)
    and word its errors differently."""
    params: list[inspect.Parameter] = []
    for name, info in model.model_fields.items():
        annotation: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        if info.description:
            annotation = Annotated[annotation, Field(description=info.description)]
        annotation = SkipValidation[annotation]  # type: ignore[misc]  # a class at run time, an alias to mypy
        if info.default is not PydanticUndefined:
            default: Any = info.default
        elif info.default_factory is not None:
            default = info.default_factory()  # type: ignore[call-arg]
        else:
            default = inspect.Parameter.empty
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return params


def _add_tool(server: MCPServer[Any], app: App, spec: ToolSpec) -> None:
    name = spec.name

    # A failure is returned as an error result, not raised: a raised ToolError reaches the client
    # as "Error executing tool <name>: ...", a second style beside the guard's.
    async def handler(**kwargs: Any) -> BaseModel | CallToolResult:
        args = current_arguments.get()
        if args is None:  # only when called outside the guard, which registration prevents
            try:
                args = await read_arguments(spec, kwargs)
            except ValidationError as exc:
                return error_result(invalid_arguments(name, exc, spec.input))
        ctx: ToolContext | None = None
        try:
            ctx = tool_context(app)
            return await spec.run(ctx, args)
        except Exception as exc:  # PamErrors are written for people; anything else is logged, not shown
            if not isinstance(exc, PamError):
                log.exception("tool %s failed", name)
            if spec.read_only and isinstance(exc, OutcomeUnknown):  # a read changes nothing
                exc = DatabaseUnavailable("The database cannot be reached right now; try again shortly.")
            committed = ctx.user.committed if ctx is not None else []
            message = failed_call_message(exc, committed, retry_hint=spec.takes_client_ref)
            return error_result(tool_error(name, message))

    handler.__name__ = name
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        _open_parameters(spec.input), return_annotation=spec.output
    )
    server.add_tool(
        handler,
        name=name,
        title=spec.title,
        description=spec.description,
        annotations=ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=False,
        ),
        structured_output=True,
        meta=ui_meta(spec),
    )


# -- resources -----------------------------------------------------------------------------------


async def _read(app: App, spec: ResourceSpec, read: Callable[..., Awaitable[BaseModel]], values: dict[str, str]) -> Any:
    uri = spec.uri.format(**values)
    try:
        return await read(tool_context(app), **values)
    except NotFound as exc:  # the spec's code for a resource that does not exist
        reason = str(exc)  # "No trip X." adds nothing; "'2026-13' is not a month; use YYYY-MM." does
        message = f"No resource at {uri}." if reason.startswith("No ") else f"No resource at {uri}: {reason}"
        raise MCPError(code=RESOURCE_NOT_FOUND, message=message, data={"uri": uri}) from None
    except InvalidInput as exc:  # a mistyped address (pam://expenses/2026-13): nothing there, and the fix
        raise MCPError(code=RESOURCE_NOT_FOUND, message=f"No resource at {uri}: {exc}", data={"uri": uri}) from None
    except PamError as exc:
        raise ResourceError(str(exc)) from None
    except Exception:
        log.exception("resource %s failed", uri)
        raise ResourceError("pam-mcp hit an internal error reading this resource.") from None


def _reader(app: App, spec: ResourceSpec, read: Callable[..., Awaitable[BaseModel]]) -> Callable[..., Any]:
    """A function the SDK can call: one string parameter per URI variable, named as in the URI."""

    async def reader(**values: str) -> Any:
        return await _read(app, spec, read, values)

    reader.__name__ = spec.name.replace("-", "_")
    reader.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(v, inspect.Parameter.KEYWORD_ONLY, annotation=str) for v in spec.variables]
    )
    reader.__annotations__ = {v: str for v in spec.variables}  # what the SDK's validate_call reads
    return reader


def _served_here(app: App) -> dict[str, Callable[..., Awaitable[BaseModel]]]:
    """Resources the server layer reads itself: they need what only it holds (the limiter)."""

    async def rate_limit(ctx: ToolContext) -> resources.RateLimitView:
        user = str(ctx.user.id)
        overall = Rates.of(app.rate)
        tools = {}
        for tool in sorted(app.tool_rates):  # at most one peek per tool: bounded
            key, rates = bucket(app, tool)
            tools[tool] = (Rates.of(rates), await app.limiter.peek(user, key, rates))
        return resources.rate_limit(overall, await app.limiter.peek(user, GLOBAL_BUCKET, overall), tools)

    return {"pam://rate-limit": rate_limit}


def _add_resources(server: MCPServer[Any], app: App) -> None:
    served_here = _served_here(app)
    for spec in resources.RESOURCES:
        read = spec.read or served_here.pop(spec.uri)
        server.resource(
            spec.uri, name=spec.name, title=spec.title, mime_type=spec.mime_type, description=spec.description
        )(_reader(app, spec, read))
    if served_here:
        raise RuntimeError(f"served but not declared: {', '.join(served_here)}")


# -- assembly ------------------------------------------------------------------------------------


def build_server(
    app: App,
    *,
    verifier: SupabaseJwtVerifier | None = None,
    issuer: str | None = None,
    resource_url: str | None = None,
) -> MCPServer[Any]:
    """The PAM MCP server. With ``verifier``, HTTP requests need a valid Supabase bearer token.

    With ``resource_url`` (the public ``.../mcp``) the SDK publishes the protected resource
    metadata naming ``issuer`` and points its 401s there. Supabase binds no token to a
    resource (no RFC 8707), so the token's resource is not compared: the verifier checks.
    """
    levels = LogLevels()  # each person's logging/setLevel, for this server's life
    auth: dict[str, Any] = {}
    if verifier is not None:
        auth = {
            "token_verifier": SupabaseTokenVerifier(verifier),
            "auth": AuthSettings(
                issuer_url=issuer or "http://localhost/auth/v1",
                resource_server_url=resource_url,
                validate_token_resource=False,
            ),
        }
    server: MCPServer[Any] = MCPServer(
        name="pam-mcp",
        title="PAM (Wheels & Wins)",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        # MCP Apps: the ui:// resources, and lists without them for clients that did not negotiate Apps.
        middleware=[guard(app, {spec.name: spec for spec in REGISTERED}, levels), hide_apps_from_other_clients],
        extensions=[apps_extension()],
        # No list or resource ever changes for a person while connected, so nothing would be
        # delivered on subscriptions/listen: not served, and listChanged/subscribe not advertised.
        subscriptions=False,
        **auth,
    )
    for spec in REGISTERED:
        _add_tool(server, app, spec)
    _add_resources(server, app)
    _add_surface(server, app, levels)
    return server


def _add_surface(server: MCPServer[Any], app: App, levels: LogLevels) -> None:
    """Prompts, completions and logging/setLevel, on the server MCPServer runs."""
    lowlevel = server._lowlevel_server  # MCPServer has no public seam for these handlers
    register_prompts(lowlevel, app)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level_handler(levels))


def http_app(
    server: MCPServer[Any],
    *,
    host: str,
    allowed_hosts: list[str] | None,
    allowed_origins: list[str] | None,
    streaming: bool = False,
) -> Any:
    """The streamable HTTP app ``pam-mcp serve`` runs: stateless, JSON responses, Host/Origin lists.

    ``None`` lists keep the SDK's default (checks on only when bound to loopback). ``streaming``:
    answer each request as an SSE stream instead of one JSON body, which costs a little per
    call but carries the call's log notifications (a JSON body carries only the result).
    """
    security = None
    if allowed_hosts is not None or allowed_origins is not None:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=allowed_hosts or [],
            allowed_origins=allowed_origins or [],
        )
    # Stateless: any replica can answer any request; they share only Redis and Postgres.
    return server.streamable_http_app(
        stateless_http=True, json_response=not streaming, host=host, transport_security=security
    )
