"""``python -m benchmarks [--quick] [--json PATH] [--plot PATH] [--only SCENARIO ...]``.

Starts one desktop (both emulators, the adapter, the reference JavaScript provider and a load-driving app),
runs the scenarios in order on it, prints the table and writes the JSON document (and the plot if asked).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import scale, scenarios
from benchmarks.desktop import desktop, rss_kib
from benchmarks.plan import FULL, QUICK, Plan
from benchmarks.report import machine, render, targets

SCENARIOS = (
    "latency",
    "throughput",
    "fanout_and_polling",
    "footprint",
    "refresh",
    "coalescing",
    "watched_tables",
    "scale",
)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="few samples: checks the harness, not the figures"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(tempfile.gettempdir()) / "servicenow-adapter-benchmarks.json",
        help="where to write the results document (default: %(default)s)",
    )
    parser.add_argument("--plot", type=Path, help="also write the latency/throughput PNG here")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument(
        "--apps-per-process",
        type=int,
        metavar="N",
        help="fan-out apps per node process (default 25; 100 puts the 100-app fleet in one process)",
    )
    return parser.parse_args(argv)


async def run(plan: Plan, only: tuple[str, ...]) -> dict[str, Any]:
    """Every scenario in ``only`` on one desktop; the results document."""
    began = time.perf_counter()
    results: dict[str, Any] = {"plan": plan.name}
    async with desktop(poll_interval=plan.poll_interval) as handles:
        await asyncio.sleep(1.0)
        idle_rss = rss_kib(handles.adapter.pid)
        if "latency" in only:
            results["latency"] = await scenarios.latency(handles, plan)
        if "throughput" in only:
            results["throughput"] = await scenarios.throughput(handles, plan)
        if "fanout_and_polling" in only:
            results["fanout_and_polling"] = await scenarios.fanout_and_polling(handles, plan)
        if "footprint" in only:
            results["footprint"] = await scenarios.footprint(handles, plan, idle_rss)
        if "refresh" in only:
            results["refresh"] = await scenarios.refresh(handles, plan)
            # The burst's 500 tasks at once leave the allocator's high-water mark behind: shown, not hidden.
            after_burst = rss_kib(handles.adapter.pid)
            results["refresh"]["rss_after_burst_mib"] = round(after_burst / 1024, 1) if after_burst else None
        if "coalescing" in only:
            results["coalescing"] = await scale.coalescing(handles, plan)
        if "watched_tables" in only:
            results["watched_tables"] = await scale.watched_tables(handles, plan)
        if "scale" in only:
            results["scale"] = await scale.scale(handles, plan)
    results["machine"] = machine()
    results["targets"] = targets(results)
    results["duration_s"] = round(time.perf_counter() - began, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write the JSON (and the plot)."""
    args = parse(argv)
    plan = QUICK if args.quick else FULL
    if args.apps_per_process is not None:
        plan = dataclasses.replace(plan, apps_per_process=max(1, args.apps_per_process))
    results = asyncio.run(run(plan, tuple(args.only or SCENARIOS)))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\nresults: {args.json}")
    if args.plot is not None:
        if "latency" in results and "throughput" in results:
            from benchmarks.plot import plot

            plot(results, args.plot)
            print(f"plot: {args.plot}")
        else:
            print("plot skipped: it needs the latency and throughput scenarios", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
