"""The MCP server: the only module that imports ``mcp``.

It turns PAM's tool functions into MCP tools and resources and puts one guard in front
of every ``tools/call`` and ``resources/read``: who is calling (the verified bearer token
over HTTP, the configured user on stdio), and may they (one atomic Redis script). Errors
are translated here, once: a person-readable message reaches the client, never driver
text or a traceback.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, TypeVar, get_args, get_origin

import anyio
from mcp import MCPError
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.message import SessionMessage
from mcp.types import ToolAnnotations
from mcp_types import INVALID_REQUEST, PARSE_ERROR, CallToolResult, ErrorData, JSONRPCError, TextContent
from pydantic import BaseModel, Field, SkipValidation, ValidationError
from pydantic_core import PydanticUndefined

from pam_mcp import __version__, resources, server_apps  # server_apps: MCP Apps (issue 12)
from pam_mcp.buckets import TOOL_NAMES, resource_tool
from pam_mcp.errors import (
    DatabaseUnavailable,
    Forbidden,
    LimiterUnavailable,
    NotFound,
    OutcomeUnknown,
    PamError,
    RateLimited,
    failed_call_message,
)
from pam_mcp.identity import InvalidToken, SupabaseJwtVerifier
from pam_mcp.ratelimit import Rate, RateLimiter, Rates
from pam_mcp.store.base import Caller, Store
from pam_mcp.tools import context, expenses, guardrails, savings, trips
from pam_mcp.tools.common import ToolContext, ZoneCache, utc_now
from pam_mcp.tools.guardrail_rules.emergency import EMERGENCY_FALLBACK
from pam_mcp.tools.offload import run_cpu

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
PAM is the assistant of Wheels & Wins, for people who live and travel in RVs. These tools act for one
signed-in person: their trips (log_trip), what PAM saved them (record_saving) and what they spent
(log_expense, query_expenses), their conversation memory (get_context, update_context, log_message)
and their safety settings (check_guardrails, set_guardrails). Call get_context first in a conversation.
Run check_guardrails on messages that mention emergencies, money actions or personal numbers, and
follow its guidance. Every call counts against the person's rate limit; errors say what to fix."""

GLOBAL_BUCKET = "all"
T = TypeVar("T", bound=BaseModel)
_caller: ContextVar[Caller | None] = ContextVar("pam_caller", default=None)


@dataclass
class App:
    """Everything the server needs, built by the caller (CLI, tests, benchmarks)."""

    store: Store
    limiter: RateLimiter
    # The global bucket's windows, and the tools with a bucket of their own (see buckets.py).
    rate: Rate | Rates
    tool_rates: Mapping[str, Rate | Rates] = field(default_factory=dict)
    stdio_user: uuid.UUID | None = None
    subscription_price: Decimal = Decimal("14.99")
    now: Callable[[], Any] = utc_now
    zones: ZoneCache = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A misspelt tool would leave the tool it meant in the global bucket, silently.
        if unknown := set(self.tool_rates) - TOOL_NAMES:
            raise ValueError(f"tool_rates names no tool: {', '.join(sorted(unknown))}.")


# -- identity ----------------------------------------------------------------------------------


class SupabaseTokenVerifier:
    """The SDK's TokenVerifier over Supabase JWTs: a bad token is a 401 before any MCP runs."""

    def __init__(self, verifier: SupabaseJwtVerifier) -> None:
        self._verifier = verifier

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            verified = await self._verifier.verify(token)
        except InvalidToken as exc:
            log.info("rejected bearer token: %s", exc)
            return None
        return AccessToken(
            token=token,
            client_id=str(verified.claims.get("client_id", "supabase")),
            scopes=[],
            expires_at=verified.expires_at,
            subject=str(verified.user_id),
        )


def _identify(app: App) -> Caller:
    token = get_access_token()
    if token is not None and token.subject:
        return Caller(uuid.UUID(token.subject), token.token)
    if app.stdio_user is not None:
        return Caller(app.stdio_user)
    raise Forbidden("No signed-in user: send an Authorization: Bearer <Supabase access token> header.")


