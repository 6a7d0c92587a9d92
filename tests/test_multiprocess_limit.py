"""The rate limit is exact across server processes: replicas share only Redis.

Four ``pam-mcp serve --transport http`` processes, one person, 1,000 concurrent
``tools/call`` requests spread over the four: exactly the limit is admitted and every other
call is refused with the wait, however the requests interleave across processes.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from tests.conftest import NewUser, mint_token
from tests.support_http import RATE_LIMITED, signed_in, text_of
from tests.support_process import delete_limiter_keys, serve_env, serve_processes

pytestmark = pytest.mark.anyio

PROCESSES = 4
CALLS = 1000
LIMIT = 100
ADMITTED, REFUSED = "admitted", "refused with the wait"


async def test_a_thousand_concurrent_calls_to_four_server_processes_admit_exactly_the_limit(
    database_url: str, redis_url: str, redis_client: Any, new_user: NewUser, tmp_path: Path
) -> None:
    alice = await new_user()
    outcomes: Counter[str] = Counter()

    async def call(client: Client) -> None:
        result = await client.call_tool("check_guardrails", {"text": "hello"})
        if not result.is_error:
            outcomes[ADMITTED] += 1
        elif RATE_LIMITED.match(text_of(result)):
            outcomes[REFUSED] += 1
        else:
            outcomes[text_of(result)] += 1  # any other error shows up in the comparison below

    try:
        async with (
            serve_processes(
                PROCESSES,
                # check_guardrails has a bucket of its own; two windows, the minute's binding.
                serve_env(
                    database_url, redis_url, tmp_path, PAM_TOOL_RATE_LIMITS=f"check_guardrails={LIMIT}/minute,1000/hour"
                ),
                tmp_path,
                start_timeout=60,
            ) as urls,
            AsyncExitStack() as stack,
        ):
            token = mint_token(alice)
            clients = [await stack.enter_async_context(signed_in(url, token)) for url in urls]
            started = time.perf_counter()
            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    for i in range(CALLS):
                        tg.start_soon(call, clients[i % PROCESSES])
            elapsed = time.perf_counter() - started
            after = await clients[0].call_tool("check_guardrails", {"text": "hello"})
    finally:
        await delete_limiter_keys(redis_client, alice)

    assert outcomes == {ADMITTED: LIMIT, REFUSED: CALLS - LIMIT}
    assert after.is_error
    assert RATE_LIMITED.match(text_of(after)), text_of(after)
    # About 5 s on an idle 2-core machine; the bound leaves room for a loaded CI runner.
    assert elapsed < 40, f"{CALLS} calls took {elapsed:.1f} s"
