"""The token verifier itself: which Supabase access tokens name a signed-in user.

``SupabaseJwtVerifier.verify`` decides who is calling over HTTP, and ``pam-mcp doctor``
uses it too, so it is tested here directly rather than only through the SDK's bearer
middleware (which rejects an expired token on its own and would hide a verifier that
does not). Tokens are minted with times relative to the clock (an hour past, an hour
ahead), so no test sleeps. Projects with asymmetric signing keys publish them at
``<SUPABASE_URL>/auth/v1/.well-known/jwks.json``; a stand-in for that one Supabase Auth
endpoint serves a JWKS document over loopback HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from pam_mcp.identity import InvalidToken as InvalidTokenError
from pam_mcp.identity import SupabaseJwtVerifier, VerifiedToken

pytestmark = pytest.mark.anyio

SECRET = "test-only-identity-secret-long-enough-for-hs256"
USER = uuid.UUID("6f1c2a4e-1d0b-4a57-9a0e-3f1f5c7d2b10")


def claims(**changes: Any) -> dict[str, Any]:
    """A Supabase access token's claims for USER, valid for an hour; ``None`` removes a claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": str(USER),
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + 3600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def hs256(secret: str = SECRET, **changes: Any) -> str:
    return jwt.encode(claims(**changes), secret, algorithm="HS256")


@pytest.fixture
def verifier() -> SupabaseJwtVerifier:
    """An HS256 project's verifier: the JWT secret, no Supabase URL (so no issuer to check)."""
    return SupabaseJwtVerifier(secret=SECRET, supabase_url=None)


async def refused(verifier: SupabaseJwtVerifier, token: str) -> str:
    with pytest.raises(InvalidTokenError) as caught:
        await verifier.verify(token)
    return str(caught.value)


# -- HS256 (the JWT secret) ---------------------------------------------------------------------------


async def test_a_current_token_for_a_signed_in_user_names_that_user(verifier: SupabaseJwtVerifier) -> None:
    token_claims = claims()
    verified = await verifier.verify(jwt.encode(token_claims, SECRET, algorithm="HS256"))
    assert verified == VerifiedToken(user_id=USER, expires_at=token_claims["exp"], claims=token_claims)


async def test_a_token_that_expired_an_hour_ago_is_refused(verifier: SupabaseJwtVerifier) -> None:
    now = int(time.time())
    assert await refused(verifier, hs256(iat=now - 7200, exp=now - 3600)) == "ExpiredSignatureError"


async def test_a_token_that_expired_within_the_30_second_clock_leeway_is_still_accepted(
    verifier: SupabaseJwtVerifier,
) -> None:
    now = int(time.time())
    verified = await verifier.verify(hs256(iat=now - 3600, exp=now - 5))
    assert verified.user_id == USER


async def test_a_token_not_valid_until_an_hour_from_now_is_refused(verifier: SupabaseJwtVerifier) -> None:
    now = int(time.time())
    assert await refused(verifier, hs256(nbf=now + 3600, exp=now + 7200)) == "ImmatureSignatureError"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": None}, "MissingRequiredClaimError"),
        ({"aud": None}, "MissingRequiredClaimError"),
        ({"aud": "anon"}, "InvalidAudienceError"),
        ({"aud": "service_role"}, "InvalidAudienceError"),
        ({"sub": None}, "MissingRequiredClaimError"),
        ({"sub": "not-a-uuid"}, "sub is not a user id"),
        ({"sub": ""}, "sub is not a user id"),
        ({"role": "service_role"}, "not a signed-in user's token"),
        ({"role": "anon"}, "not a signed-in user's token"),
        ({"role": "supabase_admin"}, "not a signed-in user's token"),
    ],
    ids=[
        "no-expiry",
        "no-audience",
        "audience-anon",
        "audience-service-role",
        "no-sub",
        "sub-not-a-uuid",
        "sub-empty",
        "role-service-role",
        "role-anon",
        "role-supabase-admin",
    ],
)
async def test_a_token_that_does_not_name_a_signed_in_user_is_refused(
    verifier: SupabaseJwtVerifier, changes: dict[str, Any], reason: str
) -> None:
    assert await refused(verifier, hs256(**changes)) == reason


async def test_a_token_signed_with_another_projects_secret_is_refused(verifier: SupabaseJwtVerifier) -> None:
    assert await refused(verifier, hs256(secret="another-projects-secret-long-enough-for-hs256")) == (
        "InvalidSignatureError"
    )


