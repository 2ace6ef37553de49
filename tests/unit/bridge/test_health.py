"""What servicenow.status says about watchers: each request's outcome, and the last failure."""

from __future__ import annotations

from typing import Any, cast

import pytest

from adapter.bridge.health import AdapterHealth
from adapter.servicenow.connection import Connection, ConnectionKey
from adapter.servicenow.errors import ApiRequestError
from adapter.servicenow.response import ApiResponse

ORIGIN = "https://acme.service-now.com"
TABLE = "sn_customerservice_case"


class FakeConnection:
    """Answers each request with the next scripted outcome."""

    def __init__(self, *outcomes: ApiResponse | Exception) -> None:
        self.key = ConnectionKey(origin=ORIGIN, client_id="c")
        self._outcomes = list(outcomes)

    async def execute(self, endpoint: str, *_args: Any, **_kwargs: Any) -> ApiResponse:
        outcome = self._outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def test_a_failed_poll_makes_the_watcher_unhealthy_and_is_the_last_error() -> None:
    health = AdapterHealth()
    fake = FakeConnection(
        ApiResponse(status=200, data=[]), ApiRequestError("Service Unavailable", status=503)
    )
    observed = health.observed(cast(Connection, fake), TABLE)

    await observed.execute("/api/now/table/x")
    [before] = health.watchers({ORIGIN}, [TABLE])
    assert before["healthy"] is True
    assert before["lastPollAt"] is not None
    assert health.last_error is None

    with pytest.raises(ApiRequestError):
        await observed.execute("/api/now/table/x")
    [after] = health.watchers({ORIGIN}, [TABLE])
    assert after["healthy"] is False
    assert after["lastError"] == "Service Unavailable"
    assert health.last_error is not None
    assert health.last_error.where == "watcher"
    assert TABLE in health.last_error.message


def test_a_watcher_that_never_polled_is_listed_without_a_time() -> None:
    [status] = AdapterHealth().watchers({ORIGIN}, [TABLE])
    assert (status["instanceUrl"], status["table"], status["healthy"], status["lastPollAt"]) == (
        ORIGIN,
        TABLE,
        True,
        None,
    )


def test_a_failure_quoting_a_secret_reaches_status_masked() -> None:
    """``servicenow.status`` sends the last failure to every app; runtime and broker failures are free text
    from other components (a runtime may repeat what it was sent), so the text is masked as a log line is."""
    from adapter.logging import forget_secret, register_secret

    secret = "runtime-auth-token-0123456789"
    register_secret(secret)
    try:
        health = AdapterHealth()
        health.record_error("runtime", f"connection lost: refused token {secret}")
        assert health.last_error is not None
        assert secret not in health.last_error.message
        assert health.last_error.message == "connection lost: refused token [REDACTED]"
    finally:
        forget_secret(secret)
