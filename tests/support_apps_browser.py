"""The browser side of tests/test_apps.py: an MCP Apps client, the app in chromium, screenshots.

``rendered`` opens the test host page (tests/support_apps_host.py) in Debian's chromium with the
app of a ``ui://`` resource in it, given the REAL result of a tool call, and forwards the app's
``tools/call`` to pam-mcp through the signed-in SDK client; nothing else may leave the page.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp.client import Client
from mcp.client.extension import advertise
from mcp.client.streamable_http import streamable_http_client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import CallToolResult, TextResourceContents

from tests.conftest import mint_token
from tests.support_apps_host import APP_ORIGIN, HOST_ORIGIN, PAGE_BACKGROUND, REPORT_PROBLEMS, csp_for, host_page
from tests.test_oauth_flow import CHROMIUM, CHROMIUM_FLAGS, _browser_or_skip

# What a host such as Claude advertises when it renders MCP Apps.
WITH_APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


def screenshot_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("PAM_SCREENSHOTS") or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def spaced(text: str) -> str:
    """Text as read, with the no-break spaces Intl puts in amounts made plain."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def wire(result: CallToolResult) -> dict[str, Any]:
    return result.model_dump(by_alias=True, exclude_none=True, mode="json")


@asynccontextmanager
async def apps_client(url: str, user: uuid.UUID) -> AsyncIterator[Client]:
    """Like tests.support_http.signed_in, with MCP Apps advertised as a host such as Claude does."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {mint_token(user)}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), extensions=[WITH_APPS]) as client,
    ):
        yield client


class Rendered:
    """The browser page with the app in it, and what went wrong on the way."""

    def __init__(self, page: Any, problems: list[str], calls: list[str]) -> None:
        self.page = page
        self.problems = problems
        self.calls = calls  # tools the app called through the host, as the server answered them

    @property
    def app(self) -> Any:
        return self.page.frame_locator("#app")

    def app_frame(self) -> Any:
        return next(f for f in self.page.frames if f.url.startswith(APP_ORIGIN))


@asynccontextmanager
async def rendered(
    client: Client, ui_uri: str, tool_input: dict[str, Any], result: CallToolResult
) -> AsyncIterator[Rendered]:
    """The app at ``ui_uri`` in chromium, in the test host, given ``result`` of a real tool call."""
    async_playwright = _browser_or_skip()
    resource = (await client.read_resource(ui_uri)).contents[0]
    assert isinstance(resource, TextResourceContents)
    assert resource.mime_type == APP_MIME_TYPE
    ui_meta = (resource.meta or {}).get("ui")
    tools = (await client.list_tools()).tools
    app_tools = [t.name for t in tools if "app" in ((t.meta or {}).get("ui", {}).get("visibility") or ["model", "app"])]
    page_html = host_page(
        title="PAM app",
        app_url=f"{APP_ORIGIN}/app.html",
        tool_input=tool_input,
        tool_result=wire(result),
        app_tools=app_tools,
    )
    problems: list[str] = []
    calls: list[str] = []

    async def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(f"{HOST_ORIGIN}/"):
            await request_route.fulfill(status=200, content_type="text/html; charset=utf-8", body=page_html)
        elif url == f"{APP_ORIGIN}/app.html":
            headers = {"content-security-policy": csp_for(ui_meta)}
            await request_route.fulfill(
                status=200, content_type="text/html; charset=utf-8", headers=headers, body=resource.text
            )
        else:
            problems.append(f"network request: {url}")
            await request_route.abort()

    async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        calls.append(name)
        return wire(await client.call_tool(name, arguments))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 720, "height": 720}, locale="en-AU")
            await context.add_init_script(REPORT_PROBLEMS)
            await context.route("**/*", route)
            page = await context.new_page()
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            await page.expose_function("pamCallTool", call_tool)
            await page.goto(f"{HOST_ORIGIN}/")
            yield Rendered(page, problems, calls)
        finally:
            await browser.close()


# Every element with text of its own, outside SVG, whose contrast with what is behind it (its own
# or an ancestor's background, else the host page's: the app's is transparent) is under 4.5:1.
LOW_CONTRAST = """(page) => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = (c) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return page;
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg") || el.closest("[hidden]")) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(behind(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def _rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]


async def screenshots(view: Rendered, directory: Path, name: str, ready: Callable[[], Any]) -> None:
    """One screenshot in the light theme, one after the host switches to dark; the text is legible in both."""
    assert await view.app_frame().evaluate(LOW_CONTRAST, _rgb(PAGE_BACKGROUND["light"])) == []
    await view.page.screenshot(path=str(directory / f"{name}-light.png"), full_page=True)
    await view.page.evaluate("pamHost.setTheme('dark')")
    await view.page.wait_for_function("document.documentElement.className === 'dark'", timeout=5000)
    color = await view.app_frame().evaluate("getComputedStyle(document.body).color")
    assert color == "rgb(245, 244, 239)"  # the host's --color-text-primary, dark half of light-dark()
    await ready()
    assert await view.app_frame().evaluate(LOW_CONTRAST, _rgb(PAGE_BACKGROUND["dark"])) == []
    # The check can fail: dark-theme text on the light page would be flagged.
    assert await view.app_frame().evaluate(LOW_CONTRAST, _rgb(PAGE_BACKGROUND["light"])) != []
    await view.page.screenshot(path=str(directory / f"{name}-dark.png"), full_page=True)
