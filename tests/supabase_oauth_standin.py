"""A STAND-IN for Supabase Auth's OAuth 2.1 server, at the HTTP boundary, served on a real socket.

No Supabase Auth runs on these machines. This follows the endpoints Supabase documents for
its OAuth 2.1 server (and GoTrue's handlers, ``internal/api/oauthserver``) for exactly what
a remote MCP client, pam-mcp's consent page and pam-mcp's token checks use:

- ``GET /.well-known/oauth-authorization-server/auth/v1``: RFC 8414 metadata, issuer ``<url>/auth/v1``;
- ``POST /auth/v1/oauth/clients/register``: dynamic client registration (public clients, ``none``);
- ``GET /auth/v1/oauth/authorize``: checks the client, the exact redirect URI and PKCE, stores the
  request and redirects the browser to ``<site_url><authorization_path>?authorization_id=...``;
- ``GET /auth/v1/oauth/authorizations/{id}``: as the signed-in person (their bearer token): the
  request's details, or, when they consented to these scopes before, ``{"redirect_url": ...}``;
  expired, unknown or someone else's: 404; already decided: 400;
- ``POST /auth/v1/oauth/authorizations/{id}/consent`` ``{"action": "approve"|"deny"}``: the
  redirect back to the client, with ``code`` and ``state``, or ``error=access_denied``;
- ``POST /auth/v1/oauth/token``: ``authorization_code`` with PKCE (S256), single-use codes;
- ``GET /auth/v1/.well-known/jwks.json``: the project's public key (ES256, P-256);
- ``POST /auth/v1/token?grant_type=password``: email and password sign-in, Supabase's error shape.

Access tokens are shaped like Supabase's: ``iss`` ``<url>/auth/v1``, ``aud`` and ``role``
``authenticated``, ``sub`` the user, ``exp``, ``session_id``, and ``client_id`` for tokens
issued to an OAuth client. ``mint`` makes tokens for tests directly (expired ones, other
clients', ones signed by another key). Every request is recorded for assertions.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

ANON_KEY = "stand-in-anon-key"
SCOPES = ("openid", "email", "profile", "phone")
DEFAULT_SCOPE = "email"
AUTHORIZATION_TTL = 600


@dataclass
class Authorization:
    id: str
    client_id: str
    redirect_uri: str
    scope: str
    state: str
    code_challenge: str
    expires_at: float
    status: str = "pending"
    user_id: str | None = None
    code: str | None = None


@dataclass
class User:
    id: str
    email: str
    password: str


def new_signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class SupabaseOAuthStandIn:
    """Set ``url``, ``site_url`` and ``authorization_path`` before serving (``serve_standin`` does)."""

    url: str = ""
    site_url: str = ""
    authorization_path: str = "/oauth/consent"
    allow_dynamic_registration: bool = True
    key: ec.EllipticCurvePrivateKey = field(default_factory=new_signing_key)
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    users: dict[str, User] = field(default_factory=dict)  # by email
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorizations: dict[str, Authorization] = field(default_factory=dict)
    consents: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (user, client) -> scopes
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    def add_user(self, user_id: uuid.UUID, email: str, password: str) -> None:
        self.users[email.lower()] = User(str(user_id), email, password)

    def mint(
        self,
        user_id: str | uuid.UUID,
        *,
        client_id: str | None = None,
        expires_in: int = 3600,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(user_id),
            "aud": "authenticated",
            "role": "authenticated",
            "iat": now,
            "exp": now + expires_in,
            "session_id": str(uuid.uuid4()),
            "aal": "aal1",
        }
        if client_id is not None:
            claims["client_id"] = client_id
        return jwt.encode(claims, key or self.key, algorithm="ES256", headers={"kid": self.kid})

    # -- the app ------------------------------------------------------------------------------

    def app(self) -> ASGIApp:
        async def record(request: Request) -> None:
            self.requests.append((request.method, request.url.path))

        def route(path: str, endpoint: Any, methods: list[str]) -> Route:
            async def handler(request: Request) -> Response:
                await record(request)
                response: Response = await endpoint(request)
                return response

            return Route(path, handler, methods=methods)

        return Starlette(
            routes=[
                route("/.well-known/oauth-authorization-server/auth/v1", self._discovery, ["GET"]),
                route("/auth/v1/.well-known/jwks.json", self._jwks, ["GET"]),
                route("/auth/v1/oauth/clients/register", self._register, ["POST"]),
                route("/auth/v1/oauth/authorize", self._authorize, ["GET"]),
                route("/auth/v1/oauth/authorizations/{authorization_id}", self._details, ["GET"]),
                route("/auth/v1/oauth/authorizations/{authorization_id}/consent", self._consent, ["POST"]),
                route("/auth/v1/oauth/token", self._token, ["POST"]),
                route("/auth/v1/token", self._password_sign_in, ["POST"]),
            ]
        )

    async def _discovery(self, _request: Request) -> Response:
        metadata: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/oauth/authorize",
            "token_endpoint": f"{self.issuer}/oauth/token",
            "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": list(SCOPES),
        }
        if self.allow_dynamic_registration:
            metadata["registration_endpoint"] = f"{self.issuer}/oauth/clients/register"
        return JSONResponse(metadata)

    async def _jwks(self, _request: Request) -> Response:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": "ES256", "use": "sig", "key_ops": ["verify"]})
        return JSONResponse({"keys": [jwk]})

    async def _register(self, request: Request) -> Response:
        if not self.allow_dynamic_registration:
            return _error(
                403, "oauth_dynamic_client_registration_disabled", "Dynamic client registration is not enabled"
            )
        body = await request.json()
        uris = body.get("redirect_uris") or []
        if not uris:
            return _error(400, "validation_failed", "redirect_uris is required")
        client_id = str(uuid.uuid4())
        client = {
            "client_id": client_id,
            "client_type": "public",
            "client_name": body.get("client_name") or "",
            "client_uri": body.get("client_uri") or "",
            "redirect_uris": uris,
            "token_endpoint_auth_method": "none",
            "grant_types": body.get("grant_types") or ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "registration_type": "dynamic",
        }
        self.clients[client_id] = client
        return JSONResponse(client, status_code=201)

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        client = self.clients.get(q.get("client_id", ""))
        if client is None:
            return _error(400, "oauth_client_not_found", "invalid client_id")
        redirect_uri = q.get("redirect_uri", "")
        if redirect_uri not in client["redirect_uris"]:
            return _error(400, "validation_failed", "invalid redirect_uri")  # never redirected to
        state = q.get("state", "")
        scope = q.get("scope") or DEFAULT_SCOPE
        challenge, method = q.get("code_challenge", ""), q.get("code_challenge_method", "")
        problem = None
        if q.get("response_type", "code") != "code":
            problem = "only response_type=code is supported"
        elif any(s not in SCOPES for s in scope.split()):
            problem = "unsupported scope"
        elif not challenge or method.lower() != "s256" or not 43 <= len(challenge) <= 128:
            problem = "PKCE flow requires both code_challenge and code_challenge_method"
        if problem:
            return RedirectResponse(_with_query(redirect_uri, error="invalid_request", error_description=problem,
                                                state=state), 302)  # fmt: skip
        authorization = Authorization(
            id=secrets.token_urlsafe(24),
            client_id=client["client_id"],
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            code_challenge=challenge,
            expires_at=time.time() + AUTHORIZATION_TTL,
        )
        self.authorizations[authorization.id] = authorization
        target = self.site_url.rstrip("/") + "/" + self.authorization_path.lstrip("/")
        return RedirectResponse(f"{target}?{urlencode({'authorization_id': authorization.id})}", 302)

    def _signed_in_user(self, request: Request) -> str | None:
        if request.headers.get("apikey") != ANON_KEY:
            return None
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        try:
            claims = jwt.decode(
                header[7:], self.key.public_key(), algorithms=["ES256"], audience="authenticated", issuer=self.issuer
            )
        except jwt.PyJWTError:
            return None
        return str(claims["sub"])

    def _pending(self, authorization_id: str, user: str) -> Authorization | Response:
        found = self.authorizations.get(authorization_id)
        if found is None or found.expires_at < time.time() or found.user_id not in (None, user):
            return _error(404, "oauth_authorization_not_found", "authorization not found")
        if found.status != "pending":
            return _error(400, "validation_failed", "authorization request cannot be processed")
        return found

    async def _details(self, request: Request) -> Response:
        user = self._signed_in_user(request)
        if user is None:
            return _error(403, "bad_jwt", "authentication required")
        found = self._pending(request.path_params["authorization_id"], user)
        if isinstance(found, Response):
            return found
        found.user_id = user
        if set(found.scope.split()) <= self.consents.get((user, found.client_id), set()):
            return JSONResponse({"redirect_url": self._approve(found)})
        client = self.clients[found.client_id]
        email = next(u.email for u in self.users.values() if u.id == user)
        return JSONResponse(
            {
                "authorization_id": found.id,
                "redirect_uri": found.redirect_uri,
                "client": {"id": found.client_id, "name": client["client_name"], "uri": client["client_uri"]},
                "user": {"id": user, "email": email},
                "scope": found.scope,
            }
        )

    async def _consent(self, request: Request) -> Response:
        user = self._signed_in_user(request)
        if user is None:
            return _error(403, "bad_jwt", "authentication required")
        body = await request.json()
        action = body.get("action")
        if action not in ("approve", "deny"):
            return _error(400, "validation_failed", "action must be 'approve' or 'deny'")
        found = self._pending(request.path_params["authorization_id"], user)
        if isinstance(found, Response):
            return found
        if found.user_id != user:
            return _error(404, "oauth_authorization_not_found", "authorization not found")
        if action == "approve":
            self.consents.setdefault((user, found.client_id), set()).update(found.scope.split())
            return JSONResponse({"redirect_url": self._approve(found)})
        found.status = "denied"
        return JSONResponse(
            {"redirect_url": _with_query(found.redirect_uri, error="access_denied",
                                         error_description="User denied the request", state=found.state)}
        )  # fmt: skip

    def _approve(self, found: Authorization) -> str:
        found.status = "approved"
        found.code = secrets.token_urlsafe(32)
        return _with_query(found.redirect_uri, code=found.code, state=found.state)

    async def _token(self, request: Request) -> Response:
        form = dict(await request.form())
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type", "Unsupported grant type")
        client = self.clients.get(str(form.get("client_id", "")))
        if client is None:
            return _oauth_error("invalid_client", "Client authentication required", 401)
        found = next((a for a in self.authorizations.values() if a.code and a.code == form.get("code")), None)
        if found is None or found.expires_at < time.time():
            return _oauth_error("invalid_grant", "Invalid authorization code")
        if found.client_id != client["client_id"]:
            return _oauth_error("invalid_grant", "Authorization code was not issued for this client")
        if form.get("redirect_uri") and form["redirect_uri"] != found.redirect_uri:
            return _oauth_error("invalid_grant", "Invalid redirect_uri")
        verifier = str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not secrets.compare_digest(digest, found.code_challenge):
            return _oauth_error("invalid_grant", "PKCE verification failed: code verifier does not match")
        del self.authorizations[found.id]  # codes are single use
        assert found.user_id is not None
        return JSONResponse(
            {
                "access_token": self.mint(found.user_id, client_id=client["client_id"]),
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": secrets.token_urlsafe(16),
                "scope": found.scope,
            },
            headers={"cache-control": "no-store"},
        )

    async def _password_sign_in(self, request: Request) -> Response:
        if request.query_params.get("grant_type") != "password":
            return _error(400, "validation_failed", "unsupported grant_type")
        if request.headers.get("apikey") != ANON_KEY:
            return JSONResponse({"message": "No API key found in request"}, status_code=401)
        body = await request.json()
        user = self.users.get(str(body.get("email", "")).lower())
        if user is None or not secrets.compare_digest(user.password, str(body.get("password", ""))):
            return _error(400, "invalid_credentials", "Invalid login credentials")
        return JSONResponse(
            {
                "access_token": self.mint(user.id),
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": secrets.token_urlsafe(16),
                "user": {"id": user.id, "email": user.email, "aud": "authenticated", "role": "authenticated"},
            }
        )


def _error(status: int, code: str, message: str) -> Response:
    """Supabase Auth's error shape."""
    return JSONResponse({"code": status, "error_code": code, "msg": message}, status_code=status)


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + [(k, v) for k, v in params.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


# -- serving any ASGI app on loopback ---------------------------------------------------------------


@asynccontextmanager
async def serving_asgi(app: ASGIApp, *, port: int | None = None) -> AsyncIterator[int]:
    """Serve ``app`` on a loopback socket that listens before uvicorn starts; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port or 0))
    sock.listen(128)
    bound: int = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(server.serve, sockets=[sock]))
            try:
                yield bound
            finally:
                server.should_exit = True
    finally:
        sock.close()
