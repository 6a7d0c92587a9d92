"""``python -m bench [--quick] [--only SECTION ...]``: run the benchmarks, print the table, write JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from bench import limiter, overhead, report, round_trip, scale, stall, start, throughput
from bench.env import RUN_ID, note, open_bench, scratch_dir

SECTIONS = ["overhead", "limiter", "scale", "throughput", "start", "stall", "round_trip"]
RESULTS = Path(__file__).resolve().parent / "results"


async def _run(sections: list[str], quick: bool, tmp: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with open_bench(tmp, quick=quick) as bench:
        main_dsn = await bench.database("main") if {"overhead", "throughput"} & set(sections) else ""
        for section in sections:
            began = time.perf_counter()
            note(f"section {section}")
            if section == "overhead":
                results[section] = await overhead.run(bench, main_dsn)
            elif section == "limiter":
                results[section] = await limiter.run(bench)
            elif section == "scale":
                results[section] = await scale.run(bench)
            elif section == "throughput":
                results[section] = await throughput.run(bench, main_dsn)
            elif section == "start":
                results[section] = await start.run(bench)
            elif section == "stall":
                results[section] = await stall.run(bench)
            elif section == "round_trip":
                results[section] = await round_trip.run(bench)
            results[section]["seconds"] = round(time.perf_counter() - began, 1)
        results["servers"] = "embedded" if bench.embedded else "configured (PAM_BENCH_DATABASE_URL/PAM_BENCH_REDIS_URL)"
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples and smaller tables (about a minute)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--json", type=Path, help="write the JSON here too (always: bench/results/)")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    sections = [s for s in SECTIONS if not args.only or s in args.only]
    began = time.perf_counter()
    load_before = _load_average()
    with scratch_dir() as tmp:
        results = anyio.run(_run, sections, args.quick, tmp)
    results["meta"] = {
        "run_id": RUN_ID,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {_cpus()} CPUs",
        "seconds": round(time.perf_counter() - began, 1),
        # Other work on the machine moves every figure; the ratios are what to compare.
        "load_average_1min": {"before": load_before, "after": _load_average()},
    }
    results["summary"] = report.verdicts(results)
    print(report.render(results))
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2, default=str)
    (RESULTS / "latest.json").write_text(text, encoding="utf-8")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}{'-quick' if args.quick else ''}.json").write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    note(f"JSON written to {RESULTS / 'latest.json'}")
    return 0


def _load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
