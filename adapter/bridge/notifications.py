"""Case notifications: which of the changes the broadcaster already sees the signed-in user should be told of.

Two kinds, both only for cases assigned to the signed-in user and never for the user's own writes:

- ``assigned``: someone else assigned the case to the user (``assigned_to`` changed to the user, or a case
  was created already assigned to them);
- ``customerComment``: the case's contact updated it, which is what the customer portal does when a
  customer adds a comment. The comment's text is read once, from the case's ``comments`` journal.

Detection is pure (``detect``) and runs on every delivered change; no extra polling. ``CaseNotifier`` turns a
detection into a ``servicenow.caseNotification`` event, at most ``MAX_PENDING`` at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import structlog

from adapter.bridge.changes import RecordChange
from adapter.bridge.contexts import case_context, display_of, value_of
from adapter.bridge.messages import CaseNotificationEvent, NotificationKind
from adapter.servicenow.connection import Connection
from adapter.servicenow.errors import ApiError

log = structlog.get_logger(__name__)

CASE_NOTIFICATION = "servicenow.caseNotification"
MAX_PENDING = 32
MAX_COMMENT = 500


class NotificationChannel(Protocol):
    """Where case notifications go: to every app, as ``servicenow.caseNotification``."""

    async def notify(self, event: CaseNotificationEvent) -> None:
        """Send ``event``; a failure is logged by the notifier, never raised to the broadcast."""


@dataclass(frozen=True, slots=True)
class Detection:
    """What happened to which case, and who did it."""

    kind: NotificationKind
    author: str


def detect(change: RecordChange, user: Mapping[str, Any]) -> Detection | None:
    """The notification ``change`` deserves for the signed-in ``user`` (a ``sys_user`` record), if any."""
    record = change.record
    me, my_name = value_of(user, "sys_id"), value_of(user, "user_name")
    if change.change == "deleted" or not me or value_of(record, "assigned_to") != me:
        return None
    writer = value_of(record, "sys_updated_by")
    if not writer or writer == my_name:
        return None
    if change.change == "created" or "assigned_to" in change.changed_fields:
        return Detection("assigned", writer)
    customer = value_of(record, "contact.user_name")
    if change.change == "updated" and customer and writer == customer:
        return Detection(
            "customerComment", display_of(record, "contact.name") or display_of(record, "contact")
        )
    return None


def latest_comment(journal: str) -> str:
    """The newest entry's text of a journal's display value: entries ``"<when> - <who> (<label>)\\n<text>"``,
    newest first, two line breaks apart."""
    first = journal.split("\n\n", 1)[0]
    _, _, text = first.partition("\n")
    text = text.strip() or first.strip()
    return text if len(text) <= MAX_COMMENT else text[: MAX_COMMENT - 1] + "…"


def _event(
    connection: Connection, change: RecordChange, found: Detection, comment: str | None
) -> CaseNotificationEvent:
    record, origin = change.record, connection.key.origin
    summary = display_of(record, "short_description")
    table = value_of(record, "sys_class_name") or change.table
    if found.kind == "assigned":
        title = f"Case {change.number} assigned to you"
        body = summary or change.number
    else:
        title = f"{found.author or 'The customer'} commented on {change.number}"
        body = comment or summary or change.number
    return CaseNotificationEvent(
        kind=found.kind,
        instanceUrl=origin,
        table=table,
        sys_id=change.sys_id,
        number=change.number,
        title=title,
        body=body,
        author=found.author or None,
        url=f"{origin}/{table}.do?sys_id={quote(change.sys_id, safe='')}",
        context=case_context(record, table=change.table, instance_url=origin),
    )


class CaseNotifier:
    """Turns delivered changes into ``servicenow.caseNotification`` events sent to ``channel``."""

    def __init__(self, channel: NotificationChannel) -> None:
        self._channel = channel
        self._pending: set[asyncio.Task[None]] = set()

    def observe(self, connection: Connection, change: RecordChange) -> None:
        """Notify of ``change`` if it deserves it; returns at once (the comment is read in the background)."""
        found = detect(change, connection.current_user)
        if found is None:
            return
        if len(self._pending) >= MAX_PENDING:
            log.warning("notify.dropped", number=change.number, kind=found.kind, pending=len(self._pending))
            return
        task = asyncio.create_task(self._notify(connection, change, found), name=f"notify {change.number}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _notify(self, connection: Connection, change: RecordChange, found: Detection) -> None:
        comment = await self._comment(connection, change) if found.kind == "customerComment" else None
        event = _event(connection, change, found, comment)
        log.info("notify.case", number=change.number, kind=found.kind)
        try:
            await self._channel.notify(event)
        except Exception:
            log.exception("notify.publish_failed", number=change.number)

    async def _comment(self, connection: Connection, change: RecordChange) -> str | None:
        table = quote(change.table, safe="")
        endpoint = (
            f"/api/now/table/{table}/{quote(change.sys_id, safe='')}"
            "?sysparm_fields=comments&sysparm_display_value=true"
        )
        try:
            response = await connection.execute(endpoint)
        except ApiError as error:
            log.info("notify.comment_unread", number=change.number, error=error.reason)
            return None
        data = response.data
        journal = data.get("comments") if isinstance(data, Mapping) else None
        return latest_comment(journal) if isinstance(journal, str) and journal.strip() else None

    async def aclose(self) -> None:
        """Cancel notifications still being prepared."""
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
