"""pam-mcp as an OAuth 2.1 protected resource, with Supabase Auth as the authorization server.

``front``: what a remote client meets before MCP runs (discovery, honest 401s, CORS, the
Host/Origin checks). ``consent``: the page Supabase Auth sends a person to, to sign in and
approve a client; ``supabase_auth`` the calls it makes; ``pages`` its HTML. Nothing here
imports ``mcp``: the server layer hands the MCP app in, already built.
"""
