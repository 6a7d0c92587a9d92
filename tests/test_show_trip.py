"""show_trip: a saved trip for the trip map, through the real MCP client, on both stores.

The route (here 2,001 points) leaves the database downsampled to at most 500 evenly spaced
points, first and last kept; times come in the person's offset (Adelaide, +10:30 in summer);
another person's trip is not found, in the same words as an id that does not exist.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from mcp.client import Client

from pam_mcp.ratelimit import RateLimiter, parse_rate
from pam_mcp.server import App, build_server, new_app
from pam_mcp.store.postgres import Database
from pam_mcp.store.sql_store import PostgresStore
from pam_mcp.tools.trips import SHOW_TRIP_POINTS
from tests.conftest import NewUser
from tests.postgrest_fake import PostgrestFake, rest_store

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["postgres", "rest"])
async def make_app(
    request: pytest.FixtureRequest, database_url: str, db: Database, redis_client: Any, redis_prefix: str
) -> AsyncIterator[Callable[[uuid.UUID], App]]:
    """An App for a person on the PostgreSQL store, or on Supabase's REST API (the PostgREST stand-in)."""
    async with AsyncExitStack() as stack:
        fake = None
        http = None
        if request.param == "rest":
            fake = await stack.enter_async_context(PostgrestFake.running(database_url))
            http = await stack.enter_async_context(fake.client())

        def make(user: uuid.UUID) -> App:
            store = PostgresStore(db) if fake is None or http is None else rest_store(fake, http, user)
            limiter = RateLimiter(redis_client, key_prefix=redis_prefix)
            return new_app(store=store, limiter=limiter, rate=parse_rate("1000/hour"), stdio_user=user)

        yield make


async def adelaide_person(db: Database, new_user: NewUser) -> uuid.UUID:
    user = await new_user()
    async with db.as_user(user) as tx:
        await tx.execute("insert into public.profiles (id, timezone) values ($1, 'Australia/Adelaide')", user)
    return user


ROUTE = [{"lat": -31.95 - i * 0.001, "lon": 141.45 + i * 0.0005} for i in range(2001)]
TRIP = {
    "title": "Broken Hill to Mildura",
    "started_at": "2026-10-11T22:30:00+00:00",  # 09:00 on the 12th in Adelaide (+10:30)
    "ended_at": "2026-10-12T05:00:00+00:00",
    "route": ROUTE,
    "stops": [
        {"name": "Menindee Lakes camp", "lat": -32.39, "lon": 142.42, "kind": "campground",
         "at": "2026-10-12T01:00:00+00:00"},
        {"name": "Wentworth fuel", "lat": -34.11, "lon": 141.92, "kind": "fuel", "cost": "88.40"},
    ],
}  # fmt: skip


async def test_a_saved_trip_comes_with_its_route_downsampled_and_times_in_the_persons_offset(
    make_app: Callable[[uuid.UUID], App], new_user: NewUser, db: Database
) -> None:
    user = await adelaide_person(db, new_user)
    async with Client(build_server(make_app(user))) as client:
        logged = await client.call_tool("log_trip", TRIP)
        assert not logged.is_error and logged.structured_content
        shown = await client.call_tool("show_trip", {"trip_id": logged.structured_content["trip_id"]})
    assert not shown.is_error, shown.content
    trip = shown.structured_content or {}
    assert trip["title"] == "Broken Hill to Mildura"
    assert trip["started_at"] == "2026-10-12T09:00:00+10:30"
    assert trip["ended_at"] == "2026-10-12T15:30:00+10:30"
    assert trip["duration_hours"] == 6.5 and trip["under_way"] is False
    assert trip["distance_km"] == logged.structured_content["distance_km"]
    assert [(s["name"], s["kind"]) for s in trip["stops"]] == [
        ("Menindee Lakes camp", "campground"),
        ("Wentworth fuel", "fuel"),
    ]
    assert trip["stops"][0]["at"] == "2026-10-12T11:30:00+10:30"
    assert trip["stop_count"] == 2
    # At most 500 points, evenly spaced by index (2000 / 499 apart), the ends kept.
    assert trip["route_points"] == 2001
    route = [{k: v for k, v in p.items() if v is not None} for p in trip["route"]]
    assert len(route) == SHOW_TRIP_POINTS
    assert route[0] == ROUTE[0] and route[-1] == ROUTE[-1]
    indexes = [round((ROUTE[0]["lat"] - p["lat"]) / 0.001) for p in route]
    assert indexes == sorted(set(indexes))
    gaps = {b - a for a, b in itertools.pairwise(indexes)}
    assert gaps <= {4, 5}


async def test_a_short_route_comes_whole_and_a_trip_under_way_has_no_duration(
    make_app: Callable[[uuid.UUID], App], new_user: NewUser, db: Database
) -> None:
    user = await adelaide_person(db, new_user)
    short = {"started_at": "2026-10-12T08:00:00+10:30", "route": ROUTE[:3]}
    async with Client(build_server(make_app(user))) as client:
        logged = await client.call_tool("log_trip", short)
        assert logged.structured_content
        trip = (
            await client.call_tool("show_trip", {"trip_id": logged.structured_content["trip_id"]})
        ).structured_content
    assert trip is not None
    assert [{"lat": p["lat"], "lon": p["lon"]} for p in trip["route"]] == ROUTE[:3]
    assert trip["route_points"] == 3
    assert trip["under_way"] is True and trip["ended_at"] is None and trip["duration_hours"] is None
    assert trip["stops"] == [] and trip["title"] is None


async def test_another_persons_trip_is_not_found_like_one_that_does_not_exist(
    make_app: Callable[[uuid.UUID], App], new_user: NewUser, db: Database
) -> None:
    owner, other = await adelaide_person(db, new_user), await new_user()
    async with Client(build_server(make_app(owner))) as client:
        logged = await client.call_tool("log_trip", TRIP)
        assert logged.structured_content
    theirs = logged.structured_content["trip_id"]
    nobody = str(uuid.uuid4())
    async with Client(build_server(make_app(other))) as client:
        refused = await client.call_tool("show_trip", {"trip_id": theirs})
        missing = await client.call_tool("show_trip", {"trip_id": nobody})
    assert refused.is_error and missing.is_error
    text = refused.content[0].text  # type: ignore[union-attr]
    assert text == f"trip_id: no trip {theirs}; use a trip_id from log_trip or pam://trips."
    assert missing.content[0].text.replace(nobody, theirs) == text  # type: ignore[union-attr]


async def test_the_database_bounds_the_points_it_hands_out(new_user: NewUser, db: Database) -> None:
    user = await new_user()
    for bad in (1, 1001, None):
        with pytest.raises(Exception, match="max_points must be a whole number from 2 to 1000"):
            async with db.as_user(user) as tx:
                await tx.fetchval("select public.pam_show_trip($1, $2)", uuid.uuid4(), bad)
    async with db.as_user(user) as tx:
        assert await tx.fetchval("select public.pam_show_trip($1, 2)", uuid.uuid4()) is None
