"""Timing helpers: interleaved samples, median and p99."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

Op = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Summary:
    """Latency in milliseconds."""

    n: int
    median: float
    p99: float

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "median_ms": round(self.median, 4), "p99_ms": round(self.p99, 4)}


def summarize(samples_s: Sequence[float]) -> Summary:
    ordered = sorted(samples_s)
    # Nearest-rank p99: with fewer than 100 samples this is the maximum.
    rank = max(0, min(len(ordered) - 1, -(-99 * len(ordered) // 100) - 1))
    return Summary(len(ordered), statistics.median(ordered) * 1000, ordered[rank] * 1000)


async def interleaved(
    ops: dict[str, Op], rounds: int, warmup: int, *, after_warmup: Op | None = None
) -> dict[str, Summary]:
    """Run every op once per round, in turn (A, B, C, A, B, C, ...), so that noise from the
    rest of the machine falls on all of them alike; the first ``warmup`` rounds are dropped
    (and ``after_warmup`` runs once they are done). The order rotates each round so no op
    always follows the same neighbour."""
    names = list(ops)
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for i in range(warmup + rounds):
        if i == warmup and after_warmup is not None:
            await after_warmup()
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            await ops[name]()
            elapsed = clock() - start
            if i >= warmup:
                samples[name].append(elapsed)
    return {name: summarize(values) for name, values in samples.items()}
