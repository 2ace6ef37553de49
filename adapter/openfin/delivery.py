"""Per-client delivery of a provider's events: one client's slow acknowledgement never delays another's.

Each connected client has its own ``Mailbox`` (bounded, pure) and its own sender task, which dispatches the
client's events one at a time and in order, waiting for each acknowledgement (or its timeout) before the next.
A client that does not keep up falls behind alone, under a stated policy:

- at most ``backlog`` events wait per client;
- an event posted with a ``key`` replaces the waiting event of the same key (counted as ``merged``): a client
  that fell behind gets the latest event per key, in the place of the first;
- when ``backlog`` events of different keys wait, the oldest waiting one is dropped (counted as ``dropped``).

Events that reached the client are ``delivered``; those whose dispatch failed or timed out are ``failed``.

An event posted to every client carries a ``Fanout``, which learns when each client's copy was written to the
socket (or will never be: merged, dropped, failed before writing), so that the provider can say how long the
fan-out took on the adapter's side.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import Any

import structlog

from adapter.openfin.errors import ChannelActionError, RuntimeRequestError
from adapter.openfin.frames import ClientIdentity

log = structlog.get_logger(__name__)

DEFAULT_BACKLOG = 100


@dataclass
class DeliveryCounts:
    """What became of the events posted to one client (or, summed, to every client)."""

    delivered: int = 0
    merged: int = 0
    dropped: int = 0
    failed: int = 0

    def add(self, other: DeliveryCounts) -> None:
        """Add ``other``'s counts to these."""
        self.delivered += other.delivered
        self.merged += other.merged
        self.dropped += other.dropped
        self.failed += other.failed


class Fanout:
    """One event posted to ``clients`` clients: how many copies were written to the socket, and when.

    Each copy is settled once, by ``wrote`` or ``missed``; after the last, ``on_done(self)`` runs (never for
    a fan-out to no client).
    """

    def __init__(self, action: str, clients: int, on_done: Callable[[Fanout], None]) -> None:
        self.action = action
        self.clients = clients
        self.posted = time.perf_counter()
        self.posted_cpu = time.process_time()
        self.written = 0
        self.last_written: float | None = None
        self.last_written_cpu: float | None = None
        self._pending = clients
        self._on_done = on_done

    @property
    def written_ms(self) -> float | None:
        """From posting to the last copy written, in ms; ``None`` when no copy was written."""
        return None if self.last_written is None else (self.last_written - self.posted) * 1000.0

    @property
    def written_cpu_ms(self) -> float | None:
        """The process's CPU time from posting to the last copy written, in ms: what writing the fan-out
        cost, however busy the machine (other work of the process in between included)."""
        return None if self.last_written_cpu is None else (self.last_written_cpu - self.posted_cpu) * 1000.0

    def wrote(self) -> None:
        """A client's copy is on the socket."""
        self.written += 1
        self.last_written = time.perf_counter()
        self.last_written_cpu = time.process_time()
        self._settle()

    def missed(self) -> None:
        """A client's copy will never be written (merged away, dropped, failed first, the client gone)."""
        self._settle()

    def _settle(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._on_done(self)


@dataclass(frozen=True)
class Event:
    """One event for a client: the action and its payload, already JSON text (``None``: no payload), and
    the fan-out it belongs to, if it is followed."""

    action: str
    payload_json: str | None
    fanout: Fanout | None = field(default=None, compare=False)

    def missed(self) -> None:
        """This copy of the event will never be written."""
        if self.fanout is not None:
            self.fanout.missed()


class Mailbox:
    """The events waiting for one client, bounded by ``backlog``: merged by key, oldest dropped. Pure."""

    def __init__(self, backlog: int = DEFAULT_BACKLOG) -> None:
        if backlog < 1:
            raise ValueError("backlog must be at least 1")
        self.backlog = backlog
        self.counts = DeliveryCounts()
        self._waiting: OrderedDict[Hashable, Event] = OrderedDict()

    def __len__(self) -> int:
        return len(self._waiting)

    def put(self, event: Event, key: Hashable | None = None) -> None:
        """Queue ``event``; with ``key``, in place of the waiting event of that key if there is one."""
        slot: Hashable = (event.action, key) if key is not None else object()
        if slot in self._waiting:
            self._waiting[slot].missed()
            self._waiting[slot] = event
            self.counts.merged += 1
            return
        if len(self._waiting) >= self.backlog:
            self._waiting.popitem(last=False)[1].missed()
            self.counts.dropped += 1
        self._waiting[slot] = event

    def take(self) -> Event | None:
        """The oldest waiting event, removed; ``None`` when nothing waits."""
        if not self._waiting:
            return None
        return self._waiting.popitem(last=False)[1]

    def clear(self) -> None:
        """Forget every waiting event."""
        for event in self._waiting.values():
            event.missed()
        self._waiting.clear()


Send = Callable[[Event], Awaitable[object]]
"""Dispatch one event to the client and wait for its acknowledgement; raises when it failed. When the event
has a ``fanout``, settles this copy in it once: ``wrote`` when the frame is on the socket, else ``missed``."""

Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]
"""Start a task by name (the connection's ``spawn``, so that closing the connection ends it)."""