def _tool_context(app: App) -> ToolContext:
    user = _caller.get()
    if user is None:  # only when a handler runs outside the guard, which registration prevents
        user = _identify(app)
    return ToolContext(
        store=app.store, user=user, subscription_price=app.subscription_price, now=app.now, zones=app.zones
    )


# -- the guard: identity and rate limit around every call ----------------------------------------


def _error_result(message: str, meta: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True, meta=meta)


def _bucket(app: App, tool: str | None) -> tuple[str, Rate | Rates]:
    """A tool with its own limit counts against that limit instead of the global one, so every
    call costs exactly one script; a resource counts as the tool whose data it shows."""
    if tool is not None and tool in app.tool_rates:
        return f"tool.{tool}", app.tool_rates[tool]
    return GLOBAL_BUCKET, app.rate


def _refused_tool(name: str, exc: PamError) -> CallToolResult:
    """A tool call the guard turned away: the reason, and the wait as data for programs."""
    message = str(exc)
    if name == "check_guardrails":
        # The person may be describing an emergency: refusing the check must not withhold the
        # numbers. Fixed text: no rules run, nothing is looked up, nothing is written.
        message = f"{message} {EMERGENCY_FALLBACK}"
    meta = {"retry_after": round(exc.retry_after, 3)} if isinstance(exc, RateLimited) else None
    return _error_result(message, meta)


_VALIDATION_HEADER = re.compile(r"^Error executing tool (?P<tool>\S+): \d+ validation errors? for \S+$")


def _friendly_validation(text: str) -> str | None:
    """Rewrite the SDK's pydantic dump into one line per bad argument, without echoing values."""
    lines = text.splitlines()
    if not lines or not (match := _VALIDATION_HEADER.match(lines[0])):
        return None
    problems: list[str] = []
    location = ""
    for line in lines[1:]:
        if not line.startswith(" "):
            location = line.strip()
        elif line.startswith("  ") and not line.startswith("    "):
            problems.append(f"{location}: {line.strip().split(' [type=')[0]}")
    return f"Invalid arguments for {match['tool']}: " + "; ".join(problems or ["the arguments do not fit the schema"])


