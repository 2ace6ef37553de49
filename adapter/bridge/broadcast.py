"""Case changes to every app: own writes at once, other people's changes by one poller per table.

``ChangeBroadcaster`` owns the pollers (one per (connection, poll target), however many apps share the
connection), reads back records the adapter's own writes touched (``ReadBackQueue`` decides which writes
need a read-back of their own), runs every version through one ``ChangeTracker`` (so each version is
broadcast once) and hands each change to its ``ChangeRecipient`` (``adapter.bridge.publisher``, which
makes it a channel event and FDC3 contexts). Other people's changes come from a ``ChangeSource``:
``TablePolling`` in the adapter, anything that yields batches in a test.

A poll target is one watched table, or, for two or more watched tables known to extend ``task`` (the
``task_table`` setting), one query on ``task`` filtered by ``sys_class_nameIN<tables>``: the instance keeps
every task-derived record in its parent, so one request per interval sees them all, and each record's
``sys_class_name`` says which watched table it is reported under.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

import structlog

from adapter.bridge.changes import ChangeTracker, RecordChange
from adapter.bridge.contexts import CASE_FIELDS, value_of
from adapter.servicenow.connection import Connection, ConnectionKey
from adapter.servicenow.errors import ApiError, ApiRequestError
from adapter.servicenow.response import ApiResponse
from adapter.servicenow.watcher import ChangeWatcher, Executor, WatchSettings

log = structlog.get_logger(__name__)

WATCH_FIELDS = (*CASE_FIELDS, "sys_created_on")

_TABLE_ENDPOINT = re.compile(
    r"^/?api/now(?:/v[12])?/table/(?P<table>[a-z0-9_]+)(?:/(?P<sys_id>[0-9a-f]{32}))?/?(?:\?|$)"
)

TASK = "task"
# sys_ids per read-back request, so that its URL stays well under what instances and proxies accept.
READ_BACK_CHUNK = 100


@dataclass(frozen=True, slots=True)
class PollTarget:
    """What one poller queries: ``table`` itself, or the parent ``task`` for the watched ``classes``."""

    table: str
    classes: tuple[str, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        """The watched tables this target reports."""
        return self.classes or (self.table,)

    def table_of(self, record: Mapping[str, Any]) -> str | None:
        """The watched table ``record`` is reported under; ``None`` for a class not watched here."""
        if not self.classes:
            return self.table
        name = value_of(record, "sys_class_name")
        return name if name in self.classes else None


def poll_targets(tables: Sequence[str], task_tables: Collection[str]) -> list[PollTarget]:
    """One target per watched table, except that two or more in ``task_tables`` share one query on task."""
    watched = list(dict.fromkeys(tables))
    shared = tuple(table for table in watched if table in task_tables and table != TASK)
    if len(shared) < 2:
        return [PollTarget(table) for table in watched]
    return [PollTarget(TASK, shared), *(PollTarget(table) for table in watched if table not in shared)]


RecordBatches = AsyncIterator[list[tuple[str, dict[str, Any]]]]
Baseline = Callable[[str, Sequence[Mapping[str, Any]]], None]
"""``baseline(table, records)``: the records the instance held when watching began (remembered, not sent)."""


class ChangeSource(Protocol):
    """Where other people's changes to the watched tables come from."""

    def changes(self, connection: Connection, target: PollTarget, baseline: Baseline) -> RecordBatches:
        """Batches of (table, record) other people changed in ``target``'s tables, until cancelled; the
        records held when watching began go to ``baseline`` first."""


class ChangeRecipient(Protocol):
    """Who is handed each change to broadcast (``EventPublisher``: a channel event and FDC3 contexts)."""

    async def deliver(self, connection: Connection, change: RecordChange) -> None:
        """Broadcast ``change``, seen on ``connection``'s instance; a failure is logged, never fatal."""


class PollObserver(Protocol):
    """What watches every poll request (the adapter's health, for ``servicenow.status``)."""

    def observed(self, connection: Connection, *tables: str) -> Executor:
        """``connection`` as the poller of ``tables`` uses it, each request's outcome observed."""


def table_target(endpoint: str) -> tuple[str, str | None] | None:
    """``(table, sys_id)`` of a Table API endpoint, or ``None`` for any other API."""
    match = _TABLE_ENDPOINT.match(endpoint)
    if match is None:
        return None
    return match["table"], match["sys_id"]


def records_endpoint(table: str, sys_ids: list[str]) -> str:
    """The Table API read of several records by sys_id, in the shape contexts are built from."""
    query = quote(f"sys_idIN{','.join(sys_ids)}", safe=",=")
    fields = quote(",".join(WATCH_FIELDS), safe=",")
    return (
        f"/api/now/table/{table}?sysparm_query={query}&sysparm_display_value=all"
        f"&sysparm_fields={fields}&sysparm_limit={len(sys_ids)}"
    )


