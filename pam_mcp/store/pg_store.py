"""The Postgres store: PAM's reads and writes as SQL, each call one transaction as the user.

Every method takes the caller's id (from the transport, never from a tool argument) and
runs inside ``Database.as_user``, so row level security scopes every statement. Queries
still name ``user_id = $1`` where it lets the planner use the (user_id, date) indexes;
RLS is what enforces it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

import anyio.to_thread

from pam_mcp.errors import NotFound
from pam_mcp.store.base import Caller
from pam_mcp.store.postgres import Database, UserTx
from pam_mcp.store.records import (
    CalendarRecord,
    ContextSnapshot,
    ExpenseGrouping,
    ExpenseGroupRow,
    ExpenseRecord,
    ExpenseReport,
    MessageRecord,
    NewExpense,
    NewTrip,
    ProfileRecord,
    SafetyLevel,
    SavingEvent,
    SavingOutcome,
    SessionRecord,
    TableInfo,
    TripBrief,
    TripDetail,
    month_bounds,
)
from pam_mcp.store.supabase_functions import MAX_CONTEXT_BYTES, context_snapshot, merged_session, table_info

_EXPENSE_COLUMNS = "id, amount, category, description, spent_on, trip_id"


_SLICE = 250  # list items per json.dumps call: each call holds the GIL for well under a millisecond


def _json_text(items: list[Any]) -> str:
    """JSON text of a long list, encoded ``_SLICE`` items at a time (the GIL is free between)."""
    parts = (json.dumps(items[i : i + _SLICE])[1:-1] for i in range(0, len(items), _SLICE))
    return "[" + ",".join(parts) + "]"


def _dict(row: Any) -> dict[str, Any]:
    return dict(row.items())


class PostgresStore:
    """PAM's data operations over one PostgreSQL (or Supabase) database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def reading_zone_first(self, user: Caller) -> AbstractAsyncContextManager[None]:
        """In this block, the time-zone read and the store call after it share one transaction."""
        return self.db.handing_over(user.id)

    # -- trips --------------------------------------------------------------------------
    async def insert_trip(self, user: Caller, trip: NewTrip) -> TripBrief:
        # A long route (up to 2 MB of JSON) is encoded in a worker thread, a slice at a time, so
        # no single step holds the event loop; it is passed as text. Returns a brief: reading
        # the route back would only be thrown away.
        route = await anyio.to_thread.run_sync(_json_text, trip.route) if len(trip.route) > _SLICE else trip.route
        async with self.db.as_user(user.id) as tx:
            row = await tx.fetchrow(
                "insert into public.trips (title, started_at, ended_at, route, stops, notes, distance_km)"
                " values ($1, $2, $3, $4::text::jsonb, $5, $6, $7)"
                " returning id, title, started_at, ended_at, distance_km,"
                " jsonb_array_length(stops) as stop_count, jsonb_array_length(route) as route_points",
                trip.title,
                trip.started_at,
                trip.ended_at,
                route if isinstance(route, str) else json.dumps(route),
                trip.stops,
                trip.notes,
                trip.distance_km,
            )
        user.saved("the trip" if row is None else f"the trip {row['id']}")
        return TripBrief.model_validate(_dict(row))

    async def get_trip(self, user: Caller, trip_id: uuid.UUID) -> TripDetail:
        async with self.db.as_user(user.id) as tx:
            row = await tx.fetchrow(
                "select id, title, started_at, ended_at, distance_km, stop_count, route_points, notes, stops"
                " from public.trip_detail($1)",
                trip_id,
            )
        if row is None:
            raise NotFound(f"No trip {trip_id}.")
        return TripDetail.model_validate(_dict(row))

    async def recent_trips(self, user: Caller, limit: int) -> list[TripBrief]:
        # Counted in SQL: a list of trips never carries their routes (up to 2 MB each).
        async with self.db.as_user(user.id) as tx:
            rows = await tx.fetch(
                "select id, title, started_at, ended_at, distance_km, stop_count, route_points"
                " from public.recent_trips($1)",
                limit,
            )
        return [TripBrief.model_validate(_dict(r)) for r in rows]

    # -- savings ------------------------------------------------------------------------
    async def record_saving(
        self,
        user: Caller,
        amount: Decimal,
        category: str,
        description: str,
        saved_on: dt.date,
        client_ref: str | None,
    ) -> SavingOutcome:
        # One function call: the event and the month's total change together or not at all.
        async with self.db.as_user(user.id) as tx:
            row = await tx.fetchrow(
                "select event_id, month, month_total, duplicate from public.record_saving($1, $2, $3, $4, $5)",
                amount,
                category,
                description,
                saved_on,
                client_ref,
            )
        user.saved("the saving" if row is None else f"the saving {row['event_id']}")
        return SavingOutcome.model_validate(_dict(row))

    async def month_savings(
        self, user: Caller, month: dt.date, *, event_limit: int
    ) -> tuple[Decimal, list[SavingEvent]]:
        async with self.db.as_user(user.id) as tx:
            total = await tx.fetchval(
                "select total_saved from public.pam_savings where user_id = $1 and month = $2", user.id, month
            )
            rows = await tx.fetch(
                "select id, amount, category, description, saved_on from public.pam_savings_events"
                " where user_id = $1 and saved_on >= $2 and saved_on < ($2 + interval '1 month')"
                " order by saved_on desc, created_at desc limit $3",
                user.id,
                month,
                event_limit,
            )
        return (total or Decimal("0.00")), [SavingEvent.model_validate(_dict(r)) for r in rows]

    # -- expenses -----------------------------------------------------------------------
    async def insert_expense(self, user: Caller, expense: NewExpense) -> tuple[ExpenseRecord, bool]:
        """Insert; with a client_ref seen before, return the earlier expense and ``True``."""
        async with self.db.as_user(user.id) as tx:
            record, duplicate = await self._insert_expense(tx, user, expense)
        user.saved(f"the expense {record.id}")
        return record, duplicate

    async def log_expense(self, user: Caller, expense: NewExpense) -> tuple[ExpenseRecord, bool, ExpenseReport]:
        """Insert (as ``insert_expense``) and report its month for its category: one transaction."""
        async with self.db.as_user(user.id) as tx:
            record, duplicate = await self._insert_expense(tx, user, expense)
            start, end = month_bounds(record.spent_on)
            report = await self._report(tx, user, start, end, [record.category], "none")
        user.saved(f"the expense {record.id}")
        return record, duplicate, report

    async def _insert_expense(self, tx: UserTx, user: Caller, expense: NewExpense) -> tuple[ExpenseRecord, bool]:
        row = await tx.fetchrow(
            f"insert into public.expenses (amount, category, description, spent_on, trip_id, client_ref)"
            f" values ($1, $2, $3, $4, $5, $6) on conflict (user_id, client_ref) do nothing"
            f" returning {_EXPENSE_COLUMNS}",
            expense.amount,
            expense.category,
            expense.description,
            expense.spent_on,
            expense.trip_id,
            expense.client_ref,
        )
        duplicate = row is None
        if row is None:
            row = await tx.fetchrow(
                f"select {_EXPENSE_COLUMNS} from public.expenses where user_id = $1 and client_ref = $2",
                user.id,
                expense.client_ref,
            )
        return ExpenseRecord.model_validate(_dict(row)), duplicate

    async def expense_groups(
        self,
        user: Caller,
        start: dt.date,
        end: dt.date,
        categories: Sequence[str] | None,
        group_by: ExpenseGrouping,
    ) -> list[ExpenseGroupRow]:
        # One function call (migrations/..._store_functions.sql), shared with the REST store.
        async with self.db.as_user(user.id) as tx:
            rows = await tx.fetch(
                "select key, total, count from public.expense_summary($1, $2, $3, $4)",
                start,
                end,
                list(categories) if categories else None,
                group_by,
            )
        return [ExpenseGroupRow.model_validate(_dict(r)) for r in rows if r["count"] or group_by == "none"]

    async def expense_report(
        self,
        user: Caller,
        start: dt.date,
        end: dt.date,
        categories: Sequence[str] | None,
        group_by: ExpenseGrouping,
        *,
        page: tuple[tuple[dt.date, uuid.UUID] | None, int] | None = None,
    ) -> ExpenseReport:
        """The groups, the budgets and (when a budget needs them) the category totals: one statement;
        with ``page`` (after, limit), a page of items too, in the same transaction."""
        async with self.db.as_user(user.id) as tx:
            report = await self._report(tx, user, start, end, categories, group_by)
            if page is not None:
                items = await self._page(tx, user, start, end, categories, *page)
                report = report.model_copy(update={"items": items})
        return report

    async def _report(
        self,
        tx: UserTx,
        user: Caller,
        start: dt.date,
        end: dt.date,
        categories: Sequence[str] | None,
        group_by: ExpenseGrouping,
    ) -> ExpenseReport:
        # Part 2 runs only when the groups are not already by category and some budget covers a
        # category asked for; the planner checks that once, before calling the function.
        rows = await tx.fetch(
            "select 0 as part, g.key, g.total, g.count from public.expense_summary($1, $2, $3, $4) as g"
            " union all"
            " select 1, b.category, b.monthly_limit, null from public.budgets as b where b.user_id = $5"
            " union all"
            " select 2, c.key, c.total, c.count from public.expense_summary($1, $2, $3, 'category') as c"
            " where $4 <> 'category' and exists (select 1 from public.budgets as b where b.user_id = $5"
            " and ($3::text[] is null or b.category = any ($3::text[])))"
            " order by part, key",
            start,
            end,
            list(categories) if categories else None,
            group_by,
            user.id,
        )
        wanted = [r for r in rows if r["part"] == 0 and (r["count"] or group_by == "none")]
        groups = [ExpenseGroupRow.model_validate(_dict(r)) for r in wanted]
        by_category = [ExpenseGroupRow.model_validate(_dict(r)) for r in rows if r["part"] == 2 and r["count"]]
        return ExpenseReport(
            groups=groups,
            budgets={r["key"]: r["total"] for r in rows if r["part"] == 1},
            by_category=groups if group_by == "category" else by_category,
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
        async with self.db.as_user(user.id) as tx:
            return await self._page(tx, user, start, end, categories, after, limit)

    async def _page(
        self,
        tx: UserTx,
        user: Caller,
        start: dt.date,
        end: dt.date,
        categories: Sequence[str] | None,
        after: tuple[dt.date, uuid.UUID] | None,
        limit: int,
    ) -> list[ExpenseRecord]:
        rows = await tx.fetch(
            f"select {_EXPENSE_COLUMNS} from public.expenses where user_id = $1"
            " and spent_on between $2 and $3 and ($4::text[] is null or category = any($4))"
            " and ($5::date is null or (spent_on, id) < ($5, $6::uuid))"
            " order by spent_on desc, id desc limit $7",
            user.id,
            start,
            end,
            list(categories) if categories else None,
            after[0] if after else None,
            after[1] if after else None,
            limit,
        )
        return [ExpenseRecord.model_validate(_dict(r)) for r in rows]

    # -- profile, sessions, messages, calendar ----------------------------------------------
    async def timezone(self, user: Caller) -> str | None:
        # Handed over (inside reading_zone_first): the call that needed the zone continues this transaction.
        async with self.db.as_user(user.id, hand_over=True) as tx:
            zone = await tx.fetchval("select timezone from public.profiles where id = $1", user.id)
        return None if zone is None else str(zone)

    async def profile(self, user: Caller) -> ProfileRecord | None:
        async with self.db.as_user(user.id) as tx:
            row = await tx.fetchrow(
                "select display_name, country_code, timezone, currency, home_base, rv_type, rv_length_m,"
                " preferences from public.profiles where id = $1",
                user.id,
            )
        return None if row is None else ProfileRecord.model_validate(_dict(row))

    async def session(self, user: Caller, session_id: uuid.UUID) -> SessionRecord:
        async with self.db.as_user(user.id) as tx:
            row = await tx.fetchrow("select id, context, updated_at from public.pam_sessions where id = $1", session_id)
        if row is None:
            raise NotFound(f"No session {session_id}.")
        return SessionRecord.model_validate(_dict(row))

    async def latest_session(self, user: Caller) -> SessionRecord | None:
        async with self.db.as_user(user.id) as tx:
            row = await tx.fetchrow(
                "select id, context, updated_at from public.pam_sessions where user_id = $1"
                " order by updated_at desc limit 1",
                user.id,
            )
        return None if row is None else SessionRecord.model_validate(_dict(row))

    async def merge_context(
        self, user: Caller, session_id: uuid.UUID | None, facts: dict[str, Any], remove: Sequence[str]
    ) -> SessionRecord:
        """Merge ``facts`` into a session's context (a new session when ``session_id`` is None)."""
        # One function call: the row is locked, merged, measured and written in one transaction.
        async with self.db.as_user(user.id) as tx:
            row = await tx.fetchrow(
                "select id, context, updated_at, size_bytes, stored from public.merge_session_context($1, $2, $3, $4)",
                session_id,
                facts,
                list(remove),
                MAX_CONTEXT_BYTES,
            )
        merged = merged_session(None if row is None else _dict(row), session_id)
        user.saved("the conversation context")  # only once the function says it stored it
        return merged

    async def insert_message(
        self, user: Caller, session_id: uuid.UUID, role: str, content: str, metadata: dict[str, Any]
    ) -> MessageRecord:
        async with self.db.as_user(user.id) as tx:
            row = await tx.fetchrow(
                "select id, session_id, role, content, created_at from public.log_pam_message($1, $2, $3, $4)",
                session_id,
                role,
                content,
                metadata,
            )
        if row is None:
            raise NotFound(f"No session {session_id}.")
        user.saved(f"the message {row['id']}")
        return MessageRecord.model_validate(_dict(row))

    async def recent_messages(self, user: Caller, session_id: uuid.UUID, limit: int) -> list[MessageRecord]:
        async with self.db.as_user(user.id) as tx:
            rows = await tx.fetch(
                "select id, session_id, role, content, created_at from public.pam_messages"
                " where user_id = $1 and session_id = $2 order by created_at desc, id desc limit $3",
                user.id,
                session_id,
                limit,
            )
        return [MessageRecord.model_validate(_dict(r)) for r in reversed(rows)]

    async def upcoming_events(self, user: Caller, after: dt.datetime, limit: int) -> list[CalendarRecord]:
        async with self.db.as_user(user.id) as tx:
            rows = await tx.fetch(
                "select id, title, starts_at, ends_at, all_day, location from public.calendar_events"
                " where user_id = $1 and coalesce(ends_at, starts_at) >= $2 order by starts_at limit $3",
                user.id,
                after,
                limit,
            )
        return [CalendarRecord.model_validate(_dict(r)) for r in rows]

    # -- guardrails ---------------------------------------------------------------------
    async def safety_level(self, user: Caller) -> SafetyLevel:
        async with self.db.as_user(user.id) as tx:
            level = await tx.fetchval(
                "select safety_level::text from public.pam_guardrails_config where user_id = $1", user.id
            )
        return level or "medium"

    async def guardrail_settings(self, user: Caller) -> tuple[SafetyLevel, str | None]:
        """The safety level and the profile's country code: one statement."""
        async with self.db.as_user(user.id) as tx:
            row = await tx.fetchrow(
                "select (select safety_level::text from public.pam_guardrails_config where user_id = $1) as level,"
                " (select country_code from public.profiles where id = $1) as country",
                user.id,
            )
        assert row is not None  # a select without from returns its one row
        return row["level"] or "medium", row["country"]

    async def set_safety_level(self, user: Caller, level: SafetyLevel) -> SafetyLevel:
        async with self.db.as_user(user.id) as tx:
            previous = await tx.fetchval("select public.set_safety_level($1)", level)
        user.saved("the safety level")
        return previous or "medium"

    async def insert_safety_event(
        self, user: Caller, event_type: str, severity: str, details: dict[str, Any]
    ) -> uuid.UUID:
        async with self.db.as_user(user.id) as tx:
            event_id = await tx.fetchval(
                "insert into public.safety_events (event_type, severity, details) values ($1, $2, $3) returning id",
                event_type,
                severity,
                details,
            )
        user.saved(f"the safety event {event_id}")
        return uuid.UUID(str(event_id))

    # -- get_context -----------------------------------------------------------------------
    async def context_snapshot(
        self,
        user: Caller,
        session_id: uuid.UUID | None,
        message_limit: int,
        month_start: dt.date,
        month_end: dt.date,
        now: dt.datetime,
    ) -> ContextSnapshot:
        # One function call, one statement: get_context's nine reads in one round trip. Read as
        # text so money keeps its digits (the jsonb codec would turn numbers into floats).
        async with self.db.as_user(user.id) as tx:
            text = await tx.fetchval(
                "select public.context_snapshot($1, $2, $3, $4, $5)::text",
                session_id,
                message_limit,
                month_start,
                month_end,
                now,
            )
        return context_snapshot(json.loads(text, parse_float=Decimal), session_id)

    # -- schema (for developers) ------------------------------------------------------------
    async def schema(self, user: Caller) -> list[TableInfo]:
        # pg_catalog is readable by every role, so this needs no owner access.
        async with self.db.as_user(user.id) as tx:
            rows = await tx.fetch("select name, comment, columns from public.describe_schema()")
        return [table_info(_dict(r)) for r in rows]
