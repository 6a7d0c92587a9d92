"""pam-mcp: PAM, the assistant of Wheels & Wins, as an MCP server."""

__version__ = "0.1.0"
