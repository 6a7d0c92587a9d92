"""log_trip's route and stops: validated once, by pam-mcp, with the schema clients see unchanged.

The SDK passes a list of models through as sent (validating 5,000 route points on the event
loop stalled other people's calls); pam-mcp's input model checks it, off the event loop when
long. These tests hold what a client notices of that: the published schema still describes
every route point and stop, a bad point deep in a long route is refused naming its index,
and nothing is saved.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp.client import Client

from pam_mcp.server import App, build_server
from pam_mcp.store.postgres import Database
from pam_mcp.tools import limits
from tests.conftest import NewUser

pytestmark = pytest.mark.anyio

START = "2026-05-01T06:00:00+10:00"


@asynccontextmanager
async def session(app: App) -> AsyncIterator[Client]:
    async with Client(build_server(app)) as client:
        yield client


def route(points: int) -> list[dict[str, Any]]:
    return [{"lat": -31.95 - i * 1e-4, "lon": 141.45 + i * 1e-4, "name": "Silver City Highway"} for i in range(points)]


async def trips(db: Database, user: uuid.UUID) -> int:
    async with db.as_owner() as tx:
        n: int = await tx.fetchval("select count(*) from public.trips where user_id = $1", user)
    return n


async def refused(client: Client, args: dict[str, Any]) -> str:
    result = await client.call_tool("log_trip", args)
    assert result.is_error, "log_trip should have been refused"
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def test_log_trips_published_schema_still_describes_every_route_point_and_stop(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    async with session(make_app(await new_user())) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "log_trip")
    schema = tool.input_schema
    props, defs = schema["properties"], schema["$defs"]
    assert props["route"]["type"] == "array" and props["route"]["maxItems"] == limits.TRIP_ROUTE_POINTS
    assert props["stops"]["type"] == "array" and props["stops"]["maxItems"] == limits.TRIP_STOPS
    point = defs[props["route"]["items"]["$ref"].rsplit("/", 1)[1]]
    stop = defs[props["stops"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert point["required"] == ["lat", "lon"] and point["properties"]["lat"]["maximum"] == 90
    assert point["additionalProperties"] is False
    assert set(stop["required"]) == {"name", "lat", "lon"} and "campground" in stop["properties"]["kind"]["enum"]


async def test_a_bad_point_deep_in_the_longest_route_is_refused_naming_its_index_and_nothing_is_saved(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    points = route(limits.TRIP_ROUTE_POINTS)
    points[4321]["lat"] = 91
    bad_stop = [{"name": "Wentworth", "lat": -34.1, "lon": 141.9, "kind": "pub"}]
    async with session(make_app(user)) as client:
        bad_point = await refused(client, {"started_at": START, "route": points})
        stranger = await refused(client, {"started_at": START, "route": [{"lat": 1, "lon": 2, "user_id": "x"}]})
        too_long = await refused(client, {"started_at": START, "route": route(limits.TRIP_ROUTE_POINTS + 1)})
        stop = await refused(client, {"started_at": START, "stops": bad_stop})
    assert bad_point == "Invalid arguments for log_trip: route.4321.lat: Input should be less than or equal to 90"
    assert stranger == "Invalid arguments for log_trip: route.0.user_id: Extra inputs are not permitted"
    assert too_long.startswith(
        f"Invalid arguments for log_trip: route: List should have at most {limits.TRIP_ROUTE_POINTS}"
    )
    assert stop.startswith("Invalid arguments for log_trip: stops.0.kind: Input should be 'campground'")
    assert await trips(db, user) == 0


async def test_the_longest_route_is_saved_whole_with_its_distance(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    points = route(limits.TRIP_ROUTE_POINTS)
    points[0]["name"] = "  Broken Hill  "  # inputs are stripped, as every tool's are
    async with session(make_app(user)) as client:
        result = await client.call_tool("log_trip", {"started_at": START, "route": points})
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["distance_km"] == 72.82
    async with db.as_owner() as tx:
        stored = json.loads(await tx.fetchval("select route::text from public.trips where user_id = $1", user))
    assert len(stored) == limits.TRIP_ROUTE_POINTS
    assert stored[0] == {"lat": -31.95, "lon": 141.45, "name": "Broken Hill"}
    assert stored[-1]["name"] == "Silver City Highway"


async def test_a_route_sent_as_a_json_string_is_read_as_the_list_it_holds(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    # Some desktop clients send nested arguments as JSON text; the SDK parses it before validation.
    user = await new_user()
    async with session(make_app(user)) as client:
        result = await client.call_tool("log_trip", {"started_at": START, "route": json.dumps(route(3))})
    assert not result.is_error, result.content
    assert await trips(db, user) == 1
