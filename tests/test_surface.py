"""The rest of the MCP surface through a real client: prompts, completions, log notifications,
resource-not-found as -32002, and capabilities advertised only where delivered."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from mcp import MCPError
from mcp.client import Client
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import (
    EmbeddedResource,
    LoggingMessageNotificationParams,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
    TextResourceContents,
)

from pam_mcp.prompts import Rendered, figures
from pam_mcp.ratelimit import parse_rate
from pam_mcp.server import App, build_server
from pam_mcp.store.base import Caller
from pam_mcp.store.postgres import Database
from pam_mcp.tools.common import ToolContext
from tests.conftest import NewUser
from tests.test_tools import MODES, call, make_app, rest_fake, session

__all__ = ["make_app", "rest_fake"]  # fixtures shared with test_tools, on both stores

pytestmark = pytest.mark.anyio

# 20:30 UTC on 30 November: already 1 December in Sydney.
NOW = dt.datetime(2026, 11, 30, 20, 30, tzinfo=dt.UTC)


def clock() -> dt.datetime:
    return NOW


async def in_sydney(db: Database, user: uuid.UUID) -> None:
    async with db.as_user(user) as tx:
        await tx.execute(
            "insert into public.profiles (id, timezone, currency, country_code) values ($1, 'Australia/Sydney', 'AUD', 'AU')",
            user,
        )


def prompt_ref(name: str) -> PromptReference:
    return PromptReference(type="ref/prompt", name=name)


def template_ref(uri: str) -> ResourceTemplateReference:
    return ResourceTemplateReference(type="ref/resource", uri=uri)


@pytest.mark.parametrize("mode", MODES)
async def test_the_menu_lists_four_prompts_with_their_arguments(make_app: Callable[..., App], mode: str) -> None:
    async with session(make_app(uuid.uuid4()), mode) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert list(prompts) == ["monthly_review", "trip_debrief", "plan_drive", "maintenance_check"]
    for prompt in prompts.values():
        assert prompt.title and prompt.description
    assert [(a.name, a.required) for a in prompts["plan_drive"].arguments or []] == [
        ("date", True),
        ("destination", False),
    ]
    assert prompts["maintenance_check"].arguments == []


def figures_of(result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A monthly_review's embedded resources by URI and its tool results by tool, as JSON."""
    embedded: dict[str, Any] = {}
    ran: dict[str, Any] = {}
    for message in result.messages[1:]:
        content = message.content
        if isinstance(content, EmbeddedResource):
            assert isinstance(content.resource, TextResourceContents)
            embedded[str(content.resource.uri)] = json.loads(content.resource.text)
        else:
            assert isinstance(content, TextContent)
            label, body = content.text.split("\n", 1)
            ran[label.split(" ", 1)[0]] = json.loads(body) if body.startswith("{") else body
    return embedded, ran


