"""How much each scenario measures: the full run behind docs/performance.md, and ``--quick``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """Sample counts and windows of one benchmark run."""

    name: str
    latency_rounds: int
    """Record GETs per path (every path once per round, order rotating)."""
    latency_blocks: int
    """The node paths and the Python httpx path alternate in this many blocks."""
    warmup: int
    concurrency: tuple[int, ...]
    throughput_requests: int
    """Requests per (path, concurrency) run (at least ``per_caller`` per concurrent caller)."""
    throughput_rounds: int
    fleets: tuple[int, ...]
    changes_per_fleet: int
    polling_window: float
    """Seconds over which polling requests are counted (scaled to a minute)."""
    refresh_burst: int
    footprint_requests: int
    """Requests per footprint step (RSS after one step and after a second one)."""
    startup_samples: int
    apps_per_process: int = 25
    """Fan-out apps per node process (a desktop runs each app in its own renderer process)."""
    per_caller: int = 10
    throughput_records: int = 300
    """Distinct records the throughput runs read in turn (more than the highest concurrency)."""
    """Throughput runs make at least this many requests per concurrent caller."""
    poll_interval: float = 1.0
    coalescing_apps: int = 100
    """Apps that read one record at once (and again after each change)."""
    coalescing_rounds: int = 5
    """Bursts per coalescing measurement (and changes read again)."""
    coalescing_latency_ms: int = 50
    """The instance's added latency in the second coalescing measurement: a real instance is farther away."""
    scale_apps: int = 1000
    """Apps connected at once in the scale scenario."""
    scale_changes: int = 10
    scale_request_rounds: int = 10
    """Rounds of one read per app, per RSS step of the scale scenario (10 of 1 000 apps: 10 000 requests)."""

    def requests_at(self, concurrency: int) -> int:
        """Requests for one throughput run at ``concurrency``."""
        return max(self.throughput_requests, self.per_caller * concurrency)


FULL = Plan(
    name="full",
    latency_rounds=1000,
    latency_blocks=10,
    warmup=50,
    concurrency=(1, 8, 32, 128),
    throughput_requests=1000,
    throughput_rounds=2,
    fleets=(1, 10, 100),
    changes_per_fleet=20,
    polling_window=30.0,
    refresh_burst=500,
    footprint_requests=10_000,
    startup_samples=5,
)

QUICK = Plan(
    name="quick",
    latency_rounds=20,
    latency_blocks=2,
    warmup=5,
    concurrency=(1, 8, 32, 128),
    throughput_requests=20,
    throughput_rounds=1,
    fleets=(1, 10),
    changes_per_fleet=1,
    polling_window=2.0,
    refresh_burst=50,
    footprint_requests=200,
    startup_samples=1,
    per_caller=1,
    throughput_records=150,
    coalescing_apps=10,
    coalescing_rounds=1,
    scale_apps=25,
    scale_changes=1,
    scale_request_rounds=1,
)
