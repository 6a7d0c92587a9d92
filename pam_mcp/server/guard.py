"""The guard in front of every ``tools/call`` and ``resources/read`` (and of the methods that
act for a person too: ``prompts/get``, ``completion/complete``, ``logging/setLevel``, which
count in the global bucket).

In order: who is calling (the verified bearer token over HTTP, the configured user on stdio),
may they (one atomic Redis script), and, for a tool, are the arguments what its input model
takes. Arguments are validated here, once, from the tool's own input model, and every
problem is written by one formatter: "Invalid arguments for <tool>: <argument>: <problem>"
(with the format a value takes, when it did not parse), never echoing a value; an unknown
argument is answered with the closest declared one. Errors raised inside a tool are worded
the same way (``tool_error``, used by registration's error path). The SDK is registered with
a signature that accepts whatever is sent (see registration.py), so it neither validates a
second time nor words an error of its own. Along a tool call it tells the client what happened
as log notifications (``server/logs.py``), and a ``resources/read`` of a URI nothing serves
ends as the spec's -32002.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, get_args

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent
from pydantic import BaseModel, ValidationError

from pam_mcp.buckets import resource_tool, tool_bucket
from pam_mcp.errors import Forbidden, LimiterUnavailable, PamError, RateLimited
from pam_mcp.server.app import App, bucket, current_caller, identify
from pam_mcp.server.logs import LogLevels, send_log
from pam_mcp.store.base import Caller
from pam_mcp.tools.offload import run_cpu
from pam_mcp.tools.spec import ToolSpec

__all__ = [
    "RESOURCE_NOT_FOUND", "closest_argument", "current_arguments", "error_result", "guard", "invalid_arguments",
    "read_arguments", "tool_error",
]  # fmt: skip

# The spec's code for a resource that does not exist (the SDK answers -32602 by default).
RESOURCE_NOT_FOUND = -32002
# Methods that act for a person without a tool or a resource of their own: the global bucket.
_PERSONAL = frozenset({"prompts/get", "completion/complete", "logging/setLevel"})

# The arguments the guard validated, for the handler it lets through (same task, same context).
current_arguments: ContextVar[BaseModel | None] = ContextVar("pam_arguments", default=None)


def error_result(message: str, meta: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True, meta=meta)


INVALID = "Invalid arguments"

# The format to name when a value does not parse, by pydantic's error type; pydantic's own words
# ("input is too short", "invalid date separator") do not say what would.
_DATE_HINT = "use YYYY-MM-DD, e.g. 2026-11-30"
_TIME_HINT = "use ISO 8601 with a UTC offset, e.g. 2026-11-27T07:30:00+10:00"
# A format a field's description names ("... (YYYY-MM)"), for a value that does not fit it.
_DESCRIBED_FORMAT = re.compile(r"\bYYYY-MM(?:-DD)?\b")


def tool_error(tool: str, message: str) -> str:
    """Every tool error in one style: bad arguments as "Invalid arguments for <tool>: ...", however
    they were found (the guard, or a rule inside the tool: "Invalid arguments: ..."); anything
    else as the sentence it is, with no prefix."""
    if message.startswith(f"{INVALID}: "):
        return f"{INVALID} for {tool}: {message.removeprefix(f'{INVALID}: ')}"
    return message


def _format_hint(error: Any, model: type[BaseModel] | None) -> str | None:
    kind = str(error["type"])
    if kind.startswith("date_"):
        return _DATE_HINT
    if kind.startswith(("datetime_", "timezone_")):
        return _TIME_HINT
    if model is not None and kind in ("string_pattern_mismatch", "string_type", "value_error") and error["loc"]:
        info = model.model_fields.get(str(error["loc"][0]))
        if info is not None and len(error["loc"]) == 1 and (found := _DESCRIBED_FORMAT.search(info.description or "")):
            return f"use {found.group()}"
    return None


def invalid_arguments(tool: str, exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """The one wording of bad arguments: one clause per problem, naming the argument and, for a
    value that does not parse, the format it takes; never echoing the value."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        message = error["msg"].removeprefix("Value error, ")
        if (hint := _format_hint(error, model)) and hint not in message:
            message = f"{message}; {hint}"
        where = ".".join(map(str, error["loc"]))
        parts.append(f"{where}: {message}" if where else message)
    return f"{INVALID} for {tool}: " + "; ".join(parts or ["the arguments do not fit the schema"])


