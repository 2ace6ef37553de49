"""The runtime dies (SIGKILL) under the running adapter and comes back on the same port, three times.

Each time the adapter reconnects by itself, creates its channel again and re-registers its intent handlers
with the broker; apps connect again and carry on; a request in flight when the runtime died gets an error
instead of hanging; and the adapter holds one socket to the runtime and as many other open files after
each restart (sockets pooled to the instance aside, which come and go with the load).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.adapter.conftest import AppError
from tests.reliability.desktop import CASES, Desktop, desktop, open_files, tcp_peers
from tests.support.waiting import eventually_blocking

CYCLES = 3
READ = {"apiEndpoint": f"{CASES}?sysparm_limit=1&sysparm_fields=number", "httpMethod": "GET"}
CONTACT = {"type": "fdc3.contact", "id": {"email": "jane.doe@example.com"}}


@pytest.fixture(scope="module")
def stack() -> Iterator[Desktop]:
    with desktop("--reconnect-grace", "60") as running:
        yield running


def work_one_round(stack: Desktop, cycle: int) -> dict[str, Any]:
    """Two apps sign in and read; a third raises an intent through the broker: what they got."""
    fleet = stack.fleet([f"restart-{cycle}-a", f"restart-{cycle}-b"])
    try:
        connected = fleet.connect()
        loaded = fleet.load(20, [READ], concurrency=2)
    finally:
        fleet.close()
    raiser = stack.app(f"restart-{cycle}-raiser")
    raiser.connect()
    resolution = raiser.raise_intent("ViewInteractions", CONTACT)
    return {"connected": connected, "loaded": loaded, "resolution": resolution}


@pytest.mark.slow
def test_the_adapter_survives_runtime_restarts_and_apps_carry_on(stack: Desktop) -> None:
    files: list[int] = []
    instance_port = int(stack.instance.rsplit(":", 1)[1])
    in_flight: list[BaseException | Any] = []
    for cycle in range(CYCLES):
        round_ = work_one_round(stack, cycle)
        assert all(result["ok"] for result in round_["connected"]), round_["connected"]
        assert round_["loaded"] == {"sent": 20, "ok": 20, "lost": 0, "errors": {}, "statuses": {"200": 20}}
        assert round_["resolution"]["result"]["type"] == "servicenow.caseList"
        peers = tcp_peers(stack.pid)
        total = open_files(stack.pid)
        if peers is not None and total is not None:
            # One websocket to the runtime, whatever happened before; pooled instance sockets vary with load.
            assert peers[stack.runtime.port] == 1, peers
            files.append(total - peers[instance_port])

        # A request is in flight (held by the instance) when the runtime dies under everyone.
        slow = stack.app(f"restart-{cycle}-slow")
        slow.connect()
        stack.add_fault(method="GET", path=f"{CASES}/", latency_ms=1500, times=1)
        outcome: list[Any] = []

        def request(app: Any = slow, into: list[Any] = outcome) -> None:
            try:
                into.append(app.request(f"{CASES}/0123456789abcdef0123456789abcdef"))
            except AppError as error:
                into.append(error)

        worker = threading.Thread(target=request)
        worker.start()
        held = f"GET {CASES}/0123456789abcdef0123456789abcdef"
        eventually_blocking(
            lambda: stack.stats().get(held, 0) or not worker.is_alive(),  # noqa: B023 (awaited here)
            "the held request at the instance",
        )
        stack.runtime.kill()
        worker.join(timeout=60)
        assert not worker.is_alive()
        in_flight.extend(outcome)
        stack.close_apps()
        stack.clear_faults()
        assert stack.adapter_alive()
        stack.runtime.start()

    assert all(isinstance(result, AppError) for result in in_flight), in_flight
    assert stack.adapter_alive()
    if sys.platform.startswith("linux"):
        assert len(files) == CYCLES
    if files:  # elsewhere /proc is missing and open files go uncounted; the rest still holds
        assert files[-1] <= files[1], files
