"""What a remote MCP client meets before any MCP runs.

- Discovery (RFC 9728): the protected resource metadata names Supabase Auth
  (``<SUPABASE_URL>/auth/v1``) as the authorization server. The SDK serves it at
  ``/.well-known/oauth-protected-resource/mcp``; this module adds the root path, which some
  clients try first, with the same document.
- Honest 401s: a missing, an expired, an invalid token and one from a client not allowed
  each get their own ``error_description`` and always ``resource_metadata``, so a client
  knows where to sign in. The check is the verifier's, cached per token, so the SDK's own
  check behind this one costs a dictionary lookup.
- CORS for browser-based clients (preflight answered, the MCP headers exposed), and the
  Host/Origin lists that the SDK's DNS-rebinding checks use: on by default whenever a public
  URL is set, since bound to ``0.0.0.0`` the SDK switches them off.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pam_mcp.errors import ConfigurationError
from pam_mcp.identity import REASON_TEXT, InvalidToken, SupabaseJwtVerifier
from pam_mcp.settings import Settings

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_PORTS = {"http": 80, "https": 443}
MISSING_TEXT = "Sign in first: this server takes an OAuth access token from the authorization server it names."


@dataclass(frozen=True)
class Public:
    """Where people reach the server, and the URLs derived from it."""

    base_url: str  # e.g. https://pam.example.com (no trailing slash, no /mcp)

    @classmethod
    def from_settings(cls, settings: Settings) -> Public | None:
        if not settings.pam_public_url:
            return None
        url = settings.pam_public_url.strip().rstrip("/").removesuffix(MCP_PATH).rstrip("/")
        refused = ConfigurationError(
            f"PAM_PUBLIC_URL: '{settings.pam_public_url}' is not an http(s) URL such as https://pam.example.com"
        )
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise refused from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise refused
        if parts.username is not None or parts.password is not None:
            raise refused
        # Browsers send Origin and Host lowercased and without the scheme's default port: write
        # them the same way, or no browser's request would ever match (consent POST refused, 421).
        host = parts.hostname  # urlsplit lowercases it and drops IPv6 brackets
        netloc = f"[{host}]" if ":" in host else host
        if port is not None and port != DEFAULT_PORTS[scheme]:
            netloc += f":{port}"
        return cls(f"{scheme}://{netloc}{parts.path}")

    @property
    def resource(self) -> str:
        return self.base_url + MCP_PATH

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def metadata_url(self) -> str:
        """RFC 9728 section 3.1: the well-known path goes between the host and the resource's path."""
        parts = urlsplit(self.resource)
        return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}{parts.path}"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class HostChecks:
    """Host headers and browser Origins accepted; ``None`` leaves the SDK's own default."""

    hosts: list[str] | None
    origins: list[str] | None


def host_checks(settings: Settings, public: Public | None, bind_host: str) -> HostChecks:
    hosts, origins = _split(settings.pam_allowed_hosts), _split(settings.pam_allowed_origins)
    loopback = bind_host in LOOPBACK
    if public is not None:
        hosts = hosts or [public.host]
        origins = origins or [public.origin]
    if origins and not hosts and not loopback:
        # The SDK would check Host against an empty list and answer every /mcp request 421.
        raise ConfigurationError(
            "PAM_ALLOWED_ORIGINS needs PAM_ALLOWED_HOSTS (the Host headers to accept, e.g. pam.example.com) "
            "or PAM_PUBLIC_URL when serving beyond loopback"
        )
    if (hosts or origins) and loopback:
        hosts = [*hosts, "127.0.0.1:*", "localhost:*", "[::1]:*"]
        origins = [*origins, "http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    if not hosts and not origins:
        if not loopback:
            log.warning(
                "bound to %s without PAM_PUBLIC_URL or PAM_ALLOWED_HOSTS: Host and Origin are not checked", bind_host
            )
        return HostChecks(None, None)
    return HostChecks(hosts, origins)


def protected_resource_metadata(public: Public, issuer: str) -> dict[str, Any]:
    return {
        "resource": public.resource,
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
        "resource_name": "PAM (Wheels & Wins)",
    }


def metadata_routes(public: Public, issuer: str) -> list[Route]:
    """The root well-known path; the SDK serves the same document at the path-suffixed one."""
    document = protected_resource_metadata(public, issuer)

    async def metadata(_request: Request) -> JSONResponse:
        return JSONResponse(document, headers={"cache-control": "public, max-age=3600"})

    return [Route(METADATA_PATH, metadata, methods=["GET"])]


class BearerGate:
    """Refuses requests to /mcp without a good token, saying which of missing / expired / invalid."""

    def __init__(self, app: ASGIApp, verifier: SupabaseJwtVerifier, metadata_url: str | None) -> None:
        self._app = app
        self._verifier = verifier
        self._metadata_url = metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_mcp(scope["path"]):
            await self._app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        if header is None or not header.lower().startswith("bearer ") or not header[7:].strip():
            await self._refuse(send, None, MISSING_TEXT)
            return
        try:
            await self._verifier.verify(header[7:].strip())
        except InvalidToken as exc:
            log.info("rejected bearer token: %s", exc)
            await self._refuse(send, "invalid_token", REASON_TEXT[exc.reason])
            return
        await self._app(scope, receive, send)

    async def _refuse(self, send: Send, error: str | None, description: str) -> None:
        # RFC 6750 section 3.1: no error code when the request carried no token at all.
        parts = ['realm="pam-mcp"']
        if error:
            parts += [f'error="{error}"', f'error_description="{description}"']
        if self._metadata_url:
            parts.append(f'resource_metadata="{self._metadata_url}"')
        body = json.dumps({"error": error or "unauthorized", "error_description": description}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", ("Bearer " + ", ".join(parts)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _is_mcp(path: str) -> bool:
    return path == MCP_PATH or path.startswith(MCP_PATH + "/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def with_cors(app: ASGIApp, origins: list[str] | None) -> ASGIApp:
    """Answer browser preflights and expose MCP's headers, for the allowed origins only."""
    if not origins:
        return app
    exact = [o for o in origins if not o.endswith(":*")]
    # "http://localhost:*" (any port), as the SDK's Host/Origin lists write it.
    patterns = [re.escape(o[:-2]) + r":\d+" for o in origins if o.endswith(":*")]
    return CORSMiddleware(
        app,
        allow_origins=exact,
        allow_origin_regex="|".join(patterns) or None,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["authorization", "content-type", "mcp-protocol-version", "mcp-session-id", "last-event-id"],
        expose_headers=["mcp-session-id", "mcp-protocol-version", "www-authenticate"],
        max_age=600,
    )
