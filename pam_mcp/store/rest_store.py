"""The Supabase REST store: PAM's reads and writes as PostgREST requests, each as the caller.

Chosen when ``SUPABASE_URL`` is set and ``DATABASE_URL`` is not. Every request carries the
project's anon key as ``apikey`` and the caller's own access token as the bearer (the HTTP
caller's token, or the stdio user's signed-in session), so PostgREST runs it as that user
and the same row level security policies decide as for the Postgres store. The
service-role key never reaches this module.

Requests are built with ``postgrest`` (the Supabase Python client's PostgREST package),
one light client per call over one shared HTTP connection pool, so concurrent callers'
tokens can never mix (the ``supabase`` client keeps one auth state per client, which
would race between HTTP users). Responses are read here rather than by postgrest's
``execute()``: money must keep its exact digits (PostgREST sends ``6.20``; a float would
give ``6.2``), an error's HTTP status decides its meaning (42501 is "sign in again" as
401, "not yours" as 403), and a failed call must fail at once instead of retrying with
sleeps. Multi-statement operations are the SQL functions the Postgres store calls too
(``migrations/20261121001600_store_functions.sql``), each one request and one transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
from postgrest import AsyncPostgrestClient
from postgrest.base_request_builder import RequestConfig
from postgrest.constants import DEFAULT_POSTGREST_CLIENT_HEADERS
from pydantic_core import to_jsonable_python

from pam_mcp.errors import (
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    PamError,
)
from pam_mcp.store.base import Caller
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
from pam_mcp.store.supabase_functions import (
    MAX_CONTEXT_BYTES,
    context_snapshot,
    merged_session,
    plain_json,
    table_info,
)
from pam_mcp.store.supabase_session import SIGN_IN_AGAIN, UNREACHABLE, SupabaseSession
from pam_mcp.store.translate import missing_reference

log = logging.getLogger(__name__)

_TRIP_BRIEF_COLUMNS = "id,title,started_at,ended_at,distance_km"
_EXPENSE_COLUMNS = "id,amount,category,description,spent_on,trip_id"
_PROFILE_COLUMNS = "display_name,country_code,timezone,currency,home_base,rv_type,rv_length_m,preferences"
_MISSING_SCHEMA = {"PGRST202", "PGRST204", "PGRST205", "42883", "42P01", "42703"}
_JWT_CODES = {"PGRST300", "PGRST301", "PGRST302", "PGRST303"}
_UNAVAILABLE_CODES = {"PGRST000", "PGRST001", "PGRST002", "PGRST003"}

Row = dict[str, Any]
_CONSTRAINT = re.compile(r'constraint "([^"]+)"')


def rest_error(status: int, payload: Any) -> PamError:
    """A PostgREST (or gateway) error response, as the error a caller may see.

    Mirrors ``pam_mcp.store.translate`` for the SQLSTATE PostgREST passes on, so both stores
    say the same thing for the same refusal. Nothing of the response text is passed on.
    """
    body = payload if isinstance(payload, dict) else {}
    code = str(body.get("code") or "")
    log.debug("PostgREST error %s %s: %s", status, code, body.get("message"))
    if status == 401 and not code and "api key" in str(body.get("message", "")).lower():
        return ConfigurationError("Supabase refused the API key; check SUPABASE_ANON_KEY.")
    if status == 401 or code in _JWT_CODES:
        return Forbidden(SIGN_IN_AGAIN)
    if code in _UNAVAILABLE_CODES or code[:2] in ("08", "53", "57") or (status >= 500 and not code[:2].isdigit()):
        return DatabaseUnavailable(UNREACHABLE)
    if code == "42501":
        return Forbidden("That is not yours to change.")
    if code == "23505":
        return Conflict("That already exists.")
    if code == "23503":
        # PostgREST passes PostgreSQL's message on: '... violates foreign key constraint "name"'.
        named = _CONSTRAINT.search(str(body.get("message") or ""))
        return missing_reference(named.group(1) if named else None)
    if code[:2] in ("22", "23"):
        return InvalidInput("The values given break a rule of the data (out of range, missing or malformed).")
    if code == "P0001":
        return InvalidInput("The request was refused by a rule of the data.")
    if code in _MISSING_SCHEMA:
        return ConfigurationError(
            "The Supabase project lacks part of pam-mcp's schema; apply the migrations "
            "(pam-mcp migrate, or supabase db push)."
        )
    if status >= 500:
        return DatabaseUnavailable(UNREACHABLE)
    return PamError("The database could not complete the request; nothing was saved.")


def _with_documents(row: Row, *fields: str) -> Row:
    return {**row, **{f: plain_json(row[f]) for f in fields if f in row}}


def _next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


class RestStore:
    """PAM's data operations over a Supabase project's REST API (PostgREST), as each caller."""

    def __init__(
        self,
        *,
        supabase_url: str,
        anon_key: str,
        http: httpx.AsyncClient,
        session: SupabaseSession | None = None,
    ) -> None:
        self._rest_url = f"{supabase_url.rstrip('/')}/rest/v1"
        self._anon_key = anon_key
        self._http = http
        self._session = session

    # -- the wire -----------------------------------------------------------------------
    async def _client(self, user: Caller) -> AsyncPostgrestClient:
        """A light client whose every request carries this caller's token (no shared auth state)."""
        if user.access_token:
            token = user.access_token
        elif self._session is not None:
            token = await self._session.access_token()
            if self._session.user_id != user.id:
                raise Forbidden(SIGN_IN_AGAIN)
        else:
            raise Forbidden(SIGN_IN_AGAIN)
        headers = {**DEFAULT_POSTGREST_CLIENT_HEADERS, "apikey": self._anon_key, "Authorization": f"Bearer {token}"}
        return AsyncPostgrestClient(self._rest_url, headers=headers, http_client=self._http, retry_enabled=False)

    async def _send(self, request: RequestConfig[httpx.AsyncClient]) -> Any:
        try:
            response = await request.send(httpx.Headers())
        except httpx.HTTPError as exc:
            log.debug("Supabase request failed: %s", type(exc).__name__)
            # Never connected, or only a read: nothing can have been written. Otherwise the
            # request may have reached PostgREST and committed before the answer was lost.
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or request.http_method in ("GET", "HEAD"):
                raise DatabaseUnavailable(UNREACHABLE) from None
            raise OutcomeUnknown() from None
        try:
            payload = json.loads(response.content, parse_float=Decimal) if response.content else None
        except ValueError:
            payload = None
        if not response.is_success:
            raise rest_error(response.status_code, payload)
        return payload

    async def _rows(self, request: RequestConfig[httpx.AsyncClient]) -> list[Row]:
        payload = await self._send(request)
        if not isinstance(payload, list):
            raise PamError("The database could not complete the request; nothing was saved.")
        return payload

    async def _rpc(self, user: Caller, function: str, args: dict[str, Any]) -> Any:
        client = await self._client(user)
        return await self._send(client.rpc(function, to_jsonable_python(args)).request)

    # -- trips --------------------------------------------------------------------------
    @asynccontextmanager
    async def reading_zone_first(self, user: Caller) -> AsyncIterator[None]:
        """Nothing to share: each PostgREST request is its own transaction."""
        yield

    async def insert_trip(self, user: Caller, trip: NewTrip) -> TripBrief:
        # Returns a brief: reading a route of up to 2 MB back would only be thrown away.
        client = await self._client(user)
        body = to_jsonable_python(trip.model_dump())
        rows = await self._rows(client.from_("trips").insert(body).select(_TRIP_BRIEF_COLUMNS).request)
        user.saved(f"the trip {rows[0]['id'] if rows else ''}".rstrip())
        return TripBrief.model_validate(rows[0] | {"stop_count": len(trip.stops), "route_points": len(trip.route)})

    async def get_trip(self, user: Caller, trip_id: uuid.UUID) -> TripDetail:
        rows = await self._rpc(user, "trip_detail", {"p_trip_id": trip_id})
        if not rows:
            raise NotFound(f"No trip {trip_id}.")
        return TripDetail.model_validate(_with_documents(rows[0], "stops"))

    async def recent_trips(self, user: Caller, limit: int) -> list[TripBrief]:
        # Counted in SQL: a list of trips never carries their routes (up to 2 MB each).
        rows = await self._rpc(user, "recent_trips", {"p_limit": limit})
        return [TripBrief.model_validate(r) for r in rows]

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
        rows = await self._rpc(
            user,
            "record_saving",
            {
                "p_amount": amount,
                "p_category": category,
                "p_description": description,
                "p_saved_on": saved_on,
                "p_client_ref": client_ref,
            },
        )
        user.saved(f"the saving {rows[0]['event_id'] if rows else ''}".rstrip())
        return SavingOutcome.model_validate(rows[0])

    async def month_savings(
        self, user: Caller, month: dt.date, *, event_limit: int
    ) -> tuple[Decimal, list[SavingEvent]]:
        client = await self._client(user)
        totals = await self._rows(
            client.from_("pam_savings")
            .select("total_saved")
            .eq("user_id", str(user.id))
            .eq("month", month.isoformat())
            .request
        )
        total: Decimal = totals[0]["total_saved"] if totals else Decimal("0.00")
        if event_limit <= 0:  # get_context asks for the total only: save the round trip
            return total, []
        events = await self._rows(
            client.from_("pam_savings_events")
            .select("id,amount,category,description,saved_on")
            .eq("user_id", str(user.id))
            .gte("saved_on", month.isoformat())
            .lt("saved_on", _next_month(month).isoformat())
            .order("saved_on", desc=True)
            .order("created_at", desc=True)
            .limit(event_limit)
            .request
        )
        return total, [SavingEvent.model_validate(r) for r in events]

    # -- expenses -----------------------------------------------------------------------
    async def insert_expense(self, user: Caller, expense: NewExpense) -> tuple[ExpenseRecord, bool]:
        """Insert; with a client_ref seen before, return the earlier expense and ``True``."""
        client = await self._client(user)
        body = to_jsonable_python(expense.model_dump())
        table = client.from_("expenses")
        if expense.client_ref is None:
            insert = table.insert(body)
        else:
            insert = table.upsert(body, on_conflict="user_id,client_ref", ignore_duplicates=True)
        rows = await self._rows(insert.select(_EXPENSE_COLUMNS).request)
        user.saved(f"the expense {rows[0]['id']}" if rows else "the expense")
        if rows:
            return ExpenseRecord.model_validate(rows[0]), False
        earlier = await self._rows(
            client.from_("expenses")
            .select(_EXPENSE_COLUMNS)
            .eq("user_id", str(user.id))
            .eq("client_ref", str(expense.client_ref))
            .request
        )
        return ExpenseRecord.model_validate(earlier[0]), True

    async def log_expense(self, user: Caller, expense: NewExpense) -> tuple[ExpenseRecord, bool, ExpenseReport]:
        """Insert, then report its month for its category (PostgREST has no multi-request transaction)."""
        record, duplicate = await self.insert_expense(user, expense)
        start, end = month_bounds(record.spent_on)
        return record, duplicate, await self.expense_report(user, start, end, [record.category], "none")

    async def expense_groups(
        self,
        user: Caller,
        start: dt.date,
        end: dt.date,
        categories: Sequence[str] | None,
        group_by: ExpenseGrouping,
    ) -> list[ExpenseGroupRow]:
        rows = await self._rpc(
            user,
            "expense_summary",
            {
                "p_start": start,
                "p_end": end,
                "p_categories": list(categories) if categories else None,
                "p_group_by": group_by,
            },
        )
        return [ExpenseGroupRow.model_validate(r) for r in rows if r["count"] or group_by == "none"]

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
        """The groups and the budgets as two requests in flight together; category totals only when needed.

        With ``page`` (after, limit), the page of items is a third request in flight with them.
        """
        if page is not None:
            report, items = await asyncio.gather(
                self.expense_report(user, start, end, categories, group_by),
                self.expense_page(user, start, end, categories, *page),
                return_exceptions=True,
            )
            if isinstance(report, BaseException):
                raise report
            if isinstance(items, BaseException):
                raise items
            return report.model_copy(update={"items": items})
        # Both outcomes are collected before either error is raised: no request is left unawaited.
        groups, budgets = await asyncio.gather(
            self.expense_groups(user, start, end, categories, group_by), self.budgets(user), return_exceptions=True
        )
        if isinstance(groups, BaseException):
            raise groups
        if isinstance(budgets, BaseException):
            raise budgets
        by_category = groups
        if group_by != "category":
            needed = any(c in categories for c in budgets) if categories else bool(budgets)
            by_category = await self.expense_groups(user, start, end, categories, "category") if needed else []
        return ExpenseReport(groups=groups, budgets=budgets, by_category=by_category)

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
        client = await self._client(user)
        query = (
            client.from_("expenses")
            .select(_EXPENSE_COLUMNS)
            .eq("user_id", str(user.id))
            .gte("spent_on", start.isoformat())
            .lte("spent_on", end.isoformat())
        )
        if categories:
            query = query.in_("category", list(categories))
        if after is not None:
            # (spent_on, id) < (day, id), spelt as PostgREST's logic tree.
            day, last = after[0].isoformat(), str(after[1])
            query = query.or_(f"spent_on.lt.{day},and(spent_on.eq.{day},id.lt.{last})")
        query = query.order("spent_on", desc=True).order("id", desc=True).limit(limit)
        return [ExpenseRecord.model_validate(r) for r in await self._rows(query.request)]

    async def budgets(self, user: Caller) -> dict[str, Decimal]:
        client = await self._client(user)
        rows = await self._rows(
            client.from_("budgets").select("category,monthly_limit").eq("user_id", str(user.id)).request
        )
        return {r["category"]: r["monthly_limit"] for r in rows}

    # -- profile, sessions, messages, calendar ----------------------------------------------
    async def profile(self, user: Caller) -> ProfileRecord | None:
        client = await self._client(user)
        rows = await self._rows(client.from_("profiles").select(_PROFILE_COLUMNS).eq("id", str(user.id)).request)
        return ProfileRecord.model_validate(_with_documents(rows[0], "preferences")) if rows else None

    async def timezone(self, user: Caller) -> str | None:
        client = await self._client(user)
        rows = await self._rows(client.from_("profiles").select("timezone").eq("id", str(user.id)).request)
        return str(rows[0]["timezone"]) if rows and rows[0].get("timezone") else None

    async def session(self, user: Caller, session_id: uuid.UUID) -> SessionRecord:
        client = await self._client(user)
        rows = await self._rows(
            client.from_("pam_sessions").select("id,context,updated_at").eq("id", str(session_id)).request
        )
        if not rows:
            raise NotFound(f"No session {session_id}.")
        return SessionRecord.model_validate(_with_documents(rows[0], "context"))

    async def latest_session(self, user: Caller) -> SessionRecord | None:
        client = await self._client(user)
        rows = await self._rows(
            client.from_("pam_sessions")
            .select("id,context,updated_at")
            .eq("user_id", str(user.id))
            .order("updated_at", desc=True)
            .limit(1)
            .request
        )
        return SessionRecord.model_validate(_with_documents(rows[0], "context")) if rows else None

    async def merge_context(
        self, user: Caller, session_id: uuid.UUID | None, facts: dict[str, Any], remove: Sequence[str]
    ) -> SessionRecord:
        """Merge ``facts`` into a session's context (a new session when ``session_id`` is None)."""
        rows = await self._rpc(
            user,
            "merge_session_context",
            {"p_session_id": session_id, "p_facts": facts, "p_remove": list(remove), "p_max_bytes": MAX_CONTEXT_BYTES},
        )
        merged = merged_session(_with_documents(rows[0], "context") if rows else None, session_id)
        user.saved("the conversation context")  # only once the function says it stored it
        return merged

    async def insert_message(
        self, user: Caller, session_id: uuid.UUID, role: str, content: str, metadata: dict[str, Any]
    ) -> MessageRecord:
        rows = await self._rpc(
            user,
            "log_pam_message",
            {"p_session_id": session_id, "p_role": role, "p_content": content, "p_metadata": metadata},
        )
        if not rows:
            raise NotFound(f"No session {session_id}.")
        user.saved(f"the message {rows[0].get('id', '')}".rstrip())
        return MessageRecord.model_validate(rows[0])

    async def recent_messages(self, user: Caller, session_id: uuid.UUID, limit: int) -> list[MessageRecord]:
        client = await self._client(user)
        rows = await self._rows(
            client.from_("pam_messages")
            .select("id,session_id,role,content,created_at")
            .eq("user_id", str(user.id))
            .eq("session_id", str(session_id))
            .order("created_at", desc=True)
            .order("id", desc=True)
            .limit(limit)
            .request
        )
        return [MessageRecord.model_validate(r) for r in reversed(rows)]

    async def upcoming_events(self, user: Caller, after: dt.datetime, limit: int) -> list[CalendarRecord]:
        client = await self._client(user)
        at = after.isoformat()
        rows = await self._rows(
            client.from_("calendar_events")
            .select("id,title,starts_at,ends_at,all_day,location")
            .eq("user_id", str(user.id))
            # coalesce(ends_at, starts_at) >= after, as a logic tree PostgREST can express.
            .or_(f"ends_at.gte.{at},and(ends_at.is.null,starts_at.gte.{at})")
            .order("starts_at")
            .limit(limit)
            .request
        )
        return [CalendarRecord.model_validate(r) for r in rows]

    # -- guardrails ---------------------------------------------------------------------
    async def safety_level(self, user: Caller) -> SafetyLevel:
        client = await self._client(user)
        rows = await self._rows(
            client.from_("pam_guardrails_config").select("safety_level").eq("user_id", str(user.id)).request
        )
        level: SafetyLevel = rows[0]["safety_level"] if rows else "medium"
        return level

    async def guardrail_settings(self, user: Caller) -> tuple[SafetyLevel, str | None]:
        """The safety level and the profile's country code, two requests in flight together."""
        level, profile = await asyncio.gather(self.safety_level(user), self.profile(user), return_exceptions=True)
        if isinstance(level, BaseException):
            raise level
        if isinstance(profile, BaseException):
            raise profile
        return level, profile.country_code if profile else None

    async def set_safety_level(self, user: Caller, level: SafetyLevel) -> SafetyLevel:
        previous: SafetyLevel | None = await self._rpc(user, "set_safety_level", {"p_level": level})
        user.saved("the safety level")
        return previous or "medium"

    async def insert_safety_event(
        self, user: Caller, event_type: str, severity: str, details: dict[str, Any]
    ) -> uuid.UUID:
        client = await self._client(user)
        body = to_jsonable_python({"event_type": event_type, "severity": severity, "details": details})
        rows = await self._rows(client.from_("safety_events").insert(body).select("id").request)
        user.saved(f"the safety event {rows[0]['id'] if rows else ''}".rstrip())
        return uuid.UUID(str(rows[0]["id"]))

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
        # One request: get_context's nine reads as one function, one transaction.
        doc = await self._rpc(
            user,
            "context_snapshot",
            {
                "p_session_id": session_id,
                "p_message_limit": message_limit,
                "p_month_start": month_start,
                "p_month_end": month_end,
                "p_now": now,
            },
        )
        if not isinstance(doc, dict):
            raise PamError("The database could not complete the request; nothing was saved.")
        return context_snapshot(doc, session_id)

    # -- schema (for developers) ------------------------------------------------------------
    async def schema(self, user: Caller) -> list[TableInfo]:
        return [table_info(r) for r in await self._rpc(user, "describe_schema", {})]
