"""Prompts (``prompts/list``, ``prompts/get``) and completions (``completion/complete``) made MCP's.

The declarations are ``pam_mcp.prompts``; this module only turns them into the protocol's
shapes. Both methods pass the guard first (identity and the person's global rate limit), so a
prompt that embeds the person's figures, and a completion that lists their trips, is theirs.
Errors name the argument and the format, as INVALID_PARAMS; a failed embedded read does not
fail the prompt: its text says to read the resource instead. The tools a prompt names to run
(``Rendered.run``) run as the person and each result follows as a text block, JSON after a
first line naming the call; a part that failed says why in its own block.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Final

from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp_types import (
    INVALID_PARAMS,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    EmbeddedResource,
    GetPromptRequestParams,
    GetPromptResult,
    ListPromptsResult,
    PaginatedRequestParams,
    Prompt,
    PromptArgument,
    PromptMessage,
    PromptReference,
    TextContent,
    TextResourceContents,
)

from pam_mcp import prompts, resources
from pam_mcp.buckets import resource_tool
from pam_mcp.errors import LimiterUnavailable, PamError, RateLimited
from pam_mcp.server.app import App, bucket, tool_context

__all__ = ["register_prompts"]

log = logging.getLogger(__name__)

_BY_NAME: Final = {spec.name: spec for spec in prompts.PROMPTS}
_READERS: Final = {spec.uri: spec for spec in resources.RESOURCES if spec.variables and spec.read is not None}
if unknown := {ref for ref, _ in prompts.COMPLETABLE if ref not in _BY_NAME and ref not in _READERS}:
    raise RuntimeError(f"completions for nothing declared: {', '.join(sorted(unknown))}")


def _listed() -> list[Prompt]:
    return [
        Prompt(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            arguments=[
                PromptArgument(name=a.name, description=a.description, required=a.required) for a in spec.arguments
            ],
        )
        for spec in prompts.PROMPTS
    ]


async def _refused_by_own_limits(app: App, tools: set[str | None]) -> dict[str, str]:
    """The prompts/get itself counted in the person's global bucket (the guard). A tool whose data
    it attaches and that has a bucket of its own is charged there too, so a per-tool limit cannot
    be sidestepped through a prompt; a part refused so is left out, saying why."""
    refused: dict[str, str] = {}
    user = str(tool_context(app).user.id)
    for tool in sorted(t for t in tools if t is not None and t in app.tool_rates):
        key, rate = bucket(app, tool)
        try:
            await app.limiter.hit(user, key, rate)
        except (RateLimited, LimiterUnavailable) as exc:
            refused[tool] = str(exc)
    return refused


async def _embedded(app: App, template: str, values: dict[str, str]) -> EmbeddedResource | TextContent:
    uri = template.format(**values)
    spec = _READERS[template]
    assert spec.read is not None  # only readable templates are in _READERS
    try:
        model = await spec.read(tool_context(app), **values)
    except Exception as exc:  # the prompt still works: the model can read the resource itself
        if not isinstance(exc, PamError):
            log.exception("embedding %s failed", uri)
        return TextContent(type="text", text=f"({uri} could not be read just now; read it yourself.)")
    return EmbeddedResource(
        type="resource",
        resource=TextResourceContents(uri=uri, mime_type=spec.mime_type, text=model.model_dump_json()),
    )


def register_prompts(lowlevel: Server[Any], app: App) -> None:
    """Serve the declared prompts and completions on ``lowlevel`` (the MCPServer's own server)."""

    async def list_prompts(ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams) -> ListPromptsResult:
        return ListPromptsResult(prompts=_listed())

    async def get_prompt(ctx: ServerRequestContext[Any, Any], params: GetPromptRequestParams) -> GetPromptResult:
        spec = _BY_NAME.get(params.name)
        if spec is None:
            raise MCPError(code=INVALID_PARAMS, message=f"No prompt named {params.name[:64]!r}; prompts/list has them.")
        given = dict(params.arguments or {})
        unknown = sorted(set(given) - {a.name for a in spec.arguments})
        missing = [a.name for a in spec.arguments if a.required and not given.get(a.name, "").strip()]
        if unknown or missing:
            parts = [f"{name}: required" for name in missing] + [f"{name[:64]}: not an argument" for name in unknown]
            raise MCPError(
                code=INVALID_PARAMS, message=f"Invalid arguments for prompt {spec.name}: " + "; ".join(parts)
            )
        try:
            rendered = spec.render(given)
        except PamError as exc:
            raise MCPError(code=INVALID_PARAMS, message=f"Invalid arguments for prompt {spec.name}: {exc}") from None
        messages = [PromptMessage(role="user", content=TextContent(type="text", text=rendered.text))]
        embeds = [(template, values, resource_tool(template.format(**values))) for template, values in rendered.embed]
        refused = await _refused_by_own_limits(app, {t for *_, t in embeds} | {name for name, _ in rendered.run})
        for template, values, tool in embeds:
            if tool in refused:
                text = f"({template.format(**values)} not attached: {refused[tool]})"
                messages.append(PromptMessage(role="user", content=TextContent(type="text", text=text)))
            else:
                messages.append(PromptMessage(role="user", content=await _embedded(app, template, values)))
        allowed = dataclasses.replace(rendered, run=tuple(r for r in rendered.run if r[0] not in refused))
        for name, arguments in rendered.run:
            if name in refused:
                label = prompts.Figure(name, arguments, None).label
                messages.append(
                    PromptMessage(
                        role="user", content=TextContent(type="text", text=f"{label}\n(not attached: {refused[name]})")
                    )
                )
        for figure in await prompts.figures(tool_context(app), allowed):
            body = figure.result if figure.result is not None else f"(not attached: {figure.problem})"
            messages.append(
                PromptMessage(role="user", content=TextContent(type="text", text=f"{figure.label}\n{body}"))
            )
        return GetPromptResult(description=spec.description, messages=messages)

    async def complete(ctx: ServerRequestContext[Any, Any], params: CompleteRequestParams) -> CompleteResult:
        ref = params.ref.name if isinstance(params.ref, PromptReference) else params.ref.uri
        try:
            values, more = await prompts.complete(tool_context(app), ref, params.argument.name, params.argument.value)
        except PamError as exc:  # the store or the limiter, said for people
            raise MCPError(code=-32000, message=str(exc)) from None
        return CompleteResult(completion=Completion(values=values, has_more=more))

    lowlevel.add_request_handler("prompts/list", PaginatedRequestParams, list_prompts)
    lowlevel.add_request_handler("prompts/get", GetPromptRequestParams, get_prompt)
    lowlevel.add_request_handler("completion/complete", CompleteRequestParams, complete)
