"""The Supabase REST store: each operation one ``POST /rest/v1/rpc/<fn>`` as the caller.

Chosen when ``SUPABASE_URL`` is set and ``DATABASE_URL`` is not. Every request carries the
project's anon key as ``apikey`` and the caller's own access token as the bearer (the HTTP
caller's token, or the stdio user's signed-in session), so PostgREST runs it as that user,
in one transaction, and the same row level security policies decide as for the PostgreSQL
store. The service-role key never reaches this module.

Which function each operation calls and what its result means is
``pam_mcp.store.operations``' business, shared with the PostgreSQL store; this module only
sends the request (PostgREST's documented RPC API, named arguments as a JSON object) and
reads the answer itself: money must keep its exact digits (PostgREST sends ``6.20``; a float
would give ``6.2``), an error's SQLSTATE is worded by the same table as the PostgreSQL
store's (``pam_mcp.store.translate.error_for``), and a failed call fails at once, never
retried with sleeps.
"""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal
from typing import Any

import httpx

from pam_mcp.errors import ConfigurationError, DatabaseUnavailable, Forbidden, OutcomeUnknown, PamError
from pam_mcp.store.arguments import json_arguments
from pam_mcp.store.base import Caller
from pam_mcp.store.operations import StoreOperations
from pam_mcp.store.supabase_session import SIGN_IN_AGAIN, SupabaseSession
from pam_mcp.store.translate import NOT_COMPLETED, UNREACHABLE, error_for

log = logging.getLogger(__name__)

_MISSING_SCHEMA = {"PGRST202", "PGRST204", "PGRST205", "42883", "42P01", "42703"}
_JWT_CODES = {"PGRST300", "PGRST301", "PGRST302", "PGRST303"}
_UNAVAILABLE_CODES = {"PGRST000", "PGRST001", "PGRST002", "PGRST003"}
_CONSTRAINT = re.compile(r'constraint "([^"]+)"')
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
SAVED_UNREADABLE = (
    "Supabase saved the change but its answer could not be read; check what was saved before repeating it."
)


def rest_error(status: int, payload: Any, *, writes: bool = False) -> PamError:
    """A PostgREST (or gateway) error response, as the error a caller may see.

    PostgREST's own codes (PGRST...) and the HTTP status are read here; a PostgreSQL SQLSTATE
    goes through the table both stores share. Nothing of the response text is passed on, except
    the message of a pam_ operation's person-facing refusal (SQLSTATE PAM01). For a write
    (``writes``), a gateway's 5xx or a lost database connection may come after PostgREST
    committed: the outcome is unknown, unless PostgREST says it never reached the database.
    """
    body = payload if isinstance(payload, dict) else {}
    code = str(body.get("code") or "")
    log.debug("PostgREST error %s %s: %s", status, code, body.get("message"))
    if status == 401 and not code and "api key" in str(body.get("message", "")).lower():
        return ConfigurationError("Supabase refused the API key; check SUPABASE_ANON_KEY.")
    if status == 401 or code in _JWT_CODES:
        return Forbidden(SIGN_IN_AGAIN)
    if code in _UNAVAILABLE_CODES:  # PostgREST could not reach the database: nothing ran
        return DatabaseUnavailable(UNREACHABLE)
    if writes and ((status >= 500 and not code[:2].isdigit()) or code.startswith(("08", "57P0"))):
        return OutcomeUnknown()  # a gateway timeout, or a connection lost mid-statement
    if status >= 500 and not code[:2].isdigit():
        return DatabaseUnavailable(UNREACHABLE)
    if code in _MISSING_SCHEMA:
        return ConfigurationError(
            "The Supabase project lacks part of pam-mcp's schema; apply the migrations "
            "(pam-mcp migrate, or supabase db push)."
        )
    if len(code) == 5 and not code.startswith("PGRST"):
        # PostgREST passes PostgreSQL's message on: '... violates foreign key constraint "name"'.
        named = _CONSTRAINT.search(str(body.get("message") or ""))
        return error_for(code, constraint=named.group(1) if named else None, message=body.get("message"))
    if status >= 500:
        return DatabaseUnavailable(UNREACHABLE)
    return PamError(NOT_COMPLETED)


class RestStore(StoreOperations):
    """PAM's data operations over a Supabase project's REST API (PostgREST), as each caller."""

    def __init__(
        self,
        *,
        supabase_url: str,
        anon_key: str,
        http: httpx.AsyncClient,
        session: SupabaseSession | None = None,
    ) -> None:
        self._rest_url = f"{supabase_url.rstrip('/')}/rest/v1"
        self._anon_key = anon_key
        self._http = http
        self._session = session

    async def _token(self, user: Caller) -> str:
        """This caller's token: each request carries its own (no auth state shared between callers)."""
        if user.access_token:
            return user.access_token
        if self._session is not None:
            token = await self._session.access_token()
            if self._session.user_id == user.id:
                return token
        raise Forbidden(SIGN_IN_AGAIN)

    async def _call(self, user: Caller, function: str, *, writes: bool, **args: Any) -> Any:
        """``POST /rest/v1/rpc/<function>`` with the caller's token: one request, one transaction."""
        if not _NAME.match(function):
            raise ValueError(f"not a function name: {function}")  # names are the code's, never input
        headers = {
            "apikey": self._anon_key,
            "Authorization": f"Bearer {await self._token(user)}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        try:
            body = json_arguments(args).encode()
            response = await self._http.post(f"{self._rest_url}/rpc/{function}", content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.debug("Supabase request failed: %s", type(exc).__name__)
            # Never connected, or only a read: nothing can have been written. Otherwise the
            # request may have reached PostgREST and committed before the answer was lost.
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or not writes:
                raise DatabaseUnavailable(UNREACHABLE) from None
            raise OutcomeUnknown() from None
        try:
            payload = json.loads(response.content, parse_float=Decimal) if response.content else None
        except ValueError:
            if response.is_success and writes:  # PostgREST answered 2xx: the write committed
                raise PamError(SAVED_UNREADABLE) from None
            payload = None
        if not response.is_success:
            raise rest_error(response.status_code, payload, writes=writes)
        return payload
