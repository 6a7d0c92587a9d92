"""A small MCP Apps host for the browser tests: the host side of the protocol, in a real page.

The page (origin ``http://host.pam.test``) renders an app's ``ui://`` document in a sandboxed
iframe of another origin (``http://app.pam.test``), served with the Content-Security-Policy the
spec says a host builds from the resource's ``_meta.ui.csp``. It answers ``ui/initialize`` with a
host context (theme, CSS variables, locale, time zone), sends the tool's input and its REAL
result once the app says it is initialized, and forwards the app's ``tools/call`` to pam-mcp
through ``window.pamCallTool`` (a Playwright binding to a signed-in SDK client), refusing tools
whose ``_meta.ui.visibility`` leaves out "app". Nothing is fetched from any network.
"""

from __future__ import annotations

import json
from typing import Any

HOST_ORIGIN = "http://host.pam.test"
APP_ORIGIN = "http://app.pam.test"

# Variables a host such as Claude passes (a subset, light-dark() values), and its page colours.
HOST_VARIABLES = {
    "--color-text-primary": "light-dark(#1f1e1d, #f5f4ef)",
    "--color-text-secondary": "light-dark(#55534e, #c3c0b6)",
    "--color-background-secondary": "light-dark(#f5f4ed, #30302e)",
    "--color-border-secondary": "light-dark(#d9d7cf, #4a4944)",
    "--font-sans": "system-ui, sans-serif",
}
PAGE_BACKGROUND = {"light": "#ffffff", "dark": "#262624"}


def csp_for(ui_meta: dict[str, Any] | None) -> str:
    """The policy the MCP Apps spec has a host build from a resource's declared domains."""
    csp = (ui_meta or {}).get("csp") or {}

    def domains(key: str) -> str:
        return " ".join(csp.get(key) or [])

    resources = domains("resourceDomains")
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'unsafe-inline' {resources}".strip(),
            f"style-src 'self' 'unsafe-inline' {resources}".strip(),
            f"connect-src 'self' {domains('connectDomains')}".strip(),
            f"img-src 'self' data: {resources}".strip(),
            f"font-src 'self' {resources}".strip(),
            f"media-src 'self' data: {resources}".strip(),
            f"frame-src {domains('frameDomains') or chr(39) + 'none' + chr(39)}",
            "object-src 'none'",
            f"base-uri {domains('baseUriDomains') or chr(39) + 'self' + chr(39)}",
        ]
    )


# Runs in every frame before its own scripts: a CSP violation or an uncaught error becomes a
# console error the test sees, whichever frame it happens in.
REPORT_PROBLEMS = """
window.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
});
window.addEventListener("error", (e) => { console.error(`Uncaught: ${e.message}`); });
window.addEventListener("unhandledrejection", (e) => { console.error(`Unhandled rejection: ${e.reason}`); });
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>PAM test host</title>
<style>
  /* A host's own colour scheme follows its theme, as the light-dark() values it passes need. */
  :root { color-scheme: light; }
  :root.dark { color-scheme: dark; }
  body { margin: 0; padding: 16px; font-family: system-ui, sans-serif; background: __LIGHT__; color: #1f1e1d; }
  .dark body { background: __DARK__; color: #f5f4ef; }
  iframe { display: block; width: 100%; height: 120px; border: 1px solid #88888866; border-radius: 10px; }
  p { margin: 0 0 8px; font-size: 13px; }
</style>
</head>
<body>
<p>Test host: the app below is rendered as a conversation would show it.</p>
<iframe id="app" sandbox="allow-scripts" title="__TITLE__"></iframe>
<script>
"use strict";
const config = __CONFIG__;
const frame = document.getElementById("app");
const host = (window.pamHost = { initialized: false, heights: [], calls: [], refused: [] });

function post(message) { frame.contentWindow.postMessage(message, "*"); }
function context(theme) {
  return { theme, styles: { variables: config.variables }, displayMode: "inline", availableDisplayModes: ["inline"],
           containerDimensions: { maxHeight: 500 }, locale: config.locale, timeZone: config.timeZone, platform: "web" };
}
host.setTheme = (theme) => {
  document.documentElement.className = theme;
  post({ jsonrpc: "2.0", method: "ui/notifications/host-context-changed", params: { theme } });
};
document.documentElement.className = config.theme;

window.addEventListener("message", async (event) => {
  if (event.source !== frame.contentWindow) return;
  const m = event.data;
  if (!m || m.jsonrpc !== "2.0") return;
  if (m.method === "ui/initialize") {
    post({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: "2026-01-26",
      hostInfo: { name: "pam-test-host", version: "1" }, hostCapabilities: { serverTools: {}, logging: {} },
      hostContext: context(config.theme) } });
  } else if (m.method === "ui/notifications/initialized") {
    host.initialized = true;
    post({ jsonrpc: "2.0", method: "ui/notifications/tool-input", params: { arguments: config.toolInput } });
    post({ jsonrpc: "2.0", method: "ui/notifications/tool-result", params: config.toolResult });
  } else if (m.method === "ui/notifications/size-changed") {
    host.heights.push(m.params.height);
    frame.style.height = `${Math.min(m.params.height, 500)}px`;
  } else if (m.method === "tools/call") {
    const name = m.params && m.params.name;
    if (!config.appTools.includes(name)) {
      host.refused.push(name);
      post({ jsonrpc: "2.0", id: m.id, error: { code: -32602, message: `${name} is not callable by apps` } });
      return;
    }
    host.calls.push(name);
    try {
      post({ jsonrpc: "2.0", id: m.id, result: await window.pamCallTool(name, m.params.arguments || {}) });
    } catch (error) {
      post({ jsonrpc: "2.0", id: m.id, error: { code: -32000, message: String(error) } });
    }
  } else if (m.id !== undefined && m.method) {
    post({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } });
  }
});
frame.src = config.appUrl;
</script>
</body>
</html>
"""


def host_page(
    *,
    title: str,
    app_url: str,
    tool_input: dict[str, Any],
    tool_result: dict[str, Any],
    app_tools: list[str],
    theme: str = "light",
    locale: str = "en-AU",
    time_zone: str = "Australia/Sydney",
) -> str:
    config = {
        "appUrl": app_url,
        "toolInput": tool_input,
        "toolResult": tool_result,
        "appTools": app_tools,
        "theme": theme,
        "variables": HOST_VARIABLES,
        "locale": locale,
        "timeZone": time_zone,
    }
    # JSON inside a script element: "</" must not end it early.
    data = json.dumps(config).replace("</", "<\\/")
    return (
        _PAGE.replace("__CONFIG__", data)
        .replace("__TITLE__", title)
        .replace("__LIGHT__", PAGE_BACKGROUND["light"])
        .replace("__DARK__", PAGE_BACKGROUND["dark"])
    )
