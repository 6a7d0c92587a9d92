"""Wheels: the passive trip logger."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, TypeAdapter, model_validator

from pam_mcp.apps import TRIP
from pam_mcp.errors import NotFound
from pam_mcp.store.records import NewTrip, TripBrief, TripDetail
from pam_mcp.tools.common import Input, Output, ToolContext, invalid
from pam_mcp.tools.limits import (
    PLACE_NAME_CHARS,
    TRIP_NOTES_CHARS,
    TRIP_ROUTE_BYTES,
    TRIP_ROUTE_POINTS,
    TRIP_STOPS,
    TRIP_STOPS_BYTES,
    TRIP_TITLE_CHARS,
    json_bytes,
)
from pam_mcp.tools.offload import run_cpu
from pam_mcp.tools.spec import ToolSpec

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
StopKind = Literal["campground", "fuel", "food", "attraction", "dump_station", "rest_area", "shopping", "other"]

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="Latitude in degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="Longitude in degrees")]


class RoutePoint(Input):
    lat: Latitude
    lon: Longitude
    at: AwareDatetime | None = Field(default=None, description="When the vehicle was here (ISO 8601 with offset)")
    name: str | None = Field(default=None, max_length=PLACE_NAME_CHARS)


class Stop(Input):
    name: str = Field(min_length=1, max_length=PLACE_NAME_CHARS)
    lat: Latitude
    lon: Longitude
    kind: StopKind = "other"
    cost: Decimal | None = Field(default=None, ge=0, le=Decimal("100000"), decimal_places=2)
    at: AwareDatetime | None = None


class LogTripInput(Input):
    started_at: AwareDatetime = Field(description="When the trip began (ISO 8601 with a UTC offset)")
    ended_at: AwareDatetime | None = Field(default=None, description="When it ended; omit for a trip under way")
    route: list[RoutePoint] = Field(
        default_factory=list, max_length=TRIP_ROUTE_POINTS, description="Points along the way, in travel order"
    )
    stops: list[Stop] = Field(default_factory=list, max_length=TRIP_STOPS, description="Places stopped at")
    title: str | None = Field(
        default=None, max_length=TRIP_TITLE_CHARS, description="A short name, e.g. 'Broken Hill to Mildura'"
    )
    notes: str | None = Field(default=None, max_length=TRIP_NOTES_CHARS)

    @model_validator(mode="after")
    def _check_order(self) -> LogTripInput:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        times = [p.at for p in self.route if p.at is not None]
        if any(b < a for a, b in itertools.pairwise(times)):
            raise ValueError("route points' times go backwards; list points in travel order")
        return self


class LogTripResult(Output):
    trip_id: uuid.UUID
    distance_km: float = Field(description="Great-circle distance along the route")
    duration_hours: float | None = Field(description="None while the trip is under way")
    stop_count: int
    under_way: bool


# What a trip summary (pam://trips, get_context's latest_trip) shows of a trip's notes and stops
# (public.trip_brief, migrations/20261202000500_answers_in_local_time.sql); a trip's own
# resource, pam://trips/{id}, shows them whole.
SUMMARY_STOPS = 5
SUMMARY_NOTES_CHARS = 500


class TripSummary(Output):
    trip_id: uuid.UUID
    title: str | None
    started_at: dt.datetime = Field(description="ISO 8601 in the person's time zone")
    ended_at: dt.datetime | None = Field(description="ISO 8601 in the person's time zone; null while under way")
    distance_km: float | None
    stop_count: int = Field(description="How many stops the trip has")
    route_points: int
    notes: str | None = Field(
        default=None,
        description=f"The trip's notes; in summaries at most {SUMMARY_NOTES_CHARS} characters, "
        "ending in '…[truncated]' when cut (pam://trips/{id} has them whole)",
    )
    stops: list[dict[str, Any]] | None = Field(
        default=None,
        description=f"The stops in order; in summaries the first {SUMMARY_STOPS} "
        "(stop_count says how many there are; pam://trips/{id} has them all)",
    )


def route_distance_km(points: list[RoutePoint]) -> float:
    """Great-circle (haversine) distance along the points, each point converted once
    (5,000 points: ~4 ms instead of ~6 ms with a function call per pair)."""
    lats = [math.radians(p.lat) for p in points]
    lons = [math.radians(p.lon) for p in points]
    cos_lats = [math.cos(lat) for lat in lats]
    total = 0.0
    for i in range(1, len(points)):
        h = (
            math.sin((lats[i] - lats[i - 1]) / 2) ** 2
            + cos_lats[i - 1] * cos_lats[i] * math.sin((lons[i] - lons[i - 1]) / 2) ** 2
        )
        total += 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
    return total


# A route point or stop as JSON, names aside, is under this many bytes (numbers, time, kind, cost).
_PLACE_BYTES_WITHOUT_NAME = 160
# Whole lists dumped in one call of pydantic's core: half the time of a model_dump per point.
_ROUTE = TypeAdapter(list[RoutePoint])
_STOPS = TypeAdapter(list[Stop])


def _new_trip(args: LogTripInput) -> NewTrip:
    """The trip as stored, with its distance: pure CPU, linear in the capped input. Built whole
    here (with a long route, in a worker thread): even checking 5,000 route documents into the
    record costs milliseconds the event loop should not spend."""
    distance = round(route_distance_km(args.route), 2)
    route = _ROUTE.dump_python(args.route, mode="json", exclude_none=True)
    stops = _STOPS.dump_python(args.stops, mode="json", exclude_none=True)
    for name, places, value, limit in (
        ("route", args.route, route, TRIP_ROUTE_BYTES),
        ("stops", args.stops, stops, TRIP_STOPS_BYTES),
    ):
        # A cheap upper bound first; the exact size (one serialisation) only when it could be over.
        bound = sum(_PLACE_BYTES_WITHOUT_NAME + len((p.name or "").encode()) for p in places)
        if bound > limit and (size := json_bytes(value)) > limit:
            raise invalid(f"{name}: is {size} bytes as JSON; the limit is {limit} (use shorter names)")
    return NewTrip(
        title=args.title,
        started_at=args.started_at,
        ended_at=args.ended_at,
        route=route,
        stops=stops,
        notes=args.notes,
        distance_km=Decimal(str(distance)),
    )


async def log_trip(ctx: ToolContext, args: LogTripInput) -> LogTripResult:
    # The caps bound this work; with a long route it runs in a worker thread.
    trip = await run_cpu(len(args.route) + len(args.stops), _new_trip, args)
    record = await ctx.store.insert_trip(ctx.user, trip)
    duration = None
    if args.ended_at is not None:
        duration = round((args.ended_at - args.started_at).total_seconds() / 3600, 2)
    return LogTripResult(
        trip_id=record.id,
        distance_km=float(trip.distance_km),
        duration_hours=duration,
        stop_count=len(args.stops),
        under_way=args.ended_at is None,
    )


def summarize_brief(trip: TripBrief) -> TripSummary:
    """A trip as summaries show it: counted in SQL, notes clipped and the first stops (SQL's trip_brief)."""
    return TripSummary(
        trip_id=trip.id,
        title=trip.title,
        started_at=trip.started_at,
        ended_at=trip.ended_at,
        distance_km=float(trip.distance_km) if trip.distance_km is not None else None,
        stop_count=trip.stop_count,
        route_points=trip.route_points,
        notes=trip.notes,
        stops=trip.stops,
    )


def detail_of(trip: TripDetail) -> TripSummary:
    """A trip with its notes and stops, as pam://trips/{id} shows it (its route is counted, not shown)."""
    return summarize_brief(trip).model_copy(update={"notes": trip.notes, "stops": trip.stops})


async def recent_trips(ctx: ToolContext, limit: int = 10) -> list[TripSummary]:
    # Briefs, counted in SQL: a trip's route (up to 2 MB) never leaves the database for a list.
    return [summarize_brief(t) for t in await ctx.store.recent_trips(ctx.user, limit)]


async def trip_detail(ctx: ToolContext, trip_id: uuid.UUID) -> TripSummary:
    return detail_of(await ctx.store.get_trip(ctx.user, trip_id))


# -- show_trip: a saved trip for the trip map ------------------------------------------------------

# How many route points show_trip hands the map (downsampled in SQL, public.pam_show_trip):
# a 5,000-point drive drawn 600 px wide looks the same with 500.
SHOW_TRIP_POINTS = 500


class ShowTripInput(Input):
    trip_id: uuid.UUID = Field(description="The trip's id, from pam://trips or log_trip")


class MapPoint(Output):
    lat: float
    lon: float
    name: str | None = None


class ShowTripResult(Output):
    trip_id: uuid.UUID
    title: str | None
    started_at: dt.datetime = Field(description="ISO 8601 in the person's time zone")
    ended_at: dt.datetime | None = Field(description="ISO 8601 in the person's time zone; null while under way")
    under_way: bool
    duration_hours: float | None = Field(description="None while the trip is under way")
    distance_km: float | None
    notes: str | None
    stop_count: int
    stops: list[dict[str, Any]] = Field(
        description="Every stop in order (name, lat, lon, kind, optional cost; 'at' in the person's time zone)"
    )
    route_points: int = Field(description="How many route points the trip has")
    route: list[MapPoint] = Field(
        description=f"The route for drawing: at most {SHOW_TRIP_POINTS} points evenly spaced along it, "
        "first and last kept (all of them when the trip has fewer)"
    )


async def show_trip(ctx: ToolContext, args: ShowTripInput) -> ShowTripResult:
    out = await ctx.store.call(
        ctx.user, "pam_show_trip", saved=None, p_trip_id=args.trip_id, p_max_points=SHOW_TRIP_POINTS
    )
    if out is None:
        raise NotFound(f"trip_id: no trip {args.trip_id}; use a trip_id from log_trip or pam://trips.")
    return ShowTripResult.model_validate(out)


# -- declarations (registered by the server layer) -------------------------------------------------

LOG_TRIP = ToolSpec(
    name="log_trip",
    title="Log a trip",
    description="""
        Record a trip the user drove: start time (ISO 8601 with offset), optional end time (omit while
        the trip is under way), the route as points in travel order (lat/lon, optional time and name),
        stops (name, position, kind: campground, fuel, food, attraction, dump_station, rest_area,
        shopping, other; optional cost) and notes. Returns the trip id, the great-circle distance along
        the route in km, the duration in hours and the number of stops. Up to 5,000 route points.""",
    run=log_trip,
    input=LogTripInput,
    output=LogTripResult,
    read_only=False,
    ui_resource=TRIP.uri,
)

SHOW_TRIP = ToolSpec(
    name="show_trip",
    title="Show a trip on a map",
    description=f"""
        Show a trip logged earlier, when the person wants to see it or where they drove: pass its
        trip_id (pam://trips lists trips with their ids; log_trip returns one). Returns the title,
        start and end in the person's time zone, distance in km, duration in hours (null while
        under way), notes, every stop with its kind, route_points (how many points the trip has)
        and the route as at most {SHOW_TRIP_POINTS} evenly spaced points, first and last kept.
        Clients with MCP Apps draw it as a map. An unknown trip_id is not found: take one from
        pam://trips.""",
    run=show_trip,
    input=ShowTripInput,
    output=ShowTripResult,
    read_only=True,
    idempotent=True,
    ui_resource=TRIP.uri,
)

# One sentence for the server's instructions to the model, naming every tool declared here.
GUIDE = "Trips: log_trip; show_trip draws a saved trip (ids in pam://trips) on a map."

TOOLS = (LOG_TRIP, SHOW_TRIP)
