"""PAM's MCP Apps as people see them: the spending dashboard and the trip map.

A real pam-mcp (streamable HTTP on loopback, real PostgreSQL and Redis) serves a seeded person;
an SDK client that negotiated MCP Apps calls the tools, and Debian's chromium (Playwright)
renders each app inside a small host page (tests/support_apps_host.py, tests/support_apps_browser.py) that speaks the host side
of the protocol and forwards the app's tool calls to the same server. Screenshots in light and
dark go to ``PAM_SCREENSHOTS`` when set, else to the test's temporary directory.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.server.apps import APP_MIME_TYPE
from mcp_types import TextResourceContents

from pam_mcp.ratelimit import parse_rates
from pam_mcp.server import App, build_server
from pam_mcp.store.postgres import Database
from tests.conftest import NewUser
from tests.support_apps_browser import WITH_APPS, apps_client, rendered, screenshot_dir, screenshots, spaced
from tests.support_http import RATE_LIMITED, http_server, serving, text_of

pytestmark = pytest.mark.anyio

MONTH = {"start": "2026-10-01", "end": "2026-10-31"}
# (day, category, amount, description) in October 2026; fuel goes over its budget, food does not.
EXPENSES = [
    ("2026-10-03", "fuel", "142.50", "Diesel at Cobar"),
    ("2026-10-05", "food", "86.40", "Groceries in Dubbo"),
    ("2026-10-12", "fuel", "168.20", "Diesel at Broken Hill"),
    ("2026-10-12", "campground", "45.00", "Broken Hill caravan park"),
    ("2026-10-18", "food", "23.10", "Bakery in Wentworth"),
    ("2026-10-20", "fuel", "95.30", "Diesel at Mildura"),
]
BUDGETS = {"fuel": Decimal("350.00"), "food": Decimal("400.00")}
CURRENCY = "NZD"  # not the default (AUD), so the dashboard must have read it from the profile


async def seeded_person(new_user: NewUser, db: Database) -> uuid.UUID:
    user = await new_user()
    async with db.as_owner() as tx:
        await tx.execute("insert into public.profiles (id, currency) values ($1, $2)", user, CURRENCY)
        for category, limit in BUDGETS.items():
            await tx.execute(
                "insert into public.budgets (user_id, category, monthly_limit) values ($1, $2, $3)",
                user,
                category,
                limit,
            )
    return user


async def test_a_client_without_apps_sees_no_app_parts_and_gets_the_figures_as_text(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await seeded_person(new_user, db)
    async with Client(build_server(make_app(user))) as client:
        for spent_on, category, amount, description in EXPENSES:
            await client.call_tool(
                "log_expense",
                {"amount": amount, "category": category, "description": description, "spent_on": spent_on},
            )
        tools = {t.name for t in (await client.list_tools()).tools}
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        result = await client.call_tool("query_expenses", MONTH)
    assert "spending_items" not in tools and "spending_overview" not in tools
    assert not any(uri.startswith("ui://") for uri in uris)
    facts = json.loads(text_of(result))
    assert facts == result.structured_content
    assert {g["key"]: g["total"] for g in facts["groups"]} == {
        "fuel": "406.00",
        "food": "109.50",
        "campground": "45.00",
    }
    fuel = next(b for b in facts["budgets"] if b["category"] == "fuel")
    assert fuel["over_budget"] is True and fuel["remaining"] == "-56.00"


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # both protocol generations carry the capability
async def test_an_apps_client_sees_the_links_the_app_only_tools_and_a_csp_that_admits_no_origin(
    make_app: Callable[..., App], new_user: NewUser, mode: Any
) -> None:
    async with Client(build_server(make_app(await new_user())), extensions=[WITH_APPS], mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        resource = (await client.read_resource("ui://pam/spending")).contents[0]
    assert (tools["query_expenses"].meta or {})["ui"] == {"resourceUri": "ui://pam/spending"}
    assert (tools["log_trip"].meta or {})["ui"] == {"resourceUri": "ui://pam/trip"}
    assert (tools["show_trip"].meta or {})["ui"] == {"resourceUri": "ui://pam/trip"}
    assert (tools["spending_items"].meta or {})["ui"]["visibility"] == ["app"]
    assert isinstance(resource, TextResourceContents) and resource.mime_type == APP_MIME_TYPE
    assert (resource.meta or {})["ui"]["csp"] == {
        "connectDomains": [],
        "resourceDomains": [],
        "frameDomains": [],
        "baseUriDomains": [],
    }
    assert "<script src" not in resource.text and "http" not in resource.text.replace("http://www.w3.org/2000/svg", "")


async def test_an_app_only_tool_counts_in_the_bucket_of_the_tool_whose_data_it_shows(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    app = make_app(await new_user(), tool_rates={"query_expenses": parse_rates("1/hour")})
    async with Client(build_server(app), extensions=[WITH_APPS]) as client:
        assert not (await client.call_tool("query_expenses", {})).is_error
        refused = await client.call_tool("spending_items", {"category": "fuel"})
    assert refused.is_error and "1/hour" in text_of(refused)


async def test_an_app_only_tool_names_a_bad_argument(make_app: Callable[..., App], new_user: NewUser) -> None:
    async with Client(build_server(make_app(await new_user())), extensions=[WITH_APPS]) as client:
        result = await client.call_tool(
            "spending_items", {"category": "fuel", "start": "2026-10-31", "end": "2026-10-01"}
        )
    assert result.is_error and text_of(result) == "Invalid arguments for spending_items: end is before start"


# -- in the browser -------------------------------------------------------------------------------


async def test_the_spending_dashboard_shows_categories_against_budget_and_lists_a_category_on_click(
    make_app: Callable[..., App], new_user: NewUser, db: Database, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    user = await seeded_person(new_user, db)
    async with serving(http_server(make_app(user))) as url, apps_client(url, user) as client:
        for spent_on, category, amount, description in EXPENSES:
            logged = await client.call_tool(
                "log_expense",
                {"amount": amount, "category": category, "description": description, "spent_on": spent_on},
            )
            assert not logged.is_error, text_of(logged)
        result = await client.call_tool("query_expenses", MONTH)
        async with rendered(client, "ui://pam/spending", MONTH, result) as view:
            app = view.app
            categories = app.locator("button.category")
            await expect(categories).to_have_count(3, timeout=15000)
            await expect(app.locator("#range")).to_have_text("1 October 2026 \u2013 31 October 2026")
            await expect(app.locator("#summary")).to_have_text("NZD 560.50 spent · 6 expenses")
            names = await categories.locator(".name").all_text_contents()
            amounts = [spaced(t) for t in await categories.locator(".amount").all_text_contents()]
            assert list(zip(names, amounts, strict=True)) == [
                ("Fuel", "NZD 406.00"),
                ("Food", "NZD 109.50"),
                ("Campgrounds", "NZD 45.00"),
            ]
            budgets = [spaced(t) for t in await categories.locator(".budget").all_text_contents()]
            assert budgets == [
                "NZD 56.00 over the NZD 350.00 budget",
                "27% of the NZD 400.00 budget · NZD 290.50 left",
                "No budget set",
            ]
            await expect(app.locator(".budget-line")).to_have_count(2)
            await expect(app.locator("#trend svg rect")).to_have_count(31)  # every day of October
            trend_label = await app.locator("#trend svg").get_attribute("aria-label")
            assert spaced(trend_label or "") == "Spending by day: highest NZD 213.20 on 12 Oct."

            await categories.nth(0).click()
            items = app.locator("#item-list li")
            await expect(items).to_have_count(3, timeout=15000)
            assert spaced(await items.nth(0).inner_text()) == "20 Oct\nDiesel at Mildura\nNZD 95.30"
            await expect(app.locator("#items-status")).to_have_text("3 in all · NZD 406.00")
            await expect(categories.nth(0)).to_have_attribute("aria-expanded", "true")

            await categories.nth(1).focus()  # the keyboard works as well as the mouse
            await view.page.keyboard.press("Enter")
            await expect(app.locator("#items-title")).to_have_text("Food: expenses")
            await expect(items).to_have_count(2, timeout=15000)
            assert view.calls == ["spending_overview", "spending_items", "spending_items"]

            height = await view.page.evaluate("Math.max(...pamHost.heights)")
            assert 0 < height <= 500
            await screenshots(view, screenshot_dir(tmp_path), "spending", lambda: expect(items).to_have_count(2))
            assert view.problems == []
            # The check above can see a violation: a request to an undeclared origin is one.
            violation = view.page.expect_console_message(lambda m: "CSP violation: connect-src" in m.text, timeout=5000)
            async with violation:
                await view.app_frame().evaluate("fetch('https://example.com/x').catch(() => null)")


def _route_points(start: tuple[float, float], end: tuple[float, float], n: int) -> list[dict[str, Any]]:
    return [
        {
            "lat": round(start[0] + (end[0] - start[0]) * i / (n - 1), 5),
            "lon": round(start[1] + (end[1] - start[1]) * i / (n - 1), 5),
        }
        for i in range(n)
    ]


async def test_the_trip_map_draws_the_route_and_its_stops_with_distance_and_duration(
    make_app: Callable[..., App], new_user: NewUser, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    user = await new_user()
    route = (
        _route_points((-31.95, 141.45), (-33.0, 142.2), 60) + _route_points((-33.0, 142.2), (-34.19, 142.16), 60)[1:]
    )
    route[0]["name"], route[-1]["name"] = "Broken Hill", "Mildura"
    trip = {
        "title": "Broken Hill to Mildura",
        "started_at": "2026-10-12T08:00:00+10:30",
        "ended_at": "2026-10-12T14:30:00+10:30",
        "route": route,
        "stops": [
            {"name": "Menindee Lakes camp", "lat": -32.39, "lon": 142.42, "kind": "campground"},
            {"name": "Wentworth fuel", "lat": -34.11, "lon": 141.92, "kind": "fuel", "cost": "88.40"},
            {"name": "Mildura dump point", "lat": -34.18, "lon": 142.15, "kind": "dump_station"},
        ],
    }
    async with serving(http_server(make_app(user))) as url, apps_client(url, user) as client:
        result = await client.call_tool("log_trip", trip)
        assert not result.is_error, text_of(result)
        facts = result.structured_content or {}
        async with rendered(client, "ui://pam/trip", trip, result) as view:
            app = view.app
            await expect(app.locator("#title")).to_have_text("Broken Hill to Mildura", timeout=15000)
            facts_text = await app.locator("#facts").inner_text()
            distance = f"{facts['distance_km']:.1f} km"
            assert distance in facts_text and "6 h 30 min" in facts_text and "Stops\n3" in facts_text
            stops = app.locator("#stops li")
            await expect(stops).to_have_count(3)
            assert await stops.locator(".stop-name").all_text_contents() == [
                "Menindee Lakes camp", "Wentworth fuel", "Mildura dump point",
            ]  # fmt: skip
            kinds = await stops.locator(".kind").all_text_contents()
            assert kinds == ["· Campground", "· Fuel", "· Dump station"]
            await expect(app.locator("#map svg polyline.route")).to_have_count(1)
            points = await app.locator("#map svg polyline.route").get_attribute("points")
            assert len(points.split(" ")) == len(route)
            await expect(app.locator("#map svg circle.stop")).to_have_count(3)
            label = await app.locator("#map svg").get_attribute("aria-label")
            assert label.startswith("Map of the route from Broken Hill to Mildura")
            await expect(app.locator("#when")).to_contain_text("12 Oct 2026")
            height = await view.page.evaluate("Math.max(...pamHost.heights)")
            assert 0 < height <= 500
            await screenshots(view, screenshot_dir(tmp_path), "trip", lambda: expect(stops).to_have_count(3))
            assert view.calls == []  # everything came with the tool call; nothing else was asked
            assert view.problems == []


async def test_the_trip_map_draws_a_saved_trip_shown_with_show_trip(
    make_app: Callable[..., App], new_user: NewUser, db: Database, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    user = await new_user()
    async with db.as_user(user) as tx:
        await tx.execute("insert into public.profiles (id, timezone) values ($1, 'Australia/Adelaide')", user)
    # A long drive, logged earlier: the map gets it from show_trip's result alone, downsampled.
    route = (
        _route_points((-31.95, 141.45), (-33.0, 142.2), 1200) + _route_points((-33.0, 142.2), (-34.19, 142.16), 801)[1:]
    )
    route[0]["name"], route[-1]["name"] = "Broken Hill", "Mildura"
    logged = {
        "title": "Broken Hill to Mildura",
        "started_at": "2026-10-12T08:00:00+10:30",
        "ended_at": "2026-10-12T14:30:00+10:30",
        "route": route,
        "stops": [
            {"name": "Menindee Lakes camp", "lat": -32.39, "lon": 142.42, "kind": "campground"},
            {"name": "Wentworth fuel", "lat": -34.11, "lon": 141.92, "kind": "fuel", "cost": "88.40"},
        ],
    }
    async with serving(http_server(make_app(user))) as url, apps_client(url, user) as client:
        trip_id = ((await client.call_tool("log_trip", logged)).structured_content or {})["trip_id"]
        shown = {"trip_id": trip_id}
        result = await client.call_tool("show_trip", shown)
        assert not result.is_error, text_of(result)
        facts = result.structured_content or {}
        assert len(facts["route"]) == 500 and facts["route_points"] == 2000
        async with rendered(client, "ui://pam/trip", shown, result) as view:
            app = view.app
            await expect(app.locator("#title")).to_have_text("Broken Hill to Mildura", timeout=15000)
            facts_text = await app.locator("#facts").inner_text()
            assert f"{facts['distance_km']:.1f} km" in facts_text and "6 h 30 min" in facts_text
            assert "Stops\n2" in facts_text and "Route points\n2000" in facts_text
            stops = app.locator("#stops li")
            assert await stops.locator(".stop-name").all_text_contents() == ["Menindee Lakes camp", "Wentworth fuel"]
            assert await stops.locator(".kind").all_text_contents() == ["· Campground", "· Fuel"]
            points = await app.locator("#map svg polyline.route").get_attribute("points")
            assert points is not None and len(points.split(" ")) == 500
            await expect(app.locator("#map svg circle.stop")).to_have_count(2)
            await expect(app.locator("#map-caption")).to_have_text(
                "Drawn from 500 of the 2000 logged points, evenly spaced; north is up."
            )
            label = await app.locator("#map svg").get_attribute("aria-label")
            assert label is not None and label.startswith(
                "Map of the route from Broken Hill to Mildura, 2000 route points"
            )
            await expect(app.locator("#when")).to_contain_text("12 Oct 2026")
            await screenshots(view, screenshot_dir(tmp_path), "trip-shown", lambda: expect(stops).to_have_count(2))
            assert view.calls == []  # the result carried everything
            assert view.problems == []


async def test_a_trip_logged_as_an_error_shows_the_error_in_the_map(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    from playwright.async_api import expect

    user = await new_user()
    bad = {"started_at": "2026-10-12T08:00:00+10:30", "ended_at": "2026-10-11T08:00:00+10:30"}
    async with serving(http_server(make_app(user))) as url, apps_client(url, user) as client:
        result = await client.call_tool("log_trip", bad)
        assert result.is_error
        async with rendered(client, "ui://pam/trip", bad, result) as view:
            await expect(view.app.locator("#status")).to_have_text(text_of(result), timeout=15000)
            assert view.problems == []


async def test_a_category_click_past_the_rate_limit_tells_the_person_when_to_try_again(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    from playwright.async_api import expect

    user = await seeded_person(new_user, db)
    # query_expenses, then the dashboard's overview: the click's item list is the third call.
    app = make_app(user, tool_rates={"query_expenses": parse_rates("2/hour")})
    async with serving(http_server(app)) as url, apps_client(url, user) as client:
        result = await client.call_tool("query_expenses", MONTH)
        async with rendered(client, "ui://pam/spending", MONTH, result) as view:
            categories = view.app.locator("button.category")
            await expect(categories).to_have_count(2, timeout=15000)  # the budgeted ones, nothing spent yet
            await categories.nth(0).click()
            status = view.app.locator("#items-status")
            await expect(status).to_have_text(RATE_LIMITED, timeout=15000)
            await expect(status).to_have_class("status error")
            assert view.calls == ["spending_overview", "spending_items"]
            assert view.problems == []
