"""Which rate-limit bucket each call counts in, declared once.

A tool with its own limit (``PAM_TOOL_RATE_LIMITS``) counts in its own bucket; every other
call counts in the person's global bucket. A resource that shows a tool's data counts as that
tool: otherwise a per-tool limit on ``get_context`` could be sidestepped by reading
``pam://context``, which does the same work. A test compares these with what the server
registers, so a new tool or resource cannot silently escape its bucket.

Dependency-free, so ``Settings`` can check tool names in ``PAM_TOOL_RATE_LIMITS``.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["RESOURCE_TOOLS", "TOOL_NAMES", "resource_tool"]

TOOL_NAMES: Final = frozenset(
    {
        "check_guardrails",
        "get_context",
        "log_expense",
        "log_message",
        "log_trip",
        "query_expenses",
        "record_saving",
        "set_guardrails",
        "update_context",
    }
)

# Resource URI (or URI template) -> the tool whose data it shows; None: no tool mirrors it,
# so it counts in the global bucket.
RESOURCE_TOOLS: Final[dict[str, str | None]] = {
    "pam://profile": "get_context",  # the profile part of the snapshot
    "pam://context": "get_context",
    "pam://guardrails": "set_guardrails",  # the level set_guardrails sets (no rules engine runs)
    "pam://rate-limit": None,
    "pam://trips": "log_trip",
    "pam://trips/{trip_id}": "log_trip",
    "pam://savings/{month}": "record_saving",
    "pam://expenses/{month}": "query_expenses",
    "pam://schema": None,
}


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
