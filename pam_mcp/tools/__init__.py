"""PAM's capabilities as plain async functions: pydantic in, pydantic out, no MCP.

Each module owns its input and output models and its rules, reaches data only through the
store contract (``pam_mcp.store.base.Store``), and ends with the declarations of its tools
(``pam_mcp.tools.spec.ToolSpec``) as ``TOOLS``. ``CATALOGUE`` lists them all, in the order
clients see them; the server layer registers exactly what it lists.

Adding a tool: write it in its capability module, declare it at the module's end, and add
the module's ``TOOLS`` here.
"""

from __future__ import annotations

from typing import Final

from pam_mcp.tools import conversation, expenses, guardrails, savings, trips
from pam_mcp.tools.spec import ToolSpec

__all__ = ["APP_TOOLS", "CATALOGUE", "REGISTERED"]

CATALOGUE: Final[tuple[ToolSpec, ...]] = (
    *trips.TOOLS,
    *savings.TOOLS,
    *conversation.TOOLS,
    *guardrails.TOOLS,
    *expenses.TOOLS,
)
# Tools only an MCP App calls (``ToolSpec.app_only``): never offered to the model, so they are
# not in the catalogue the instructions and the README describe.
APP_TOOLS: Final[tuple[ToolSpec, ...]] = (*expenses.APP_TOOLS,)
REGISTERED: Final[tuple[ToolSpec, ...]] = (*CATALOGUE, *APP_TOOLS)
if len({spec.name for spec in REGISTERED}) != len(REGISTERED):
    raise RuntimeError("two tools share a name")
if any(spec.app_only for spec in CATALOGUE) or not all(spec.app_only for spec in APP_TOOLS):
    raise RuntimeError("app-only tools belong in APP_TOOLS, and only they")
