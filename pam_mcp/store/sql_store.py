"""The PostgreSQL store: each operation one SQL function call in the person's own transaction.

Chosen when pam-mcp has a database connection (``DATABASE_URL`` or the embedded PostgreSQL).
Every call runs inside ``Database.as_user``: role ``authenticated`` and the person's claims,
set transaction-locally as PostgREST sets them, so row level security decides exactly as it
does behind Supabase's REST API. Which function and what its result means is
``pam_mcp.store.operations``' business, shared with the REST store; this module only runs
``select public.<fn>(p_a => $1, ...)`` and decodes the JSON it returns.
"""

from __future__ import annotations

import re
from typing import Any

from pam_mcp.store.base import Caller
from pam_mcp.store.operations import StoreOperations
from pam_mcp.store.postgres import Database

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class PostgresStore(StoreOperations):
    """PAM's data operations over one PostgreSQL (or Supabase) database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _call(self, user: Caller, function: str, *, writes: bool, **args: Any) -> Any:
        """``public.<function>(p_a => ..., ...)`` as ``user`` in one round trip (``Database.call_as``):
        one statement, its own transaction; the JSON result with money as ``Decimal``."""
        return await self.db.call_as(user.id, function, args, writes=writes)
