"""A FAKE PostgREST and Supabase Auth (GoTrue), at the HTTP boundary, over the REAL test database.

No PostgREST server can run on these machines, so the REST store is tested against this
stand-in for exactly the subset of Supabase's HTTP API that it uses. It is a fake of the
HTTP layer only: every request is checked the way Supabase checks it (the ``apikey``
gateway check, then the bearer JWT, HS256 with ``tests.conftest.JWT_SECRET``), and then
run as PostgREST runs it, in one transaction on the real test PostgreSQL with
``role`` and ``request.jwt.claims`` set from the token, so row level security, grants,
constraints and the store functions decide exactly as they would behind Supabase.
PostgreSQL errors come back in PostgREST's shape and with its HTTP status mapping.

The subset is PostgREST's RPC API (``POST /rest/v1/rpc/<function>`` with named arguments as a
JSON object) and Auth's token endpoint: pam-mcp's every operation is one SQL function, so
the fake only runs that function, as PostgREST does, and reimplements no table query. It is
strict: query parameters, a ``Prefer`` header or a body that is not an object are answered
400 with a PGRST-style code, so the store cannot come to rely on something real PostgREST
would not do. Every request is
recorded (method, path, query, headers, body) so tests can assert what the store sent.

Served to the store through an httpx transport (no socket); ``stop()`` makes the transport
refuse connections from then on, as a stopped server's closed port would.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import JWT_SECRET

URL = "http://supabase.fake"
IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def anon_key(secret: str = JWT_SECRET) -> str:
    """A legacy-style Supabase anon key: a JWT for the ``anon`` role, signed by the project."""
    return jwt.encode({"role": "anon", "iss": "supabase", "iat": 1_700_000_000}, secret, algorithm="HS256")


def service_role_key(secret: str = JWT_SECRET) -> str:
    return jwt.encode({"role": "service_role", "iss": "supabase", "iat": 1_700_000_000}, secret, algorithm="HS256")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any

    def param(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]


class PgrstError(Exception):
    """An error response in PostgREST's shape."""

    def __init__(self, status: int, code: str, message: str, details: Any = None, hint: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message, "details": details, "hint": hint}


def _status_for(sqlstate: str, role: str) -> int:
    """PostgREST's mapping from SQLSTATE to HTTP status (docs: "Errors")."""
    if sqlstate == "42501":
        return 401 if role == "anon" else 403
    exact = {"23503": 409, "23505": 409, "25006": 405, "42883": 404, "42P01": 404, "42P17": 500, "P0001": 400}
    if sqlstate in exact:
        return exact[sqlstate]
    by_class = {
        "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500, "38": 500, "39": 500,
        "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500, "57": 500, "58": 500, "F0": 500, "HV": 500,
        "P0": 500, "XX": 500,
    }  # fmt: skip
    return by_class.get(sqlstate[:2], 400)


