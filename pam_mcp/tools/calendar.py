"""The calendar: bookings, appointments and reminders, added, changed, removed and listed.

Each tool is one SQL function (migrations/20261202000300_calendar.sql). Only the database
knows the person's time zone, so a day given for an all-day event travels as a day and SQL
places it at the person's local midnight; every answer shows times in the person's offset.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from pam_mcp.errors import NotFound
from pam_mcp.tools.common import ClientRef, Input, Output, ToolContext
from pam_mcp.tools.formats import Day, When
from pam_mcp.tools.limits import EVENT_DESCRIPTION_CHARS, EVENT_LOCATION_CHARS
from pam_mcp.tools.spec import ToolSpec

EventKind = Literal["booking", "appointment", "reminder", "other"]
EventField = Literal["ends_at", "location", "cost", "notes"]
MAX_LIST_DAYS = 366

Cost = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("1000000"), max_digits=9, decimal_places=2, allow_inf_nan=False),
]
Title = Annotated[str, Field(min_length=1, max_length=200)]


def _split(when: dt.datetime | dt.date | None) -> tuple[dt.datetime | None, dt.date | None]:
    """(instant, day): the database takes them apart, since only it knows the person's zone."""
    if isinstance(when, dt.datetime):
        return when, None
    return None, when


class AddEventInput(Input):
    title: Title = Field(description="What it is, e.g. 'Campsite at Lake Hume'")
    starts_at: When = Field(
        description="When it starts: ISO 8601 with offset (2026-12-05T14:00:00+10:00), or YYYY-MM-DD for all-day"
    )
    ends_at: When | None = Field(
        default=None,
        description="When it ends (same formats); for an all-day event, its last day (YYYY-MM-DD); default none "
        "(all-day: one day)",
    )
    all_day: bool | None = Field(default=None, description="All-day event; default true when starts_at is a date")
    location: str | None = Field(default=None, max_length=EVENT_LOCATION_CHARS, description="Where, e.g. 'Albury'")
    kind: EventKind = Field(default="other", description="booking, appointment, reminder or other")
    cost: Cost | None = Field(default=None, description="What it costs, e.g. a campsite booking (2 decimals)")
    notes: str | None = Field(default=None, max_length=EVENT_DESCRIPTION_CHARS, description="Anything else to keep")
    client_ref: ClientRef = None


