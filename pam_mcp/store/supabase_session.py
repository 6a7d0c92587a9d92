"""The stdio user's Supabase Auth session: signed in as themselves, renewed before it expires.

On a Supabase project a stdio server acts for one person, who signs in with their own
credentials (``PAM_USER_EMAIL`` + ``PAM_USER_PASSWORD``, or ``PAM_USER_REFRESH_TOKEN``);
their access token is what every REST request carries, so row level security sees them,
exactly as it would in the app. The service-role key plays no part here.

Sign-in and refresh go through ``supabase_auth`` (the Supabase Python client's Auth
package) with its own timer-based auto-refresh turned off: the token is renewed on demand,
when the injected clock says it is within ``refresh_margin`` seconds of expiry, so the
behaviour is testable without waiting and no background task outlives the server. It takes
plain values; ``runtime.supabase_session`` reads them from the settings.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import anyio
import httpx
from supabase_auth import AsyncGoTrueClient
from supabase_auth.errors import AuthError, AuthRetryableError
from supabase_auth.types import Session

from pam_mcp.errors import ConfigurationError, DatabaseUnavailable, Forbidden
from pam_mcp.store.translate import UNREACHABLE

log = logging.getLogger(__name__)

SIGN_IN_AGAIN = "The Supabase session has expired or is no longer valid; sign in again."


class SupabaseSession:
    """One signed-in Supabase user, with an access token that is always current when asked for."""

    def __init__(
        self,
        *,
        supabase_url: str,
        anon_key: str,
        http: httpx.AsyncClient,
        email: str | None = None,
        password: str | None = None,
        refresh_token: str | None = None,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 60.0,
    ) -> None:
        if not ((email and password) or refresh_token):
            raise ConfigurationError(
                "On a Supabase project the stdio user signs in as themselves: set PAM_USER_EMAIL and "
                "PAM_USER_PASSWORD, or PAM_USER_REFRESH_TOKEN."
            )
        self._auth = AsyncGoTrueClient(
            url=f"{supabase_url.rstrip('/')}/auth/v1",
            headers={"apikey": anon_key},
            auto_refresh_token=False,
            persist_session=False,
            http_client=http,
        )
        self._email = email
        self._password = password
        self._refresh_token = refresh_token
        self._clock = clock
        self._margin = refresh_margin
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._lock = anyio.Lock()
        self.user_id: uuid.UUID | None = None

    async def sign_in(self) -> uuid.UUID:
        """Sign in now (the first time) and return the user's id."""
        await self.access_token()
        assert self.user_id is not None  # set by every successful sign-in
        return self.user_id

    async def access_token(self) -> str:
        """The current access token; signs in, or renews it when it is about to expire."""
        async with self._lock:
            if self._access_token is None:
                await self._first_sign_in()
            elif self._clock() >= self._expires_at - self._margin:
                await self._renew()
            assert self._access_token is not None
            return self._access_token

    async def _first_sign_in(self) -> None:
        try:
            if self._email and self._password:
                response = await self._auth.sign_in_with_password({"email": self._email, "password": self._password})
            else:
                response = await self._auth.refresh_session(self._refresh_token)
        except AuthRetryableError:
            raise DatabaseUnavailable(UNREACHABLE) from None
        except AuthError as exc:
            log.debug("Supabase Auth refused the sign-in: %s", getattr(exc, "code", None))
            if self._email:
                raise ConfigurationError(
                    f"Supabase Auth refused the sign-in of {self._email}; check PAM_USER_EMAIL and PAM_USER_PASSWORD."
                ) from None
            raise ConfigurationError(
                "Supabase Auth refused PAM_USER_REFRESH_TOKEN (refresh tokens are single-use and expire); "
                "sign in again to get a new one, or set PAM_USER_EMAIL and PAM_USER_PASSWORD."
            ) from None
        self._keep(response.session)

    async def _renew(self) -> None:
        try:
            response = await self._auth.refresh_session(self._refresh_token)
        except AuthRetryableError:
            raise DatabaseUnavailable(UNREACHABLE) from None
        except AuthError as exc:
            log.debug("Supabase Auth refused the refresh: %s", getattr(exc, "code", None))
            if not (self._email and self._password):
                raise Forbidden(SIGN_IN_AGAIN) from None
            # A revoked session with a password at hand: sign in afresh, as the app would.
            self._access_token = None
            await self._first_sign_in()
            return
        self._keep(response.session)

    def _keep(self, session: Session | None) -> None:
        if session is None:
            raise Forbidden(SIGN_IN_AGAIN)
        user_id = uuid.UUID(session.user.id)
        if self.user_id is not None and user_id != self.user_id:
            # A refresh must never turn this server into someone else.
            raise Forbidden(SIGN_IN_AGAIN)
        self.user_id = user_id
        self._access_token = session.access_token
        # Refresh tokens rotate: the one just used is spent, keep the new one.
        self._refresh_token = session.refresh_token
        self._expires_at = self._clock() + session.expires_in