async def test_monthly_review_embeds_every_figure_of_the_month_as_the_person(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    await in_sydney(db, user)
    async with session(make_app(user, now=clock)) as client:
        await call(client, "set_budget", {"category": "fuel", "monthly_limit": "100.00"})
        await call(client, "log_expense", {"amount": "42.50", "category": "fuel", "spent_on": "2026-12-01"})
        await call(client, "log_expense", {"amount": "9.00", "category": "food", "spent_on": "2026-11-30"})
        await call(client, "record_saving", {"amount": "3.10", "category": "fuel", "description": "cheaper diesel",
                                             "saved_on": "2026-12-01"})  # fmt: skip
        await call(client, "log_income", {"amount": "500.00", "source": "work_camping", "received_on": "2026-12-01"})
        booked = await call(client, "add_event", {"title": "Campsite at Lake Hume", "starts_at": "2026-12-03",
                                                  "kind": "booking"})  # fmt: skip
        await call(client, "add_event", {"title": "Far away", "starts_at": "2027-02-01", "kind": "booking"})
        result = await client.get_prompt("monthly_review", {"month": "2026-12"})
    text = result.messages[0].content
    assert isinstance(text, TextContent)
    for tool in ("list_budgets", "cash_flow", "fuel_economy", "maintenance_due", "list_events"):
        assert tool in text.text
    embedded, ran = figures_of(result)
    assert set(embedded) == {"pam://expenses/2026-12", "pam://savings/2026-12"}
    assert [item["amount"] for item in embedded["pam://expenses/2026-12"]["items"]] == ["42.50"]
    assert embedded["pam://savings/2026-12"]["guarantee"]["total_saved"] == "3.10"
    assert list(ran) == ["list_budgets", "cash_flow", "fuel_economy", "maintenance_due", "list_events"]
    fuel = next(b for b in ran["list_budgets"]["budgets"] if b["category"] == "fuel")
    assert (fuel["spent"], fuel["remaining"]) == ("42.50", "57.50")
    flow = ran["cash_flow"]
    assert (flow["start"], flow["end"]) == ("2026-12-01", "2026-12-31")
    # The food expense was 30 November in Sydney: not December's.
    assert (flow["income_total"], flow["spending_total"], flow["net"]) == ("500.00", "42.50", "457.50")
    assert isinstance(ran["fuel_economy"], dict) and isinstance(ran["maintenance_due"], dict)
    # From the person's today (1 December in Sydney) for 30 days: the far booking is not upcoming.
    assert ran["list_events"]["start"] == "2026-12-01"
    assert [e["event_id"] for e in ran["list_events"]["events"]] == [booked["event"]["event_id"]]


async def test_a_part_of_a_review_that_fails_says_so_and_the_rest_still_runs(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    user = await new_user()
    app = make_app(user, now=clock)
    ctx = ToolContext(store=app.store, user=Caller(user), config=app.config)
    rendered = Rendered("", run=(("cash_flow", {"start": "2026-12-31", "end": "2026-12-01"}), ("maintenance_due", {})))
    failed, fine = await figures(ctx, rendered)
    assert failed.result is None and failed.problem == "could not be read just now; call the tool yourself"
    assert failed.label == 'cash_flow {"end": "2026-12-01", "start": "2026-12-31"}'
    assert fine.result is not None and fine.problem is None


async def test_a_prompt_argument_in_the_wrong_format_is_named_with_the_format(make_app: Callable[..., App]) -> None:
    async with session(make_app(uuid.uuid4())) as client:
        with pytest.raises(MCPError) as bad_month:
            await client.get_prompt("monthly_review", {"month": "2026-13"})
        with pytest.raises(MCPError) as bad_date:
            await client.get_prompt("plan_drive", {"date": "30/11/2026"})
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("trip_debrief", {})
    assert (
        bad_month.value.error.code == -32602 and "month" in str(bad_month.value) and "YYYY-MM" in str(bad_month.value)
    )
    assert "date" in str(bad_date.value) and "YYYY-MM-DD" in str(bad_date.value)
    assert "trip_id: required" in str(missing.value)


async def test_plan_drive_and_trip_debrief_carry_their_arguments(make_app: Callable[..., App]) -> None:
    trip = str(uuid.uuid4())
    async with session(make_app(uuid.uuid4()), "legacy") as client:
        drive = await client.get_prompt("plan_drive", {"date": "2026-12-02", "destination": "Dubbo"})
        debrief = await client.get_prompt("trip_debrief", {"trip_id": trip})
        check = await client.get_prompt("maintenance_check", {})
    texts = [r.messages[0].content.text for r in (drive, debrief, check)]  # type: ignore[union-attr]
    assert "2026-12-02 to Dubbo" in texts[0] and '"month": "2026-12"' in texts[0]
    assert f"pam://trips/{trip}" in texts[1]
    assert "maintenance_due" in texts[2]


async def test_months_complete_in_the_persons_own_calendar(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    user = await new_user()
    await in_sydney(db, user)
    async with session(make_app(user, now=clock)) as client:
        every = await client.complete(prompt_ref("monthly_review"), {"name": "month", "value": ""})
        typed = await client.complete(template_ref("pam://savings/{month}"), {"name": "month", "value": "2026-0"})
        spending = await client.complete(template_ref("pam://expenses/{month}"), {"name": "month", "value": "2026-1"})
    assert every.completion.values[:2] == ["2026-12", "2026-11"]  # December already, in Sydney
    assert len(every.completion.values) == 12 and every.completion.values[-1] == "2026-01"
    assert typed.completion.values == [f"2026-0{m}" for m in range(9, 0, -1)]
    assert spending.completion.values == ["2026-12", "2026-11", "2026-10"]


async def test_trip_ids_complete_to_the_persons_own_recent_trips_by_id_or_title(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    me, other = await new_user(), await new_user()
    route = [{"lat": -33.87, "lon": 151.21}, {"lat": -32.25, "lon": 148.6}]
    async with session(make_app(other)) as client:
        await call(client, "log_trip", {"started_at": "2026-11-03T08:00:00Z", "route": route, "title": "Dubbo too"})
    async with session(make_app(me)) as client:
        dubbo = (await call(client, "log_trip", {"started_at": "2026-11-01T08:00:00Z", "route": route,
                                                 "title": "Dubbo run"}))["trip_id"]  # fmt: skip
        hay = (await call(client, "log_trip", {"started_at": "2026-11-02T08:00:00Z", "route": route,
                                               "title": "Hay plains"}))["trip_id"]  # fmt: skip
        every = await client.complete(template_ref("pam://trips/{trip_id}"), {"name": "trip_id", "value": ""})
        by_title = await client.complete(prompt_ref("trip_debrief"), {"name": "trip_id", "value": "dubbo"})
        by_id = await client.complete(prompt_ref("trip_debrief"), {"name": "trip_id", "value": hay[:6]})
        nothing = await client.complete(prompt_ref("no_such_prompt"), {"name": "arg1", "value": "x"})
    assert every.completion.values == [hay, dubbo]  # newest first, only mine
    assert by_title.completion.values == [dubbo]
    assert by_id.completion.values == [hay]
    assert nothing.completion.values == []


async def test_completions_and_prompts_count_in_the_persons_global_bucket(make_app: Callable[..., App]) -> None:
    async with session(make_app(uuid.uuid4(), rate="2/hour")) as client:
        await client.complete(prompt_ref("monthly_review"), {"name": "month", "value": ""})
        await client.get_prompt("maintenance_check", {})
        with pytest.raises(MCPError) as refused:
            await client.complete(prompt_ref("monthly_review"), {"name": "month", "value": ""})
    assert refused.value.error.code == -32000 and "Rate limit of 2/hour reached" in str(refused.value)


async def test_completions_need_a_signed_in_person(make_app: Callable[..., App]) -> None:
    async with session(make_app(None)) as client:  # no stdio user, no token
        with pytest.raises(MCPError, match="No signed-in user"):
            await client.complete(prompt_ref("trip_debrief"), {"name": "trip_id", "value": ""})


async def test_log_notifications_arrive_at_or_above_the_level_set(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    got: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        got.append(params)

    user = await new_user()
    server = build_server(make_app(user))
    async with Client(server, mode="legacy", logging_callback=on_log) as client:
        await call(client, "get_context")  # no level set yet: nothing is sent
        assert got == []
        with pytest.warns(MCPDeprecationWarning):  # deprecated in 2026-07-28; served for the initialize era
            await client.set_logging_level("info")
        await call(client, "log_expense", {"amount": "12.00", "category": "food"})
        saved = [(m.level, m.data) for m in got]
        got.clear()
        await client.call_tool("log_expense", {"amount": "-1", "category": "food"})
        refused = [(m.level, m.data) for m in got]
        got.clear()
        with pytest.warns(MCPDeprecationWarning):
            await client.set_logging_level("debug")
        await call(client, "get_context")
        debug = [(m.level, m.data) for m in got]
    assert len(saved) == 1 and saved[0][0] == "info" and saved[0][1].startswith("log_expense: saved the expense")
    assert (
        len(refused) == 1
        and refused[0][0] == "warning"
        and "Invalid arguments for log_expense: amount" in refused[0][1]
    )
    assert [level for level, _ in debug] == ["debug", "debug", "debug"]
    assert "call(s) left" in debug[0][1] and debug[-1][1].startswith("get_context: answered in")


async def test_log_notifications_on_the_2026_protocol_follow_the_requests_own_level(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    got: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        got.append(params)

    async with Client(build_server(make_app(await new_user())), logging_callback=on_log, log_level="info") as client:
        await call(client, "log_expense", {"amount": "12.00", "category": "food"})
    assert [m.level for m in got] == ["info"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_resource_that_does_not_exist_is_the_specs_not_found(make_app: Callable[..., App], mode: str) -> None:
    async with session(make_app(uuid.uuid4()), mode) as client:
        errors = {}
        for uri in (f"pam://trips/{uuid.uuid4()}", "pam://trips/not-an-id", "pam://expenses/2026-13", "pam://nothing"):
            with pytest.raises(MCPError) as missing:
                await client.read_resource(uri)
            errors[uri] = missing.value.error
    assert {e.code for e in errors.values()} == {-32002}
    assert "YYYY-MM" in errors["pam://expenses/2026-13"].message
    assert all(e.data == {"uri": uri} for uri, e in errors.items())


@pytest.mark.parametrize("mode", MODES)
async def test_capabilities_advertise_only_what_is_delivered(make_app: Callable[..., App], mode: str) -> None:
    async with session(make_app(uuid.uuid4()), mode) as client:
        caps = client.server_capabilities
    assert caps.prompts is not None and caps.completions is not None and caps.logging is not None
    assert caps.resources is not None and caps.tools is not None
    assert not caps.resources.subscribe and not caps.resources.list_changed
    assert not caps.tools.list_changed and not caps.prompts.list_changed


def test_completion_and_prompt_arguments_stay_bounded() -> None:
    from pam_mcp import prompts

    assert prompts.MAX_COMPLETIONS <= 100  # the spec's cap on one completion response
    assert all(len(p.arguments) <= 2 for p in prompts.PROMPTS)


def test_prompts_run_only_catalogued_read_only_tools() -> None:
    from pam_mcp import prompts
    from pam_mcp.tools import CATALOGUE

    read_only = {spec.name for spec in CATALOGUE if spec.read_only}
    samples = {"month": "2026-11", "trip_id": str(uuid.uuid4()), "date": "2026-12-01", "destination": "Albury"}
    for spec in prompts.PROMPTS:
        rendered = spec.render({a.name: samples[a.name] for a in spec.arguments})
        assert {name for name, _ in rendered.run} <= read_only, spec.name


async def test_a_prompt_cannot_sidestep_a_tools_own_limit(
    make_app: Callable[..., App], new_user: NewUser, db: Database
) -> None:
    # list_budgets (run by the review) and query_expenses (whose data pam://expenses/{month} shows)
    # each get one call an hour of their own: the second review is refused those two parts only.
    one_an_hour = parse_rate("1/hour")
    app = make_app(await new_user(), now=clock, tool_rates={"list_budgets": one_an_hour, "query_expenses": one_an_hour})
    async with session(app) as client:
        await client.get_prompt("monthly_review", {"month": "2026-12"})
        second = await client.get_prompt("monthly_review", {"month": "2026-12"})
        direct = await client.call_tool("list_budgets", {"month": "2026-12"})
    texts = [m.content.text for m in second.messages[1:] if isinstance(m.content, TextContent)]
    refused = [t for t in texts if "not attached" in t]
    assert len(refused) == 2
    assert any(t.startswith("(pam://expenses/2026-12 not attached:") for t in refused)
    assert any(t.startswith("list_budgets ") for t in refused)
    assert any(t.startswith("cash_flow ") and "not attached" not in t for t in texts)  # the others still run
    assert direct.is_error  # the prompt's read counted in list_budgets' own bucket
