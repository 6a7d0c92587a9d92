"""Who is calling: a verified Supabase access token over HTTP, the configured user on stdio.

Supabase access tokens are JWTs: HS256 signed with the project's JWT secret on older
projects, or signed with asymmetric keys published at ``/auth/v1/.well-known/jwks.json``
on newer ones. Either way the token must be current, meant for ``authenticated`` and name
a user (``sub``, a UUID). The user id never comes from a tool argument.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import jwt

from pam_mcp.errors import ConfigurationError
from pam_mcp.settings import Settings

log = logging.getLogger(__name__)

AUDIENCE = "authenticated"
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class VerifiedToken:
    user_id: uuid.UUID
    expires_at: int
    claims: dict[str, Any]


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired, for another audience or badly signed."""


class SupabaseJwtVerifier:
    """Verifies Supabase access tokens with a well-kept JWT library (PyJWT)."""

    def __init__(self, *, secret: str | None, supabase_url: str | None) -> None:
        if not secret and not supabase_url:
            raise ConfigurationError(
                "HTTP mode verifies Supabase access tokens: set SUPABASE_JWT_SECRET (HS256 projects) "
                "or SUPABASE_URL (projects with asymmetric signing keys, verified through their JWKS)."
            )
        self._secret = secret
        self._issuer = f"{supabase_url.rstrip('/')}/auth/v1" if supabase_url else None
        self._jwks = (
            jwt.PyJWKClient(f"{self._issuer}/.well-known/jwks.json", cache_keys=True, lifespan=600)
            if self._issuer
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SupabaseJwtVerifier:
        secret = settings.supabase_jwt_secret.get_secret_value() if settings.supabase_jwt_secret else None
        return cls(secret=secret, supabase_url=settings.supabase_url)

    async def verify(self, token: str) -> VerifiedToken:
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
            jwks = self._jwks
            try:
                # PyJWKClient fetches over blocking urllib: keep it off the event loop.
                key = await anyio.to_thread.run_sync(jwks.get_signing_key_from_jwt, token)
            except jwt.PyJWTError:
                raise InvalidToken("signing key not found") from None
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
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None
        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError:
            raise InvalidToken("sub is not a user id") from None
        if claims.get("role", AUDIENCE) != AUDIENCE:
            raise InvalidToken("not a signed-in user's token")
        return VerifiedToken(user_id=user_id, expires_at=int(claims["exp"]), claims=claims)
