"""Identical reads from many node-adapter apps at once reach the instance once: the instance's own request
counts (``/__emulator/stats``) are the measure, with different records as the positive control."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.adapter.conftest import WAIT, AdapterStack, App, adapter_stack

CASES = "/api/now/table/sn_customerservice_case"
APPS = 8
# The instance takes this long to answer a record, so that every app's read is in flight at once.
LATENCY_MS = 2_000
_ids = itertools.count(1_000_000)


@pytest.fixture(scope="module")
def desktop() -> Iterator[AdapterStack]:
    """A desktop of its own: the instance's request counts must be this module's alone."""
    with adapter_stack() as stack:
        readers = [stack.app(f"coalescing-reader-{index}") for index in range(APPS)]
        for reader in readers:
            reader.connect()
        yield stack


def case_ids(stack: AdapterStack, count: int) -> list[str]:
    with stack.instance_client() as admin:
        found = admin.get(CASES, params={"sysparm_fields": "sys_id", "sysparm_limit": str(count)})
        return [row["sys_id"] for row in found.json()["result"]]


def read_all_at_once(apps: list[App], endpoints: list[str]) -> list[dict[str, Any]]:
    """Every app sends its ``servicenow.request`` before any answer is awaited; the answers in app order."""
    sent = []
    for app, endpoint in zip(apps, endpoints, strict=True):
        command_id = next(_ids)
        app.node.send(
            {
                "op": "dispatch",
                "id": command_id,
                "action": "servicenow.request",
                "payload": {"apiEndpoint": endpoint, "httpMethod": "GET"},
            }
        )
        sent.append(command_id)
    results = []
    for app, command_id in zip(apps, sent, strict=True):
        while True:
            answer = app.node.wait_for_event("reply", timeout=WAIT + LATENCY_MS / 1000)
            if answer["id"] == command_id:
                assert answer["ok"], answer
                results.append(answer["result"])
                break
    return results


def served(stack: AdapterStack, path: str) -> int:
    return stack.stats().get(f"GET {path}", 0)


@contextlib.contextmanager
def slowed(stack: AdapterStack) -> Iterator[None]:
    """Record reads answered ``LATENCY_MS`` late while inside."""
    with stack.instance_client() as hooks:
        rule = {"method": "GET", "path": f"{CASES}/", "latency_ms": LATENCY_MS}
        hooks.post("/__emulator/faults", json=rule).raise_for_status()
        try:
            yield
        finally:
            hooks.delete("/__emulator/faults").raise_for_status()


def test_many_apps_reading_one_record_at_once_cost_at_most_two_instance_requests(
    desktop: AdapterStack,
) -> None:
    (sys_id,) = case_ids(desktop, 1)
    record = f"{CASES}/{sys_id}"
    before = served(desktop, record)
    with slowed(desktop):
        results = read_all_at_once(desktop.apps, [record] * APPS)
    assert [result["data"]["sys_id"] for result in results] == [sys_id] * APPS
    assert 1 <= served(desktop, record) - before <= 2


def test_apps_reading_different_records_at_once_each_cost_one_request(desktop: AdapterStack) -> None:
    ids = case_ids(desktop, APPS)
    records = [f"{CASES}/{sys_id}" for sys_id in ids]
    before = {record: served(desktop, record) for record in records}
    with slowed(desktop):
        results = read_all_at_once(desktop.apps, records)
    assert [result["data"]["sys_id"] for result in results] == ids
    assert [served(desktop, record) - before[record] for record in records] == [1] * APPS
