"""Reconnect policy: when to try again, and how long to wait between tries. Pure.

``should_reconnect`` is the one place that decides which failures are worth another attempt; the
connection's reconnect loop asks it and nothing else.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from websockets.exceptions import WebSocketException

from adapter.openfin.errors import (
    AuthorizationRejected,
    ProtocolError,
    RequestTimeoutError,
    RuntimeNotConnectedError,
)

# The runtime still holds our previous socket's uuid for a moment after a drop; that clears by itself.
_TRANSIENT_REJECTIONS = ("Application with specified UUID already exists",)


def should_reconnect(error: BaseException) -> bool:
    """Whether a failed (re)connection attempt is worth retrying.

    Yes for transport trouble (refused or reset sockets, websocket failures, timeouts, a socket closed during
    the handshake, a garbled frame) and for the runtime still holding our uuid. No for a handshake the
    runtime refused for good (bad token, bad token file, unknown uuid): retrying would only hammer it.
    """
    if isinstance(error, AuthorizationRejected):
        return error.reason.startswith(_TRANSIENT_REJECTIONS)
    return isinstance(
        error,
        OSError
        | TimeoutError
        | WebSocketException
        | RuntimeNotConnectedError
        | RequestTimeoutError
        | ProtocolError,
    )


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter.

    Attempt ``n`` (from 0) waits ``min(cap, initial * factor**n)`` scaled by a random factor in
    ``[1 - jitter, 1]``, so that many adapters losing one runtime do not all knock at the same instant.
    """

    initial: float = 0.1
    factor: float = 2.0
    cap: float = 5.0
    jitter: float = 0.5

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """An endless sequence of delays, in seconds."""
        draw = rng or random.Random()
        attempt = 0
        while True:
            base = min(self.cap, self.initial * self.factor**attempt)
            yield base * (1.0 - self.jitter * draw.random())
            if base < self.cap:
                attempt += 1