def _describe(exc: ValidationError) -> str:
    """One clause per problem, naming the argument but never echoing its value."""
    parts = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        where = ".".join(map(str, error["loc"]))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _guard(app: App, arguments: dict[str, frozenset[str]]) -> ServerMiddleware[Any]:
    """``arguments``: each tool's argument names, to refuse unknown ones the SDK would drop silently."""

    async def guard(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method not in ("tools/call", "resources/read"):
            return await call_next(ctx)
        is_tool = ctx.method == "tools/call"
        params = ctx.params or {}
        name = str(params.get("name", "")) if is_tool else ""
        try:
            user = _identify(app)
            # MCP Apps (issue 12): an app-only tool counts as the tool whose data it shows.
            bucket, rate = _bucket(
                app, server_apps.bucket_tool(name) if is_tool else resource_tool(str(params.get("uri", "")))
            )
            await app.limiter.hit(str(user.id), bucket, rate)
        except (RateLimited, LimiterUnavailable, Forbidden) as exc:
            if is_tool:
                return _refused_tool(name, exc)
            data = {"retry_after": round(exc.retry_after, 3)} if isinstance(exc, RateLimited) else None
            raise MCPError(code=-32000, message=str(exc), data=data) from None
        given = params.get("arguments") if is_tool else None
        if given is not None and not isinstance(given, dict):
            return _error_result(f"Invalid arguments for {name}: arguments must be a JSON object.")
        unknown = sorted(set(given or {}) - arguments.get(name, frozenset()))
        if unknown and name in arguments:
            hint = (
                " Tools act for the signed-in person; none takes a user id."
                if any("user" in u for u in unknown)
                else ""
            )
            return _error_result(f"Unknown argument(s) for {name}: {', '.join(unknown)}.{hint}")
        token = _caller.set(user)
        try:
            result = await call_next(ctx)
        finally:
            _caller.reset(token)
        if is_tool and isinstance(result, dict) and result.get("isError"):
            # Arguments the SDK rejected arrive as pydantic's full dump (values echoed, URLs).
            content = result.get("content") or [{}]
            text = str(content[0].get("text", ""))
            # Arguments the handler rejected (lists of models: see _flat_parameters) read the same.
            if (own := text.removeprefix(f"Error executing tool {name}: ")).startswith(
                f"Invalid arguments for {name}:"
            ):
                return {**result, "content": [{"type": "text", "text": own}]}
            if friendly := _friendly_validation(text):
                return {**result, "content": [{"type": "text", "text": friendly}]}
        return result

    return guard


# -- tools ---------------------------------------------------------------------------------------


def _is_list_of_models(annotation: Any) -> bool:
    return get_origin(annotation) is list and any(
        isinstance(a, type) and issubclass(a, BaseModel) for a in get_args(annotation)
    )


def _flat_parameters(model: type[BaseModel]) -> list[inspect.Parameter]:
    """The input model's fields as keyword parameters, so clients see a flat argument schema.

    A list of models (a trip's route: up to 5,000 points) is passed through by the SDK as sent
    (``SkipValidation`` keeps its schema): the input model validates it once, in the handler,
    off the event loop when long. The SDK would validate it on the event loop, then the input
    model again."""
    params: list[inspect.Parameter] = []
    for name, info in model.model_fields.items():
        annotation: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        if info.description:
            annotation = Annotated[annotation, Field(description=info.description)]
        if _is_list_of_models(info.annotation):
            annotation = SkipValidation[annotation]  # type: ignore[misc]  # a class at run time, an alias to mypy
        if info.default is not PydanticUndefined:
            default: Any = info.default
        elif info.default_factory is not None:
            default = info.default_factory()  # type: ignore[call-arg]
        else:
            default = inspect.Parameter.empty
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return params


def _add_tool(
    server: MCPServer[Any],
    app: App,
    arguments: dict[str, frozenset[str]],
    fn: Callable[[ToolContext, Any], Awaitable[BaseModel]],
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    *,
    title: str,
    description: str,
    read_only: bool,
    destructive: bool = False,
    idempotent: bool = False,
) -> None:
    name = fn.__name__
    arguments[name] = frozenset(input_model.model_fields)

    async def handler(**kwargs: Any) -> BaseModel:
        # Lists of models arrive unvalidated (see _flat_parameters): their items set the work.
        items = sum(len(v) for v in kwargs.values() if isinstance(v, list))
        try:
            args = await run_cpu(items, input_model.model_validate, kwargs)  # cross-field rules run here
        except ValidationError as exc:
            raise ToolError(f"Invalid arguments for {name}: {_describe(exc)}") from None
        ctx: ToolContext | None = None
        try:
            ctx = _tool_context(app)
            return await fn(ctx, args)
        except Exception as exc:  # PamErrors are written for people; anything else is logged, not shown
            if not isinstance(exc, PamError):
                log.exception("tool %s failed", name)
            if read_only and isinstance(exc, OutcomeUnknown):  # a read changes nothing
                exc = DatabaseUnavailable("The database cannot be reached right now; try again shortly.")
            committed = ctx.user.committed if ctx is not None else []
            message = failed_call_message(exc, committed, retry_hint="client_ref" in input_model.model_fields)
            raise ToolError(message) from None

    handler.__name__ = name
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        _flat_parameters(input_model), return_annotation=output_model
    )
    server.add_tool(
        handler,
        name=name,
        title=title,
        description=inspect.cleandoc(description),
        annotations=ToolAnnotations(
            title=title,
            read_only_hint=read_only,
            destructive_hint=destructive,
            idempotent_hint=idempotent,
            open_world_hint=False,
        ),
        structured_output=True,
        meta=server_apps.tool_meta(name),  # MCP Apps (issue 12): the tool's app, app-only visibility
    )


