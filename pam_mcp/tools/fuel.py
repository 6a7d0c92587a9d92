"""Fuel: fill-ups, their economy and cost per distance, and corrections.

A fill-up is also the fuel expense, counted once: the database writes that expense with the
fill-up and keeps it in step (migrations/20261202000200_fuel.sql), so spending totals include
it exactly once and a retry with the same client_ref adds neither twice. Volumes, prices and
odometer readings are in the person's own units (their profile's km or mi, L or gal).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, model_validator

from pam_mcp.errors import NotFound
from pam_mcp.tools.common import ClientRef, Input, Money, Output, ToolContext
from pam_mcp.tools.limits import PLACE_NAME_CHARS
from pam_mcp.tools.spec import ToolSpec

MAX_RANGE_DAYS = 3 * 366
LITRES_PER_GALLON = Decimal("3.785411784")
KM_PER_MILE = Decimal("1.609344")

# The fields log_fillup and correct_fillup share.
Volume = Annotated[
    Decimal,
    Field(
        gt=0, le=Decimal("2000"), max_digits=8, decimal_places=3,
        description="Fuel put in, in the person's volume unit (litres or US gallons, per their profile)",
    ),
]  # fmt: skip
PricePerUnit = Annotated[
    Decimal,
    Field(
        gt=0, le=Decimal("1000"), max_digits=8, decimal_places=4,
        description="Price per litre (or gallon); give this or total_cost (both must agree)",
    ),
]  # fmt: skip
Odometer = Annotated[
    Decimal,
    Field(
        ge=0, le=Decimal("6000000"), max_digits=10, decimal_places=1,
        description="Odometer reading at the pump, in km or miles (per the profile); needed for fuel economy",
    ),
]  # fmt: skip
PlaceText = Annotated[str, Field(min_length=1, max_length=PLACE_NAME_CHARS)]
Lat = Annotated[float, Field(ge=-90, le=90, description="Latitude, decimal degrees (with lon)")]
Lon = Annotated[float, Field(ge=-180, le=180, description="Longitude, decimal degrees (with lat)")]


class LogFillupInput(Input):
    volume: Volume
    price_per_unit: PricePerUnit | None = None
    total_cost: Money | None = Field(default=None, description="What the fill-up cost; give this or price_per_unit")
    odometer: Odometer | None = None
    station: PlaceText | None = Field(default=None, description="Station name")
    place: PlaceText | None = Field(default=None, description="Town or place")
    lat: Lat | None = None
    lon: Lon | None = None
    filled_on: dt.date | None = Field(
        default=None, ge=dt.date(2000, 1, 1), description="Day of the fill-up (YYYY-MM-DD); default today"
    )
    trip_id: uuid.UUID | None = Field(default=None, description="A trip (from log_trip) this fill-up belongs to")
    full_tank: bool = Field(default=True, description="Filled to full; fuel economy is measured between full fills")
    client_ref: ClientRef = None

    @model_validator(mode="after")
    def _check(self) -> LogFillupInput:
        if self.price_per_unit is None and self.total_cost is None:
            raise ValueError("give price_per_unit or total_cost (a positive number)")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give lat and lon together (decimal degrees), or neither")
        return self


class Fillup(Output):
    fillup_id: uuid.UUID
    filled_on: dt.date
    volume: Decimal
    volume_unit: str = Field(description="L or gal")
    price_per_unit: Decimal
    total_cost: Decimal
    odometer: Decimal | None
    distance_unit: str = Field(description="km or mi")
    fuel_type: str
    station: str | None
    place: str | None
    lat: float | None
    lon: float | None
    trip_id: uuid.UUID | None
    full_tank: bool
    expense_id: uuid.UUID | None = Field(description="The fuel expense this fill-up counts as (once)")


class LogFillupResult(Output):
    fillup: Fillup
    duplicate: bool = Field(description="True when this client_ref was already recorded; nothing was added")
    month: str = Field(description="YYYY-MM of the fill-up")
    month_fuel_total: Decimal = Field(description="Fuel spending in that month, this fill-up included once")


def fillup(doc: dict[str, Any]) -> Fillup:
    return Fillup(
        fillup_id=doc["id"], filled_on=doc["filled_on"], volume=doc["volume"], volume_unit=doc["volume_unit"],
        price_per_unit=doc["price_per_unit"], total_cost=doc["total_cost"], odometer=doc["odometer"],
        distance_unit=doc["distance_unit"], fuel_type=doc["fuel_type"], station=doc["station"], place=doc["place"],
        lat=doc["lat"], lon=doc["lon"], trip_id=doc["trip_id"], full_tank=doc["full_tank"],
        expense_id=doc["expense_id"],
    )  # fmt: skip


async def log_fillup(ctx: ToolContext, args: LogFillupInput) -> LogFillupResult:
    # One call: the fill-up and its fuel expense together (the database writes the expense).
    doc = await ctx.store.call(
        ctx.user, "pam_log_fillup", saved="the fill-up",
        p_volume=args.volume, p_price_per_unit=args.price_per_unit, p_total_cost=args.total_cost,
        p_odometer=args.odometer, p_station=args.station, p_place=args.place, p_lat=args.lat, p_lon=args.lon,
        p_filled_on=args.filled_on, p_trip_id=args.trip_id, p_full_tank=args.full_tank,
        p_client_ref=args.client_ref, p_now=ctx.now(),
    )  # fmt: skip
    return LogFillupResult(
        fillup=fillup(doc["fillup"]),
        duplicate=doc["duplicate"],
        month=doc["month"],
        month_fuel_total=doc["month_fuel_total"],
    )


class FuelEconomyInput(Input):
    start: dt.date | None = Field(default=None, description="First day (YYYY-MM-DD); default 89 days before end")
    end: dt.date | None = Field(default=None, description="Last day, inclusive (YYYY-MM-DD); default today")

    @model_validator(mode="after")
    def _check(self) -> FuelEconomyInput:
        if self.start and self.end:
            if self.end < self.start:
                raise ValueError("end is before start (both YYYY-MM-DD)")
            if (self.end - self.start).days > MAX_RANGE_DAYS:
                raise ValueError(f"the range is longer than {MAX_RANGE_DAYS} days; ask for a shorter period")
        return self


class FuelEconomyResult(Output):
    start: dt.date
    end: dt.date
    fillups: int = Field(description="Fill-ups in the range")
    total_volume: Decimal
    total_cost: Decimal
    volume_unit: str = Field(description="L or gal")
    distance_unit: str = Field(description="km or mi")
    measured_distance: Decimal = Field(description="Distance between full-tank fill-ups with odometer readings")
    economy: Decimal | None = Field(description="Over the measured distance; null when too few fill-ups")
    economy_unit: str = Field(description="L/100km, or mpg (US gallons) for a profile in miles and gallons")
    cost_per_distance: Decimal | None = Field(description="Fuel cost per km (or mile) over the measured distance")
    summary: str


def economy_in_units(litres: Decimal, km: Decimal, distance_unit: str, volume_unit: str) -> tuple[Decimal, str]:
    if distance_unit == "mi" and volume_unit == "gal":
        return round((km / KM_PER_MILE) / (litres / LITRES_PER_GALLON), 1), "mpg"
    if distance_unit == "mi":
        return round((litres / (km / KM_PER_MILE)) * 100, 2), "L/100mi"
    if volume_unit == "gal":
        return round((litres / LITRES_PER_GALLON) / km * 100, 2), "gal/100km"
    return round(litres / km * 100, 2), "L/100km"


async def fuel_economy(ctx: ToolContext, args: FuelEconomyInput) -> FuelEconomyResult:
    doc = await ctx.store.call(ctx.user, "pam_fuel_economy", p_start=args.start, p_end=args.end, p_now=ctx.now())
    start, end = dt.date.fromisoformat(str(doc["start"])), dt.date.fromisoformat(str(doc["end"]))
    distance_unit, volume_unit = doc["distance_unit"], doc["volume_unit"]
    litres, km, cost = Decimal(doc["measured_litres"]), Decimal(doc["measured_km"]), Decimal(doc["measured_cost"])
    span = (
        f"From {start} to {end}: {doc['fillups']} fill-up(s), "
        f"{doc['total_volume']} {volume_unit}, {doc['total_cost']} spent."
    )
    economy = cost_per = None
    unit = economy_in_units(Decimal(1), Decimal(1), distance_unit, volume_unit)[1]
    if doc["segments"] and km > 0 and litres > 0:
        economy, unit = economy_in_units(litres, km, distance_unit, volume_unit)
        distance = km / KM_PER_MILE if distance_unit == "mi" else km
        cost_per = round(cost / distance, 3)
        summary = (
            f"{span} Over {doc['measured_distance']} {distance_unit} between full tanks: "
            f"{economy} {unit}, {cost_per} per {distance_unit}."
        )
    else:
        summary = (
            f"{span} Too few fill-ups to compute economy: it needs two full-tank fill-ups with odometer readings "
            f"in the range (found {doc['full_tank_fillups_with_odometer']})."
        )
    return FuelEconomyResult(
        start=start, end=end, fillups=doc["fillups"], total_volume=doc["total_volume"], total_cost=doc["total_cost"],
        volume_unit=volume_unit, distance_unit=distance_unit, measured_distance=doc["measured_distance"],
        economy=economy, economy_unit=unit, cost_per_distance=cost_per, summary=summary,
    )  # fmt: skip


class CorrectFillupInput(Input):
    fillup_id: uuid.UUID = Field(description="The fill-up to correct (fillup_id from log_fillup)")
    volume: Volume | None = None
    price_per_unit: PricePerUnit | None = None
    total_cost: Money | None = Field(default=None, description="What the fill-up cost")
    odometer: Odometer | None = None
    station: PlaceText | None = Field(default=None, description="Station name")
    place: PlaceText | None = Field(default=None, description="Town or place")
    lat: Lat | None = None
    lon: Lon | None = None
    filled_on: dt.date | None = Field(
        default=None, ge=dt.date(2000, 1, 1), description="Day of the fill-up (YYYY-MM-DD)"
    )
    trip_id: uuid.UUID | None = Field(default=None, description="The trip it belongs to (from log_trip)")
    full_tank: bool | None = Field(default=None, description="Whether it filled the tank")

    @model_validator(mode="after")
    def _check(self) -> CorrectFillupInput:
        if len(self.model_fields_set - {"fillup_id"}) == 0:
            raise ValueError("give at least one field to change besides fillup_id")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give lat and lon together (decimal degrees), or neither")
        return self


class CorrectFillupResult(Output):
    before: Fillup
    after: Fillup


class DeleteFillupInput(Input):
    fillup_id: uuid.UUID = Field(description="The fill-up to delete (fillup_id from log_fillup)")


class DeleteFillupResult(Output):
    deleted: Fillup = Field(description="The fill-up as it was; its fuel expense was deleted with it")


async def correct_fillup(ctx: ToolContext, args: CorrectFillupInput) -> CorrectFillupResult:
    doc = await ctx.store.call(
        ctx.user, "pam_correct_fillup", saved="the corrected fill-up",
        p_fillup_id=args.fillup_id, p_volume=args.volume, p_price_per_unit=args.price_per_unit,
        p_total_cost=args.total_cost, p_odometer=args.odometer, p_station=args.station, p_place=args.place,
        p_lat=args.lat, p_lon=args.lon, p_filled_on=args.filled_on, p_trip_id=args.trip_id,
        p_full_tank=args.full_tank, p_now=ctx.now(),
    )  # fmt: skip
    if doc is None:
        raise NotFound(f"No fill-up {args.fillup_id}; nothing was changed.")
    return CorrectFillupResult(before=fillup(doc["before"]), after=fillup(doc["after"]))


async def delete_fillup(ctx: ToolContext, args: DeleteFillupInput) -> DeleteFillupResult:
    doc = await ctx.store.call(ctx.user, "pam_delete_fillup", saved="the deletion", p_fillup_id=args.fillup_id)
    if doc is None:
        raise NotFound(f"No fill-up {args.fillup_id}; nothing was deleted.")
    return DeleteFillupResult(deleted=fillup(doc["deleted"]))


# -- declarations (registered by the server layer) -------------------------------------------------

LOG_FILLUP = ToolSpec(
    name="log_fillup",
    title="Log a fill-up",
    description="""
        Record a fuel fill-up: volume (in the person's unit, litres or gallons), price_per_unit or
        total_cost (one is enough; both must agree), odometer (km or miles, needed for economy),
        station, place or lat/lon, the day (default today), the trip, and full_tank (default true).
        It is also the fuel expense, counted once in spending: do not log_expense it again. Pass
        client_ref when retrying so it counts once. Returns the fill-up (fillup_id for corrections)
        and the month's fuel spending.""",
    run=log_fillup,
    input=LogFillupInput,
    output=LogFillupResult,
    read_only=False,
)

