"""PAM's capabilities as plain async functions: pydantic in, pydantic out, no MCP.

Each module owns its input and output models and its rules, reaches data only through the
store contract (``pam_mcp.store.base.Store``), and ends with the declarations of its tools
(``pam_mcp.tools.spec.ToolSpec``) as ``TOOLS``. ``CATALOGUE`` lists them all, module by module
in name order, as clients see them; the server layer registers exactly what it lists.

Adding a tool: write it in a capability module (its operation is one SQL function in a
migration, called through ``Store.call``), declare it at the module's end in ``TOOLS``. Nothing
else lists it.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Final

from pam_mcp.tools.spec import ToolSpec

__all__ = ["APP_TOOLS", "CATALOGUE", "GUIDES", "REGISTERED"]


def _capabilities() -> list[ModuleType]:
    """Every module of this package that declares tools (``TOOLS``, ``APP_TOOLS``), by name: a new capability
    module is found without being listed anywhere else."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "TOOLS") or hasattr(module, "APP_TOOLS"):
            found.append(module)
    return found


_MODULES: Final = _capabilities()
CATALOGUE: Final[tuple[ToolSpec, ...]] = tuple(spec for module in _MODULES for spec in getattr(module, "TOOLS", ()))
# Each capability's sentence for the model (``GUIDE``), in catalogue order: the server's
# instructions are made of them, so a new capability is described where it is declared.
GUIDES: Final[tuple[str, ...]] = tuple(module.GUIDE for module in _MODULES if hasattr(module, "GUIDE"))
# Tools only an MCP App calls (``ToolSpec.app_only``): never offered to the model, so they are
# not in the catalogue the instructions and the README describe.
APP_TOOLS: Final[tuple[ToolSpec, ...]] = tuple(spec for module in _MODULES for spec in getattr(module, "APP_TOOLS", ()))
REGISTERED: Final[tuple[ToolSpec, ...]] = (*CATALOGUE, *APP_TOOLS)
if len({spec.name for spec in REGISTERED}) != len(REGISTERED):
    raise RuntimeError("two tools share a name")
if any(spec.app_only for spec in CATALOGUE) or not all(spec.app_only for spec in APP_TOOLS):
    raise RuntimeError("app-only tools belong in APP_TOOLS, and only they")
