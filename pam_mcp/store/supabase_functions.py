"""The store functions' results as records, shared by both stores.

``migrations/20261121001600_store_functions.sql`` ships PAM's multi-statement operations as
SQL functions; the Postgres store calls them over its connection and the REST store as
``POST /rest/v1/rpc/<name>``. Their "not found" and "too large" outcomes are results, not
errors, so the wording a person sees is decided here, once, for both.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pam_mcp.errors import InvalidInput, NotFound
from pam_mcp.store.records import ColumnInfo, SessionRecord, TableInfo

# Bound on a session's context document (bytes of its stored JSON text), so one session
# cannot grow without limit.
MAX_CONTEXT_BYTES = 16_384


def merged_session(row: Mapping[str, Any] | None, session_id: uuid.UUID | None) -> SessionRecord:
    """The outcome of ``public.merge_session_context``: the session, or the error to show."""
    if row is None:
        raise NotFound(f"No session {session_id}.")
    if not row["stored"]:
        raise InvalidInput(
            f"The session context would be {row['size_bytes']} bytes; the limit is {MAX_CONTEXT_BYTES}. "
            "Remove keys that are no longer needed (the 'remove' argument)."
        )
    return SessionRecord.model_validate({k: row[k] for k in ("id", "context", "updated_at")})


def table_info(row: Mapping[str, Any]) -> TableInfo:
    """One row of ``public.describe_schema()``: the comment is '<access class>: <description>'."""
    access, _, description = str(row["comment"]).partition(":")
    return TableInfo(
        name=row["name"],
        access_class=access.strip() or "unknown",
        description=description.strip(),
        columns=[ColumnInfo.model_validate(c) for c in row["columns"]],
    )
