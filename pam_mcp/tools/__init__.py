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

__all__ = ["CATALOGUE"]

CATALOGUE: Final[tuple[ToolSpec, ...]] = (
    *trips.TOOLS,
    *savings.TOOLS,
    *conversation.TOOLS,
    *guardrails.TOOLS,
    *expenses.TOOLS,
)
if len({spec.name for spec in CATALOGUE}) != len(CATALOGUE):
    raise RuntimeError("two tools share a name")
