"""PAM over streamable HTTP, as a deployed client sees it: a real server on loopback.

The server is the one ``pam-mcp serve --transport http`` runs (stateless, JSON responses,
Supabase bearer tokens), on the real store and limiter, reached through the SDK's HTTP
client with an ``Authorization`` header. Who the caller is comes from the token alone: a
bad token never reaches MCP, and a second person's token sees none of the first person's
data through any tool or resource.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import MCPError
from mcp.client import Client
from mcp_types import TextResourceContents

from pam_mcp.server import App
from pam_mcp.store.postgres import Database
from tests.conftest import NewUser, mint_token
from tests.support_http import JSON_RPC_HEADERS, RATE_LIMITED, Mode, http_server, serving, signed_in, text_of
from tests.support_process import TOOL_NAMES, delete_limiter_keys, serve_env, serve_processes

pytestmark = pytest.mark.anyio

MODES: list[Mode] = ["legacy", "auto"]  # auto negotiates 2026-07-28 with this SDK
TRIP = {
    "started_at": "2025-05-01T08:00:00+09:30",
    "ended_at": "2025-05-01T14:30:00+09:30",
    "title": "Coober Pedy to Marla",
    "route": [{"lat": -29.01, "lon": 134.75}, {"lat": -27.3, "lon": 133.62}],
    "stops": [{"name": "Cadney Park", "lat": -27.9, "lon": 134.05, "kind": "fuel", "cost": "95.40"}],
}


# -- helpers ----------------------------------------------------------------------------------


async def call_ok(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, text_of(result)
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


async def owner_of(db: Database, table: str, row_id: str) -> uuid.UUID:
    async with db.as_owner() as tx:
        owner: uuid.UUID = await tx.fetchval(f"select user_id from public.{table} where id = $1", uuid.UUID(row_id))
    return owner


# -- tokens ---------------------------------------------------------------------------------------


async def test_a_request_without_a_token_is_refused_with_401_and_a_bearer_challenge(
    make_app: Callable[..., App],
) -> None:
    async with serving(http_server(make_app())) as url, httpx2.AsyncClient(timeout=30) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        response = await http.post(url, json=body, headers=JSON_RPC_HEADERS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def _malformed(user: uuid.UUID) -> str:
    return "not-a-jwt"


def _expired(user: uuid.UUID) -> str:
    return mint_token(user, expires_in=-3600)


def _for_anon(user: uuid.UUID) -> str:
    return mint_token(user, audience="anon")


def _other_secret(user: uuid.UUID) -> str:
    return mint_token(user, secret="another-projects-jwt-secret-of-enough-length")


def _service_role(user: uuid.UUID) -> str:
    # The service role bypasses RLS: a token claiming it must never be taken for a person's.
    return mint_token(user, role="service_role")


def _anon_role(user: uuid.UUID) -> str:
    return mint_token(user, role="anon")


@pytest.mark.parametrize(
    "bad_token",
    [_malformed, _expired, _for_anon, _other_secret, _service_role, _anon_role],
    ids=["malformed", "expired", "another-audience", "another-secret", "role-service-role", "role-anon"],
)
async def test_a_request_with_a_bad_token_is_refused_with_401(
    make_app: Callable[..., App], new_user: NewUser, bad_token: Callable[[uuid.UUID], str]
) -> None:
    user = await new_user()
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "check_guardrails", "arguments": {"text": "hello"}},
    }
    async with serving(http_server(make_app())) as url, httpx2.AsyncClient(timeout=30) as http:

        async def post_with(token: str) -> httpx2.Response:
            return await http.post(url, json=body, headers=JSON_RPC_HEADERS | {"authorization": f"Bearer {token}"})

        refused = await post_with(bad_token(user))
        accepted = await post_with(mint_token(user))  # the same request with a good token, for contrast
    assert refused.status_code == 401
    assert "invalid_token" in refused.headers["www-authenticate"]
    assert accepted.status_code == 200
    assert accepted.json()["result"]["isError"] is False


# -- acting as the token's user ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_signed_in_user_sees_every_tool_and_every_call_acts_as_them(
    make_app: Callable[..., App], new_user: NewUser, db: Database, mode: Mode
) -> None:
    alice = await new_user()
    async with serving(http_server(make_app())) as url, signed_in(url, mint_token(alice), mode) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOL_NAMES

        trip = await call_ok(client, "log_trip", TRIP)
        saving = await call_ok(
            client, "record_saving", {"amount": "6.20", "category": "fuel", "description": "diesel 8c/L cheaper"}
        )
        expense = await call_ok(
            client,
            "log_expense",
            {"amount": "95.40", "category": "fuel", "description": "Cadney Park", "trip_id": trip["trip_id"]},
        )
        session = await call_ok(client, "update_context", {"facts": {"heading": "Uluru"}})
        message = await call_ok(
            client, "log_message", {"session_id": session["session_id"], "role": "user", "content": "fuel at Marla?"}
        )
        spent = await call_ok(client, "query_expenses", {})
        context = await call_ok(client, "get_context", {})

    assert (spent["total"], spent["count"]) == ("95.40", 1)
    assert saving["month_total"] == "6.20"
    assert context["latest_trip"]["trip_id"] == trip["trip_id"]
    assert context["session_id"] == session["session_id"]
    assert context["session_context"] == {"heading": "Uluru"}
    assert [m["content"] for m in context["messages"]] == ["fuel at Marla?"]
    assert context["spending_this_month"]["total"] == "95.40"
    assert context["savings_this_month"]["total_saved"] == "6.20"
    # The rows are Alice's in the database itself, not only in what the tools report.
    assert await owner_of(db, "trips", trip["trip_id"]) == alice
    assert await owner_of(db, "pam_savings_events", saving["saving_id"]) == alice
    assert await owner_of(db, "expenses", expense["expense"]["expense_id"]) == alice
    assert await owner_of(db, "pam_sessions", session["session_id"]) == alice
    assert await owner_of(db, "pam_messages", message["message_id"]) == alice


@pytest.mark.parametrize("mode", MODES)
async def test_another_user_sees_none_of_the_first_users_data_through_any_tool_or_resource(
    make_app: Callable[..., App], new_user: NewUser, mode: Mode
) -> None:
    alice, bob = await new_user(), await new_user()
    async with serving(http_server(make_app())) as url:
        async with signed_in(url, mint_token(alice), mode) as as_alice:
            trip = await call_ok(as_alice, "log_trip", TRIP)
            await call_ok(as_alice, "log_expense", {"amount": "42.00", "category": "food"})
            session = await call_ok(as_alice, "update_context", {"facts": {"dog": "Rex"}})
            await call_ok(
                as_alice, "log_message", {"session_id": session["session_id"], "role": "user", "content": "hi"}
            )

        async with signed_in(url, mint_token(bob), mode) as as_bob:
            spent = await call_ok(as_bob, "query_expenses", {"include_items": True})
            context = await call_ok(as_bob, "get_context", {})
            others_session = await as_bob.call_tool(
                "get_context", {"session_id": session["session_id"]}
            )  # naming Alice's session explicitly
            trips = await as_bob.read_resource("pam://trips")

            read_errors: list[tuple[int, str, Any]] = []
            for trip_id in (trip["trip_id"], str(uuid.uuid4())):
                with pytest.raises(MCPError) as caught:
                    await as_bob.read_resource(f"pam://trips/{trip_id}")
                error = caught.value
                read_errors.append(
                    (error.code, error.message.replace(trip_id, "<id>"), repr(error.data).replace(trip_id, "<id>"))
                )

            message_errors: list[str] = []
            for session_id in (session["session_id"], str(uuid.uuid4())):
                result = await as_bob.call_tool(
                    "log_message", {"session_id": session_id, "role": "user", "content": "x"}
                )
                assert result.is_error
                message_errors.append(text_of(result).replace(session_id, "<id>"))

    assert (spent["total"], spent["count"], spent["items"]) == ("0.00", 0, [])
    assert context["latest_trip"] is None
    assert context["session_id"] is None
    assert context["messages"] == []
    assert context["session_context"] == {}
    assert others_session.is_error
    assert text_of(others_session).endswith(f"No session {session['session_id']}.")
    first = trips.contents[0]
    assert isinstance(first, TextResourceContents)
    assert trip["trip_id"] not in first.text

    # Alice's trip and a trip that never existed are refused alike: same code, same words.
    assert read_errors[0] == read_errors[1]
    assert message_errors[0] == message_errors[1] == "No session <id>."


# -- the rate limit --------------------------------------------------------------------------------


async def test_the_fourth_call_within_a_limit_of_three_an_hour_is_refused_with_the_wait(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    alice = await new_user()
    async with serving(http_server(make_app(rate="3/hour"))) as url, signed_in(url, mint_token(alice)) as client:
        results = [await client.call_tool("check_guardrails", {"text": "hello"}) for _ in range(4)]

    assert [r.is_error for r in results] == [False, False, False, True]
    assert RATE_LIMITED.match(text_of(results[3])), text_of(results[3])
    assert "3/hour" in text_of(results[3])


# -- the real command --------------------------------------------------------------------------------


async def test_the_serve_command_answers_a_signed_in_call_and_refuses_a_call_without_a_token(
    database_url: str, redis_url: str, redis_client: Any, new_user: NewUser, tmp_path: Path
) -> None:
    alice = await new_user()
    try:
        env = serve_env(database_url, redis_url, tmp_path, PAM_RATE_LIMIT="100/hour")
        async with serve_processes(1, env, tmp_path) as [url]:
            async with signed_in(url, mint_token(alice)) as client:
                result = await call_ok(client, "set_guardrails", {"safety_level": "high"})
            async with httpx2.AsyncClient(timeout=30) as http:
                body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
                refused = await http.post(url, json=body, headers=JSON_RPC_HEADERS)
    finally:
        await delete_limiter_keys(redis_client, alice)

    assert result == {"safety_level": "high", "previous_level": "medium"}
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer ")


# -- a request the SDK's parser cannot read ------------------------------------------------------


async def test_facts_nested_200_deep_get_an_error_answer_over_http_not_a_hang(
    make_app: Callable[..., App], new_user: NewUser
) -> None:
    alice = await new_user()
    facts: dict[str, Any] = {"leaf": "Cobar"}
    for _ in range(200):
        facts = {"next": facts}
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "update_context", "arguments": {"session_id": "deep", "facts": facts}},
    }
    headers = {**JSON_RPC_HEADERS, "authorization": f"Bearer {mint_token(alice)}", "mcp-protocol-version": "2025-11-25"}
    async with serving(http_server(make_app())) as url, httpx2.AsyncClient(timeout=30) as http:
        answer = await http.post(url, json=body, headers=headers)

    assert 400 <= answer.status_code < 500, answer.text
    error = answer.json()["error"]
    assert error["code"] in (-32700, -32600, -32602), error
    for word in ("Traceback", "asyncpg", "Exception"):
        assert word not in answer.text, answer.text
