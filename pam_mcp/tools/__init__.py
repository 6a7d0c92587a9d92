"""PAM's capabilities as plain async functions: pydantic in, pydantic out, no MCP.

Each module owns its input and output models and its rules, and reaches data only
through the store contract (``pam_mcp.store.base.Store``). The server layer turns these
functions into MCP tools and resources.
"""
