"""Reconnect policy: capped jittered backoff and the single retry decision."""

from __future__ import annotations

import itertools
import random

import pytest
from websockets.exceptions import ConnectionClosedError

from adapter.openfin.errors import AuthorizationRejected, ConnectionLostError, RequestTimeoutError
from adapter.openfin.reconnect import Backoff, should_reconnect


def test_delays_grow_exponentially_and_stop_at_the_cap() -> None:
    delays = list(itertools.islice(Backoff(initial=0.1, factor=2, cap=1.0, jitter=0).delays(), 7))

    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


def test_jitter_only_shortens_a_delay_within_its_bound() -> None:
    backoff = Backoff(initial=1.0, factor=1.0, cap=1.0, jitter=0.5)

    delays = list(itertools.islice(backoff.delays(random.Random(7)), 200))

    assert all(0.5 <= delay <= 1.0 for delay in delays)
    assert len(set(delays)) > 100, "jitter must spread the delays"


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(),
        OSError("reset"),
        TimeoutError(),
        ConnectionClosedError(None, None),
        ConnectionLostError(),
        RequestTimeoutError("request-authorization", 1),
        AuthorizationRejected("Application with specified UUID already exists: svc"),
    ],
)
def test_transport_trouble_is_worth_a_reconnect(error: BaseException) -> None:
    assert should_reconnect(error)


@pytest.mark.parametrize(
    "error",
    [
        AuthorizationRejected("Invalid token or file"),
        AuthorizationRejected("Invalid UUID: x"),
        ValueError("bug"),
    ],
)
def test_a_refused_handshake_or_a_bug_is_not_retried(error: BaseException) -> None:
    assert not should_reconnect(error)