def _takes_str(annotation: Any) -> bool:
    return annotation is str or str in get_args(annotation)


def _json_in_strings(model: type[BaseModel], given: dict[str, Any]) -> dict[str, Any]:
    """Lists and objects some clients send as JSON text (Claude Desktop does), read as JSON.

    Only for arguments that cannot be text themselves, and only when the text is a JSON
    array or object; anything else is left for validation to accept or refuse."""
    parsed = dict(given)
    for name, value in given.items():
        info = model.model_fields.get(name)
        if info is None or not isinstance(value, str) or _takes_str(info.annotation):
            continue
        if not value.lstrip().startswith(("[", "{")):
            continue
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            continue
        if isinstance(decoded, list | dict):
            parsed[name] = decoded
    return parsed


async def read_arguments(spec: ToolSpec, given: Mapping[str, Any]) -> BaseModel:
    """``given`` validated by the tool's input model (cross-field rules included); raises
    ValidationError. Long lists (a route of 5,000 points) are validated off the event loop."""
    arguments = _json_in_strings(spec.input, dict(given))
    items = sum(len(v) for v in arguments.values() if isinstance(v, list))
    return await run_cpu(items, spec.input.model_validate, arguments)


def _is_date(annotation: Any) -> bool:
    return annotation is dt.date or dt.date in get_args(annotation)


def closest_argument(name: str, model: type[BaseModel]) -> str | None:
    """The declared argument a model most likely meant by ``name``: a near spelling ('ammount'),
    else the one field whose description uses the word ('date': "Date of the expense"), else the
    date fields for a name that speaks of a date ('day', 'when'). None when nothing fits."""
    fields = model.model_fields
    if match := difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6):
        return match[0]
    word = re.compile(rf"\b{re.escape(name.lower())}\b")
    described = [f for f, info in fields.items() if word.search((info.description or "").lower())]
    if len(described) == 1:
        return described[0]
    if any(w in name.lower() for w in ("date", "day", "when")):
        dates = [f for f, info in fields.items() if _is_date(info.annotation)]
        if dates:
            return " or ".join(dates)
    return None


def _unknown_arguments(spec: ToolSpec, given: Mapping[str, Any]) -> str | None:
    # The input models forbid extra fields too; this says it first, with the hint models need.
    unknown = sorted(set(given) - set(spec.input.model_fields))
    if not unknown:
        return None
    named = []
    for name in unknown:
        suggestion = closest_argument(name, spec.input) if len(name) <= 100 else None
        named.append(f"{name[:100]} (did you mean {suggestion}?)" if suggestion else name[:100])
    hint = " Tools act for the signed-in person; none takes a user id." if any("user" in u for u in unknown) else ""
    takes = ", ".join(spec.input.model_fields)
    return f"Unknown argument(s) for {spec.name}: {', '.join(named)}. It takes: {takes}.{hint}"


def _refused_tool(spec: ToolSpec | None, exc: PamError) -> CallToolResult:
    """A tool call the guard turned away: the reason, and the wait as data for programs."""
    message = str(exc)
    if spec is not None and spec.refused_note:
        message = f"{message} {spec.refused_note}"
    meta = {"retry_after": round(exc.retry_after, 3)} if isinstance(exc, RateLimited) else None
    return error_result(message, meta)


