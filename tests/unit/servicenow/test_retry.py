"""The retry decision: GET only once a request may have reached the instance, Retry-After honoured."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapter.servicenow.retry import Outcome, RetryPolicy, parse_retry_after

POLICY = RetryPolicy(max_attempts=4, deadline=30, base_delay=0.2, max_delay=5, max_retry_after=30)


def decide(
    method: str,
    outcome: Outcome,
    status: int | None = None,
    retry_after: str | None = None,
    attempt: int = 1,
    remaining: float = 30,
) -> float | None:
    return POLICY.delay_before_retry(
        method=method,
        outcome=outcome,
        status=status,
        retry_after=retry_after,
        attempt=attempt,
        remaining=remaining,
        rng=lambda: 1.0,
    )


def test_429_on_get_waits_retry_after() -> None:
    assert decide("GET", Outcome.STATUS, 429, "3") == 3.0


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_are_never_retried_once_they_may_have_arrived(method: str) -> None:
    assert decide(method, Outcome.STATUS, 429, "1") is None
    assert decide(method, Outcome.STATUS, 503) is None
    assert decide(method, Outcome.MAYBE_SENT) is None


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_a_request_that_was_never_sent_may_be_retried(method: str) -> None:
    assert decide(method, Outcome.NOT_SENT) == pytest.approx(0.2)


def test_server_errors_on_get_back_off_exponentially_up_to_the_cap() -> None:
    assert [decide("GET", Outcome.STATUS, 500, attempt=n) for n in (1, 2, 3)] == pytest.approx(
        [0.2, 0.4, 0.8]
    )
    assert RetryPolicy(max_attempts=20).backoff(15, rng=lambda: 1.0) == 5.0


def test_client_errors_are_not_retried() -> None:
    for status in (400, 401, 403, 404, 409):
        assert decide("GET", Outcome.STATUS, status) is None


def test_no_retry_past_the_attempts_or_the_deadline() -> None:
    assert decide("GET", Outcome.STATUS, 503, attempt=4) is None
    assert decide("GET", Outcome.STATUS, 429, "10", remaining=5) is None
    assert decide("GET", Outcome.STATUS, 429, "120") is None


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:09 GMT", now=now) == 9.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