async def poll_table(
    connection: Executor, target: PollTarget, interval: float, baseline: Baseline
) -> AsyncGenerator[list[tuple[str, dict[str, Any]]], None]:
    """Other people's changes to ``target``'s tables, one batch per poll that found any, with display values.

    The watcher asks only for what changed since its watermark; the changed records are then read back
    in one request per table with their display values, which contexts need (state labels, the contact's
    e-mail), and which a query on the parent cannot give (``contact`` is a field of the case, not of task).
    """

    async def primed(records: Sequence[Mapping[str, Any]]) -> None:
        if not target.classes:
            baseline(target.table, records)
            return
        # The parent's newest records may leave a quieter table out, and lack each table's own fields
        # (``contact`` is the case's): prime every table from its own baseline, as a poller of it alone
        # would, so that the first change to any record names what changed. One request per table, once.
        for table in target.classes:
            own = WatchSettings(table=table, interval=interval, fields=WATCH_FIELDS)
            await ChangeWatcher(connection, own, on_baseline=partial(baseline, table)).poll_once()

    query = f"sys_class_nameIN{','.join(target.classes)}" if target.classes else None
    settings = WatchSettings(table=target.table, interval=interval, fields=WATCH_FIELDS, query=query)
    watcher = ChangeWatcher(connection, settings, on_baseline=primed)
    async for batch in watcher.changes():
        changed: list[tuple[str, dict[str, Any]]] = []
        for table, rows in _by_table(target, batch).items():
            try:
                records = await _read_back(connection, table, rows)
            except ApiRequestError as error:
                # The watermark has moved on: broadcast what the poll saw rather than lose the changes.
                log.warning("broadcast.read_back_failed", table=table, error=error.reason)
                records = [dict(row) for row in rows]
            changed += [(table, record) for record in records]
        if changed:
            yield changed