def _register_tools(server: MCPServer[Any], app: App, arguments: dict[str, frozenset[str]]) -> None:
    def add(
        fn: Callable[[ToolContext, Any], Awaitable[BaseModel]],
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        **options: Any,
    ) -> None:
        _add_tool(server, app, arguments, fn, input_model, output_model, **options)

    add(
        trips.log_trip, trips.LogTripInput, trips.LogTripResult,
        title="Log a trip",
        description="""
        Record a trip the user drove: start time (ISO 8601 with offset), optional end time (omit while
        the trip is under way), the route as points in travel order (lat/lon, optional time and name),
        stops (name, position, kind: campground, fuel, food, attraction, dump_station, rest_area,
        shopping, other; optional cost) and notes. Returns the trip id, the great-circle distance along
        the route in km, the duration in hours and the number of stops. Up to 5,000 route points.""",
        read_only=False,
    )  # fmt: skip
    add(
        savings.record_saving, savings.RecordSavingInput, savings.RecordSavingResult,
        title="Record a saving PAM made",
        description="""
        Record money PAM saved the user (positive, 2 decimals) with its category (fuel, campground,
        food, route, maintenance, other), a description and the date (default today). Adds it to the
        month's total in the same transaction. Pass client_ref when retrying so it counts once.
        Returns the month's total and the savings-guarantee status: once a month ends with less saved
        than the subscription price, that month is free; during the month it says how far there is to go.""",
        read_only=False,
    )  # fmt: skip
    add(
        context.get_context, context.GetContextInput, context.ContextResult,
        title="Get what PAM should know",
        description="""
        One compact snapshot to read before answering: the user's profile, the conversation's stored
        context and recent messages (default 20, at most 100), this month's spending against budgets,
        this month's savings and guarantee status, the latest trip, upcoming calendar events and the
        safety level. Defaults to the most recent session. Large parts are trimmed; 'truncated' says so.""",
        read_only=True, idempotent=True,
    )  # fmt: skip
    add(
        guardrails.check_guardrails, guardrails.CheckGuardrailsInput, guardrails.CheckGuardrailsResult,
        title="Check a message against the safety rules",
        description="""
        Check a user message, a draft reply or a proposed action (with its amount) against the user's
        safety level (low, medium, high), optionally with the driving state. Returns allow, warn or
        block, each finding (rule, severity, explanation) and guidance to follow. Emergencies always
        get the local emergency number (000 in Australia, 911 in North America). Card, bank and tax
        numbers and credentials are flagged and never stored. Every warn or block is logged.""",
        read_only=False,
    )  # fmt: skip
    add(
        expenses.query_expenses, expenses.QueryExpensesInput, expenses.QueryExpensesResult,
        title="Query spending",
        description="""
        Totals of the user's spending over a date range (default this month), optionally only some
        categories, grouped by category, month, week, day or none, with the budget comparison for
        each budgeted category. Set include_items for a page of individual expenses (newest first);
        pass next_cursor back as cursor for the next page.""",
        read_only=True, idempotent=True,
    )  # fmt: skip
    add(
        expenses.log_expense, expenses.LogExpenseInput, expenses.LogExpenseResult,
        title="Log an expense",
        description="""
        Record money the user spent: amount, category (fuel, food, campground, maintenance,
        entertainment, propane, utilities, shopping, insurance, registration, other), description,
        date (default today) and optionally the trip it belongs to. Pass client_ref when retrying so it
        counts once. Returns the category's total this month and what is left of its budget.""",
        read_only=False,
    )  # fmt: skip
    add(
        guardrails.set_guardrails, guardrails.SetGuardrailsInput, guardrails.SetGuardrailsResult,
        title="Change the safety level",
        description="""
        Set the user's safety level: low, medium (the default) or high (strictest). Only when the user
        asks for it. Returns the new and the previous level.""",
        read_only=False, destructive=True, idempotent=True,
    )  # fmt: skip
    add(
        context.update_context, context.UpdateContextInput, context.UpdateContextResult,
        title="Remember facts for this conversation",
        description="""
        Merge facts (a JSON object of up to 50 keys) into a session's context, or remove keys. Omit
        session_id to start a new session and get its id. The context is limited to 16 KB.""",
        read_only=False, destructive=True, idempotent=True,
    )  # fmt: skip
    add(
        context.log_message, context.LogMessageInput, context.LogMessageResult,
        title="Store a conversation turn",
        description="""
        Store one message of the conversation (role 'user' or 'pam') in a session. Card, bank and tax
        numbers and credentials are removed before it is stored.""",
        read_only=False,
    )  # fmt: skip
    for tool in server_apps.APP_TOOLS:  # MCP Apps (issue 12): the tools only the apps call
        add(tool.fn, tool.input_model, tool.output_model, **tool.options)