FUEL_ECONOMY = ToolSpec(
    name="fuel_economy",
    title="Fuel economy and cost per distance",
    description="""
        Fuel use over a date range (default the last 90 days): fill-ups, volume and cost, and from
        odometer readings between full-tank fill-ups the distance, the economy (L/100km, or mpg for
        miles and gallons) and the fuel cost per km or mile. States its range, and says when there
        are too few fill-ups to compute economy.""",
    run=fuel_economy,
    input=FuelEconomyInput,
    output=FuelEconomyResult,
    read_only=True,
    idempotent=True,
)

CORRECT_FILLUP = ToolSpec(
    name="correct_fillup",
    title="Correct a fill-up",
    description="""
        Change a recorded fill-up (fillup_id from log_fillup): only the fields given change; its
        fuel expense changes with it. A new volume without a price or total keeps the price per
        unit. Returns the fill-up before and after.""",
    run=correct_fillup,
    input=CorrectFillupInput,
    output=CorrectFillupResult,
    read_only=False,
    destructive=True,
    idempotent=True,
)

DELETE_FILLUP = ToolSpec(
    name="delete_fillup",
    title="Delete a fill-up",
    description="""
        Delete a recorded fill-up (fillup_id from log_fillup) and its fuel expense with it.
        Returns what was deleted; a second call finds nothing.""",
    run=delete_fillup,
    input=DeleteFillupInput,
    output=DeleteFillupResult,
    read_only=False,
    destructive=True,
    idempotent=True,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = (
    "Fill-ups: log_fillup (it is also the fuel expense: never log_expense it too), fuel_economy, "
    "correct_fillup, delete_fillup."
)

TOOLS = (LOG_FILLUP, FUEL_ECONOMY, CORRECT_FILLUP, DELETE_FILLUP)