def _by_table(target: PollTarget, records: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        table = target.table_of(record)
        if table is not None:
            grouped.setdefault(table, []).append(record)
    return grouped


async def _read_back(
    connection: Executor, table: str, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The current versions of ``rows`` of ``table``, with display values, in as few requests as allowed."""
    sys_ids = [sys_id for sys_id in (value_of(row, "sys_id") for row in rows) if sys_id]
    records: list[dict[str, Any]] = []
    for start in range(0, len(sys_ids), READ_BACK_CHUNK):
        response = await connection.execute(records_endpoint(table, sys_ids[start : start + READ_BACK_CHUNK]))
        if isinstance(response.data, list):
            records += [record for record in response.data if isinstance(record, dict)]
    return records


class TablePolling:
    """The adapter's ``ChangeSource``: ``poll_table`` every ``interval`` seconds, each request seen by
    ``observer`` when there is one."""

    def __init__(self, interval: float, observer: PollObserver | None = None) -> None:
        self._interval = interval
        self._observer = observer

    def changes(self, connection: Connection, target: PollTarget, baseline: Baseline) -> RecordBatches:
        """Other people's changes to ``target``'s tables on ``connection``'s instance."""
        executor = (
            connection if self._observer is None else self._observer.observed(connection, *target.tables)
        )
        return poll_table(executor, target, self._interval, baseline)


def record_endpoint(table: str, sys_id: str) -> str:
    """The Table API read of one record, in the shape contexts are built from."""
    fields = quote(",".join(WATCH_FIELDS), safe=",")
    return f"/api/now/table/{table}/{sys_id}?sysparm_display_value=all&sysparm_fields={fields}"


Record = tuple[str, str]
"""``(table, sys_id)``."""
HandleT = TypeVar("HandleT")


@dataclass(slots=True)
class _Newest(Generic[HandleT]):
    handle: HandleT
    method: str
    reading: bool = False


class ReadBackQueue(Generic[HandleT]):
    """Which writes to a record need a read-back of their own, and which read-back a new one waits for.

    The rules, each stated by a test in ``tests/unit/bridge/test_read_back_queue.py``:

    - Read-backs of one record run in the order the writes were made: a new one waits for the record's
      newest read-back (``newest``).
    - A write rides on the record's newest read-back while that one has not started to read (``rides``):
      it will see this write too, and one more read-back would only pile up behind it while writes keep
      coming faster than read-backs. So, DELETEs aside, a record has one read-back reading and one waiting
      at most.
    - A DELETE neither rides nor is ridden on: a deletion is reported as such, never read.
    - Once the newest read-back has started to read (``reading``), later writes need their own.
    - A finished read-back is forgotten (``finished``): a record with none pending takes no memory.

    A handle is whatever the caller runs a read-back as (an ``asyncio.Task`` in the broadcaster), told apart
    by identity; the queue runs and awaits nothing itself.
    """

    def __init__(self) -> None:
        self._newest: dict[Record, _Newest[HandleT]] = {}

    def __len__(self) -> int:
        """Records with a read-back pending."""
        return len(self._newest)

    def rides(self, record: Record, method: str) -> bool:
        """Whether a ``method`` write to ``record`` is covered by a read-back that has not read yet."""
        newest = self._newest.get(record)
        return newest is not None and not newest.reading and "DELETE" not in (method, newest.method)

    def newest(self, record: Record) -> HandleT | None:
        """The read-back a new one of ``record`` must wait for, if any is pending."""
        newest = self._newest.get(record)
        return None if newest is None else newest.handle

    def queued(self, record: Record, method: str, handle: HandleT) -> None:
        """``handle`` is now the newest read-back of ``record`` (for a ``method`` write), not reading yet."""
        self._newest[record] = _Newest(handle, method)

    def reading(self, record: Record, handle: HandleT) -> None:
        """``handle`` has started to read: writes from now on need a read-back of their own."""
        newest = self._newest.get(record)
        if newest is not None and newest.handle is handle:
            newest.reading = True

    def finished(self, record: Record, handle: HandleT) -> None:
        """``handle`` has ended (read, failed or cancelled)."""
        newest = self._newest.get(record)
        if newest is not None and newest.handle is handle:
            del self._newest[record]


class ChangeBroadcaster:
    """Turns writes and polled changes of the watched tables into deliveries."""

    def __init__(
        self,
        tables: list[str],
        source: ChangeSource,
        recipient: ChangeRecipient,
        *,
        task_tables: Collection[str] = (),
    ) -> None:
        self._tables = list(tables)
        self._targets = poll_targets(tables, task_tables)
        self._source = source
        self._recipient = recipient
        self._tracker = ChangeTracker()
        self._pollers: dict[tuple[ConnectionKey, str], asyncio.Task[None]] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self._read_backs: ReadBackQueue[asyncio.Task[None]] = ReadBackQueue()

    def connection_acquired(self, connection: Connection) -> None:
        """Start one poller per poll target for ``connection`` unless it already has them."""
        for target in self._targets:
            slot = (connection.key, target.table)
            if slot not in self._pollers or self._pollers[slot].done():
                self._pollers[slot] = asyncio.create_task(
                    self._poll(connection, target), name=f"poll {connection.key.origin} {target.table}"
                )

    def connection_released(self, key: ConnectionKey) -> None:
        """Stop the pollers of ``key``."""
        for slot in [slot for slot in self._pollers if slot[0] == key]:
            self._pollers.pop(slot).cancel()

    def own_write(self, connection: Connection, method: str, endpoint: str, response: ApiResponse) -> None:
        """Broadcast what an app's write through the adapter changed, without delaying its reply."""
        target = table_target(endpoint)
        if target is None or target[0] not in self._tables or not 200 <= response.status < 300:
            return
        table, sys_id = target
        if sys_id is None and isinstance(response.data, Mapping):
            sys_id = value_of(response.data, "sys_id") or None
        if sys_id is None:
            return
        record = (table, sys_id)
        if self._read_backs.rides(record, method):
            return
        after = self._read_backs.newest(record)
        task = asyncio.create_task(
            self._read_back(connection, method, table, sys_id, after=after), name=f"write {table}"
        )
        self._read_backs.queued(record, method, task)
        self._writes.add(task)
        task.add_done_callback(lambda done: self._write_done(record, done))

    def _write_done(self, record: Record, task: asyncio.Task[None]) -> None:
        self._writes.discard(task)
        self._read_backs.finished(record, task)

    async def _read_back(
        self,
        connection: Connection,
        method: str,
        table: str,
        sys_id: str,
        *,
        after: asyncio.Task[None] | None,
    ) -> None:
        if after is not None:
            # Writes to one record are reported in the order the apps made them.
            await asyncio.gather(after, return_exceptions=True)
        current = asyncio.current_task()
        if current is not None:
            self._read_backs.reading((table, sys_id), current)
        if method == "DELETE":
            await self._emit(connection, self._tracker.forget(table, sys_id))
            return
        try:
            response = await connection.execute(record_endpoint(table, sys_id))
        except ApiError as error:
            log.warning("broadcast.read_back_failed", table=table, error=error.reason)
            return
        if isinstance(response.data, Mapping):
            change = self._tracker.observe(table, response.data, created=method == "POST")
            if change is not None:
                await self._emit(connection, change)

    async def _poll(self, connection: Connection, target: PollTarget) -> None:
        try:
            async for batch in self._source.changes(connection, target, self._tracker.prime):
                for table, record in batch:
                    change = self._tracker.observe(table, record)
                    if change is not None:
                        await self._emit(connection, change)
        except ApiError as error:  # the connection expired or closed: its next connect starts a new poller
            log.info(
                "broadcast.poller_stopped",
                table=target.table,
                instance=connection.key.origin,
                error=error.reason,
            )

    async def _emit(self, connection: Connection, change: RecordChange) -> None:
        try:
            await self._recipient.deliver(connection, change)
        except Exception:
            log.exception("broadcast.deliver_failed", table=change.table, sys_id=change.sys_id)

    async def aclose(self) -> None:
        """Stop every poller and wait for pending read-backs to end."""
        tasks = [*self._pollers.values(), *self._writes]
        self._pollers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
