"""What the store hands back: plain, validated records, independent of the driver."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SafetyLevel = Literal["low", "medium", "high"]
ExpenseGrouping = Literal["category", "month", "week", "day", "none"]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class NewTrip(Record):
    title: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    route: list[dict[str, Any]]
    stops: list[dict[str, Any]]
    notes: str | None
    distance_km: Decimal


class Dated(Record):
    """A result that needed the person's "today" (in their profile's time zone, computed in SQL)."""

    today: dt.date | None = None
    # The profile's zone name when the database does not know it (then read as UTC).
    refused_zone: str | None = None


class SavingOutcome(Dated):
    event_id: uuid.UUID
    month: dt.date
    month_total: Decimal
    duplicate: bool


class SavingEvent(Record):
    id: uuid.UUID
    amount: Decimal
    category: str
    description: str
    saved_on: dt.date


class SavingsMonth(Dated):
    """A month's total saved and its latest savings, newest first."""

    total: Decimal
    events: list[SavingEvent]
    # The person's first day with PAM (profile, savings, expenses, trips, sessions), in their zone.
    first_activity: dt.date | None = None


class NewExpense(Record):
    amount: Decimal
    category: str
    description: str | None
    spent_on: dt.date | None  # None: the person's today
    trip_id: uuid.UUID | None
    client_ref: str | None


class ExpenseRecord(Record):
    id: uuid.UUID
    amount: Decimal
    category: str
    description: str | None
    spent_on: dt.date
    trip_id: uuid.UUID | None


class LoggedExpense(Dated):
    """An expense as recorded (or found again by its client_ref) and its month for its category."""

    expense: ExpenseRecord
    duplicate: bool
    month_total: Decimal  # spent in the expense's category in its month, this expense included
    budget: Decimal | None  # the category's monthly budget, if any


class ExpenseGroupRow(Record):
    key: str | None
    total: Decimal
    count: int


class ProfileRecord(Record):
    display_name: str | None
    country_code: str | None
    timezone: str | None
    currency: str
    home_base: str | None
    rv_type: str | None
    rv_length_m: Decimal | None
    preferences: dict[str, Any]


class SessionRecord(Record):
    id: uuid.UUID
    context: dict[str, Any]
    updated_at: dt.datetime


class MessageRecord(Record):
    id: uuid.UUID
    session_id: uuid.UUID
    role: str
    content: str
    created_at: dt.datetime


class CalendarRecord(Record):
    id: uuid.UUID
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    all_day: bool
    location: str | None


class ColumnInfo(Record):
    name: str
    type: str
    nullable: bool


class TableInfo(Record):
    name: str
    access_class: str
    description: str
    columns: list[ColumnInfo]


class TripBrief(Record):
    """A trip without its route: what a summary shows, counted in SQL (times in the person's
    offset). Summaries carry the notes clipped and the first stops (``public.trip_brief``)."""

    id: uuid.UUID
    title: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    distance_km: Decimal | None
    stop_count: int
    route_points: int
    notes: str | None = None
    stops: list[dict[str, Any]] = []


class TripDetail(TripBrief):
    """A trip with its notes and every stop; still without its route (up to 2 MB), counted in SQL."""

    notes: str | None
    stops: list[dict[str, Any]]


class ContextSnapshot(Dated):
    """Everything get_context reads, from one statement (``public.pam_context``)."""

    month_start: dt.date  # the person's current month
    profile: ProfileRecord | None
    session: SessionRecord | None
    messages: list[MessageRecord]  # the session's latest, oldest first
    spending: list[ExpenseGroupRow]  # the month's totals by category, ordered by category
    budgets: dict[str, Decimal]  # monthly limit by category
    month_saved: Decimal
    latest_trip: TripBrief | None
    upcoming_events: list[CalendarRecord]
    safety_level: SafetyLevel
    # Services overdue or due (at most 5), as public.maintenance_due_items gives them.
    maintenance_due: list[dict[str, Any]] = []


class ExpenseReport(Dated):
    """Spending totals and the budgets to hold them against, read in one transaction."""

    start: dt.date | None = None  # the range reported (defaults resolved in SQL)
    end: dt.date | None = None
    groups: list[ExpenseGroupRow]  # as asked for (category, month, week, day or none)
    budgets: dict[str, Decimal]  # every budget of the user, monthly limit by category
    # The totals by category, for the budgets: the groups themselves when grouped by category;
    # otherwise read only when a budget covers one of the categories asked for (else empty).
    by_category: list[ExpenseGroupRow]
    # A page of the expenses themselves, newest first, when the caller asked for one.
    items: list[ExpenseRecord] | None = None
