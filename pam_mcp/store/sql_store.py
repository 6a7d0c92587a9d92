"""The PostgreSQL store: each operation one SQL function call in the person's own transaction.

Chosen when pam-mcp has a database connection (``DATABASE_URL`` or the embedded PostgreSQL).
Every call runs inside ``Database.as_user``: role ``authenticated`` and the person's claims,
set transaction-locally as PostgREST sets them, so row level security decides exactly as it
does behind Supabase's REST API. Which function and what its result means is
``pam_mcp.store.operations``' business, shared with the REST store; this module only runs
``select public.<fn>(p_a => $1, ...)`` and decodes the JSON it returns.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from pam_mcp.store.base import Caller
from pam_mcp.store.operations import JsonText, StoreOperations
from pam_mcp.store.postgres import Database

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class PostgresStore(StoreOperations):
    """PAM's data operations over one PostgreSQL (or Supabase) database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _call(self, user: Caller, function: str, **args: Any) -> Any:
        """``select public.<function>(p_a => $1, ...)`` as ``user``: one statement, one transaction.

        The result is read as JSON text so money keeps its digits (asyncpg's jsonb codec here
        would give floats). A JSON document already encoded (``JsonText``) travels as text.
        """
        if not _NAME.match(function) or not all(_NAME.match(name) for name in args):
            raise ValueError(f"not a function or argument name: {function}")  # names are the code's, never input
        named = ", ".join(
            f"{name} => ${i}::text::jsonb" if isinstance(value, JsonText) else f"{name} => ${i}"
            for i, (name, value) in enumerate(args.items(), start=1)
        )
        async with self.db.as_user(user.id) as tx:
            text = await tx.fetchval(f"select public.{function}({named})::text", *args.values())
        return None if text is None else json.loads(text, parse_float=Decimal)
