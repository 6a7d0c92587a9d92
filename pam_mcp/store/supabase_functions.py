"""The store functions' results as records, shared by both stores.

``migrations/20261121001600_store_functions.sql`` (and ``..._context_snapshot.sql``) ship PAM's
multi-statement operations as SQL functions; the Postgres store calls them over its connection and the REST store as
``POST /rest/v1/rpc/<name>``. Their "not found" and "too large" outcomes are results, not
errors, so the wording a person sees is decided here, once, for both.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pam_mcp.errors import InvalidInput, NotFound
from pam_mcp.store.records import ColumnInfo, ContextSnapshot, ExpenseGroupRow, SessionRecord, TableInfo

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


def plain_json(value: Any) -> Any:
    """A JSON document as json.loads gives it (floats), from one read with exact numbers.

    Both stores read function results with ``parse_float=Decimal`` so money keeps its digits;
    a document the user stored (a session's context, preferences) must come back as it went in.
    """
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    return value


def context_snapshot(doc: Mapping[str, Any], session_id: uuid.UUID | None) -> ContextSnapshot:
    """The result of ``public.context_snapshot`` (read with exact numbers), or the error to show."""
    if doc.get("session_missing"):
        raise NotFound(f"No session {session_id}.")
    profile, session = doc["profile"], doc["session"]
    return ContextSnapshot.model_validate(
        {
            **doc,
            "profile": None if profile is None else {**profile, "preferences": plain_json(profile["preferences"])},
            "session": None if session is None else {**session, "context": plain_json(session["context"])},
            "spending": [ExpenseGroupRow.model_validate(g) for g in doc["spending"] if g["count"]],
            "budgets": {b["category"]: b["monthly_limit"] for b in doc["budgets"]},
        }
    )


def table_info(row: Mapping[str, Any]) -> TableInfo:
    """One row of ``public.describe_schema()``: the comment is '<access class>: <description>'."""
    access, _, description = str(row["comment"]).partition(":")
    return TableInfo(
        name=row["name"],
        access_class=access.strip() or "unknown",
        description=description.strip(),
        columns=[ColumnInfo.model_validate(c) for c in row["columns"]],
    )
