"""log_trip's distance: great-circle (haversine) kilometres along the route, in travel order."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pam_mcp.tools.trips import EARTH_RADIUS_KM, RoutePoint, route_distance_km

SYDNEY = RoutePoint(lat=-33.8688, lon=151.2093)
MELBOURNE = RoutePoint(lat=-37.8136, lon=144.9631)
CANBERRA = RoutePoint(lat=-35.2809, lon=149.1300)


def test_no_route_or_a_single_point_is_no_distance() -> None:
    assert route_distance_km([]) == 0.0
    assert route_distance_km([SYDNEY]) == 0.0
    assert route_distance_km([SYDNEY, SYDNEY]) == 0.0


def test_sydney_to_melbourne_is_about_714_km_as_the_crow_flies() -> None:
    assert route_distance_km([SYDNEY, MELBOURNE]) == pytest.approx(713.8, abs=1.0)


def test_a_degree_of_latitude_is_about_111_km() -> None:
    one_degree = route_distance_km([RoutePoint(lat=0, lon=0), RoutePoint(lat=1, lon=0)])
    assert one_degree == pytest.approx(2 * math.pi * EARTH_RADIUS_KM / 360)


def test_crossing_the_date_line_takes_the_short_way() -> None:
    across = route_distance_km([RoutePoint(lat=0, lon=179.5), RoutePoint(lat=0, lon=-179.5)])
    assert across == pytest.approx(2 * math.pi * EARTH_RADIUS_KM / 360)


def test_opposite_sides_of_the_earth_are_half_its_circumference_apart() -> None:
    assert route_distance_km([RoutePoint(lat=90, lon=0), RoutePoint(lat=-90, lon=0)]) == pytest.approx(
        math.pi * EARTH_RADIUS_KM
    )


def test_a_detour_is_the_sum_of_its_legs_and_never_shorter_than_the_direct_way() -> None:
    direct = route_distance_km([SYDNEY, MELBOURNE])
    detour = route_distance_km([SYDNEY, CANBERRA, MELBOURNE])
    assert detour == pytest.approx(route_distance_km([SYDNEY, CANBERRA]) + route_distance_km([CANBERRA, MELBOURNE]))
    assert detour > direct


points = st.builds(
    RoutePoint,
    lat=st.floats(min_value=-90, max_value=90, allow_nan=False),
    lon=st.floats(min_value=-180, max_value=180, allow_nan=False),
)


@given(st.lists(points, max_size=20))
def test_a_route_is_as_long_backwards_as_forwards_and_never_beyond_its_legs_maximum(route: list[RoutePoint]) -> None:
    forward = route_distance_km(route)
    assert forward == pytest.approx(route_distance_km(route[::-1]))
    assert 0.0 <= forward <= max(len(route) - 1, 0) * math.pi * EARTH_RADIUS_KM + 1e-6