@dataclass
class ClientDelivery:
    """A client's mailbox and the task that empties it, one event at a time.

    An event posted to every client is usually written in one pass for all idle clients (``post_ready``, then
    ``done`` when the client answered): no task runs per client then. The sender task takes over only when
    events wait behind one still unanswered.
    """

    mailbox: Mailbox
    send: Send
    name: str
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _busy: bool = False
    _stopped: bool = False

    def post(self, event: Event, key: Hashable | None, spawn: Spawn) -> None:
        """Queue ``event`` and make sure the sender runs (``spawn`` starts it the first time)."""
        self.mailbox.put(event, key)
        self._run_sender(spawn)

    def post_ready(self, event: Event, key: Hashable | None, spawn: Spawn) -> Event | None:
        """Queue ``event``; when the client is idle, take its next event out for the caller to send at once,
        who then reports the outcome with ``done``. Otherwise the sender sends it in its turn (``None``)."""
        self.mailbox.put(event, key)
        if self._busy or self._stopped:
            self._run_sender(spawn)
            return None
        taken = self.mailbox.take()
        self._busy = taken is not None
        return taken

    def done(self, event: Event, error: Exception | None, spawn: Spawn) -> None:
        """The event ``post_ready`` handed out was acknowledged (``error`` is ``None``) or failed."""
        self._busy = False
        self._count(event, error)
        if not self._stopped and len(self.mailbox):
            self._run_sender(spawn)

    def _run_sender(self, spawn: Spawn) -> None:
        self._wake.set()
        if not self._stopped and (self._task is None or self._task.done()):
            self._task = spawn(self._run(), f"openfin-deliver-{self.name}")

    def _count(self, event: Event, error: Exception | None) -> None:
        if error is None:
            self.mailbox.counts.delivered += 1
        else:
            self.mailbox.counts.failed += 1
            log.info("channel.delivery_failed", client=self.name, action=event.action, error=str(error))

    async def _run(self) -> None:
        while True:
            # One event at a time per client: also while one handed out by ``post_ready`` is unanswered.
            event = None if self._busy else self.mailbox.take()
            if event is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            self._busy = True
            try:
                await self.send(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._count(event, exc)
            else:
                self._count(event, None)
            finally:
                self._busy = False

    def stop(self) -> None:
        """Stop sending and forget what waits (the client is gone)."""
        self._stopped = True
        self.mailbox.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None


def event_error(action: str, outcome: Any) -> Exception | None:
    """What became of one client's event: ``None`` when it answered, else the error, as ``dispatch`` says."""
    if isinstance(outcome, RuntimeRequestError):
        return ChannelActionError(action, outcome.reason, outcome.error)
    return outcome if isinstance(outcome, Exception) else None


def log_fanout(fanout: Fanout) -> None:
    """Log a finished fan-out: every client's copy is on the socket (or never will be), the adapter's side
    of a broadcast is done."""
    written_ms, cpu_ms = fanout.written_ms, fanout.written_cpu_ms
    log.info(
        "channel.fanout",
        action=fanout.action,
        clients=fanout.clients,
        written=fanout.written,
        written_ms=None if written_ms is None else round(written_ms, 2),
        written_cpu_ms=None if cpu_ms is None else round(cpu_ms, 2),
    )


@dataclass(frozen=True)
class DispatchOutcome:
    """What one client made of a published action: its ``result``, or the ``error`` it failed with."""

    client: ClientIdentity
    result: Any = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the client handled the action."""
        return self.error is None
