"""Fairness between apps on the one shared connection: no app's load or slowness costs another app.

Requests: each app may have ``in_flight`` requests running at once and ``backlog`` more waiting for a turn;
the rest are refused at once with ``TooManyRequestsError`` (the app may retry later). The login's HTTP pool
and the instance's rate limit are shared, so one app flooding the channel could otherwise fill the pool's
queue and make every other app's single read wait behind thousands of its requests.

Events: each app's events go through its own queue (``adapter.openfin.delivery``); ``delivery_status`` is
what ``servicenow.status`` shows of them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from adapter.bridge.access import app_id
from adapter.openfin import ActionError, ChannelProvider, ClientIdentity, delivery

DEFAULT_IN_FLIGHT = 16
DEFAULT_BACKLOG = 1000


class TooManyRequestsError(ActionError):
    """The app has as many requests running and waiting as it may: this one is refused, not queued."""

    def __init__(self, in_flight: int, backlog: int) -> None:
        super().__init__(
            f"Too many requests from this app: {in_flight} running and {backlog} waiting; "
            "wait for some answers before sending more"
        )


@dataclass
class _AppTurns:
    """One app's requests: how many run, and a semaphore that lets ``in_flight`` of them run at once."""

    semaphore: asyncio.Semaphore
    admitted: int = 0
    """Requests running or waiting for a turn."""


@dataclass
class RequestGate:
    """Per-app bounds on requests running and waiting, in front of the shared connection."""

    in_flight: int = DEFAULT_IN_FLIGHT
    backlog: int = DEFAULT_BACKLOG
    _apps: dict[str, _AppTurns] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.in_flight < 1 or self.backlog < 0:
            raise ValueError("in_flight must be at least 1 and backlog at least 0")

    def turn(self, app: str) -> _Turn:
        """``async with gate.turn(app)``: wait for ``app``'s turn and hold it for the block;
        ``TooManyRequestsError`` when the app has ``in_flight`` requests running and ``backlog`` waiting
        already."""
        return _Turn(self, app)

    def admit(self, app: str) -> _AppTurns:
        """Count a request of ``app`` as admitted (``turn`` does this); ``TooManyRequestsError`` when full."""
        turns = self._apps.get(app)
        if turns is None:
            turns = self._apps[app] = _AppTurns(asyncio.Semaphore(self.in_flight))
        if turns.admitted >= self.in_flight + self.backlog:
            raise TooManyRequestsError(self.in_flight, self.backlog)
        turns.admitted += 1
        return turns

    def leave(self, app: str, turns: _AppTurns) -> None:
        """An admitted request of ``app`` is over, run or not (``turn`` does this)."""
        turns.admitted -= 1
        if turns.admitted == 0:
            del self._apps[app]

    def admitted(self, app: str) -> int:
        """``app``'s requests running or waiting now."""
        turns = self._apps.get(app)
        return 0 if turns is None else turns.admitted


def _counts(counts: delivery.DeliveryCounts, waiting: int) -> dict[str, int]:
    return {
        "waiting": waiting,
        "delivered": counts.delivered,
        "merged": counts.merged,
        "dropped": counts.dropped,
        "failed": counts.failed,
    }


def delivery_status(provider: ChannelProvider, caller: ClientIdentity) -> dict[str, Any]:
    """Event delivery as ``servicenow.status`` shows it (``DeliveryStatus``'s JSON form): the caller's own
    counts and every app's total.

    Other apps are not named: an app learns how its own events fared and how many events fared how overall.
    """
    mine = delivery.DeliveryCounts()
    waiting = 0
    all_waiting = 0
    caller_id = app_id(caller)
    for client, pending, counts in provider.delivery_counts():
        all_waiting += pending
        if app_id(client) == caller_id:
            mine.add(counts)
            waiting += pending
    return {
        "backlog": provider.event_backlog,
        "app": _counts(mine, waiting),
        "total": _counts(provider.delivery_totals(), all_waiting),
    }


class _Turn:
    """One request's turn (a plain class rather than a generator-based context manager: it is entered on
    every request)."""

    __slots__ = ("_app", "_gate", "_turns")

    def __init__(self, gate: RequestGate, app: str) -> None:
        self._gate = gate
        self._app = app
        self._turns: _AppTurns | None = None

    async def __aenter__(self) -> None:
        turns = self._gate.admit(self._app)
        try:
            await turns.semaphore.acquire()
        except BaseException:
            self._gate.leave(self._app, turns)
            raise
        self._turns = turns

    async def __aexit__(self, *_exc: object) -> None:
        turns = self._turns
        if turns is not None:
            self._turns = None
            turns.semaphore.release()
            self._gate.leave(self._app, turns)
