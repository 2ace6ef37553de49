"""The plot of docs/performance.md: record GET latency and throughput by concurrency for the three paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI or a headless box

import matplotlib.pyplot as plt

LABELS = {
    "fetch": "direct (node fetch)",
    "httpx": "direct (Python httpx)",
    "adapter": "through the adapter",
    "js": "JS provider (node-adapter)",
}


def plot(results: dict[str, Any], path: Path) -> None:
    """Write a two-panel PNG: latency percentiles by path, throughput by concurrency."""
    latency = results["latency"]["paths"]
    throughput = results["throughput"]["paths"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [
        name for name in ("fetch", "httpx", "adapter", "js", "adapter-floor", "js-floor") if name in latency
    ]
    positions = range(len(names))
    width = 0.38
    left.bar([p - width / 2 for p in positions], [latency[n]["p50"] for n in names], width, label="p50")
    left.bar([p + width / 2 for p in positions], [latency[n]["p99"] for n in names], width, label="p99")
    left.set_xticks(list(positions), [LABELS.get(n, n).replace(" (", "\n(") for n in names], fontsize=8)
    left.set_ylabel("ms")
    left.set_title("One record GET: latency by path")
    left.legend()
    for name, by_level in throughput.items():
        levels = sorted(by_level, key=int)
        right.plot(
            [int(c) for c in levels],
            [by_level[c]["requests_per_second"] for c in levels],
            marker="o",
            label=LABELS.get(name, name),
        )
    right.set_xscale("log", base=2)
    right.set_xlabel("concurrent requests")
    right.set_ylabel("requests / s")
    right.set_title("Throughput by concurrency")
    right.legend(fontsize=8)
    figure.suptitle(f"{results['machine']['cpus']} CPUs, emulators local ({results['plan']} run)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