@dataclass
class PostgrestFake:
    """The fake: an ASGI app (``app``), its requests (``requests``), its users' credentials."""

    database_url: str
    anon_key: str = field(default_factory=anon_key)
    jwt_secret: str = JWT_SECRET
    token_lifetime: int = 3600
    now: Callable[[], float] = time.time
    requests: list[RecordedRequest] = field(default_factory=list)
    stopped: bool = False
    _pool: Any = None
    _passwords: dict[str, tuple[str, uuid.UUID]] = field(default_factory=dict)
    _refresh_tokens: dict[str, uuid.UUID] = field(default_factory=dict)
    _canned: list[tuple[int, bytes, str]] = field(default_factory=list)

    @classmethod
    @asynccontextmanager
    async def running(cls, database_url: str, **kwargs: Any) -> AsyncIterator[PostgrestFake]:
        fake = cls(database_url, **kwargs)
        fake._pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
        try:
            yield fake
        finally:
            await fake._pool.close()

    # -- set-up helpers for tests --------------------------------------------------------
    def add_password(self, email: str, password: str, user_id: uuid.UUID) -> None:
        self._passwords[email] = (password, user_id)

    def issue_refresh_token(self, user_id: uuid.UUID) -> str:
        token = secrets.token_urlsafe(16)
        self._refresh_tokens[token] = user_id
        return token

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far stops working (a sign-out elsewhere, or a revocation)."""
        self._refresh_tokens.clear()

    def respond_next(self, status: int, body: Any, content_type: str = "application/json; charset=utf-8") -> None:
        """Answer the next REST request with this canned response (for responses the database
        cannot be made to produce on demand, e.g. a gateway's 502 page)."""
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self._canned.append((status, raw, content_type))

    def stop(self) -> None:
        """From now on connections are refused, as by a stopped server."""
        self.stopped = True

    def transport(self) -> httpx.AsyncBaseTransport:
        return SwitchableTransport(httpx.ASGITransport(app=self.app), lambda: self.stopped)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport())

    def mint(self, user_id: uuid.UUID, *, expires_in: int | None = None) -> str:
        now = int(self.now())
        claims = {
            "sub": str(user_id),
            "aud": "authenticated",
            "role": "authenticated",
            "iat": now,
            "exp": now + (self.token_lifetime if expires_in is None else expires_in),
        }
        return jwt.encode(claims, self.jwt_secret, algorithm="HS256")

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/auth/v1/token", self._token, methods=["POST"]),
                Route("/rest/v1/rpc/{function}", self._rpc, methods=["POST"]),
            ]
        )

    # -- the HTTP layer ------------------------------------------------------------------
    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.requests.append(
            RecordedRequest(
                request.method,
                request.url.path,
                list(request.query_params.multi_items()),
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
        )
        return body

    def _gateway(self, request: Request) -> None:
        key = request.headers.get("apikey")
        if key is None:
            raise _Plain(
                401,
                {
                    "message": "No API key found in request",
                    "hint": "No `apikey` request header or url param was found.",
                },
            )
        if key != self.anon_key:
            raise _Plain(
                401,
                {"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."},
            )

    def _claims(self, request: Request) -> dict[str, Any]:
        header = request.headers.get("authorization")
        if header is None:
            return {"role": "anon"}
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise PgrstError(401, "PGRST301", "No suitable key or wrong key type")
        try:
            # Times are checked against the fake's own clock (``now``), the server's clock.
            claims: dict[str, Any] = jwt.decode(
                token,
                self.jwt_secret,
                algorithms=["HS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "require": ["role"]},
            )
        except jwt.PyJWTError:
            raise PgrstError(401, "PGRST301", "JWSError JWSInvalidSignature") from None
        if "exp" in claims and float(claims["exp"]) <= self.now():
            raise PgrstError(401, "PGRST303", "JWT expired")
        return claims

    async def _respond(self, request: Request, handler: Callable[..., Awaitable[Response]], *args: Any) -> Response:
        body = await self._record(request)
        try:
            if self._canned:
                status, raw, content_type = self._canned.pop(0)
                return Response(raw, status, media_type=content_type)
            self._gateway(request)
            claims = self._claims(request)
            return await handler(request, claims, body, *args)
        except _Plain as plain:
            return Response(json.dumps(plain.body), plain.status, media_type="application/json")
        except PgrstError as err:
            return Response(json.dumps(err.body), err.status, media_type="application/json; charset=utf-8")

    async def _run(self, claims: dict[str, Any], sql: str, args: list[Any]) -> Any:
        """One transaction as the token's role, as PostgREST runs every request."""
        role = str(claims.get("role", "anon"))
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)",
                    role,
                    json.dumps(claims),
                )
                return await conn.fetchrow(sql, *args)
        except asyncpg.PostgresError as exc:
            info = exc.as_dict()
            raise PgrstError(
                _status_for(exc.sqlstate, role),
                exc.sqlstate,
                info.get("message", ""),
                info.get("detail"),
                info.get("hint"),
            ) from None
        except (OSError, asyncpg.InterfaceError):
            raise PgrstError(503, "PGRST001", "Database client error. Retrying the connection.") from None

    async def _rpc(self, request: Request) -> Response:
        return await self._respond(request, self._rpc_request, request.path_params["function"])

    async def _rpc_request(self, request: Request, claims: dict[str, Any], body: Any, function: str) -> Response:
        if not IDENT.match(function):
            raise PgrstError(404, "PGRST202", f"Could not find the function public.{function} in the schema cache")
        if request.query_params or request.headers.get("prefer"):
            raise PgrstError(400, "PGRST100", "this fake takes no parameters or preferences on an RPC")
        if not isinstance(body, dict):
            raise PgrstError(400, "PGRST102", "Empty or invalid json")
        async with self._pool.acquire() as conn:
            found = await conn.fetchrow(
                """
                select p.proretset,
                       coalesce(array_agg(a.n order by a.i) filter (where a.m in ('i', 'b', 'v')), '{}') as names,
                       coalesce(array_agg(format_type(a.t, null) order by a.i) filter (where a.m in ('i', 'b', 'v')), '{}') as types,
                       p.pronargs - p.pronargdefaults as required
                from pg_proc p
                left join lateral unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames,
                    coalesce(p.proargmodes, array_fill('i'::"char", array[p.pronargs])))
                    with ordinality as a(t, n, m, i) on true
                where p.pronamespace = 'public'::regnamespace and p.proname = $1
                group by p.oid
                """,
                function,
            )
        names: list[str] = list(found["names"]) if found else []
        if found is None or not set(body) <= set(names) or not set(names[: found["required"]]) <= set(body):
            raise PgrstError(
                404,
                "PGRST202",
                f"Could not find the function public.{function}({', '.join(sorted(body))}) in the schema cache",
            )
        given = [(n, t) for n, t in zip(names, found["types"], strict=True) if n in body]
        record = ", ".join(f'"{n}" {t}' for n, t in given) or "_ int"
        source = f"(select * from json_to_record($1::text::json) as _({record})) a"
        call = f'public."{function}"(' + ", ".join(f'"{n}" => a."{n}"' for n, _ in given) + ")"
        if found["proretset"]:
            sql = f"select coalesce(json_agg(_t), '[]')::text from {source}, lateral {call} _t"
        else:
            sql = f"select coalesce(to_json({call})::text, 'null') from {source}"
        row = await self._run(claims, sql, [json.dumps(body)])
        return Response(row[0], 200, media_type="application/json; charset=utf-8")

    # -- Supabase Auth -------------------------------------------------------------------
    async def _token(self, request: Request) -> Response:
        body = await self._record(request)
        try:
            self._gateway(request)
        except _Plain as plain:
            return Response(json.dumps(plain.body), plain.status, media_type="application/json")
        grant = request.query_params.get("grant_type")
        user_id: uuid.UUID | None = None
        email = None
        if grant == "password" and isinstance(body, dict):
            email = body.get("email")
            entry = self._passwords.get(str(email))
            if entry and secrets.compare_digest(entry[0], str(body.get("password"))):
                user_id = entry[1]
            error = {"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"}
        elif grant == "refresh_token" and isinstance(body, dict):
            user_id = self._refresh_tokens.pop(str(body.get("refresh_token")), None)  # single use: rotated
            error = {
                "code": 400,
                "error_code": "refresh_token_not_found",
                "msg": "Invalid Refresh Token: Refresh Token Not Found",
            }
        else:
            error = {"code": 400, "error_code": "validation_failed", "msg": "unsupported_grant_type"}
        if user_id is None:
            return Response(json.dumps(error), 400, media_type="application/json")
        now = int(self.now())
        session = {
            "access_token": self.mint(user_id),
            "token_type": "bearer",
            "expires_in": self.token_lifetime,
            "expires_at": now + self.token_lifetime,
            "refresh_token": self.issue_refresh_token(user_id),
            "user": {
                "id": str(user_id),
                "aud": "authenticated",
                "role": "authenticated",
                "email": email,
                "app_metadata": {"provider": "email"},
                "user_metadata": {},
                "created_at": "2026-11-01T00:00:00Z",
            },
        }
        return Response(json.dumps(session), 200, media_type="application/json")


class _Plain(Exception):
    """A gateway (Kong) error: not PostgREST's shape."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["message"])
        self.status = status
        self.body = body


class SwitchableTransport(httpx.AsyncBaseTransport):
    """Delegates to ``inner`` until stopped; then refuses connections like a closed port."""

    def __init__(self, inner: httpx.AsyncBaseTransport, stopped: Callable[[], bool] | None = None) -> None:
        self._inner = inner
        self._stopped_flag = False
        self._stopped = stopped or (lambda: self._stopped_flag)

    def stop(self) -> None:
        self._stopped_flag = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._stopped():
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def rest_store(fake: PostgrestFake, http: httpx.AsyncClient, user: uuid.UUID | None, **session: Any) -> Any:
    """A RestStore on the fake; a stdio ``user`` signs in with a refresh token the fake issued."""
    from pam_mcp.store.rest_store import RestStore
    from pam_mcp.store.supabase_session import SupabaseSession

    stdio = (
        None
        if user is None
        else SupabaseSession(
            supabase_url=URL, anon_key=fake.anon_key, http=http, refresh_token=fake.issue_refresh_token(user), **session
        )
    )
    return RestStore(supabase_url=URL, anon_key=fake.anon_key, http=http, session=stdio)
