"""PAM's MCP Apps: the documents a host renders beside a tool's result (no ``mcp`` import here).

Each app is one HTML document served as a ``ui://`` resource. Its parts live in this package as
plain files (``*.html``, ``*.css``, ``*.js``) and are inlined into one document when loaded:
hosts render the resource with a Content-Security-Policy that admits inline scripts and styles
but no other origin, so nothing may be fetched from anywhere. Every byte is this project's own;
the apps speak the MCP Apps protocol (JSON-RPC 2.0 over ``postMessage``) through ``bridge.js``.

The server layer (``pam_mcp/server/apps.py``) registers what :data:`APPS` declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

__all__ = ["APPS", "SPENDING", "TRIP", "AppPage", "html"]


@dataclass(frozen=True)
class AppPage:
    """One app: its ``ui://`` URI, how hosts list it, and the files it is made of."""

    uri: str
    name: str
    title: str
    description: str
    page: str  # the HTML template, with the placeholders below
    styles: tuple[str, ...]
    scripts: tuple[str, ...]


SPENDING = AppPage(
    uri="ui://pam/spending",
    name="spending-dashboard",
    title="Spending dashboard",
    description="Spending by category against budget, the trend by day or week, and each category's items.",
    page="spending.html",
    styles=("common.css", "spending.css"),
    scripts=("bridge.js", "spending.js"),
)
TRIP = AppPage(
    uri="ui://pam/trip",
    name="trip-map",
    title="Trip map",
    description="A logged trip's route drawn from its coordinates, its stops with their kinds, distance and duration.",
    page="trip.html",
    styles=("common.css", "trip.css"),
    scripts=("bridge.js", "trip.js"),
)
APPS = (SPENDING, TRIP)

STYLE_SLOT = "<!-- pam:styles -->"
SCRIPT_SLOT = "<!-- pam:scripts -->"


def _read(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


@cache
def html(app: AppPage) -> str:
    """The app as one self-contained HTML document (read once per process)."""
    css = "\n".join(_read(name) for name in app.styles)
    js = "\n".join(_read(name) for name in app.scripts)
    # Inlined text must not end its own element early.
    if "</style" in css.lower() or "</script" in js.lower():
        raise ValueError(f"{app.name}: an inlined file closes its own element")
    template = _read(app.page)
    if template.count(STYLE_SLOT) != 1 or template.count(SCRIPT_SLOT) != 1:
        raise ValueError(f"{app.page} needs exactly one {STYLE_SLOT} and one {SCRIPT_SLOT}")
    return template.replace(STYLE_SLOT, f"<style>\n{css}</style>").replace(SCRIPT_SLOT, f"<script>\n{js}</script>")
