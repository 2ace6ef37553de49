"""``python -m benchmarks --quick`` keeps working: it runs every scenario and writes a well-formed report.

Benchmarks are not tests: nothing here looks at a timing, only at the shape of what the run produced.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 100.0


def _summary_is_well_formed(summary: dict[str, Any]) -> bool:
    return bool(summary["n"] > 0 and summary["min"] <= summary["p50"] <= summary["p99"] <= summary["max"])


def test_quick_run_reports_every_scenario_and_judges_every_target(tmp_path: Path) -> None:
    results_path = tmp_path / "results.json"
    plot_path = tmp_path / "plot.png"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--json",
            str(results_path),
            "--plot",
            str(plot_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    results = json.loads(results_path.read_text())

    latency = results["latency"]["paths"]
    assert set(latency) == {"fetch", "httpx", "adapter", "js", "adapter-floor", "js-floor"}
    assert all(_summary_is_well_formed(summary) for summary in latency.values())
    throughput = results["throughput"]["paths"]
    assert set(throughput) == {"fetch", "httpx", "adapter", "js", "adapter, one record"}
    for by_level in throughput.values():
        assert set(by_level) == {"1", "8", "32", "128"}
        assert all(entry["errors"] == 0 and entry["requests_per_second"] > 0 for entry in by_level.values())
    assert all(entry["instance_requests_per_request"] > 0 for entry in throughput["adapter"].values())
    fanout = results["fanout_and_polling"]
    assert all(entry["missing_deliveries"] == 0 for entry in fanout["fanout"].values())
    assert set(fanout["polling"]) == set(fanout["fanout"])
    assert results["refresh"]["errors"] == 0
    assert results["refresh"]["refresh_calls"] >= 1
    assert len(results["footprint"]["rss_after_step_mib"]) == 2
    coalescing = results["coalescing"]
    for burst in ("at_once", "after_change", "at_once_with_latency", "after_change_with_latency"):
        assert all(run["errors"] == 0 and run["instance_requests"] >= 1 for run in coalescing[burst])
    assert all(run["reads"] == coalescing["apps"] for run in coalescing["after_change"])
    watched = results["watched_tables"]
    assert watched["3 task tables, a query each (before)"]["requests"] > 0
    assert watched["3 task tables, one query on task"]["requests"] > 0
    assert results["scale"]["missing_deliveries"] == 0
    assert results["scale"]["logins"] >= 1
    assert results["scale"]["requests"]["errors"] == 0
    assert len(results["scale"]["requests"]["rss_after_step_mib"]) == 2
    assert len(results["targets"]) == 19
    assert all(verdict["met"] in (True, False) for verdict in results["targets"].values())
    assert "targets" in run.stdout
    assert plot_path.read_bytes().startswith(b"\x89PNG")
