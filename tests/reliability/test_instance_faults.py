"""Instance faults injected through ``/__emulator/faults``, seen by a node-adapter app through the adapter.

Each fault maps to the error an app can act on, by name; a GET is retried within its bounds (the instance's
request count says how often), a write is never sent twice (the records say so), and the adapter stays up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conformance.adapter.conftest import App, AppError
from tests.reliability.desktop import CASES, Desktop, desktop

REQUEST_TIMEOUT = 2.0
MAX_ATTEMPTS = 4  # adapter.servicenow.retry.RetryPolicy.max_attempts


@pytest.fixture(scope="module")
def stack() -> Iterator[Desktop]:
    with desktop("--request-timeout", str(REQUEST_TIMEOUT)) as running:
        yield running


@pytest.fixture(scope="module")
def app(stack: Desktop) -> App:
    crm = stack.app("faults-crm")
    crm.connect()
    return crm


@pytest.fixture
def record(stack: Desktop) -> Iterator[str]:
    """A case of its own for each test, created by someone else on the instance, so that fault rules and
    request counts concern only this test."""
    created = stack.hooks.post(
        CASES, json={"short_description": f"fault target {uuid.uuid4()}"}, auth=("admin", "admin")
    ).raise_for_status()
    yield f"{CASES}/{created.json()['result']['sys_id']}"
    stack.clear_faults()


def served(stack: Desktop, method: str, path: str) -> int:
    return stack.stats().get(f"{method} {path}", 0)


@dataclass(frozen=True)
class ReadFault:
    rule: dict[str, Any]
    error: str | None  # None: the GET succeeds after retries
    message: str | None  # what the reason says after the error's name
    attempts: int


READ_FAULTS = {
    "500 once, then fine": ReadFault({"status": 500, "times": 1}, None, None, 2),
    "500 every time": ReadFault(
        {"status": 500},
        "ApiRequestError",
        "Transaction cancelled: maximum execution time exceeded",
        MAX_ATTEMPTS,
    ),
    "502 every time": ReadFault(
        {"status": 502}, "ApiRequestError", "Failed to execute API request", MAX_ATTEMPTS
    ),
    "503 twice, then fine": ReadFault({"status": 503, "times": 2}, None, None, 3),
    "429 storm with Retry-After": ReadFault({"status": 429, "retry_after": 1, "times": 2}, None, None, 3),
    "connection dropped once": ReadFault({"drop": "before", "times": 1}, None, None, 2),
    "malformed JSON": ReadFault(
        {"malformed_json": True, "times": 1},
        "ApiRequestError",
        "The instance answered with malformed JSON",
        1,
    ),
    "slow body within the timeout": ReadFault({"slow_body_ms": 500, "times": 1}, None, None, 1),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", READ_FAULTS.values(), ids=READ_FAULTS.keys())
def test_a_read_fault_is_retried_within_bounds_or_reported_by_name(
    stack: Desktop, app: App, record: str, fault: ReadFault
) -> None:
    before = served(stack, "GET", record)
    stack.add_fault(method="GET", path=record, **fault.rule)
    if fault.error is None:
        answer = app.request(record)
        assert answer["status"] == 200
        assert answer["data"]["sys_id"] == record.rsplit("/", 1)[1]
    else:
        with pytest.raises(AppError) as refused:
            app.request(record)
        assert refused.value.name == fault.error
        assert refused.value.reason == f"{fault.error}: {fault.message}"
    assert served(stack, "GET", record) - before == fault.attempts
    assert stack.adapter_alive()


@pytest.mark.slow
def test_latency_past_the_timeout_is_reported_after_a_bounded_number_of_tries(
    stack: Desktop, app: App, record: str
) -> None:
    before = served(stack, "GET", record)
    stack.add_fault(method="GET", path=record, latency_ms=int(REQUEST_TIMEOUT * 1000) + 1500)
    with pytest.raises(AppError) as refused:
        app.request(record)
    assert refused.value.name == "ApiRequestError"
    assert "time" in refused.value.reason.lower()
    assert 1 <= served(stack, "GET", record) - before <= MAX_ATTEMPTS
    stack.clear_faults()
    assert app.request(record)["status"] == 200


@pytest.mark.slow
def test_a_body_slower_than_the_timeout_is_reported_by_name(stack: Desktop, app: App, record: str) -> None:
    before = served(stack, "GET", record)
    stack.add_fault(method="GET", path=record, slow_body_ms=int(REQUEST_TIMEOUT * 1000) * 3)
    with pytest.raises(AppError) as refused:
        app.request(record)
    assert refused.value.name == "ApiRequestError"
    assert 1 <= served(stack, "GET", record) - before <= MAX_ATTEMPTS


WRITE_FAULTS = {
    "500": ({"status": 500}, 0),
    "503": ({"status": 503}, 0),
    "429": ({"status": 429, "retry_after": 0}, 0),
    "dropped before the instance acted": ({"drop": "before"}, 0),
    "dropped after the instance acted": ({"drop": "after"}, 1),
    # The instance got the whole request; whether it completes one the client gave up on is its business.
    "latency past the timeout": ({"latency_ms": int(REQUEST_TIMEOUT * 1000) + 500}, None),
}


@pytest.mark.slow
@pytest.mark.parametrize(("rule", "created"), WRITE_FAULTS.values(), ids=WRITE_FAULTS.keys())
def test_a_failed_post_is_reported_and_never_sent_twice(
    stack: Desktop, app: App, rule: dict[str, Any], created: int | None
) -> None:
    marker = f"never twice {uuid.uuid4()}"
    before = served(stack, "POST", CASES)
    stack.add_fault(method="POST", path=CASES, times=1, **rule)
    try:
        with pytest.raises(AppError) as refused:
            app.request(CASES, "POST", data={"short_description": marker})
    finally:
        stack.clear_faults()
    assert refused.value.name == "ApiRequestError"
    assert served(stack, "POST", CASES) - before == 1
    if created is None:
        assert stack.count(f"short_description={marker}") <= 1
    else:
        assert stack.count(f"short_description={marker}") == created
    assert app.request(CASES, "POST", data={"short_description": f"{marker} again"})["status"] == 201


@pytest.mark.slow
def test_a_patch_whose_connection_dropped_after_the_write_is_applied_once(
    stack: Desktop, app: App, record: str
) -> None:
    stack.add_fault(method="PATCH", path=record, drop="after", times=1)
    with pytest.raises(AppError) as refused:
        app.request(record, "PATCH", data={"work_notes": "exactly once"})
    assert refused.value.name == "ApiRequestError"
    assert served(stack, "PATCH", record) == 1
    assert app.request(record)["data"]["sys_mod_count"] == "1"