async def test_a_token_whose_payload_was_edited_after_signing_is_refused(verifier: SupabaseJwtVerifier) -> None:
    header, _payload, signature = hs256().split(".")
    other = jwt.utils.base64url_encode(json.dumps(claims(sub=str(uuid.uuid4()))).encode()).decode()
    assert await refused(verifier, f"{header}.{other}.{signature}") == "InvalidSignatureError"


async def test_an_unsigned_token_alg_none_is_refused(verifier: SupabaseJwtVerifier) -> None:
    unsigned = jwt.encode(claims(), "", algorithm="none")
    assert await refused(verifier, unsigned) == "unsupported algorithm 'none'"


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "Bearer x.y.z"])
async def test_a_malformed_token_is_refused(verifier: SupabaseJwtVerifier, token: str) -> None:
    await refused(verifier, token)


async def test_an_asymmetric_token_is_refused_when_no_supabase_url_publishes_keys(
    verifier: SupabaseJwtVerifier,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    assert await refused(verifier, token) == "unsupported algorithm 'RS256'"


# -- asymmetric keys published as a JWKS ----------------------------------------------------------------


class _JwksStandIn(BaseHTTPRequestHandler):
    """Stand-in for Supabase Auth's ``GET /auth/v1/.well-known/jwks.json`` (nothing else)."""

    document: bytes = b'{"keys": []}'
    fetches: int = 0  # how many times the JWKS was asked for
    failing: bool = False  # answer 503, as an overloaded or misconfigured endpoint would

    def do_GET(self) -> None:
        if self.path != "/auth/v1/.well-known/jwks.json":
            self.send_error(404)
            return
        type(self).fetches += 1
        if self.failing:
            self.send_error(503)
            return
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.document)))
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the suite's output is the tests'."""


class SigningKeys:
    """The project's signing keys (RS256 and ES256) and the loopback URL that publishes them."""

    def __init__(self, url: str, handler: type[_JwksStandIn]) -> None:
        self.url = url
        self.handler = handler
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())

    def jwks(self) -> bytes:
        keys = [
            {**json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key())), "kid": "rsa-1", "alg": "RS256", "use": "sig"},
            {**json.loads(ECAlgorithm.to_jwk(self.ec.public_key())), "kid": "ec-1", "alg": "ES256", "use": "sig"},
        ]
        return json.dumps({"keys": keys}).encode()

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    def token(self, algorithm: str = "RS256", *, kid: str | None = None, key: Any = None, **changes: Any) -> str:
        changes.setdefault("iss", self.issuer)
        private = key if key is not None else (self.rsa if algorithm == "RS256" else self.ec)
        kid = kid or ("rsa-1" if algorithm == "RS256" else "ec-1")
        return jwt.encode(claims(**changes), private, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture
def signing_keys() -> Iterator[SigningKeys]:
    handler: type[_JwksStandIn] = type("JwksHandler", (_JwksStandIn,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    keys = SigningKeys(f"http://127.0.0.1:{server.server_address[1]}", handler)
    handler.document = keys.jwks()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield keys
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def jwks_verifier(signing_keys: SigningKeys) -> SupabaseJwtVerifier:
    """A project with asymmetric signing keys: only SUPABASE_URL is configured."""
    return SupabaseJwtVerifier(secret=None, supabase_url=signing_keys.url)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_a_token_signed_with_a_published_key_names_the_user(
    jwks_verifier: SupabaseJwtVerifier, signing_keys: SigningKeys, algorithm: str
) -> None:
    verified = await jwks_verifier.verify(signing_keys.token(algorithm))
    assert verified.user_id == USER
    assert verified.claims["iss"] == signing_keys.issuer


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://another-project.supabase.co/auth/v1"}, "InvalidIssuerError"),
        ({"iss": None}, "MissingRequiredClaimError"),
        ({"exp": int(time.time()) - 3600}, "ExpiredSignatureError"),
        ({"nbf": int(time.time()) + 3600}, "ImmatureSignatureError"),
        ({"aud": "anon"}, "InvalidAudienceError"),
        ({"role": "service_role"}, "not a signed-in user's token"),
        ({"role": "anon"}, "not a signed-in user's token"),
        ({"sub": "service"}, "sub is not a user id"),
    ],
    ids=[
        "another-issuer",
        "no-issuer",
        "expired",
        "not-yet-valid",
        "audience-anon",
        "role-service",
        "role-anon",
        "sub",
    ],
)
async def test_an_asymmetric_token_that_does_not_name_a_signed_in_user_of_this_project_is_refused(
    jwks_verifier: SupabaseJwtVerifier, signing_keys: SigningKeys, changes: dict[str, Any], reason: str
) -> None:
    assert await refused(jwks_verifier, signing_keys.token(**changes)) == reason


async def test_a_token_signed_with_a_key_the_project_never_published_is_refused(
    jwks_verifier: SupabaseJwtVerifier, signing_keys: SigningKeys
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert await refused(jwks_verifier, signing_keys.token(key=stranger)) == "InvalidSignatureError"


async def test_a_token_naming_a_key_id_the_project_does_not_publish_is_refused(
    jwks_verifier: SupabaseJwtVerifier, signing_keys: SigningKeys
) -> None:
    assert await refused(jwks_verifier, signing_keys.token(kid="rotated-away")) == "signing key not found"


async def test_an_hs256_token_is_refused_when_the_project_configured_no_jwt_secret(
    jwks_verifier: SupabaseJwtVerifier, signing_keys: SigningKeys
) -> None:
    # Signed with the published key as an HMAC secret: the classic algorithm confusion. PyJWT
    # refuses to sign that way, so the token is put together by hand.
    public = RSAAlgorithm.to_jwk(signing_keys.rsa.public_key()).encode()
    parts = [
        jwt.utils.base64url_encode(json.dumps(part).encode())
        for part in ({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(iss=signing_keys.issuer))
    ]
    signing_input = b".".join(parts)
    signature = jwt.utils.base64url_encode(hmac.new(public, signing_input, hashlib.sha256).digest())
    token = (signing_input + b"." + signature).decode()
    assert await refused(jwks_verifier, token) == "HS256 token but no SUPABASE_JWT_SECRET is configured"


async def test_with_both_a_secret_and_a_supabase_url_an_hs256_token_must_carry_the_projects_issuer(
    signing_keys: SigningKeys,
) -> None:
    both = SupabaseJwtVerifier(secret=SECRET, supabase_url=signing_keys.url)
    assert (await both.verify(hs256(iss=signing_keys.issuer))).user_id == USER
    assert await refused(both, hs256(iss="https://another-project.supabase.co/auth/v1")) == "InvalidIssuerError"


# -- how often the JWKS is fetched -------------------------------------------------------------------


def _random_kids(signing_keys: SigningKeys, count: int) -> list[str]:
    return [signing_keys.token(kid=uuid.uuid4().hex) for _ in range(count)]


async def test_tokens_naming_unknown_key_ids_fetch_the_jwks_at_most_once_per_30_seconds(
    signing_keys: SigningKeys,
) -> None:
    clock = [time.time()]
    verifier = SupabaseJwtVerifier(secret=None, supabase_url=signing_keys.url, now=lambda: clock[0])
    assert (await verifier.verify(signing_keys.token())).user_id == USER
    for token in _random_kids(signing_keys, 20):
        assert await refused(verifier, token) == "signing key not found"
    fetched_within_the_interval = signing_keys.handler.fetches
    clock[0] += 31
    await refused(verifier, signing_keys.token(kid="rotated-in"))
    assert (await verifier.verify(signing_keys.token("ES256"))).user_id == USER  # known keys still serve

    assert fetched_within_the_interval == 1
    assert signing_keys.handler.fetches == 2  # the interval passed: one more look for a key rotated in


async def test_a_failing_jwks_endpoint_is_asked_once_per_30_seconds_not_once_per_token(
    signing_keys: SigningKeys,
) -> None:
    clock = [time.time()]
    verifier = SupabaseJwtVerifier(secret=None, supabase_url=signing_keys.url, now=lambda: clock[0])
    signing_keys.handler.failing = True
    for token in [signing_keys.token(), *_random_kids(signing_keys, 19)]:
        assert await refused(verifier, token) == "signing key not found"
    asked_while_failing = signing_keys.handler.fetches
    signing_keys.handler.failing = False
    clock[0] += 31
    recovered = await verifier.verify(signing_keys.token())

    assert asked_while_failing == 1
    assert recovered.user_id == USER


async def test_keys_fetched_before_an_outage_keep_verifying_through_it(signing_keys: SigningKeys) -> None:
    clock = [time.time()]
    verifier = SupabaseJwtVerifier(secret=None, supabase_url=signing_keys.url, now=lambda: clock[0])
    await verifier.verify(signing_keys.token())
    signing_keys.handler.failing = True
    clock[0] += 3600  # past the keys' lifespan: a refetch is due, and fails
    assert (await verifier.verify(signing_keys.token("ES256"))).user_id == USER
    assert signing_keys.handler.fetches == 2
