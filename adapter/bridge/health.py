"""The adapter's own health as ``servicenow.status`` reports it: watcher polls and the last failure.

Everything the status adds beyond the connections is gathered here: each watcher's requests are observed
through ``observed`` (the watcher itself stays unaware), and failures outside an app's own request (the
runtime lost, the broker refused, a poll failed) are kept as the one ``last_error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapter.bridge.messages import AdapterError
from adapter.logging import redact
from adapter.servicenow.connection import Connection
from adapter.servicenow.errors import ApiError
from adapter.servicenow.response import ApiResponse
from adapter.servicenow.watcher import Executor


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class _Poll:
    at: str | None = None
    error: str | None = None


_NOT_POLLED = _Poll()


class AdapterHealth:
    """Watcher polls per (instance, table) and the most recent failure, for ``servicenow.status``."""

    def __init__(self) -> None:
        self._polls: dict[tuple[str, str], _Poll] = {}
        self.last_error: AdapterError | None = None

    def record_error(self, where: str, message: str) -> None:
        """Remember ``message`` as the latest failure of ``where`` (runtime, broker, watcher); status sends it
        to every app, so registered secrets are masked in it as in a log line."""
        self.last_error = AdapterError(at=_now(), where=where, message=redact(message))

    def observed(self, connection: Connection, *tables: str) -> Executor:
        """``connection`` as the watcher of ``tables`` (one query for them all) uses it, with each request's
        outcome recorded for every one of them."""
        return _ObservedExecutor(connection, self, connection.key.origin, tables)

    def polled(self, origin: str, table: str, error: str | None) -> None:
        """A watcher request ended, with ``error`` when it failed."""
        poll = self._polls.setdefault((origin, table), _Poll())
        poll.at = _now()
        poll.error = error
        if error is not None:
            self.record_error("watcher", f"{origin} {table}: {error}")

    def last_error_fields(self) -> dict[str, Any] | None:
        """``last_error`` as ``servicenow.status`` sends it (``AdapterError``'s JSON form)."""
        error = self.last_error
        return None if error is None else {"at": error.at, "where": error.where, "message": error.message}

    def watchers(self, origins: set[str], tables: list[str]) -> list[dict[str, Any]]:
        """The watchers of the signed-in ``origins``, one per watched table, as ``WatcherStatus``'s JSON form
        (``servicenow.status`` sends it as it is)."""
        statuses = []
        for origin in sorted(origins):
            for table in tables:
                poll = self._polls.get((origin, table), _NOT_POLLED)
                statuses.append(
                    {
                        "instanceUrl": origin,
                        "table": table,
                        "healthy": poll.error is None,
                        "lastPollAt": poll.at,
                        "lastError": poll.error,
                    }
                )
        return statuses


class _ObservedExecutor:
    def __init__(
        self, inner: Connection, health: AdapterHealth, origin: str, tables: tuple[str, ...]
    ) -> None:
        self._inner = inner
        self._health = health
        self._origin = origin
        self._tables = tables

    async def execute(
        self,
        endpoint: str,
        method: str = "GET",
        data: Any = None,
        suppress_response_body: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        try:
            response = await self._inner.execute(endpoint, method, data, suppress_response_body, headers)
        except ApiError as error:
            for table in self._tables:
                self._health.polled(self._origin, table, str(error) or type(error).__name__)
            raise
        for table in self._tables:
            self._health.polled(self._origin, table, None)
        return response
