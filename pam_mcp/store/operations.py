"""Every store operation as one call of one SQL function, and its result as a record: the one
typed layer both stores share.

Each operation is ``public.pam_<name>`` (``migrations/20261201000100_operations.sql``): named
``p_`` arguments, one JSON result, one transaction. A store supplies only ``_call`` (how to run
one function as the person: a statement in their transaction, or ``POST /rest/v1/rpc/<name>``
with their token) and returns the decoded JSON with money as ``Decimal``; everything else —
which function, which arguments, what a null result means, how the result becomes a record,
when a write counts as saved — is decided here, once, for both.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import anyio.to_thread

from pam_mcp.errors import InvalidInput, NotFound, PamError
from pam_mcp.store.arguments import JsonText
from pam_mcp.store.base import Caller
from pam_mcp.store.records import (
    CalendarRecord,
    ColumnInfo,
    ContextSnapshot,
    ExpenseGrouping,
    ExpenseGroupRow,
    ExpenseRecord,
    ExpenseReport,
    LoggedExpense,
    MessageRecord,
    NewExpense,
    NewTrip,
    ProfileRecord,
    SafetyLevel,
    SavingOutcome,
    SavingsMonth,
    SessionRecord,
    TableInfo,
    TripBrief,
    TripDetail,
)

log = logging.getLogger(__name__)

_SLICE = 250  # list items per json.dumps call: each call holds the GIL for well under a millisecond


# The operations that write: a request lost after it was sent may have committed.
WRITES = frozenset(
    {
        "pam_insert_trip", "pam_record_saving", "pam_log_expense", "pam_merge_context", "pam_log_message",
        "pam_set_safety_level", "pam_insert_safety_event",
    }
)  # fmt: skip


def _json_text(items: list[Any]) -> JsonText:
    """JSON text of a long list, encoded ``_SLICE`` items at a time (the GIL is free between)."""
    parts = (json.dumps(items[i : i + _SLICE])[1:-1] for i in range(0, len(items), _SLICE))
    return JsonText("[" + ",".join(parts) + "]")


# An answer of the wrong shape comes after the function ran (and a write committed), so it
# claims nothing about what was saved.
_UNREADABLE = "The database answered in a form pam-mcp cannot read; apply pam-mcp's migrations (pam-mcp migrate)."


def _object(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise PamError(_UNREADABLE)
    return result


def _list(result: Any) -> list[Any]:
    if not isinstance(result, list):
        raise PamError(_UNREADABLE)
    return result


def _noted(result: dict[str, Any]) -> dict[str, Any]:
    """A dated result: a zone the database did not know was read as UTC; say so in the log."""
    refused = result.get("refused_zone")
    if refused:
        log.warning("profiles.timezone %r is not a time zone this server knows; using UTC", str(refused)[:64])
    return result


# -- what a result means, once for both stores ------------------------------------------
def merged_session(row: Mapping[str, Any] | None, session_id: uuid.UUID | None) -> SessionRecord:
    """The outcome of ``public.merge_session_context``: the session, or the error to show."""
    if row is None:
        raise NotFound(f"No session {session_id}.")
    if not row["stored"]:
        raise InvalidInput(
            f"The session context would be {row['size_bytes']} bytes; the limit is {row['limit_bytes']}. "
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


def trip_brief(row: Mapping[str, Any]) -> TripBrief:
    """A trip summary (``public.trip_brief``): its stops as they went in (costs as numbers)."""
    return TripBrief.model_validate({**row, "stops": plain_json(row.get("stops") or [])})


def context_snapshot(doc: Mapping[str, Any], session_id: uuid.UUID | None) -> ContextSnapshot:
    """The result of ``public.context_snapshot`` (read with exact numbers), or the error to show."""
    if doc.get("session_missing"):
        raise NotFound(f"No session {session_id}.")
    profile, session, trip = doc["profile"], doc["session"], doc.get("latest_trip")
    return ContextSnapshot.model_validate(
        {
            **doc,
            "latest_trip": None if trip is None else trip_brief(trip),
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


class StoreOperations:
    """The store contract (``pam_mcp.store.base.Store``) over ``_call``; subclasses say how to call."""

    async def _call(self, user: Caller, function: str, *, writes: bool, **args: Any) -> Any:
        """Run ``public.<function>`` with these named arguments as ``user``: one transaction.
        The decoded JSON result (money as Decimal); driver errors as the project's errors.
        ``writes``: whether it may change data (a call lost in flight is then OutcomeUnknown)."""
        raise NotImplementedError

    async def _op(self, user: Caller, function: str, **args: Any) -> Any:
        """One of the store contract's own operations (whether it writes: ``WRITES``)."""
        return await self._call(user, function, writes=function in WRITES, **args)

    async def call(self, user: Caller, operation: str, *, saved: str | None = None, **args: Any) -> Any:
        """A capability's own operation, ``public.<operation>(**args)``, as ``user``: one transaction.

        For tools whose operation is declared beside them (their module maps the JSON result to
        their own output model). ``saved`` names what a successful call wrote, as the person
        would say it ("the fill-up"); it is noted (with the result's ``id`` when it has one) so a
        later failure in the same call never claims nothing was saved. None: a read. A null
        result (the operation found nothing to change) wrote nothing, so it is not noted.
        """
        result = await self._call(user, operation, writes=saved is not None, **args)
        if saved is not None and result is not None:
            ident = result.get("id") if isinstance(result, dict) else None
            user.saved(f"{saved} {ident}" if ident else saved)
        return result

    # -- trips --------------------------------------------------------------------------
    async def insert_trip(self, user: Caller, trip: NewTrip) -> TripBrief:
        # A long route (up to 2 MB of JSON) is encoded in a worker thread, a slice at a time, so
        # no single step holds the event loop.
        route: Any = await anyio.to_thread.run_sync(_json_text, trip.route) if len(trip.route) > _SLICE else trip.route
        row = _object(
            await self._op(
                user, "pam_insert_trip", p_title=trip.title, p_started_at=trip.started_at, p_ended_at=trip.ended_at,
                p_route=route, p_stops=trip.stops, p_notes=trip.notes, p_distance_km=trip.distance_km,
            )
        )  # fmt: skip
        user.saved(f"the trip {row.get('id', '')}".rstrip())
        return trip_brief(row)

    async def get_trip(self, user: Caller, trip_id: uuid.UUID) -> TripDetail:
        row = await self._op(user, "pam_get_trip", p_trip_id=trip_id)
        if row is None:
            raise NotFound(f"No trip {trip_id}.")
        return TripDetail.model_validate({**_object(row), "stops": plain_json(row["stops"])})

    async def recent_trips(self, user: Caller, limit: int) -> list[TripBrief]:
        # Counted in SQL: a list of trips never carries their routes (up to 2 MB each).
        return [trip_brief(r) for r in _list(await self._op(user, "pam_recent_trips", p_limit=limit))]

    # -- savings ------------------------------------------------------------------------
    async def record_saving(
        self, user: Caller, amount: Decimal, category: str, description: str, saved_on: dt.date | None,
        client_ref: str | None, *, now: dt.datetime | None = None,
    ) -> SavingOutcome:  # fmt: skip
        # One function call: the event and the month's total change together or not at all.
        row = _object(
            await self._op(
                user, "pam_record_saving", p_amount=amount, p_category=category, p_description=description,
                p_saved_on=saved_on, p_client_ref=client_ref, p_now=now,
            )
        )  # fmt: skip
        user.saved(f"the saving {row.get('event_id', '')}".rstrip())
        return SavingOutcome.model_validate(_noted(row))

    async def month_savings(
        self, user: Caller, month: dt.date, *, event_limit: int, now: dt.datetime | None = None
    ) -> SavingsMonth:
        row = await self._op(user, "pam_month_savings", p_month=month, p_event_limit=event_limit, p_now=now)
        return SavingsMonth.model_validate(_noted(_object(row)))

    # -- expenses -----------------------------------------------------------------------
    async def log_expense(self, user: Caller, expense: NewExpense, *, now: dt.datetime | None = None) -> LoggedExpense:
        """Insert (default date: the person's today) and report its month for its category: one call."""
        row = _object(
            await self._op(
                user, "pam_log_expense", p_amount=expense.amount, p_category=expense.category,
                p_description=expense.description, p_spent_on=expense.spent_on, p_trip_id=expense.trip_id,
                p_client_ref=expense.client_ref, p_now=now,
            )
        )  # fmt: skip
        logged = LoggedExpense.model_validate(_noted(row))
        user.saved(f"the expense {logged.expense.id}")
        return logged

    async def insert_expense(self, user: Caller, expense: NewExpense) -> tuple[ExpenseRecord, bool]:
        """Insert; with a client_ref seen before, return the earlier expense and ``True``."""
        logged = await self.log_expense(user, expense)
        return logged.expense, logged.duplicate

    async def expense_report(
        self,
        user: Caller,
        start: dt.date | None,
        end: dt.date | None,
        categories: Sequence[str] | None,
        group_by: ExpenseGrouping,
        *,
        page: tuple[tuple[dt.date, uuid.UUID] | None, int] | None = None,
        now: dt.datetime | None = None,
    ) -> ExpenseReport:
        """The groups, the budgets, the category totals when a budget needs them and, with ``page``
        (after, limit), a page of items: one call. ``start`` None: the person's current month."""
        after, limit = page if page is not None else (None, None)
        row = _object(
            await self._op(
                user, "pam_expense_report", p_start=start, p_end=end,
                p_categories=list(categories) if categories else None, p_group_by=group_by,
                p_after_day=after[0] if after else None, p_after_id=after[1] if after else None, p_limit=limit,
                p_now=now,
            )
        )  # fmt: skip
        return ExpenseReport.model_validate(
            {**_noted(row), "budgets": {b["category"]: b["monthly_limit"] for b in row["budgets"]}}
        )

    async def expense_page(
        self,
        user: Caller,
        start: dt.date,
        end: dt.date,
        categories: Sequence[str] | None,
        after: tuple[dt.date, uuid.UUID] | None,
        limit: int,
    ) -> list[ExpenseRecord]:
        """Newest first; ``after`` is the (spent_on, id) of the last item of the previous page."""
        rows = await self._op(
            user, "pam_expense_page", p_start=start, p_end=end, p_categories=list(categories) if categories else None,
            p_after_day=after[0] if after else None, p_after_id=after[1] if after else None, p_limit=limit,
        )  # fmt: skip
        return [ExpenseRecord.model_validate(r) for r in _list(rows)]

    # -- profile, sessions, messages, calendar ----------------------------------------------
    async def profile(self, user: Caller) -> ProfileRecord | None:
        row = await self._op(user, "pam_profile")
        if row is None:
            return None
        return ProfileRecord.model_validate({**_object(row), "preferences": plain_json(row["preferences"])})

    async def timezone(self, user: Caller) -> str | None:
        zone = await self._op(user, "pam_timezone")
        return None if zone is None else str(zone)

    async def session(self, user: Caller, session_id: uuid.UUID) -> SessionRecord:
        row = await self._op(user, "pam_session", p_session_id=session_id)
        if row is None:
            raise NotFound(f"No session {session_id}.")
        return SessionRecord.model_validate({**_object(row), "context": plain_json(row["context"])})

    async def latest_session(self, user: Caller) -> SessionRecord | None:
        row = await self._op(user, "pam_latest_session")
        if row is None:
            return None
        return SessionRecord.model_validate({**_object(row), "context": plain_json(row["context"])})

    async def merge_context(
        self, user: Caller, session_id: uuid.UUID | None, facts: dict[str, Any], remove: Sequence[str]
    ) -> SessionRecord:
        """Merge ``facts`` into a session's context (a new session when ``session_id`` is None)."""
        # One function call: the row is locked, merged, measured and written in one transaction.
        row = await self._op(user, "pam_merge_context", p_session_id=session_id, p_facts=facts, p_remove=list(remove))
        found = None if row is None else {**_object(row), "context": plain_json(row["context"])}
        merged = merged_session(found, session_id)
        user.saved("the conversation context")  # only once the function says it stored it
        return merged

    async def insert_message(
        self, user: Caller, session_id: uuid.UUID, role: str, content: str, metadata: dict[str, Any]
    ) -> MessageRecord:
        row = await self._op(
            user, "pam_log_message", p_session_id=session_id, p_role=role, p_content=content, p_metadata=metadata
        )
        if row is None:
            raise NotFound(f"No session {session_id}.")
        message = MessageRecord.model_validate(_object(row))
        user.saved(f"the message {message.id}")
        return message

    async def recent_messages(self, user: Caller, session_id: uuid.UUID, limit: int) -> list[MessageRecord]:
        rows = await self._op(user, "pam_recent_messages", p_session_id=session_id, p_limit=limit)
        return [MessageRecord.model_validate(r) for r in _list(rows)]

    async def upcoming_events(self, user: Caller, after: dt.datetime, limit: int) -> list[CalendarRecord]:
        rows = await self._op(user, "pam_upcoming_events", p_after=after, p_limit=limit)
        return [CalendarRecord.model_validate(r) for r in _list(rows)]

    # -- guardrails ---------------------------------------------------------------------
    async def safety_level(self, user: Caller) -> SafetyLevel:
        level: SafetyLevel = await self._op(user, "pam_safety_level")
        return level

    async def guardrail_settings(self, user: Caller) -> tuple[SafetyLevel, str | None]:
        """The safety level and the profile's country code: one call."""
        row = _object(await self._op(user, "pam_guardrail_settings"))
        return row["level"], row["country"]

    async def set_safety_level(self, user: Caller, level: SafetyLevel) -> SafetyLevel:
        previous: SafetyLevel = await self._op(user, "pam_set_safety_level", p_level=level)
        user.saved("the safety level")
        return previous

    async def insert_safety_event(
        self, user: Caller, event_type: str, severity: str, details: dict[str, Any]
    ) -> uuid.UUID:
        event_id = await self._op(
            user, "pam_insert_safety_event", p_event_type=event_type, p_severity=severity, p_details=details
        )
        user.saved(f"the safety event {event_id}")
        return uuid.UUID(str(event_id))

    # -- get_context -----------------------------------------------------------------------
    async def context_snapshot(
        self, user: Caller, session_id: uuid.UUID | None, message_limit: int, *, now: dt.datetime | None = None
    ) -> ContextSnapshot:
        """get_context's nine reads for the person's current month: one call."""
        doc = await self._op(user, "pam_context", p_session_id=session_id, p_message_limit=message_limit, p_now=now)
        return context_snapshot(_noted(_object(doc)), session_id)

    # -- schema (for developers) ------------------------------------------------------------
    async def schema(self, user: Caller) -> list[TableInfo]:
        return [table_info(r) for r in _list(await self._op(user, "pam_schema"))]
