"""A soak, bounded for CI: 20 apps send thousands of requests through the adapter while faults come and go.

Every request is answered (a result or a named error, never silence), writes and reads both flow, and the
adapter's memory and open files show no growth from the first half of the run to the second. The default is
``SOAK_REQUESTS=3000`` (about half a minute here); the long form is the same test with a larger number, e.g.
``SOAK_REQUESTS=50000 .venv/bin/python -m pytest tests/reliability/test_soak.py -s`` (about 7 minutes
here), which prints the totals and the memory and open-file figures.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.desktop import CASES, Desktop, desktop, open_files, resident_kib

APPS = [f"soak-app-{n:02d}" for n in range(20)]
TOTAL = int(os.environ.get("SOAK_REQUESTS", "3000"))
ROUNDS = 6


def requests_with(hot_case: str) -> list[dict[str, Any]]:
    """The mix every app cycles through: reads, a new case, an update of the case everyone works on."""
    return [
        {"apiEndpoint": f"{CASES}?sysparm_limit=5&sysparm_fields=number,state", "httpMethod": "GET"},
        {"apiEndpoint": f"{CASES}?sysparm_limit=1&sysparm_query=active=true", "httpMethod": "GET"},
        {
            "apiEndpoint": "/api/now/table/sys_user?sysparm_limit=1&sysparm_fields=user_name",
            "httpMethod": "GET",
        },
        {"apiEndpoint": CASES, "httpMethod": "POST", "data": {"short_description": "soak"}},
        {"apiEndpoint": f"{CASES}/{hot_case}", "httpMethod": "PATCH", "data": {"work_notes": "soak"}},
    ]


# Faults sprinkled over the run: each applies to a few requests and then wears off.
FAULTS: list[dict[str, Any]] = [
    {"method": "GET", "path": CASES, "status": 503, "times": 3},
    {"method": "GET", "path": CASES, "status": 500, "times": 2},
    {"method": "GET", "path": CASES, "status": 429, "retry_after": 0, "times": 5},
    {"method": "GET", "path": CASES, "drop": "before", "times": 2},
    {"method": "POST", "path": CASES, "status": 500, "times": 2},
    {"method": "POST", "path": CASES, "drop": "after", "times": 1},
    {"method": "PATCH", "path": CASES, "status": 503, "times": 1},
    {"method": "GET", "path": "/api/now/table/sys_user", "latency_ms": 300, "times": 10},
]
EXPECTED_ERRORS = {"ApiRequestError"}
POOL_SLACK = 10
RSS_SLACK_KIB = 4 * 1024
# The change tracker remembers up to 10 000 records the adapter saw change (about 0.9 KB each, see
# test_memory_bounds.py): a run that creates records fills that bounded cache, which is not a leak.
TRACKER_CAPACITY = 10_000
TRACKER_KIB_PER_RECORD = 1.5
POOL_LIMIT = 100  # httpx's default max_connections per pool


@pytest.fixture(scope="module")
def stack() -> Iterator[Desktop]:
    with desktop() as running:
        yield running


def sample(stack: Desktop, into: list[tuple[int | None, int | None]], stop: threading.Event) -> None:
    while not stop.wait(0.25):
        into.append((resident_kib(stack.pid), open_files(stack.pid)))


def sprinkle_faults(stack: Desktop, stop: threading.Event, rng: random.Random) -> int:
    added = 0
    while not stop.wait(0.4):
        stack.add_fault(**rng.choice(FAULTS))
        added += 1
    return added


def trend(values: list[int]) -> tuple[float, float]:
    """Medians of the first and the second half of the samples."""
    half = len(values) // 2
    return statistics.median(values[:half]), statistics.median(values[half:])


@pytest.mark.slow
@pytest.mark.timeout(max(120, TOTAL // 10))
def test_twenty_apps_get_every_reply_through_sprinkled_faults_without_growth(stack: Desktop) -> None:
    hot_case = stack.hooks.get(
        CASES, params={"sysparm_limit": "1", "sysparm_fields": "sys_id"}, auth=("admin", "admin")
    ).json()["result"][0]["sys_id"]
    requests = requests_with(hot_case)
    fleet = stack.fleet(APPS)
    try:
        assert all(result["ok"] for result in fleet.connect())
        fleet.load(len(APPS) * 4, requests, concurrency=2)  # warm-up: pools, caches, pollers
        samples: list[tuple[int | None, int | None]] = []
        stop = threading.Event()
        faults: list[int] = []
        sampler = threading.Thread(target=sample, args=(stack, samples, stop))
        sprinkler = threading.Thread(
            target=lambda: faults.append(sprinkle_faults(stack, stop, random.Random(9)))
        )
        sampler.start()
        sprinkler.start()
        totals: dict[str, Any] = {"sent": 0, "ok": 0, "lost": 0, "errors": {}}
        idle: list[tuple[int | None, int | None]] = []
        started = time.monotonic()
        try:
            for _ in range(ROUNDS):
                outcome = fleet.load(TOTAL // ROUNDS, requests, concurrency=3)
                idle.append((resident_kib(stack.pid), open_files(stack.pid)))
                totals["sent"] += outcome["sent"]
                totals["ok"] += outcome["ok"]
                totals["lost"] += outcome["lost"]
                for name, count in outcome["errors"].items():
                    totals["errors"][name] = totals["errors"].get(name, 0) + count
        finally:
            stop.set()
            sampler.join(timeout=10)
            sprinkler.join(timeout=10)
            stack.clear_faults()
        elapsed = time.monotonic() - started
    finally:
        fleet.close()

    print(f"soak: {totals} faults={faults} seconds={elapsed:.1f} samples={len(samples)} idle={idle}")
    sent = TOTAL // ROUNDS * ROUNDS
    assert totals["sent"] == sent
    assert totals["lost"] == 0
    assert totals["ok"] + sum(totals["errors"].values()) == sent
    assert set(totals["errors"]) <= EXPECTED_ERRORS, totals["errors"]
    assert totals["ok"] > sent * 0.9
    assert stack.adapter_alive()
    rss = [kib for kib, _ in samples if kib is not None]
    fds = [count for _, count in samples if count is not None]
    if rss and fds:
        (rss_first, rss_second), (fds_first, fds_second) = trend(rss), trend(fds)
        print(f"soak: rss KiB {rss_first:.0f} -> {rss_second:.0f}, open files {fds_first} -> {fds_second}")
        created = sum(1 for n in range(TOTAL) if requests[n % len(requests)]["httpMethod"] == "POST")
        allowance = RSS_SLACK_KIB + min(created, TRACKER_CAPACITY) * TRACKER_KIB_PER_RECORD
        assert rss_second - rss_first < allowance, (rss_first, rss_second, allowance)
        # Pooled connections to the instance come and go with the load (up to the pool's keep-alive
        # limit); a leak would climb past that, round after round.
        assert fds_second <= fds_first + POOL_SLACK, (fds_first, fds_second)
        assert max(fds) <= min(fds) + POOL_LIMIT, (min(fds), max(fds))
