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
    "adapter, one record": "adapter, one record (coalesced)",
}


COLOURS = {
    "fetch": "tab:blue",
    "httpx": "tab:orange",
    "adapter": "tab:green",
    "js": "tab:red",
    "adapter, one record": "tab:olive",
}

SHORT = {
    "fetch": "fetch",
    "httpx": "httpx",
    "adapter": "adapter",
    "js": "JS provider",
    "adapter-floor": "adapter\nbus floor",
    "js-floor": "JS\nbus floor",
}


def plot(results: dict[str, Any], path: Path) -> None:
    """Write a three-panel PNG: one GET by path, then latency and throughput by concurrency."""
    latency = results["latency"]["paths"]
    throughput = results["throughput"]["paths"]
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.8))
    names = [
        name for name in ("fetch", "httpx", "adapter", "js", "adapter-floor", "js-floor") if name in latency
    ]
    positions = range(len(names))
    width = 0.38
    left.bar([p - width / 2 for p in positions], [latency[n]["p50"] for n in names], width, label="p50")
    left.bar([p + width / 2 for p in positions], [latency[n]["p99"] for n in names], width, label="p99")
    left.set_xticks(list(positions), [SHORT[n] for n in names], fontsize=8)
    left.set_ylabel("ms")
    left.set_title("One record GET at a time: latency by path")
    left.legend()
    for name, by_level in throughput.items():
        levels = sorted(by_level, key=int)
        for axis, key in ((middle, "p50"), (middle, "p99")):
            axis.plot(
                [int(c) for c in levels],
                [by_level[c]["latency_ms"][key] for c in levels],
                marker="o" if key == "p50" else "x",
                linestyle="-" if key == "p50" else ":",
                color=COLOURS.get(name),
                label=f"{LABELS.get(name, name)} {key}",
            )
        right.plot(
            [int(c) for c in levels],
            [by_level[c]["requests_per_second"] for c in levels],
            marker="o",
            color=COLOURS.get(name),
            label=LABELS.get(name, name),
        )
    middle.set_xscale("log", base=2)
    middle.set_yscale("log")
    middle.set_xlabel("concurrent requests")
    middle.set_ylabel("ms per request")
    middle.set_title("Latency by concurrency (p50 solid, p99 dotted)")
    middle.legend(fontsize=6, ncol=2)
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