async def _personal(app: App, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Identity and the global bucket, then the method, as the person."""
    try:
        user = identify(app)
        key, rate = bucket(app, None)
        await app.limiter.hit(str(user.id), key, rate)
    except (RateLimited, LimiterUnavailable, Forbidden) as exc:
        data = {"retry_after": round(exc.retry_after, 3)} if isinstance(exc, RateLimited) else None
        raise MCPError(code=-32000, message=str(exc), data=data) from None
    token = current_caller.set(user)
    try:
        return await call_next(ctx)
    finally:
        current_caller.reset(token)


async def _read_resource(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    try:
        return await call_next(ctx)
    except MCPError as exc:  # a URI no resource or template matches: the spec's "not found"
        if exc.error.code == INVALID_PARAMS and exc.error.message.startswith("Unknown resource"):
            uri = str((ctx.params or {}).get("uri", ""))[:2048]
            raise MCPError(code=RESOURCE_NOT_FOUND, message=f"No resource at {uri}.", data={"uri": uri}) from None
        raise


def _tool_outcome(result: HandlerResult, user: Caller, name: str, started: float) -> list[tuple[Any, str]]:
    """What the client is told after a call: each write saved (info), a refusal (warning), or
    that it answered (debug)."""
    if isinstance(result, CallToolResult) and result.is_error:
        first = result.content[0] if result.content else None
        text = first.text if isinstance(first, TextContent) else "the call failed"
        return [("warning", f"{name}: {text}")]
    notes: list[tuple[Any, str]] = [("info", f"{name}: saved {what}.") for what in user.committed]
    notes.append(("debug", f"{name}: answered in {(time.perf_counter() - started) * 1000:.0f} ms."))
    return notes


def guard(app: App, specs: Mapping[str, ToolSpec], levels: LogLevels | None = None) -> ServerMiddleware[Any]:
    """``specs``: the registered tools by name. A name not among them goes on to the SDK, which
    answers that there is no such tool. ``levels``: where ``logging/setLevel`` keeps each
    person's level; tool calls then send log notifications at or above it."""
    levels = levels or LogLevels()

    async def guard(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method in _PERSONAL:
            return await _personal(app, ctx, call_next)
        if ctx.method not in ("tools/call", "resources/read"):
            return await call_next(ctx)
        if ctx.method == "resources/read":
            return await _checked_call(ctx, _read_resource_next(call_next))
        return await _checked_call(ctx, call_next)

    def _read_resource_next(call_next: CallNext) -> CallNext:
        async def next_(ctx: ServerRequestContext[Any, Any]) -> HandlerResult:
            return await _read_resource(ctx, call_next)

        return next_

    async def _checked_call(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        started = time.perf_counter()
        is_tool = ctx.method == "tools/call"
        params = ctx.params or {}
        name = str(params.get("name", "")) if is_tool else ""
        spec = specs.get(name) if is_tool else None
        try:
            user = identify(app)
            key, rate = bucket(app, tool_bucket(name) if is_tool else resource_tool(str(params.get("uri", ""))))
            decision = await app.limiter.hit(str(user.id), key, rate)
        except (RateLimited, LimiterUnavailable, Forbidden) as exc:
            if is_tool:
                refused = _refused_tool(spec, exc)
                if not isinstance(exc, Forbidden):  # no person, no level to ask
                    await send_log(ctx, levels, identify(app), "warning", f"{name}: {refused.content[0].text}")  # type: ignore[union-attr]
                return refused
            data = {"retry_after": round(exc.retry_after, 3)} if isinstance(exc, RateLimited) else None
            raise MCPError(code=-32000, message=str(exc), data=data) from None
        arguments_token = None
        if is_tool:
            left = f"{decision.remaining} of {decision.limit} call(s) left in the tightest window"
            await send_log(ctx, levels, user, "debug", f"{name}: called for the signed-in person; {left}.")
            refused_args = _refused_arguments(spec, name, params.get("arguments"))
            if isinstance(refused_args, CallToolResult):
                await send_log(ctx, levels, user, "warning", refused_args.content[0].text)  # type: ignore[union-attr]
                return refused_args
            if spec is not None:
                try:
                    arguments = await read_arguments(spec, params.get("arguments") or {})
                except (ValidationError, PamError) as exc:
                    if isinstance(exc, ValidationError):
                        text = invalid_arguments(name, exc, spec.input)
                    else:  # a rule written for people, raised while reading
                        said = str(exc)
                        text = tool_error(name, said if said.startswith(INVALID) else f"{INVALID}: {said}")
                    await send_log(ctx, levels, user, "warning", text)
                    return error_result(text)
                await send_log(ctx, levels, user, "debug", f"{name}: arguments accepted.")
                arguments_token = current_arguments.set(arguments)
        caller_token = current_caller.set(user)
        try:
            result = await call_next(ctx)
            if is_tool:
                for level, text in _tool_outcome(result, user, name, started):
                    await send_log(ctx, levels, user, level, text)
            return result
        finally:
            current_caller.reset(caller_token)
            if arguments_token is not None:
                current_arguments.reset(arguments_token)

    return guard


def _refused_arguments(spec: ToolSpec | None, name: str, given: Any) -> CallToolResult | None:
    if given is not None and not isinstance(given, dict):
        return error_result(f"{INVALID} for {name}: arguments must be a JSON object.")
    if spec is not None and (unknown := _unknown_arguments(spec, given or {})):
        return error_result(unknown)
    return None
