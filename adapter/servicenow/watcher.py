"""Change watching: poll one table for records updated since a watermark, yielding each new version once.

The instance has no push channel we can rely on, so the watcher asks only for records whose
``sys_updated_on`` is at or after its watermark minus an ``overlap`` (timestamps have one-second
resolution and clocks of application nodes differ slightly), ordered by ``sys_updated_on``. The overlap
makes records come back more than once; ``WatermarkTracker`` drops versions already seen by
``sys_id`` + ``sys_mod_count``. On errors, and on 429s the connection could not wait out, the poll
interval backs off exponentially (capped, with jitter). Deletions are not visible to this kind of polling.

No OpenFin and no FDC3 here: the bridge turns what this yields into events and contexts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import structlog

from adapter.servicenow.errors import ApiRequestError
from adapter.servicenow.response import ApiResponse

log = structlog.get_logger(__name__)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
KEY_FIELDS = ("sys_id", "sys_updated_on", "sys_mod_count")


class Executor(Protocol):
    """What the watcher needs from a connection."""

    async def execute(
        self,
        endpoint: str,
        method: str = "GET",
        data: Any = None,
        suppress_response_body: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """Send one request (``Connection.execute``)."""
        ...


def parse_glide_time(value: str) -> datetime | None:
    """A ``YYYY-MM-DD HH:MM:SS`` UTC value as an aware datetime; None when it is not one."""
    try:
        return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def format_glide_time(value: datetime) -> str:
    """An aware datetime as the instance's UTC ``YYYY-MM-DD HH:MM:SS``."""
    return value.astimezone(UTC).strftime(TIME_FORMAT)


@dataclass
class WatermarkTracker:
    """Pure bookkeeping of what has been seen: the watermark and recent versions by sys_id."""

    overlap: timedelta = timedelta(seconds=5)
    watermark: datetime | None = None
    _seen: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def since(self) -> datetime | None:
        """The lower bound of the next query: the watermark minus the overlap."""
        return None if self.watermark is None else self.watermark - self.overlap

    def absorb(self, records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Remember ``records``; return those whose (sys_id, sys_mod_count) was not seen, in input order."""
        fresh: list[Mapping[str, Any]] = []
        for record in records:
            sys_id = record.get("sys_id")
            updated = parse_glide_time(str(record.get("sys_updated_on", "")))
            if not isinstance(sys_id, str) or not sys_id or updated is None:
                continue
            mod_count = str(record.get("sys_mod_count", ""))
            previous = self._seen.get(sys_id)
            if previous is not None and previous[0] == mod_count:
                continue
            self._seen[sys_id] = (mod_count, updated)
            fresh.append(record)
            if self.watermark is None or updated > self.watermark:
                self.watermark = updated
        self._forget_old()
        return fresh

    def _forget_old(self) -> None:
        # Versions older than the overlap window can never be returned again, so they need not be remembered.
        bound = self.since()
        if bound is None:
            return
        for sys_id in [key for key, (_, updated) in self._seen.items() if updated < bound]:
            del self._seen[sys_id]


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """What to watch and how often. ``query`` is an extra encoded query ANDed to the watermark condition."""

    table: str
    interval: float = 15.0
    overlap: float = 5.0
    page_size: int = 200
    max_pages: int = 10
    max_backoff: float = 300.0
    query: str | None = None
    fields: Sequence[str] | None = None


class ChangeWatcher:
    """Polls ``settings.table`` through ``connection``; ``changes()`` yields batches of new record versions.

    The first poll sets the baseline (the newest records on the instance, newest first) and yields nothing,
    so only changes made after the watcher started are reported; ``on_baseline`` receives those records,
    so that a caller can tell later what changed in them (when it returns an awaitable, the baseline is
    taken once that completes, and taken again at the next poll if it raises ``ApiRequestError``).
    """

    def __init__(
        self,
        connection: Executor,
        settings: WatchSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        on_baseline: Callable[[Sequence[Mapping[str, Any]]], Awaitable[None] | None] | None = None,
    ) -> None:
        self._connection = connection
        self._settings = settings
        self._sleep = sleep
        self._rng = rng
        self._on_baseline = on_baseline
        self._tracker = WatermarkTracker(overlap=timedelta(seconds=settings.overlap))
        self._started = False
        self.failures = 0

    @property
    def watermark(self) -> datetime | None:
        """The newest ``sys_updated_on`` seen so far."""
        return self._tracker.watermark

    def _endpoint(self, *, baseline: bool, offset: int) -> str:
        settings = self._settings
        terms = [settings.query] if settings.query else []
        since = self._tracker.since()
        if baseline:
            terms.append("ORDERBYDESCsys_updated_on")
        else:
            if since is not None:
                terms.append(f"sys_updated_on>={format_glide_time(since)}")
            terms += ["ORDERBYsys_updated_on", "ORDERBYsys_id"]
        params = [
            ("sysparm_query", "^".join(terms)),
            ("sysparm_limit", str(settings.page_size)),
            ("sysparm_offset", str(offset)),
            ("sysparm_display_value", "false"),
            ("sysparm_exclude_reference_link", "true"),
        ]
        if settings.fields:
            params.append(("sysparm_fields", ",".join(dict.fromkeys([*KEY_FIELDS, *settings.fields]))))
        query = "&".join(f"{name}={quote(value, safe='=^,:@ ')}" for name, value in params)
        return f"/api/now/table/{quote(settings.table, safe='')}?{query}"

    async def poll_once(self) -> list[Mapping[str, Any]]:
        """One poll: the record versions not seen before (nothing on the first, baseline poll)."""
        if not self._started:
            records = await self._fetch(baseline=True, offset=0)
            self._tracker.absorb(records)
            if self._on_baseline is not None:
                primed = self._on_baseline(records)
                if primed is not None:
                    await primed
            self._started = True
            log.info("watcher.baseline", table=self._settings.table, watermark=str(self.watermark))
            return []
        fresh: list[Mapping[str, Any]] = []
        for page in range(self._settings.max_pages):
            records = await self._fetch(baseline=False, offset=page * self._settings.page_size)
            fresh += self._tracker.absorb(records)
            if len(records) < self._settings.page_size:
                break
        return fresh

    async def _fetch(self, *, baseline: bool, offset: int) -> list[Mapping[str, Any]]:
        response = await self._connection.execute(self._endpoint(baseline=baseline, offset=offset))
        data = response.data if response.data is not None else []
        if not isinstance(data, list):
            raise ApiRequestError("Unexpected answer to a table query", status=response.status)
        return [record for record in data if isinstance(record, Mapping)]

    def next_delay(self) -> float:
        """The wait before the next poll: the interval, or a capped exponential backoff after failures."""
        if self.failures == 0:
            return self._settings.interval
        backoff = min(self._settings.max_backoff, self._settings.interval * 2**self.failures)
        return float(backoff / 2 + backoff / 2 * self._rng())

    async def changes(self) -> AsyncGenerator[list[Mapping[str, Any]], None]:
        """Poll forever, yielding each non-empty batch of changes. Request failures back off and go on;
        ``AuthTokenExpiredError`` and ``NotConnectedError`` end the iteration (the connection is gone)."""
        while True:
            try:
                batch = await self.poll_once()
            except ApiRequestError as error:
                self.failures += 1
                log.warning(
                    "watcher.poll_failed",
                    table=self._settings.table,
                    status=error.status,
                    failures=self.failures,
                )
            else:
                self.failures = 0
                if batch:
                    yield batch
            await self._sleep(self.next_delay())
