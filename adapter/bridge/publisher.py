"""What apps are told of ServiceNow: record changes, login state changes and case notifications.

``EventPublisher`` is the broadcaster's ``ChangeRecipient``, the login registry's listener and the case
notifier's ``NotificationChannel``. It posts channel events through ``ChannelEvents`` (the adapter's channel
provider, one queue per app) and sets FDC3 contexts on ``ContextTarget``s (the session context group and the
adapter's own context group) once the service has joined the broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from typing import Any, Protocol

import structlog

from adapter.bridge.changes import RecordChange
from adapter.bridge.contexts import typed_case_context
from adapter.bridge.messages import CaseNotificationEvent, ConnectionChangedEvent, RecordChangedEvent
from adapter.bridge.notifications import CASE_NOTIFICATION, CaseNotifier
from adapter.servicenow.connection import Connection, ConnectionState

log = structlog.get_logger(__name__)

RECORD_CHANGED = "servicenow.recordChanged"
CONNECTION_CHANGED = "servicenow.connectionChanged"


class ChannelEvents(Protocol):
    """The adapter's channel as a publisher: an event queued for every connected app."""

    def post(self, action: str, payload: Any = None, *, key: Hashable | None = None) -> None:
        """Queue ``action`` for every app; with ``key``, an app's waiting event of that key is replaced."""


class ContextTarget(Protocol):
    """An FDC3 channel a case context is set on (the session context group, the user's context group)."""

    async def set_context(self, context: Mapping[str, Any]) -> None:
        """Set ``context`` for every member."""


class EventPublisher:
    """What apps are told: each record change as a channel event and FDC3 contexts, each connection
    change, and (with ``case_notifications``) the case notifications changes deserve.

    Until the broker is joined, changes go to the channel only; then also to the session context group and,
    with ``group``, to the adapter's own context group (``joined``). Deletions are channel events only: FDC3
    has no context for a record that is gone.
    """

    def __init__(
        self, channel: ChannelEvents, *, case_notifications: bool = False, group: bool = False
    ) -> None:
        self._channel = channel
        self._group = group
        self._contexts: tuple[ContextTarget, ...] = ()
        self.notifier = CaseNotifier(self) if case_notifications else None

    def joined(self, broker: ContextTarget, session: ContextTarget) -> None:
        """The broker is joined: contexts go to ``session`` and, with ``group``, to ``broker``'s group."""
        self._contexts = (session, broker) if self._group else (session,)

    async def deliver(self, connection: Connection, change: RecordChange) -> None:
        """Broadcast ``change`` (``ChangeRecipient``); a failed context send is raised once all have ended."""
        if self.notifier is not None:
            self.notifier.observe(connection, change)
        origin = connection.key.origin
        context = typed_case_context(change.record, table=change.table, instance_url=origin)
        event = RecordChangedEvent(
            instanceUrl=origin,
            table=change.table,
            sys_id=change.sys_id,
            number=change.number,
            change=change.change,
            changedFields=list(change.changed_fields),
            context=context,
        )
        log.info("broadcast.change", table=change.table, number=change.number, change=change.change)
        sends: list[asyncio.Future[None]] = []
        if change.change != "deleted":
            # Before any app hears of it: the apps that read the record again on the news share one answer.
            connection.record_changed(change.table, change.sys_id)
            # Started before the apps' events, so that their one frame each goes out ahead of those events
            # rather than behind all of them: the broker fans them out while the runtime relays the events.
            sends = [asyncio.ensure_future(target.set_context(context)) for target in self._contexts]
        try:
            # Each app has its own queue: the event is queued for all at once and no app's slowness holds up
            # another's (an app that falls behind gets the latest change of each record).
            self._channel.post(
                RECORD_CHANGED, event.model_dump(mode="json"), key=(origin, change.table, change.sys_id)
            )
        finally:
            # Side by side; a failing send is raised (the broadcaster logs it) only once the others are
            # done, never left running unawaited.
            failures = [
                outcome
                for outcome in await asyncio.gather(*sends, return_exceptions=True)
                if isinstance(outcome, Exception)
            ]
        if failures:
            raise failures[0]

    async def notify(self, event: CaseNotificationEvent) -> None:
        """Send a case notification (``NotificationChannel``)."""
        # Through each app's own queue, as every event: an app slow to acknowledge delays only its own.
        self._channel.post(CASE_NOTIFICATION, event.model_dump(mode="json"))

    def connection_changed(self, connection: Connection, state: ConnectionState) -> None:
        """Tell every app a login's new state (a ``ConnectionManager`` listener)."""
        event = ConnectionChangedEvent(
            instanceUrl=connection.key.origin, clientId=connection.client_id, state=state.value
        )
        self._channel.post(
            CONNECTION_CHANGED, event.model_dump(mode="json"), key=(event.instanceUrl, event.clientId)
        )

    async def aclose(self) -> None:
        """Cancel notifications still being prepared."""
        if self.notifier is not None:
            await self.notifier.aclose()
