"""The Supabase Auth calls the consent page makes, as the person (their access token), never as the service role.

- ``POST /auth/v1/token?grant_type=password``: sign in with email and password;
- ``GET /auth/v1/oauth/authorizations/{id}``: what the client asks for (or, when the person
  already consented to these scopes, just where to send them back: ``redirect_url``);
- ``POST /auth/v1/oauth/authorizations/{id}/consent`` with ``{"action": "approve" | "deny"}``:
  the decision; the answer is the ``redirect_url`` back to the client (with the code, or
  with ``error=access_denied``).

Every call is bounded by a timeout. Supabase's error text is not shown to people: each
failure becomes one ``AuthFailed`` kind, which the page words for a person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
# Supabase Auth's error codes for a 403 that is about the access token, not the request.
SESSION_ERROR_CODES = frozenset({"bad_jwt", "no_authorization", "session_not_found", "session_expired"})
Failure = Literal["credentials", "unconfirmed", "request_gone", "session", "too_many", "unavailable"]


class AuthFailed(Exception):
    def __init__(self, kind: Failure) -> None:
        super().__init__(kind)
        self.kind: Failure = kind


@dataclass(frozen=True)
class Session:
    access_token: str
    expires_in: int


@dataclass(frozen=True)
class Request:
    """An authorization request waiting for the person's decision."""

    authorization_id: str
    client_name: str
    client_uri: str
    redirect_uri: str
    scopes: list[str] = field(default_factory=list)
    email: str = ""


@dataclass(frozen=True)
class Redirect:
    """Where to send the browser back to the client."""

    url: str


class SupabaseAuth:
    def __init__(self, supabase_url: str, anon_key: str, client: httpx.AsyncClient | None = None) -> None:
        self._base = supabase_url.rstrip("/") + "/auth/v1"
        self._anon_key = anon_key
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _headers(self, access_token: str | None = None) -> dict[str, str]:
        headers = {"apikey": self._anon_key, "accept": "application/json"}
        if access_token:
            headers["authorization"] = f"Bearer {access_token}"
        return headers

    async def _call(self, method: str, path: str, access_token: str | None, **kwargs: Any) -> tuple[int, Any]:
        try:
            response = await self._client.request(
                method, self._base + path, headers=self._headers(access_token), **kwargs
            )
        except httpx.HTTPError as exc:
            log.warning("Supabase Auth unreachable: %s", type(exc).__name__)
            raise AuthFailed("unavailable") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500:
            log.warning("Supabase Auth answered %d on %s", response.status_code, path.split("?")[0])
            raise AuthFailed("unavailable")
        if response.status_code == 429:
            raise AuthFailed("too_many")
        return response.status_code, body

    async def sign_in(self, email: str, password: str) -> Session:
        status, body = await self._call(
            "POST", "/token?grant_type=password", None, json={"email": email, "password": password}
        )
        if status == 200 and isinstance(body, dict) and body.get("access_token"):
            return Session(str(body["access_token"]), int(body.get("expires_in") or 3600))
        code = body.get("error_code") or body.get("code") if isinstance(body, dict) else None
        if code == "email_not_confirmed":
            raise AuthFailed("unconfirmed")
        raise AuthFailed("credentials")

    async def authorization(self, authorization_id: str, access_token: str) -> Request | Redirect:
        path = f"/oauth/authorizations/{quote(authorization_id, safe='')}"
        status, body = await self._call("GET", path, access_token)
        self._raise_for(status, body)
        if not isinstance(body, dict):
            raise AuthFailed("unavailable")
        if body.get("redirect_url") and not body.get("authorization_id"):
            return Redirect(str(body["redirect_url"]))  # consented before: straight back
        client = body.get("client") or {}
        user = body.get("user") or {}
        return Request(
            authorization_id=str(body.get("authorization_id") or authorization_id),
            client_name=str(client.get("name") or "").strip(),
            client_uri=str(client.get("uri") or ""),
            redirect_uri=str(body.get("redirect_uri") or ""),
            scopes=str(body.get("scope") or "").split(),
            email=str(user.get("email") or ""),
        )

    async def decide(self, authorization_id: str, access_token: str, approve: bool) -> Redirect:
        status, body = await self._call(
            "POST",
            f"/oauth/authorizations/{quote(authorization_id, safe='')}/consent",
            access_token,
            json={"action": "approve" if approve else "deny"},
        )
        self._raise_for(status, body)
        if not isinstance(body, dict) or not body.get("redirect_url"):
            raise AuthFailed("unavailable")
        return Redirect(str(body["redirect_url"]))

    @staticmethod
    def _raise_for(status: int, body: Any) -> None:
        code = body.get("error_code") if isinstance(body, dict) else None
        if status == 401 or (status == 403 and code in SESSION_ERROR_CODES):
            raise AuthFailed("session")  # the person's session expired: sign in again
        if status == 403:
            raise AuthFailed("request_gone")  # another person's request, or one no longer open
        if status in (400, 404):
            raise AuthFailed("request_gone")  # expired, already decided, or not theirs: all look alike
        if status != 200:
            raise AuthFailed("unavailable")
