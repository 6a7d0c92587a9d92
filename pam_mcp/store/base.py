"""The store contract: what the tools may ask of the data, whichever database serves it.

Each method is one transaction acting as ``user`` under row level security; errors are
the project's own (``pam_mcp.errors``). A method that writes calls ``user.saved(...)`` as
soon as its transaction has committed, so a failure later in the same call is never
reported as "nothing was saved". ``StoreOperations`` (``operations.py``) implements it once
over one SQL function call; ``PostgresStore`` (``sql_store.py``) runs that call over a database
connection, ``RestStore`` (``rest_store.py``) through Supabase's REST API.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from pam_mcp.store.records import (
    CalendarRecord,
    ContextSnapshot,
    ExpenseGrouping,
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


@dataclass(frozen=True)
class Caller:
    """The person a call acts for, as the transport established it."""

    id: uuid.UUID
    # Their Supabase access token, when the transport carried one (HTTP bearer, or a stdio
    # sign-in); a store that speaks Supabase's REST API forwards it so RLS sees the same user.
    access_token: str | None = None
    # What this call has committed so far, noted by the store the moment each write's
    # transaction commits (e.g. "the expense 3f2c..."). A failure after that must not
    # claim "nothing was saved"; one Caller is made per call, so this is per call.
    committed: list[str] = field(default_factory=list, compare=False, repr=False)

    def saved(self, what: str) -> None:
        """Note that ``what`` is now committed (called by the store, after COMMIT succeeded)."""
        self.committed.append(what)


class Store(Protocol):
    """Each method is one call of one SQL function (``public.pam_<name>``), so one transaction.

    A dated operation takes ``now`` (the caller's clock; None: the database's) and works out the
    person's "today" in SQL from their profile's time zone, with no separate lookup.
    """

    async def call(self, user: Caller, operation: str, *, saved: str | None = None, **args: Any) -> Any:
        """A capability's own operation, ``public.<operation>(p_... = ...)``, as the person: its
        JSON result (money as Decimal). ``saved``: what a successful call wrote, for the person
        ("the fill-up"); None for a read. Adding a tool needs no new method here."""
        ...

    async def insert_trip(self, user: Caller, trip: NewTrip) -> TripBrief: ...
    async def get_trip(self, user: Caller, trip_id: uuid.UUID) -> TripDetail: ...
    async def recent_trips(self, user: Caller, limit: int) -> list[TripBrief]: ...
    async def record_saving(
        self, user: Caller, amount: Decimal, category: str, description: str, saved_on: dt.date | None,
        client_ref: str | None, *, now: dt.datetime | None = None,
    ) -> SavingOutcome: ...  # fmt: skip
    async def month_savings(
        self, user: Caller, month: dt.date, *, event_limit: int, now: dt.datetime | None = None
    ) -> SavingsMonth: ...
    async def insert_expense(self, user: Caller, expense: NewExpense) -> tuple[ExpenseRecord, bool]: ...
    async def log_expense(
        self, user: Caller, expense: NewExpense, *, now: dt.datetime | None = None
    ) -> LoggedExpense: ...  # the insert and its month's total for its category
    async def expense_page(
        self, user: Caller, start: dt.date, end: dt.date, categories: Sequence[str] | None,
        after: tuple[dt.date, uuid.UUID] | None, limit: int,
    ) -> list[ExpenseRecord]: ...  # fmt: skip
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
    ) -> ExpenseReport: ...  # fmt: skip; page=(after, limit): also a page of items, as expense_page
    async def profile(self, user: Caller) -> ProfileRecord | None: ...
    async def timezone(self, user: Caller) -> str | None: ...
    async def session(self, user: Caller, session_id: uuid.UUID) -> SessionRecord: ...
    async def latest_session(self, user: Caller) -> SessionRecord | None: ...
    async def merge_context(
        self, user: Caller, session_id: uuid.UUID | None, facts: dict[str, Any], remove: Sequence[str]
    ) -> SessionRecord: ...
    async def insert_message(
        self, user: Caller, session_id: uuid.UUID, role: str, content: str, metadata: dict[str, Any]
    ) -> MessageRecord: ...
    async def recent_messages(self, user: Caller, session_id: uuid.UUID, limit: int) -> list[MessageRecord]: ...
    async def upcoming_events(self, user: Caller, after: dt.datetime, limit: int) -> list[CalendarRecord]: ...
    async def safety_level(self, user: Caller) -> SafetyLevel: ...
    async def guardrail_settings(self, user: Caller) -> tuple[SafetyLevel, str | None]: ...  # level, country
    async def set_safety_level(self, user: Caller, level: SafetyLevel) -> SafetyLevel: ...
    async def insert_safety_event(
        self, user: Caller, event_type: str, severity: str, details: dict[str, Any]
    ) -> uuid.UUID: ...
    async def context_snapshot(
        self, user: Caller, session_id: uuid.UUID | None, message_limit: int, *, now: dt.datetime | None = None
    ) -> ContextSnapshot: ...
    async def schema(self, user: Caller) -> list[TableInfo]: ...
