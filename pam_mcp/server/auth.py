"""The SDK's side of sign-in: Supabase JWTs as the SDK's bearer tokens."""

from __future__ import annotations

import logging

from mcp.server.auth.provider import AccessToken

from pam_mcp.identity import InvalidToken, SupabaseJwtVerifier

__all__ = ["SupabaseTokenVerifier"]

log = logging.getLogger(__name__)


class SupabaseTokenVerifier:
    """The SDK's TokenVerifier over Supabase JWTs: a bad token is a 401 before any MCP runs."""

    def __init__(self, verifier: SupabaseJwtVerifier) -> None:
        self._verifier = verifier

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            verified = await self._verifier.verify(token)
        except InvalidToken as exc:
            log.info("rejected bearer token: %s", exc)
            return None
        return AccessToken(
            token=token,
            client_id=str(verified.claims.get("client_id", "supabase")),
            scopes=[],
            expires_at=verified.expires_at,
            subject=str(verified.user_id),
        )
