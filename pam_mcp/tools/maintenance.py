"""Maintenance: log a service with its intervals; what is due by date or odometer.

What is due for each kind of service follows from its latest record and intervals
(migrations/20261202000210_maintenance.sql); get_context shows the few overdue or due items.
Distances are in the person's unit (km or mi, per their profile).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from pam_mcp.tools.common import ClientRef, Input, Money, Output, ToolContext
from pam_mcp.tools.spec import ToolSpec

DueStatus = Literal["overdue", "due", "ok", "no_interval", "unknown_odometer"]


class LogServiceInput(Input):
    service: str = Field(min_length=1, max_length=100, description="What was done, e.g. 'oil change', 'tyre rotation'")
    done_on: dt.date | None = Field(
        default=None, ge=dt.date(2000, 1, 1), description="Day of the service (YYYY-MM-DD); default today"
    )
    odometer: Decimal | None = Field(
        default=None, ge=0, le=Decimal("6000000"), max_digits=10, decimal_places=1,
        description="Odometer reading at the service, in km or miles (per the profile)",
    )  # fmt: skip
    cost: Money | None = Field(default=None, description="What it cost, up to 2 decimals")
    interval_km: Decimal | None = Field(
        default=None, gt=0, le=Decimal("1000000"), max_digits=9, decimal_places=1,
        description="Due again after this distance (in km, or miles for a profile in miles)",
    )  # fmt: skip
    interval_months: int | None = Field(default=None, ge=1, le=240, description="Due again after this many months")
    notes: str | None = Field(default=None, max_length=4000, description="Anything worth remembering about it")
    client_ref: ClientRef = None


class LogServiceResult(Output):
    service_id: uuid.UUID
    service: str
    done_on: dt.date
    odometer: Decimal | None
    cost: Decimal | None
    interval_distance: Decimal | None
    interval_months: int | None
    notes: str | None
    next_due_on: dt.date | None
    next_due_odometer: Decimal | None
    distance_unit: str = Field(description="km or mi")
    duplicate: bool = Field(description="True when this client_ref was already recorded; nothing was added")


async def log_service(ctx: ToolContext, args: LogServiceInput) -> LogServiceResult:
    doc = await ctx.store.call(
        ctx.user, "pam_log_service", saved="the service",
        p_service=args.service, p_done_on=args.done_on, p_odometer=args.odometer, p_cost=args.cost,
        p_interval_distance=args.interval_km, p_interval_months=args.interval_months, p_notes=args.notes,
        p_client_ref=args.client_ref, p_now=ctx.now(),
    )  # fmt: skip
    return LogServiceResult(
        service_id=doc["id"], service=doc["service"], done_on=doc["done_on"], odometer=doc["odometer"],
        cost=doc["cost"], interval_distance=doc["interval_distance"], interval_months=doc["interval_months"],
        notes=doc["notes"], next_due_on=doc["next_due_on"], next_due_odometer=doc["next_due_odometer"],
        distance_unit=doc["distance_unit"], duplicate=doc["duplicate"],
    )  # fmt: skip


class MaintenanceDueInput(Input):
    as_of: dt.date | None = Field(default=None, ge=dt.date(2000, 1, 1), description="Day (YYYY-MM-DD); default today")
    odometer: Decimal | None = Field(
        default=None, ge=0, le=Decimal("6000000"), max_digits=10, decimal_places=1,
        description="The current odometer reading (km or miles); default the latest from fill-ups and services",
    )  # fmt: skip


class DueItem(Output):
    service: str
    distance_unit: str = Field(description="km or mi")
    status: DueStatus = Field(description="overdue, due (within 30 days or 1,000 km), ok, or no interval known")
    last_done_on: dt.date
    last_odometer: Decimal | None
    due_on: dt.date | None
    due_odometer: Decimal | None
    days_left: int | None = Field(description="Negative: days overdue")
    distance_left: Decimal | None = Field(description="Negative: distance overdue, in the distance unit")
    summary: str


class MaintenanceDueResult(Output):
    as_of: dt.date
    distance_unit: str = Field(description="km or mi")
    current_odometer: Decimal | None
    odometer_source: str | None = Field(description="'given', or 'latest fill-up or service'; null when none known")
    items: list[DueItem] = Field(description="Overdue first, then due, then ok; at most 50")
    truncated: bool


def due_item(raw: dict[str, Any]) -> DueItem:
    """One item of ``public.maintenance_due_items``, with a sentence for the person."""
    unit = raw["distance_unit"]
    service, status, due_on, due_odo = raw["service"], raw["status"], raw["due_on"], raw["due_odometer"]
    days, left = raw["days_left"], raw["distance_left"]
    parts = []
    if due_on is not None:
        parts.append(f"{-days} day(s) overdue (was due {due_on})" if days < 0 else f"due on {due_on}")
    if due_odo is not None and left is not None:
        parts.append(f"{-left} {unit} overdue (at {due_odo})" if left < 0 else f"due at {due_odo} {unit}")
    elif due_odo is not None:
        parts.append(f"due at {due_odo} {unit}")
    when = " or ".join(parts) if parts else "no interval recorded"
    return DueItem(
        service=service, distance_unit=unit, status=status, last_done_on=raw["last_done_on"],
        last_odometer=raw["last_odometer"],
        due_on=due_on, due_odometer=due_odo, days_left=days, distance_left=left,
        summary=f"{service}: {status.replace('_', ' ')}, {when} (last done {raw['last_done_on']}).",
    )  # fmt: skip


async def maintenance_due(ctx: ToolContext, args: MaintenanceDueInput) -> MaintenanceDueResult:
    doc = await ctx.store.call(
        ctx.user, "pam_maintenance_due", p_as_of=args.as_of, p_odometer=args.odometer, p_now=ctx.now()
    )
    items = [due_item(raw) for raw in doc["items"]]
    return MaintenanceDueResult(
        as_of=doc["as_of"],
        distance_unit=doc["distance_unit"],
        current_odometer=doc["current_odometer"],
        odometer_source=doc["odometer_source"],
        items=items,
        truncated=doc["count"] > len(items),
    )


# -- declarations (registered by the server layer) -------------------------------------------------

LOG_SERVICE = ToolSpec(
    name="log_service",
    title="Log a service",
    description="""
        Record maintenance done on the rig: the service (e.g. 'oil change'), the day (default
        today), odometer, cost, and when it is due again (interval_km in the person's distance
        unit and/or interval_months). The cost stays with the service record and is not added to
        spending: log_expense it (category maintenance) if it should count there. Pass client_ref
        when retrying so it counts once. Returns the record with its next due date and reading.""",
    run=log_service,
    input=LogServiceInput,
    output=LogServiceResult,
    read_only=False,
)

MAINTENANCE_DUE = ToolSpec(
    name="maintenance_due",
    title="Maintenance due",
    description="""
        What service is overdue, due soon (within 30 days or 1,000 km) or ok, as of a day (default
        today): each kind of service's last time and its next due date and odometer reading from its
        intervals. Pass odometer (the current reading) if known; otherwise the latest reading from
        fill-ups and services is used.""",
    run=maintenance_due,
    input=MaintenanceDueInput,
    output=MaintenanceDueResult,
    read_only=True,
    idempotent=True,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = "The rig's servicing: log_service, maintenance_due (overdue or due by date or odometer)."

TOOLS = (LOG_SERVICE, MAINTENANCE_DUE)
