"""The named arguments of one operation as one JSON object: the same bytes for both stores.

The REST store posts them as the body of ``/rpc/<operation>``; the PostgreSQL store passes them
to ``pam_internal.call_as``. Values are encoded as PostgreSQL will read them back: money as
exact decimal text, dates and times in ISO 8601 (a naive time is UTC, as asyncpg encodes it),
ids as text. A long list already encoded (``JsonText``) is spliced in as it is.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

__all__ = ["JsonText", "json_arguments"]


class JsonText(str):
    """A JSON document already encoded, passed to a ``jsonb`` argument as it is."""


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # as text: PostgreSQL reads it into numeric digit for digit
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot pass a {type(value).__name__} as an operation's argument")


def json_arguments(args: dict[str, Any]) -> str:
    parts = (
        f"{json.dumps(name)}:"
        + (value if isinstance(value, JsonText) else json.dumps(value, default=_json_value, separators=(",", ":")))
        for name, value in args.items()
    )
    return "{" + ",".join(parts) + "}"
