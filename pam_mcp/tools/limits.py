"""Every size cap on what a person may send or store, in one place for the tools.

Each cap keeps one call's work bounded and linear: it is checked in the tool's input model,
before any heavy work (redaction, the guardrail engine, the database). The database holds the
same caps as CHECK constraints and as its functions' own constants
(``migrations/20261130000300_size_caps.sql``), because people can write through Supabase's REST
API without pam-mcp; ``tests/test_fairness.py`` checks that the two lists agree.

Sizes of JSON documents are counted the way PostgreSQL counts ``octet_length(value::text)``
for ``jsonb``: UTF-8 bytes of the text with ``", "`` and ``": "`` separators.

The caps are generous for real use: a trip of 5,000 route points, each with a 200-character
name, fits; so does a 16 KB session context.
"""

from __future__ import annotations

import json
from typing import Any

# pam_messages
MESSAGE_CONTENT_CHARS = 20_000
MESSAGE_METADATA_KEYS = 20
MESSAGE_METADATA_BYTES = 16_384
# pam_sessions.context (update_context)
SESSION_CONTEXT_BYTES = 16_384
SESSION_CONTEXT_KEYS = 50
# Any free-form JSON value (metadata, facts): how deep and how many values (keys, strings,
# numbers...) in all. Redaction costs per string, so the count matters, not only the bytes.
JSON_MAX_DEPTH = 10
JSON_MAX_VALUES = 1_000
# check_guardrails (the engine's own cap, guardrail_rules.MAX_TEXT_CHARS, is the same)
GUARDRAIL_TEXT_CHARS = 20_000
# trips
TRIP_ROUTE_POINTS = 5_000
TRIP_STOPS = 200
TRIP_ROUTE_BYTES = 2_000_000
TRIP_STOPS_BYTES = 200_000
TRIP_TITLE_CHARS = 200
TRIP_NOTES_CHARS = 4_000
PLACE_NAME_CHARS = 200
# safety_events.details (written by check_guardrails with at most 2,000 characters of text)
SAFETY_DETAILS_BYTES = 32_768
# calendar_events and profiles: free text get_context shows
EVENT_LOCATION_CHARS = 500
EVENT_DESCRIPTION_CHARS = 4_000
PROFILE_TEXT_CHARS = 200
PROFILE_PREFERENCES_BYTES = 16_384

# What the SQL migration must hold, by the name of its constant there (see the test).
SQL_AGREES: dict[str, int] = {
    "message_content_chars": MESSAGE_CONTENT_CHARS,
    "message_metadata_bytes": MESSAGE_METADATA_BYTES,
    "session_context_bytes": SESSION_CONTEXT_BYTES,
    "trip_route_points": TRIP_ROUTE_POINTS,
    "trip_stops": TRIP_STOPS,
    "trip_route_bytes": TRIP_ROUTE_BYTES,
    "trip_stops_bytes": TRIP_STOPS_BYTES,
    "trip_notes_chars": TRIP_NOTES_CHARS,
    "safety_details_bytes": SAFETY_DETAILS_BYTES,
    "event_location_chars": EVENT_LOCATION_CHARS,
    "event_description_chars": EVENT_DESCRIPTION_CHARS,
    "profile_text_chars": PROFILE_TEXT_CHARS,
    "profile_preferences_bytes": PROFILE_PREFERENCES_BYTES,
}


class TooLarge(ValueError):
    """A JSON value over one of the caps; the message says which and by how much."""


def check_json(value: Any, *, max_depth: int = JSON_MAX_DEPTH, max_values: int = JSON_MAX_VALUES) -> None:
    """Raise :class:`TooLarge` for a value nested deeper than ``max_depth`` or holding more
    than ``max_values`` values; stops at the first value over a cap, so it costs at most
    ``max_values`` steps whatever it is given. Iterative: no recursion limit to hit."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > max_values:
            raise TooLarge(f"holds more than {max_values} values (keys, strings, numbers...) in all")
        if depth > max_depth:
            raise TooLarge(f"is nested more than {max_depth} levels deep")
        if isinstance(item, dict):
            seen += len(item)  # the keys
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def json_bytes(value: Any) -> int:
    """UTF-8 bytes of ``value`` as PostgreSQL's ``jsonb`` prints it (``octet_length(v::text)``)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")).encode())


def check_json_size(value: Any, max_bytes: int) -> int:
    """The value's size in bytes; :class:`TooLarge` when over ``max_bytes``. Call after
    :func:`check_json`, which bounds the work of serialising it."""
    size = json_bytes(value)
    if size > max_bytes:
        raise TooLarge(f"is {size} bytes as JSON; the limit is {max_bytes}")
    return size
