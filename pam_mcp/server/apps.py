"""MCP Apps (``io.modelcontextprotocol/ui``) for pam-mcp: the server layer's part.

What it adds to the server (``registration.py`` wires it in):

- the ``ui://`` resources of :mod:`pam_mcp.apps`, served as ``text/html;profile=mcp-app`` with a
  declared Content-Security-Policy that admits no other origin (the apps fetch nothing);
- the links from tools to them (``_meta.ui.resourceUri``, from ``ToolSpec.ui_resource``):
  query_expenses opens the spending dashboard, log_trip the trip map;
- the tools only the apps call (``ToolSpec.app_only``: ``_meta.ui.visibility: ["app"]``),
  registered like every other tool, so they pass the same guard: identity from the transport,
  the rate limit (counted in the bucket of the tool whose data they show, ``counts_as``), the
  same error translation;
- for clients that did not negotiate Apps, nothing changes: the app-only tools and the ``ui://``
  resources are left out of their lists (the spec lets servers omit UI-only resources), and
  every tool's result carries the same facts as text and structured content either way.
"""

from __future__ import annotations

from typing import Any

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from pydantic import BaseModel

from pam_mcp import apps
from pam_mcp.tools import APP_TOOLS
from pam_mcp.tools.spec import ToolSpec

__all__ = ["apps_extension", "hide_apps_from_other_clients", "ui_meta"]

_APP_ONLY = frozenset(spec.name for spec in APP_TOOLS)


def ui_meta(spec: ToolSpec) -> dict[str, Any] | None:
    """The ``_meta`` a tool is listed with: the app that shows its result, and for a tool only
    an app calls, visibility "app" (hosts then keep it from the model)."""
    if spec.ui_resource is None:
        return None
    ui: dict[str, Any] = {"resourceUri": spec.ui_resource}
    if spec.app_only:
        ui["visibility"] = ["app"]
    return {"ui": ui}


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
        return {**wire, "tools": [t for t in wire.get("tools", []) if t.get("name") not in _APP_ONLY]}
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
