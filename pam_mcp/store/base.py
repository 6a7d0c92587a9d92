"""The store contract: what the tools may ask of the data, whichever database serves it.

Each method is one transaction acting as ``user`` under row level security; errors are
the project's own (``pam_mcp.errors``). ``PostgresStore`` is the implementation over a
database connection; a Supabase REST implementation can stand in its place.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from pam_mcp.store.records import (
    CalendarRecord,
    ExpenseGrouping,
    ExpenseGroupRow,
    ExpenseRecord,
    MessageRecord,
    NewExpense,
    NewTrip,
    ProfileRecord,
    SafetyLevel,
    SavingEvent,
    SavingOutcome,
    SessionRecord,
    TableInfo,
    TripRecord,
)


class Store(Protocol):
    async def insert_trip(self, user: uuid.UUID, trip: NewTrip) -> TripRecord: ...
    async def get_trip(self, user: uuid.UUID, trip_id: uuid.UUID) -> TripRecord: ...
    async def recent_trips(self, user: uuid.UUID, limit: int) -> list[TripRecord]: ...
    async def record_saving(
        self, user: uuid.UUID, amount: Decimal, category: str, description: str, saved_on: dt.date,
        client_ref: str | None,
    ) -> SavingOutcome: ...  # fmt: skip
    async def month_savings(
        self, user: uuid.UUID, month: dt.date, *, event_limit: int
    ) -> tuple[Decimal, list[SavingEvent]]: ...
    async def insert_expense(self, user: uuid.UUID, expense: NewExpense) -> tuple[ExpenseRecord, bool]: ...
    async def expense_groups(
        self, user: uuid.UUID, start: dt.date, end: dt.date, categories: Sequence[str] | None,
        group_by: ExpenseGrouping,
    ) -> list[ExpenseGroupRow]: ...  # fmt: skip
    async def expense_page(
        self, user: uuid.UUID, start: dt.date, end: dt.date, categories: Sequence[str] | None,
        after: tuple[dt.date, uuid.UUID] | None, limit: int,
    ) -> list[ExpenseRecord]: ...  # fmt: skip
    async def budgets(self, user: uuid.UUID) -> dict[str, Decimal]: ...
    async def profile(self, user: uuid.UUID) -> ProfileRecord | None: ...
    async def session(self, user: uuid.UUID, session_id: uuid.UUID) -> SessionRecord: ...
    async def latest_session(self, user: uuid.UUID) -> SessionRecord | None: ...
    async def merge_context(
        self, user: uuid.UUID, session_id: uuid.UUID | None, facts: dict[str, Any], remove: Sequence[str]
    ) -> SessionRecord: ...
    async def insert_message(
        self, user: uuid.UUID, session_id: uuid.UUID, role: str, content: str, metadata: dict[str, Any]
    ) -> MessageRecord: ...
    async def recent_messages(self, user: uuid.UUID, session_id: uuid.UUID, limit: int) -> list[MessageRecord]: ...
    async def upcoming_events(self, user: uuid.UUID, after: dt.datetime, limit: int) -> list[CalendarRecord]: ...
    async def safety_level(self, user: uuid.UUID) -> SafetyLevel: ...
    async def set_safety_level(self, user: uuid.UUID, level: SafetyLevel) -> SafetyLevel: ...
    async def insert_safety_event(
        self, user: uuid.UUID, event_type: str, severity: str, details: dict[str, Any]
    ) -> uuid.UUID: ...
    async def schema(self, user: uuid.UUID) -> list[TableInfo]: ...
