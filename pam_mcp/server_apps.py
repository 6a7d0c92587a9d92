"""MCP Apps (``io.modelcontextprotocol/ui``) for pam-mcp: the server layer's part.

What it adds to the server (``server.py`` calls in at a few marked lines):

- the ``ui://`` resources of :mod:`pam_mcp.apps`, served as ``text/html;profile=mcp-app`` with a
  declared Content-Security-Policy that admits no other origin (the apps fetch nothing);
- the links from tools to them (``_meta.ui.resourceUri``): query_expenses opens the spending
  dashboard, log_trip the trip map;
- the tools only the apps call (``_meta.ui.visibility: ["app"]``), registered like every other
  tool, so they pass the same guard: identity from the transport, the rate limit (counted in the
  bucket of the tool whose data they show), the same error translation;
- for clients that did not negotiate Apps, nothing changes: the app-only tools and the ``ui://``
  resources are left out of their lists (the spec lets servers omit UI-only resources), and
  every tool's result carries the same facts as text and structured content either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from pydantic import BaseModel

from pam_mcp import apps
from pam_mcp.tools import expenses
from pam_mcp.tools.common import ToolContext

__all__ = ["APP_TOOLS", "AppTool", "apps_extension", "bucket_tool", "hide_apps_from_other_clients", "tool_meta"]

# Tools a person calls through the model, and the app that shows their result.
LINKED_TOOLS: dict[str, str] = {
    "query_expenses": apps.SPENDING.uri,
    "log_trip": apps.TRIP.uri,
}


@dataclass(frozen=True)
class AppTool:
    """A tool only an app calls: registered by the server like the others (see ``_register_tools``)."""

    fn: Callable[[ToolContext, Any], Awaitable[BaseModel]]
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    app: apps.AppPage
    counts_as: str  # the tool whose rate-limit bucket it counts in: it shows that tool's data
    options: dict[str, Any] = field(default_factory=dict)


APP_TOOLS: tuple[AppTool, ...] = (
    AppTool(
        expenses.spending_overview, expenses.SpendingOverviewInput, expenses.SpendingOverview,
        app=apps.SPENDING, counts_as="query_expenses",
        options={
            "title": "Spending overview (for the dashboard)",
            "description": """
            For the spending dashboard app: over a date range (default this month), the person's
            currency, totals by category (largest first), each budget against its category, and the
            trend by day (ranges up to 62 days), week or month.""",
            "read_only": True, "idempotent": True,
        },
    ),
    AppTool(
        expenses.spending_items, expenses.SpendingItemsInput, expenses.SpendingItems,
        app=apps.SPENDING, counts_as="query_expenses",
        options={
            "title": "One category's expenses (for the dashboard)",
            "description": """
            For the spending dashboard app: a page of one category's expenses over a date range
            (default this month), newest first, with the category's total and count; pass
            next_cursor back as cursor for the next page.""",
            "read_only": True, "idempotent": True,
        },
    ),
)  # fmt: skip
_APP_TOOLS_BY_NAME = {tool.fn.__name__: tool for tool in APP_TOOLS}


def tool_meta(name: str) -> dict[str, Any] | None:
    """The ``_meta`` a tool is listed with: its app, and for app-only tools their visibility."""
    if name in LINKED_TOOLS:
        return {"ui": {"resourceUri": LINKED_TOOLS[name]}}
    if (tool := _APP_TOOLS_BY_NAME.get(name)) is not None:
        return {"ui": {"resourceUri": tool.app.uri, "visibility": ["app"]}}
    return None


def bucket_tool(name: str) -> str:
    """The tool whose bucket a call of ``name`` counts in: an app-only tool counts as the tool whose
    data it shows, so a per-tool limit cannot be sidestepped through an app."""
    tool = _APP_TOOLS_BY_NAME.get(name)
    return tool.counts_as if tool is not None else name


# The apps load nothing from anywhere: no origin for connections, resources, frames or base URIs.
NO_OTHER_ORIGIN = ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[])


def apps_extension() -> Apps:
    """The Apps extension with PAM's ``ui://`` resources (advertised in the server's capabilities)."""
    extension = Apps()
    for app in apps.APPS:
        extension.add_html_resource(
            app.uri,
            apps.html(app),
            name=app.name,
            title=app.title,
            description=app.description,
            csp=NO_OTHER_ORIGIN,
            prefers_border=True,
        )
    return extension


def _without_app_parts(method: str, wire: dict[str, Any]) -> dict[str, Any]:
    if method == "tools/list":
        return {**wire, "tools": [t for t in wire.get("tools", []) if t.get("name") not in _APP_TOOLS_BY_NAME]}
    kept = [r for r in wire.get("resources", []) if not str(r.get("uri", "")).startswith("ui://")]
    return {**wire, "resources": kept}


async def hide_apps_from_other_clients(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: a client that did not negotiate MCP Apps is not shown the app-only tools or the
    ``ui://`` resources; it would otherwise offer its model tools meant for a dashboard."""
    if ctx.method not in ("tools/list", "resources/list"):
        return await call_next(ctx)
    result = await call_next(ctx)
    if client_supports_apps(ctx):
        return result
    if isinstance(result, dict):
        return _without_app_parts(ctx.method, result)
    if isinstance(result, BaseModel):  # a typed result: filtered on the wire form, handed back typed
        wire = result.model_dump(by_alias=True, exclude_none=True, mode="json")
        return type(result).model_validate(_without_app_parts(ctx.method, wire))
    return result
