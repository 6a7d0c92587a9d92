"""How a capability declares its tools and resources: plain data, beside the code, no MCP.

Each capability module ends with one block of ``ToolSpec`` (and ``ResourceSpec``) values; the
catalogue in ``pam_mcp.tools`` lists them, and the server layer (the only code that knows MCP)
registers whatever is listed. Everything else that names tools derives from the same list: the
rate-limit buckets, the server's instructions and the README's table are checked against it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from pam_mcp.tools.common import Input, ToolContext

__all__ = ["ResourceSpec", "ToolSpec"]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TEMPLATE_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool: what the model reads about it, what it takes and gives, and how it behaves."""

    name: str
    title: str
    # For the model: when to call it, what it returns, what to pass when retrying.
    description: str
    run: Callable[[ToolContext, Any], Awaitable[BaseModel]]
    input: type[Input]
    output: type[BaseModel]
    # Honest hints for clients: a read changes nothing; destructive replaces or removes what was
    # there; idempotent means calling twice with the same arguments does what calling once does.
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    # A bucket of its own by default ("N/period[,N/period]"), so other calls cannot starve it;
    # None: the person's global bucket unless PAM_TOOL_RATE_LIMITS gives it one.
    default_rate: str | None = None
    # Said after the reason whenever a call is refused before the tool runs (rate limit, no
    # identity, limiter down): fixed text for a tool whose refusal must not leave a person stuck.
    refused_note: str | None = None
    # A ``ui://`` resource (MCP Apps) that shows this tool's result; None: text and data only.
    ui_resource: str | None = None
    # Called only by its app (``ui_resource``), never offered to the model: listed only to
    # clients that negotiated MCP Apps, with visibility "app".
    app_only: bool = False
    # The tool whose rate-limit bucket a call counts in when it shows that tool's data (an
    # app-only tool), so a per-tool limit cannot be sidestepped through an app; None: its own.
    counts_as: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"tool name {self.name!r} must be lower_snake_case")
        if self.ui_resource is not None and not self.ui_resource.startswith("ui://"):
            raise ValueError(f"{self.name}: ui_resource must be a ui:// URI")
        if self.app_only and self.ui_resource is None:
            raise ValueError(f"{self.name}: an app-only tool names the app (ui_resource) that calls it")
        object.__setattr__(self, "description", inspect.cleandoc(self.description))

    @property
    def takes_client_ref(self) -> bool:
        """Whether a retry can be made safe: errors then tell the model to retry with the same client_ref."""
        return "client_ref" in self.input.model_fields


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """One read-only resource: a URI (or a template with ``{variable}`` parts) and what reads it.

    ``read`` takes the call's ``ToolContext`` and one string per template variable, by name;
    None means the server layer serves it itself (the rate-limit view reads the limiter).
    ``mirrors`` names the tool whose data it shows: a read counts in that tool's bucket, so a
    per-tool limit cannot be sidestepped through the resource.
    """

    uri: str
    name: str
    title: str
    description: str
    read: Callable[..., Awaitable[BaseModel]] | None
    mirrors: str | None = None
    mime_type: str = "application/json"

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(_TEMPLATE_VARIABLE.findall(self.uri))