# -- resources -----------------------------------------------------------------------------------


async def _resource(app: App, produce: Callable[[ToolContext], Awaitable[T]], uri: str) -> T:
    try:
        return await produce(_tool_context(app))
    except NotFound:
        raise ResourceNotFoundError(f"No resource at {uri}.") from None
    except PamError as exc:
        raise ResourceError(str(exc)) from None
    except Exception:
        log.exception("resource %s failed", uri)
        raise ResourceError("pam-mcp hit an internal error reading this resource.") from None


def _reader(app: App, uri: str, produce: Callable[[ToolContext], Awaitable[BaseModel]]) -> Callable[[], Any]:
    async def read() -> BaseModel:
        return await _resource(app, produce, uri)

    return read


def _register_resources(server: MCPServer[Any], app: App) -> None:
    json_type = "application/json"

    async def rate_limit(ctx: ToolContext) -> resources.RateLimitView:
        user = str(ctx.user.id)
        overall = Rates.of(app.rate)
        tools = {}
        for tool in sorted(app.tool_rates):  # at most one peek per tool: bounded
            bucket, rates = _bucket(app, tool)
            tools[tool] = (Rates.of(rates), await app.limiter.peek(user, bucket, rates))
        return resources.rate_limit(overall, await app.limiter.peek(user, GLOBAL_BUCKET, overall), tools)

    static: list[tuple[str, str, str, Callable[[ToolContext], Awaitable[BaseModel]]]] = [
        ("pam://profile", "Profile", "The user's profile: name, country, currency, RV.", resources.profile),
        ("pam://context", "Context", "The same snapshot as get_context, for the latest session.", resources.context),
        ("pam://guardrails", "Safety level", "The user's safety level.", resources.guardrails),
        ("pam://rate-limit", "Rate limit", "Calls left in each window, overall and for tools with their own "
         "limit (this read counts).", rate_limit),
        ("pam://trips", "Recent trips", "The user's 10 most recent trips.", resources.trips),
        ("pam://schema", "Database schema", "For developers: every table and view, its columns and access class.",
         resources.schema),
    ]  # fmt: skip
    for uri, title, description, produce in static:
        name = uri.removeprefix("pam://")
        server.resource(uri, name=name, title=title, mime_type=json_type, description=description)(
            _reader(app, uri, produce)
        )

    # Templates: each function's parameter is named as its URI variable, so they stay spelled out.
    @server.resource("pam://trips/{trip_id}", name="trip", title="One trip", mime_type=json_type,
                     description="One trip by id, with its stops.")  # fmt: skip
    async def trip_view(trip_id: str) -> trips.TripSummary:
        return await _resource(app, lambda ctx: resources.trip(ctx, trip_id), f"pam://trips/{trip_id}")

    @server.resource("pam://savings/{month}", name="savings", title="Savings in a month", mime_type=json_type,
                     description="What PAM saved the user in a month (YYYY-MM) and the guarantee status.")  # fmt: skip
    async def savings_view(month: str) -> savings.MonthSavings:
        return await _resource(app, lambda ctx: resources.savings(ctx, month), f"pam://savings/{month}")

    @server.resource("pam://expenses/{month}", name="expenses", title="Spending in a month", mime_type=json_type,
                     description="Spending in a month (YYYY-MM): totals, budgets, latest 100 items.")  # fmt: skip
    async def expenses_view(month: str) -> expenses.QueryExpensesResult:
        return await _resource(app, lambda ctx: resources.expenses(ctx, month), f"pam://expenses/{month}")


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
    arguments: dict[str, frozenset[str]] = {}
    server: MCPServer[Any] = MCPServer(
        name="pam-mcp",
        title="PAM (Wheels & Wins)",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        # MCP Apps (issue 12): the ui:// resources, and lists without them for clients without Apps.
        middleware=[_guard(app, arguments), server_apps.hide_apps_from_other_clients],
        extensions=[server_apps.apps_extension()],
        **auth,
    )
    _register_tools(server, app, arguments)
    _register_resources(server, app)
    return server