class UpdateEventInput(Input):
    event_id: uuid.UUID = Field(description="The event to change (from add_event or list_events)")
    title: Title | None = Field(default=None, description="New title")
    starts_at: When | None = Field(
        default=None,
        description="New start (ISO 8601 with offset, or YYYY-MM-DD for all-day); a timed event's end moves with it",
    )
    ends_at: When | None = Field(default=None, description="New end (same formats; all-day: the last day)")
    all_day: bool | None = Field(default=None, description="Make it all-day (true) or timed (false, needs starts_at)")
    location: str | None = Field(default=None, max_length=EVENT_LOCATION_CHARS, description="New location")
    kind: EventKind | None = Field(default=None, description="booking, appointment, reminder or other")
    cost: Cost | None = Field(default=None, description="New cost (2 decimals)")
    notes: str | None = Field(default=None, max_length=EVENT_DESCRIPTION_CHARS, description="New notes")
    clear: list[EventField] = Field(
        default_factory=list, max_length=4, description="Fields to remove: ends_at, location, cost, notes"
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateEventInput:
        given = {k for k in self.model_fields_set if k not in ("event_id", "clear") and getattr(self, k) is not None}
        if not given and not self.clear:
            raise ValueError(
                "nothing to change; give at least one of title, starts_at, ends_at, all_day, location, kind, cost, "
                "notes or clear"
            )
        both = sorted(given & set(self.clear))
        if both:
            raise ValueError(f"{both[0]} is both given and in clear; do one or the other")
        return self


class RemoveEventInput(Input):
    event_id: uuid.UUID = Field(description="The event to remove (from add_event or list_events)")


class ListEventsInput(Input):
    start: Day | None = Field(default=None, description="First day (YYYY-MM-DD); default today")
    end: Day | None = Field(default=None, description="Last day, inclusive (YYYY-MM-DD); default start + 30 days")
    limit: int = Field(default=50, ge=1, le=100, description="At most this many events, soonest first")

    @model_validator(mode="after")
    def _check_range(self) -> ListEventsInput:
        if self.start and self.end:
            if self.end < self.start:
                raise ValueError("end is before start")
            if (self.end - self.start).days > MAX_LIST_DAYS:
                raise ValueError(f"the range is longer than {MAX_LIST_DAYS} days; list a shorter period")
        return self


class EventItem(Output):
    event_id: uuid.UUID
    title: str
    kind: str
    starts_at: str = Field(description="ISO 8601 in the person's time zone")
    ends_at: str | None = Field(description="ISO 8601 in the person's time zone; all-day: midnight after the last day")
    all_day: bool
    first_day: dt.date = Field(description="The day it starts, in the person's time zone")
    last_day: dt.date = Field(description="The day it ends, in the person's time zone")
    location: str | None
    cost: Decimal | None
    notes: str | None


class AddEventResult(Output):
    event: EventItem
    duplicate: bool = Field(description="True when this client_ref was already added; nothing new was added")
    time_zone: str = Field(description="The person's time zone the times are shown in")


class UpdateEventResult(Output):
    before: EventItem
    after: EventItem
    time_zone: str


class RemoveEventResult(Output):
    removed: EventItem = Field(description="The event as it was; it no longer exists")
    time_zone: str


class ListEventsResult(Output):
    start: dt.date
    end: dt.date
    time_zone: str
    events: list[EventItem] = Field(description="Events overlapping start..end, soonest first")
    truncated: bool = Field(description="More events fall in the range; ask for a shorter one or a higher limit")


def _not_found(event_id: uuid.UUID) -> NotFound:
    return NotFound(f"event_id: no event {event_id}; use an event_id from add_event or list_events.")


async def add_event(ctx: ToolContext, args: AddEventInput) -> AddEventResult:
    starts_at, start_day = _split(args.starts_at)
    ends_at, end_day = _split(args.ends_at)
    out = await ctx.store.call(
        ctx.user, "pam_add_event", saved="the event",
        p_title=args.title, p_starts_at=starts_at, p_start_day=start_day, p_ends_at=ends_at, p_end_day=end_day,
        p_all_day=args.all_day, p_location=args.location, p_kind=args.kind, p_cost=args.cost, p_notes=args.notes,
        p_client_ref=args.client_ref,
    )  # fmt: skip
    return AddEventResult.model_validate({k: out[k] for k in ("event", "duplicate", "time_zone")})


async def update_event(ctx: ToolContext, args: UpdateEventInput) -> UpdateEventResult:
    starts_at, start_day = _split(args.starts_at)
    ends_at, end_day = _split(args.ends_at)
    out = await ctx.store.call(
        ctx.user, "pam_update_event", saved="the change to the event",
        p_event_id=args.event_id, p_title=args.title, p_starts_at=starts_at, p_start_day=start_day,
        p_ends_at=ends_at, p_end_day=end_day, p_all_day=args.all_day, p_location=args.location, p_kind=args.kind,
        p_cost=args.cost, p_notes=args.notes, p_clear=list(args.clear),
    )  # fmt: skip
    if out is None:
        raise _not_found(args.event_id)
    return UpdateEventResult.model_validate({k: out[k] for k in ("before", "after", "time_zone")})


async def remove_event(ctx: ToolContext, args: RemoveEventInput) -> RemoveEventResult:
    out = await ctx.store.call(ctx.user, "pam_remove_event", saved="the removal of the event", p_event_id=args.event_id)
    if out is None:
        raise _not_found(args.event_id)
    return RemoveEventResult.model_validate({k: out[k] for k in ("removed", "time_zone")})


async def list_events(ctx: ToolContext, args: ListEventsInput) -> ListEventsResult:
    out = await ctx.store.call(
        ctx.user, "pam_list_events", p_start=args.start, p_end=args.end, p_limit=args.limit, p_now=ctx.now()
    )
    return ListEventsResult.model_validate(out)


# -- declarations (registered by the server layer) -------------------------------------------------

ADD_EVENT = ToolSpec(
    name="add_event",
    title="Add a calendar event",
    description="""
        Put a booking, appointment, reminder or other event on the person's calendar: title,
        starts_at (ISO 8601 with offset, e.g. 2026-12-05T14:00:00+10:00, or YYYY-MM-DD for an
        all-day event), optional ends_at (for all-day: the last day), location, kind, cost (e.g. a
        campsite booking) and notes. Pass client_ref when retrying so it is added once. Returns the
        event with its id, times in the person's time zone and its first and last day.""",
    run=add_event,
    input=AddEventInput,
    output=AddEventResult,
    read_only=False,
)

UPDATE_EVENT = ToolSpec(
    name="update_event",
    title="Change a calendar event",
    description="""
        Change an event by its event_id: only the fields given change; list fields in clear to
        remove them (ends_at, location, cost, notes). Moving a timed event's start moves its end
        with it; an all-day event keeps its number of days. Returns the event before and after,
        so the change can be checked or undone.""",
    run=update_event,
    input=UpdateEventInput,
    output=UpdateEventResult,
    read_only=False,
    destructive=True,
    idempotent=True,
)

REMOVE_EVENT = ToolSpec(
    name="remove_event",
    title="Remove a calendar event",
    description="""
        Remove an event from the calendar by its event_id (from add_event or list_events). Returns
        the event as it was. A second call with the same id finds nothing.""",
    run=remove_event,
    input=RemoveEventInput,
    output=RemoveEventResult,
    read_only=False,
    destructive=True,
)

LIST_EVENTS = ToolSpec(
    name="list_events",
    title="List calendar events",
    description="""
        The person's events overlapping a range of their days (start and end as YYYY-MM-DD,
        inclusive; default today and the next 30 days; at most 366 days), soonest first, with
        times in their time zone. truncated says when more events fall in the range.""",
    run=list_events,
    input=ListEventsInput,
    output=ListEventsResult,
    read_only=True,
    idempotent=True,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = "The calendar (bookings, appointments, reminders): add_event, update_event, remove_event, list_events."

TOOLS = (ADD_EVENT, UPDATE_EVENT, REMOVE_EVENT, LIST_EVENTS)
