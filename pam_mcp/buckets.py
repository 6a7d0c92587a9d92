"""Which rate-limit bucket each call counts in, derived from the declarations.

A tool with its own limit (its ``ToolSpec.default_rate`` or ``PAM_TOOL_RATE_LIMITS``) counts
in its own bucket; every other call counts in the person's global bucket. A resource that
shows a tool's data (``ResourceSpec.mirrors``) counts as that tool: otherwise a per-tool limit
on ``get_context`` could be sidestepped by reading ``pam://context``, which does the same work.
"""

from __future__ import annotations

import re
from typing import Final

from pam_mcp.resources import RESOURCES
from pam_mcp.tools import APP_TOOLS, CATALOGUE

__all__ = ["DEFAULT_TOOL_RATES", "RESOURCE_TOOLS", "TOOL_NAMES", "resource_tool", "tool_bucket"]

TOOL_NAMES: Final = frozenset(spec.name for spec in CATALOGUE)

# Tools with a bucket of their own unless the configuration says otherwise, as "tool=rate,...".
DEFAULT_TOOL_RATES: Final = ",".join(f"{spec.name}={spec.default_rate}" for spec in CATALOGUE if spec.default_rate)

# An app-only tool -> the tool whose data it shows, whose bucket its calls count in.
_COUNTS_AS: Final[dict[str, str]] = {spec.name: spec.counts_as for spec in APP_TOOLS if spec.counts_as}
if unknown_tools := set(_COUNTS_AS.values()) - TOOL_NAMES:
    raise RuntimeError(f"an app-only tool counts as no declared tool: {', '.join(sorted(unknown_tools))}")


def tool_bucket(name: str) -> str:
    """The tool whose bucket a call of ``name`` counts in (itself, unless it shows another's data)."""
    return _COUNTS_AS.get(name, name)


# Resource URI (or URI template) -> the tool whose data it shows; None: no tool mirrors it,
# so it counts in the global bucket.
RESOURCE_TOOLS: Final[dict[str, str | None]] = {spec.uri: spec.mirrors for spec in RESOURCES}
if unknown := {tool for tool in RESOURCE_TOOLS.values() if tool is not None} - TOOL_NAMES:
    raise RuntimeError(f"a resource mirrors no declared tool: {', '.join(sorted(unknown))}")


def _pattern(template: str) -> re.Pattern[str]:
    # A template variable matches one path segment, as the SDK's own template matching does.
    parts = re.split(r"\{[A-Za-z_][A-Za-z0-9_]*\}", template)
    return re.compile("[^/]+".join(map(re.escape, parts)))


_PATTERNS: Final = tuple((_pattern(uri), tool) for uri, tool in RESOURCE_TOOLS.items())


def resource_tool(uri: str) -> str | None:
    """The tool whose bucket a read of ``uri`` counts in, or None for the global bucket."""
    if len(uri) > 2048:  # no resource of ours has a longer URI; the read will fail anyway
        return None
    for pattern, tool in _PATTERNS:
        if pattern.fullmatch(uri):
            return tool
    return None