def http_app(
    server: MCPServer[Any], *, host: str, allowed_hosts: list[str] | None, allowed_origins: list[str] | None
) -> Any:
    """The streamable HTTP app ``pam-mcp serve`` runs: stateless, JSON responses, Host/Origin lists.

    ``None`` lists keep the SDK's default (checks on only when bound to loopback).
    """
    security = None
    if allowed_hosts is not None or allowed_origins is not None:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=allowed_hosts or [],
            allowed_origins=allowed_origins or [],
        )
    # Stateless: any replica can answer any request; they share only Redis and Postgres.
    return server.streamable_http_app(stateless_http=True, json_response=True, host=host, transport_security=security)


# -- stdio ---------------------------------------------------------------------------------------


async def run_stdio(server: MCPServer[Any]) -> None:
    """Serve ``server`` over stdin/stdout until stdin closes, answering every line it cannot read.

    The SDK's stdio transport passes a line it cannot parse on as an exception, which the
    session then drops: the client waits for ever. JSON nested deeper than the SDK's parser
    allows (about 200 levels, e.g. ``update_context`` facts) is such a line although it is
    valid JSON. Here each one is answered: with the request's id and "invalid request" when
    the line is JSON that names one, else with a parse error (id null), and serving goes on.
    """
    lowlevel = server._lowlevel_server  # what MCPServer.run_stdio_async runs, over the same transport
    async with stdio_server() as (read_stream, write_stream):
        await lowlevel.run(
            _AnswerUnreadable(read_stream, write_stream), write_stream, lowlevel.create_initialization_options()
        )


class _AnswerUnreadable:
    """The stdio read stream, minus unreadable lines, each answered on the write stream instead."""

    def __init__(self, inner: Any, out: Any) -> None:
        self._inner = inner
        self._out = out

    @property
    def last_context(self) -> Any:  # the SDK restores each message's sender context from this
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item  # type: ignore[no-any-return]
            await self._out.send(SessionMessage(unreadable_line_error(item)))

    def __aiter__(self) -> _AnswerUnreadable:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _AnswerUnreadable:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


def unreadable_line_error(exc: Exception) -> JSONRPCError:
    """The JSON-RPC answer to a line the transport could not read (``exc`` from its parser)."""
    line = None
    if isinstance(exc, ValidationError) and exc.errors():
        raw = exc.errors()[0].get("input")
        line = raw if isinstance(raw, str | bytes) else None
    request_id = None
    try:
        # Python's parser goes deeper than the SDK's (until RecursionError), enough to find the id.
        message = json.loads(line) if line is not None else None
    except (ValueError, RecursionError):
        message = None
    if isinstance(message, dict) and isinstance(message.get("id"), str | int) and not isinstance(message["id"], bool):
        request_id = message["id"]
    too_deep = "recursion limit" in str(exc)
    if request_id is None:
        reason = "the message nests too deeply to read" if too_deep else "the line is not a JSON-RPC message"
        return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=PARSE_ERROR, message=f"Parse error: {reason}"))
    reason = (
        "its JSON nests more than about 200 levels deep; send flatter arguments"
        if too_deep
        else "it is not a valid JSON-RPC 2.0 request"
    )
    return JSONRPCError(
        jsonrpc="2.0", id=request_id, error=ErrorData(code=INVALID_REQUEST, message=f"Invalid request: {reason}")
    )
