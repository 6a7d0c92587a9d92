"""The server layer: the only code that imports ``mcp``.

By job: ``app`` (what the server runs on, its one factory, who is calling), ``guard`` (identity,
rate limit and argument validation in front of every call), ``registration`` (the declared tools
and resources made MCP's, the server assembled), ``auth`` (Supabase JWTs as the SDK's tokens)
and ``stdio``.
"""

from pam_mcp.server.app import App, new_app
from pam_mcp.server.registration import INSTRUCTIONS, build_server, http_app
from pam_mcp.server.stdio import run_stdio, unreadable_line_error

__all__ = ["INSTRUCTIONS", "App", "build_server", "http_app", "new_app", "run_stdio", "unreadable_line_error"]
