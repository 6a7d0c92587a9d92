"""Who is calling: a verified Supabase access token over HTTP, the configured user on stdio.

Supabase access tokens are JWTs: HS256 signed with the project's JWT secret on older
projects, or signed with asymmetric keys published at ``/auth/v1/.well-known/jwks.json``
on newer ones. Either way the token must be current, meant for ``authenticated`` and name
a user (``sub``, a UUID). The user id never comes from a tool argument.

Tokens Supabase Auth issues through its OAuth 2.1 server to a remote MCP client are the
same access tokens plus a ``client_id`` claim. They can be limited to a list of clients,
and tokens without ``client_id`` (the app's own sign-in) can be refused. What cannot be
checked: the audience. Supabase has no resource indicators (RFC 8707), so ``aud`` stays
``authenticated`` and a token issued to any client of the project is valid here too; the
client allow-list is the narrowing there is.

The published keys are fetched at most once per ``JWKS_REFETCH_SECONDS``, whatever tokens
arrive: a token naming a key id the project never published, or a JWKS that is failing or
empty, would otherwise make every such request fetch it again (a blocking fetch in a worker
thread), which anyone can send.

A verified token is cached until it expires (bounded, least recently used first out), so
a client's every call costs a dictionary lookup instead of a signature check.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import jwt

from pam_mcp.errors import ConfigurationError
from pam_mcp.settings import Settings

log = logging.getLogger(__name__)

AUDIENCE = "authenticated"
LEEWAY_SECONDS = 30
CACHE_SIZE = 4096
JWKS_REFETCH_SECONDS = 30  # at most one fetch of the JWKS per this many seconds, come what may
JWKS_LIFESPAN_SECONDS = 600  # keys older than this are fetched again when a token needs one
JWKS_TIMEOUT_SECONDS = 5

# Why a token was refused, in words a client may show: nothing more leaks (no claim values).
Reason = Literal["expired", "invalid", "client"]
REASON_TEXT: dict[Reason, str] = {
    "expired": "The access token has expired; sign in again.",
    "invalid": "The access token is not valid for this server.",
    "client": "This client is not allowed to use this server.",
}


@dataclass(frozen=True)
class VerifiedToken:
    user_id: uuid.UUID
    expires_at: int
    claims: dict[str, Any]


class InvalidToken(Exception):
    """The bearer token is malformed, expired, for another audience, badly signed or from a client not allowed.

    ``reason`` says which, coarsely, for the 401's error description; the message is for the log.
    """

    def __init__(self, message: str, reason: Reason = "invalid") -> None:
        super().__init__(message)
        self.reason: Reason = reason


class SupabaseJwtVerifier:
    """Verifies Supabase access tokens with a well-kept JWT library (PyJWT)."""

    def __init__(
        self,
        *,
        secret: str | None,
        supabase_url: str | None,
        client_ids: Iterable[str] | None = None,
        accept_session_tokens: bool = True,
        now: Callable[[], float] = time.time,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        if not secret and not supabase_url:
            raise ConfigurationError(
                "HTTP mode verifies Supabase access tokens: set SUPABASE_JWT_SECRET (HS256 projects) "
                "or SUPABASE_URL (projects with asymmetric signing keys, verified through their JWKS)."
            )
        self._secret = secret
        self._issuer = f"{supabase_url.rstrip('/')}/auth/v1" if supabase_url else None
        self._jwks = PublishedKeys(f"{self._issuer}/.well-known/jwks.json", now) if self._issuer else None
        self._client_ids = frozenset(client_ids) if client_ids else None
        self._accept_session_tokens = accept_session_tokens
        self._now = now
        self._cache: OrderedDict[str, VerifiedToken] = OrderedDict()
        self._cache_size = cache_size

    @property
    def issuer(self) -> str | None:
        """``<SUPABASE_URL>/auth/v1``: who issues the tokens, the authorization server clients are sent to."""
        return self._issuer

    @classmethod
    def from_settings(cls, settings: Settings) -> SupabaseJwtVerifier:
        secret = settings.supabase_jwt_secret.get_secret_value() if settings.supabase_jwt_secret else None
        client_ids = [part.strip() for part in settings.pam_oauth_client_ids.split(",") if part.strip()]
        return cls(
            secret=secret,
            supabase_url=settings.supabase_url,
            client_ids=client_ids,
            accept_session_tokens=settings.pam_accept_session_tokens,
        )

    async def verify(self, token: str) -> VerifiedToken:
        cached = self._cache.get(token)
        if cached is not None:
            if self._now() <= cached.expires_at + LEEWAY_SECONDS:
                self._cache.move_to_end(token)
                return cached
            del self._cache[token]
            raise InvalidToken("token expired", "expired")
        verified = await self._verify_uncached(token)
        self._check_client(verified.claims)
        self._cache[token] = verified
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return verified

    def _check_client(self, claims: dict[str, Any]) -> None:
        client_id = claims.get("client_id")
        if client_id is None:
            if not self._accept_session_tokens:
                raise InvalidToken("session token (no client_id) but PAM_ACCEPT_SESSION_TOKENS is off", "client")
            return
        if self._client_ids is not None and str(client_id) not in self._client_ids:
            raise InvalidToken("client_id not in PAM_OAUTH_CLIENT_IDS", "client")

    async def _verify_uncached(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        algorithm = header.get("alg")
        if algorithm == "HS256":
            if not self._secret:
                raise InvalidToken("HS256 token but no SUPABASE_JWT_SECRET is configured")
            key: Any = self._secret
        elif algorithm in ("RS256", "ES256", "EdDSA") and self._jwks is not None:
            kid = header.get("kid")
            # The fetch is blocking urllib (bounded by its timeout): keep it off the event loop.
            found = await anyio.to_thread.run_sync(self._jwks.key, kid) if isinstance(kid, str) else None
            if found is None:
                raise InvalidToken("signing key not found")
            key = found
        else:
            raise InvalidToken(f"unsupported algorithm {algorithm!r}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=AUDIENCE,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("ExpiredSignatureError", "expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None
        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError:
            raise InvalidToken("sub is not a user id") from None
        if claims.get("role", AUDIENCE) != AUDIENCE:
            raise InvalidToken("not a signed-in user's token")
        return VerifiedToken(user_id=user_id, expires_at=int(claims["exp"]), claims=claims)


class PublishedKeys:
    """The project's signing keys from its JWKS, fetched at most once per ``JWKS_REFETCH_SECONDS``.

    A key id not in the set, or a fetch that fails, is answered from what was last fetched
    (nothing, at first) until the interval has passed; a failed fetch keeps the keys there
    were. So a key rotated in is found within the interval, and no stream of tokens can make
    pam-mcp fetch more often. Blocking (PyJWT's fetch is urllib): call it from a worker thread.
    """

    def __init__(self, url: str, now: Callable[[], float] = time.time) -> None:
        # Without PyJWT's own set cache: when to fetch is decided here, the same on every PyJWT 2.x.
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=JWKS_TIMEOUT_SECONDS)
        self._now = now
        self._keys: dict[str, jwt.PyJWK] = {}
        self._attempted_at: float | None = None
        self._fetched_at: float | None = None
        self._lock = threading.Lock()  # one fetch at a time; the others then find its keys

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            now = self._now()
            fresh = self._fetched_at is not None and now - self._fetched_at < JWKS_LIFESPAN_SECONDS
            if kid in self._keys and fresh:
                return self._keys[kid]
            if self._attempted_at is None or now - self._attempted_at >= JWKS_REFETCH_SECONDS:
                self._attempted_at = now
                self._fetch(now)
            return self._keys.get(kid)

    def _fetch(self, now: float) -> None:
        try:
            published = self._client.get_jwk_set(refresh=True)
        except (jwt.PyJWTError, ValueError, OSError) as exc:
            log.warning("cannot fetch the JWKS (%s); next try in %d s", type(exc).__name__, JWKS_REFETCH_SECONDS)
            return
        self._keys = {k.key_id: k for k in published.keys if k.key_id and k.public_key_use in ("sig", None)}
        self._fetched_at = now
