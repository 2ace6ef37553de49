"""Fakes of what the bridge modules depend on, for unit tests without sockets.

``FakeInstance`` is one signed-in connection to an instance that keeps records in memory and answers the
Table API reads and writes the bridge sends; every request is recorded. The others implement the bridge's
named interfaces (``ChangeSink``, ``ChangeRecipient``, ``ChangeSource``, ``UserBrowser``, ``SharedLogins``)
and record what they were told.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from adapter.bridge.broadcast import Baseline, PollTarget, RecordBatches
from adapter.bridge.changes import RecordChange
from adapter.servicenow.connection import Connection, ConnectionKey, ConnectionState
from adapter.servicenow.errors import ApiError, ApiRequestError, NotConnectedError
from adapter.servicenow.manager import Acquired, ReleaseResult
from adapter.servicenow.response import ApiResponse

WAIT = 10.0
"""How long a test waits for what must happen before it fails (never a measure of speed)."""
ORIGIN = "https://acme.service-now.com"
CLIENT_ID = "client"
CASES = "sn_customerservice_case"


async def until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds (``TimeoutError`` after ``WAIT``)."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0)


@dataclass
class Sent:
    """One request the instance received."""

    method: str
    path: str
    query: dict[str, str]
    data: Any


class FakeInstance:
    """A signed-in connection and its instance: records by table, Table API reads and writes.

    ``hold_reads`` makes record reads wait until it is set (to keep read-backs queued); ``fail`` makes
    every request raise that error; ``on_insert`` holds the fields the instance sets itself on every record
    a POST creates (``sys_created_on``, ``sys_class_name``).
    """

    def __init__(self, origin: str = ORIGIN, client_id: str = CLIENT_ID) -> None:
        self.key = ConnectionKey(origin, client_id)
        self.client_id = client_id
        self.scope = ("useraccount",)
        self.current_user: dict[str, Any] = {"sys_id": "u" * 32, "user_name": "beth.anglin"}
        self.state = ConnectionState.CONNECTED
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.sent: list[Sent] = []
        self.hold_reads: asyncio.Event | None = None
        self.reads_waiting = 0
        self.fail: ApiError | None = None
        self.announced: list[tuple[str, str]] = []
        self.on_insert: dict[str, str] = {}
        self._ids = itertools.count(1)

    @property
    def connection(self) -> Connection:
        """This fake where a ``Connection`` is expected (it has every attribute the bridge uses)."""
        return cast(Connection, self)

    def record_changed(self, table: str, sys_id: str) -> None:
        """Keep the announcement (``Connection.record_changed``): apps are about to hear of a change."""
        self.announced.append((table, sys_id))

    def put(self, table: str, **fields: Any) -> dict[str, Any]:
        """Store a record (a new sys_id unless given) and return it."""
        sys_id = str(fields.pop("sys_id", None) or f"{next(self._ids):032x}")
        record = {
            "sys_id": sys_id,
            "sys_mod_count": "0",
            "number": f"CS{len(self.tables.get(table, {})):07d}",
        }
        record.update({name: str(value) for name, value in fields.items()})
        self.tables.setdefault(table, {})[sys_id] = record
        return record

    def requests(self, method: str | None = None) -> list[Sent]:
        """The requests received, of ``method`` when given."""
        return [sent for sent in self.sent if method is None or sent.method == method]

    async def execute(
        self,
        endpoint: str,
        method: str = "GET",
        data: Any = None,
        suppress_response_body: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """Answer one Table API request as an instance would."""
        parts = urlsplit(endpoint)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        self.sent.append(Sent(method, parts.path, query, data))
        if self.state is not ConnectionState.CONNECTED:
            raise NotConnectedError()
        if self.fail is not None:
            raise self.fail
        segments = parts.path.strip("/").split("/")
        table = segments[3]
        rows = self.tables.setdefault(table, {})
        if method == "POST":
            created = self.put(table, **{**self.on_insert, **(data or {})})
            return ApiResponse(status=201, data=dict(created), type="application/json")
        sys_id = segments[4] if len(segments) > 4 else None
        if method in ("PATCH", "PUT"):
            record = rows[str(sys_id)]
            record.update({name: str(value) for name, value in (data or {}).items()})
            record["sys_mod_count"] = str(int(record["sys_mod_count"]) + 1)
            return ApiResponse(status=200, data=dict(record), type="application/json")
        if method == "DELETE":
            rows.pop(str(sys_id), None)
            return ApiResponse(status=204)
        if sys_id is not None:
            if self.hold_reads is not None:
                self.reads_waiting += 1
                await self.hold_reads.wait()
                self.reads_waiting -= 1
            if sys_id not in rows:
                raise ApiRequestError("No Record found", status=404)
            return ApiResponse(status=200, data=dict(rows[sys_id]), type="application/json")
        return ApiResponse(status=200, data=self._query(rows, query.get("sysparm_query", "")))

    @staticmethod
    def _query(rows: Mapping[str, dict[str, Any]], encoded: str) -> list[dict[str, Any]]:
        found = list(rows.values())
        for term in encoded.split("^"):
            name, equals, value = term.partition("=")
            if equals and "." not in name:
                found = [row for row in found if row.get(name) == value]
        return [dict(row) for row in found]


class RecordedChanges:
    """A ``ChangeSink`` that keeps what the actions told it."""

    def __init__(self) -> None:
        self.acquired: list[ConnectionKey] = []
        self.released: list[ConnectionKey] = []
        self.writes: list[tuple[str, str, int]] = []

    def connection_acquired(self, connection: Connection) -> None:
        self.acquired.append(connection.key)

    def connection_released(self, key: ConnectionKey) -> None:
        self.released.append(key)

    def own_write(self, connection: Connection, method: str, endpoint: str, response: ApiResponse) -> None:
        self.writes.append((method, endpoint, response.status))


class RecordedDeliveries:
    """A ``ChangeRecipient`` that keeps every change; ``fail_first`` makes that many deliveries raise."""

    def __init__(self, fail_first: int = 0) -> None:
        self.changes: list[RecordChange] = []
        self.fail_first = fail_first
        self._arrived = asyncio.Condition()

    async def deliver(self, connection: Connection, change: RecordChange) -> None:
        async with self._arrived:
            self.changes.append(change)
            self._arrived.notify_all()
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("the channel is gone")

    async def wait_for(self, count: int) -> list[RecordChange]:
        """The changes, once at least ``count`` have arrived."""
        async with asyncio.timeout(WAIT), self._arrived:
            await self._arrived.wait_for(lambda: len(self.changes) >= count)
        return list(self.changes)


class ScriptedSource:
    """A ``ChangeSource`` whose batches the test sends; each watch started is counted per target."""

    def __init__(self, baseline: Sequence[tuple[str, dict[str, Any]]] = ()) -> None:
        self.started: list[tuple[ConnectionKey, str]] = []
        self.stopped: list[tuple[ConnectionKey, str]] = []
        self._baseline = list(baseline)
        self._batches: asyncio.Queue[list[tuple[str, dict[str, Any]]] | ApiError] = asyncio.Queue()
        self.watching = asyncio.Event()

    def send(self, *changed: tuple[str, dict[str, Any]]) -> None:
        """Other people changed these (table, record) pairs."""
        self._batches.put_nowait(list(changed))

    def stop_with(self, error: ApiError) -> None:
        """The next poll fails with ``error`` (the connection expired)."""
        self._batches.put_nowait(error)

    def changes(self, connection: Connection, target: PollTarget, baseline: Baseline) -> RecordBatches:
        return self._watch(connection.key, target, baseline)

    async def _watch(
        self, key: ConnectionKey, target: PollTarget, baseline: Baseline
    ) -> AsyncIterator[list[tuple[str, dict[str, Any]]]]:
        self.started.append((key, target.table))
        for table in target.tables:
            baseline(table, [record for name, record in self._baseline if name == table])
        self.watching.set()
        try:
            while True:
                batch = await self._batches.get()
                if isinstance(batch, ApiError):
                    raise batch
                yield batch
        finally:
            self.stopped.append((key, target.table))


class RecordedBrowser:
    """A ``UserBrowser`` that keeps the URLs it was asked to open; ``fail`` makes opening raise it."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.fail: Exception | None = None

    async def open_url_with_browser(self, url: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.opened.append(url)


@dataclass
class Login:
    """One login of ``FakeLogins``."""

    connection: FakeInstance
    apps: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Summary:
    """A ``LoginSummary``."""

    instance_url: str
    client_id: str
    state: str
    user: Mapping[str, str]
    apps: int
    token_expires_at: datetime | None


class FakeLogins:
    """``SharedLogins`` over ``FakeInstance`` connections, one per (origin, client id), shares per app.

    ``sign_in`` (an event) makes acquires wait until it is set, as a user's consent does; ``refuse`` makes
    acquire raise it.
    """

    def __init__(self) -> None:
        self.logins: dict[ConnectionKey, Login] = {}
        self.sign_in: asyncio.Event | None = None
        self.signing_in = asyncio.Event()
        self.refuse: ApiError | None = None
        self.released: list[tuple[str, ConnectionKey]] = []

    async def acquire(
        self,
        app_id: str,
        instance_url: str,
        client_id: str,
        scope: Sequence[str] = (),
        auth_flow_params: Mapping[str, object] | None = None,
        *,
        interactive: bool = True,
    ) -> Acquired:
        if self.refuse is not None:
            raise self.refuse
        key = ConnectionKey(instance_url.rstrip("/"), client_id)
        login = self.logins.get(key)
        shared = login is not None
        if login is None:
            self.signing_in.set()
            if self.sign_in is not None:
                await self.sign_in.wait()
            login = self.logins[key] = Login(FakeInstance(key.origin, client_id))
        login.apps.add(app_id)
        return Acquired(login.connection.connection, shared=shared, apps=len(login.apps))

    def connection(self, app_id: str, instance_url: str | None = None) -> Connection:
        held = [
            login.connection
            for key, login in self.logins.items()
            if app_id in login.apps and (instance_url is None or key.origin == instance_url.rstrip("/"))
        ]
        if not held:
            raise NotConnectedError("Not connected: call servicenow.connect first")
        return held[0].connection

    async def release(self, app_id: str, key: ConnectionKey) -> ReleaseResult:
        self.released.append((app_id, key))
        login = self.logins[key]
        login.apps.discard(app_id)
        if not login.apps:
            del self.logins[key]
            login.connection.state = ConnectionState.DISCONNECTED
            return ReleaseResult(apps=0, revoked=True)
        return ReleaseResult(apps=len(login.apps), revoked=False)

    async def release_app(self, app_id: str) -> Mapping[ConnectionKey, ReleaseResult]:
        held = [key for key, login in self.logins.items() if app_id in login.apps]
        return {key: await self.release(app_id, key) for key in held}

    def status(self) -> Sequence[Summary]:
        return [
            Summary(key.origin, key.client_id, login.connection.state.value, {}, len(login.apps), None)
            for key, login in self.logins.items()
        ]
