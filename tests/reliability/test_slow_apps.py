"""Slow and greedy apps (issue 13, findings 6 and 7): one app's behaviour never costs another app time.

Every app is an official node-adapter app (``bus_app.mjs``) on the runtime emulator. A hung app's
``servicenow.recordChanged`` handler never returns; a greedy app sends thousands of requests at once. No
clock decides: the other app's events must all arrive while the hung app still holds its first one (on
unfair code each waited behind the hung app's 10 s request timeout, so the hung app had failed events by
then), and the other app's read must come back while most of the flood is still to be served (on unfair code
it queued behind the flood). The adapter's resident memory is bounded far above its normal size.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.bus_apps import BusApp, start_bus_app
from tests.reliability.desktop import CASES, Desktop, desktop, resident_kib

pytestmark = pytest.mark.timeout(300)

# Only a bound on waiting for events that should come (they come in milliseconds); nothing is timed.
EVENTS_WITHIN = 60.0
FLOOD = 2_000
SLOW_TABLE = "/api/now/table/sys_user"
SLOW_MS = 250
# The adapter runs in about 80 MB; the bound only catches queues that grow with the flood.
RSS_BOUND_KIB = 600 * 1024


@pytest.fixture
def running() -> Iterator[Desktop]:
    with desktop() as started:
        yield started


def _apps(running: Desktop, *specs: tuple[str, bool]) -> list[BusApp]:
    apps = [start_bus_app(running.runtime.address, uuid, hang=hang) for uuid, hang in specs]
    for app in apps:
        reply = app.dispatch("servicenow.connect")
        assert reply["ok"], reply
    return apps


def _status(app: BusApp) -> dict[str, Any]:
    reply = app.dispatch("servicenow.status")
    assert reply["ok"], reply
    status: dict[str, Any] = reply["result"]
    return status


def _someone_writes(running: Desktop, method: str, path: str, record: dict[str, str]) -> str:
    """A write by another user of the instance (not through the adapter); the record's sys_id."""
    response = running.hooks.request(method, path, json=record, auth=("admin", "admin")).raise_for_status()
    sys_id: str = response.json()["result"]["sys_id"]
    return sys_id


def _event_for(app: BusApp, sys_ids: set[str], timeout: float) -> dict[str, Any]:
    """The first ``recordChanged`` of one of ``sys_ids`` not returned before, even one that arrived while
    the test waited for a reply."""
    deadline = time.monotonic() + timeout
    while True:
        for index, seen in enumerate(app.node.events):
            data = seen.get("data")
            if seen.get("event") == "recordChanged" and isinstance(data, dict) and data["sys_id"] in sys_ids:
                app.node.events[index] = {"event": "(consumed)"}
                return data
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no recordChanged for {sys_ids} within {timeout} s"
        app.node.wait_for_event("recordChanged", timeout=remaining)


def test_a_hung_app_never_delays_another_apps_events(running: Desktop) -> None:
    hung, healthy = _apps(running, ("hung-app", True), ("healthy-app", False))
    try:
        # Someone else's changes, which the adapter's one poller finds and broadcasts one after another.
        created = [
            _someone_writes(running, "POST", CASES, {"short_description": f"slow app {n}"}) for n in range(3)
        ]
        waiting = set(created)
        while waiting:
            event = _event_for(healthy, waiting, EVENTS_WITHIN)
            waiting.discard(event["sys_id"])
        # Every change reached the healthy app while the hung app still holds its first change, the rest
        # waiting behind it, and not one has failed yet. (Had the healthy app waited behind the hung one, the
        # hung app's first changes would have failed by the runtime's request timeout before the healthy app
        # had them all.)
        held = _status(hung)["delivery"]["app"]
        assert held["failed"] == 0, held
        assert held["waiting"] >= 1, held

        # The hung app falls behind under the stated policy: its waiting event for the second case is
        # replaced by the newer change of that case rather than queued behind it.
        _someone_writes(running, "PATCH", f"{CASES}/{created[1]}", {"short_description": "changed"})
        _event_for(healthy, {created[1]}, EVENTS_WITHIN)
        delivery = _status(healthy)["delivery"]
        assert delivery["total"]["merged"] >= 1, delivery
        assert delivery["total"]["waiting"] >= 2, delivery
        mine = delivery["app"]
        assert mine["delivered"] >= 4, mine
        assert mine["merged"] == 0, mine
        assert mine["dropped"] == 0, mine
        rss = resident_kib(running.pid)
        assert rss is None or rss < RSS_BOUND_KIB
    finally:
        hung.close()
        healthy.close()


def test_one_apps_flood_never_makes_another_apps_read_wait(running: Desktop) -> None:
    greedy, reader = _apps(running, ("greedy-app", False), ("reader-app", False))
    read = f"{CASES}?sysparm_limit=1"
    # The instance takes a while over the greedy app's reads: unbounded, they would hold every pooled
    # connection and the reader's request would queue behind all of them.
    running.add_fault(method="GET", path=SLOW_TABLE, latency_ms=SLOW_MS)
    try:
        warm = reader.request(read)
        assert warm["ok"], warm

        greedy.command(
            "flood",
            action="servicenow.request",
            payload={"apiEndpoint": f"{SLOW_TABLE}?sysparm_limit=1", "httpMethod": "GET"},
            count=FLOOD,
            distinct=True,  # identical reads would share one instance request and queue nothing
        )
        answer = reader.request(read)
        flood_served = running.stats().get(f"GET {SLOW_TABLE}", 0)

        assert answer["ok"], answer
        # The read came back while most of the flood was still to come: it did not queue behind it. Unbounded,
        # the flood's requests sent before it fill the pool's queue and about a thousand are served first.
        assert flood_served < FLOOD // 4, f"a single read came back only after {flood_served} flood requests"
        rss = resident_kib(running.pid)
        assert rss is None or rss < RSS_BOUND_KIB
        outcome = greedy.node.wait_for_event("flooded", timeout=240)
        # The flood was served up to the app's bounds and the rest refused at once, by name.
        assert outcome["ok"] >= 16 + 1000, outcome
        assert outcome["ok"] + sum(outcome["errors"].values()) == FLOOD
        assert set(outcome["errors"]) == {"TooManyRequestsError"}, outcome
        assert reader.request(read)["ok"]
    finally:
        greedy.close()
        reader.close()
