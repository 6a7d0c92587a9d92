"""Bearer token verification per request: a signature check against the verifier's cache, side by side.

``python -m bench.verify``. Every HTTP request to /mcp is verified (twice: the OAuth front's
honest 401, then the SDK's check). Uncached that is one PyJWT decode each, HS256 or ES256
(the asymmetric keys Supabase's OAuth tokens use); cached, a dictionary lookup until the
token expires. Medians of 5 runs, microseconds per verification, and the ratio.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from pam_mcp.identity import SupabaseJwtVerifier

SECRET = "bench-only-jwt-secret-with-enough-length-for-hs256"  # noqa: S105 - a throwaway test key
ROUNDS = 5


async def _per_call_us(fn: Callable[[], Awaitable[Any]], calls: int) -> float:
    samples = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        for _ in range(calls):
            await fn()
        samples.append((time.perf_counter() - began) / calls * 1e6)
    return statistics.median(samples)


async def main() -> None:
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "aud": "authenticated", "role": "authenticated", "exp": now + 3600}
    hs256 = jwt.encode(claims, SECRET, algorithm="HS256")
    key = ec.generate_private_key(ec.SECP256R1())
    es256 = jwt.encode(claims, key, algorithm="ES256")
    public = key.public_key()

    async def decode_hs256() -> Any:
        return jwt.decode(hs256, SECRET, algorithms=["HS256"], audience="authenticated")

    async def decode_es256() -> Any:
        return jwt.decode(es256, public, algorithms=["ES256"], audience="authenticated")

    verifier = SupabaseJwtVerifier(secret=SECRET, supabase_url=None)

    async def cached() -> Any:
        return await verifier.verify(hs256)

    await cached()  # the first call verifies and fills the cache
    hs = await _per_call_us(decode_hs256, 2000)
    es = await _per_call_us(decode_es256, 2000)
    hit = await _per_call_us(cached, 20000)
    print("| verification | us per call | vs cached |")
    print("|---|---|---|")
    print(f"| PyJWT HS256 decode | {hs:.1f} | {hs / hit:.0f}x |")
    print(f"| PyJWT ES256 decode | {es:.1f} | {es / hit:.0f}x |")
    print(f"| verifier, cached token | {hit:.2f} | 1x |")


if __name__ == "__main__":
    anyio.run(main)
