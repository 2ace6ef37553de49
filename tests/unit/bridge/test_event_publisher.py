"""What the service tells apps (``EventPublisher``) against fakes: every change a channel event, FDC3 contexts
once the broker is joined, none for deletions, case notifications, and a failed send never hides another."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from typing import Any

import pytest

from adapter.bridge.changes import RecordChange
from adapter.bridge.messages import ChangeKind
from adapter.bridge.notifications import CASE_NOTIFICATION
from adapter.bridge.publisher import CONNECTION_CHANGED, RECORD_CHANGED, EventPublisher
from adapter.bridge.service import explain_start_failure
from adapter.openfin import AuthorizationRejected
from adapter.servicenow.connection import ConnectionState
from tests.unit.bridge.fakes import CASES, ORIGIN, WAIT, FakeInstance

ME = "u" * 32


class Channel:
    """``ChannelEvents`` that keeps every posted event."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, Any, Hashable | None]] = []
        self._arrived = asyncio.Condition()

    def post(self, action: str, payload: Any = None, *, key: Hashable | None = None) -> None:
        self.posted.append((action, payload, key))
        asyncio.get_running_loop().create_task(self._tell())

    async def _tell(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    def actions(self) -> list[str]:
        return [action for action, _payload, _key in self.posted]

    async def wait_for(self, action: str) -> Any:
        async with self._arrived:
            await self._arrived.wait_for(lambda: action in self.actions())
        return next(payload for name, payload, _key in self.posted if name == action)


class Group:
    """A ``ContextTarget`` that keeps the contexts set on it; ``fail`` makes setting raise it."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.contexts: list[Mapping[str, Any]] = []
        self.fail = fail

    async def set_context(self, context: Mapping[str, Any]) -> None:
        if self.fail is not None:
            raise self.fail
        self.contexts.append(context)


def change(kind: ChangeKind = "updated", **fields: str) -> RecordChange:
    record = {"sys_id": "c" * 32, "number": "CS0000001", "short_description": "Card blocked", **fields}
    return RecordChange(CASES, "c" * 32, "CS0000001", kind, tuple(fields), record)


async def test_a_change_is_a_channel_event_keyed_by_record_and_contexts_only_once_joined() -> None:
    channel, session, group = Channel(), Group(), Group()
    events = EventPublisher(channel, group=True)
    connection = FakeInstance().connection
    await events.deliver(connection, change())
    ((action, payload, key),) = channel.posted
    assert (action, key) == (RECORD_CHANGED, (ORIGIN, CASES, "c" * 32))
    assert (payload["number"], payload["change"], payload["context"]["type"]) == (
        "CS0000001",
        "updated",
        "servicenow.case",
    )
    assert session.contexts == group.contexts == [], "no broker joined yet"
    events.joined(group, session)
    await events.deliver(connection, change(state="2"))
    assert [c["type"] for c in session.contexts] == ["servicenow.case"]
    assert group.contexts == session.contexts


async def test_without_a_context_group_only_the_session_group_gets_contexts() -> None:
    channel, session, group = Channel(), Group(), Group()
    events = EventPublisher(channel)
    events.joined(group, session)
    await events.deliver(FakeInstance().connection, change())
    assert len(session.contexts) == 1
    assert group.contexts == []


async def test_a_change_is_announced_to_its_connection_before_any_app_hears_of_it() -> None:
    instance = FakeInstance()
    heard: list[list[tuple[str, str]]] = []

    class Listening(Channel):
        def post(self, action: str, payload: Any = None, *, key: Hashable | None = None) -> None:
            heard.append(list(instance.announced))
            super().post(action, payload, key=key)

    events = EventPublisher(Listening())
    await events.deliver(instance.connection, change())
    # The apps' identical re-reads can share one answer only if the window opened before they were told.
    assert heard == [[(CASES, "c" * 32)]]
    await events.deliver(instance.connection, change("deleted"))
    assert instance.announced == [(CASES, "c" * 32)], "a deleted record has nothing to read again"


async def test_a_deletion_is_a_channel_event_only() -> None:
    channel, session = Channel(), Group()
    events = EventPublisher(channel)
    events.joined(Group(), session)
    await events.deliver(FakeInstance().connection, change("deleted"))
    assert channel.actions() == [RECORD_CHANGED]
    assert session.contexts == []
    # Positive control: an update through the same publisher does set a context.
    await events.deliver(FakeInstance().connection, change())
    assert len(session.contexts) == 1


async def test_a_failed_context_send_is_raised_after_the_others_have_gone_out() -> None:
    channel, session, group = Channel(), Group(fail=RuntimeError("broker gone")), Group()
    events = EventPublisher(channel, group=True)
    events.joined(group, session)
    with pytest.raises(RuntimeError, match="broker gone"):
        await events.deliver(FakeInstance().connection, change())
    assert channel.actions() == [RECORD_CHANGED]
    assert len(group.contexts) == 1


async def test_a_login_state_change_is_a_channel_event_keyed_by_login() -> None:
    channel = Channel()
    instance = FakeInstance()
    EventPublisher(channel).connection_changed(instance.connection, ConnectionState.EXPIRED)
    ((action, payload, key),) = channel.posted
    assert (action, key) == (CONNECTION_CHANGED, (ORIGIN, instance.client_id))
    assert payload == {"instanceUrl": ORIGIN, "clientId": instance.client_id, "state": "expired"}


async def test_a_case_someone_assigned_to_the_user_is_notified_only_when_notifications_are_on() -> None:
    assigned = change("updated", assigned_to=ME, sys_updated_by="someone.else")
    quiet, channel = Channel(), Channel()
    await EventPublisher(quiet).deliver(FakeInstance().connection, assigned)
    events = EventPublisher(channel, case_notifications=True)
    async with asyncio.timeout(WAIT):
        await events.deliver(FakeInstance().connection, assigned)
        notification = await channel.wait_for(CASE_NOTIFICATION)
    await events.aclose()
    assert (notification["kind"], notification["number"]) == ("assigned", "CS0000001")
    # The same change went out to both; only the publisher with notifications on added one.
    assert quiet.actions() == [RECORD_CHANGED]


def test_a_start_failure_is_one_sentence_naming_the_address() -> None:
    refused = explain_start_failure(ConnectionRefusedError(), "ws://127.0.0.1:1", "adapter")
    assert (
        refused
        == "nothing is listening at ws://127.0.0.1:1: is the OpenFin runtime running, and is that its port?"
    )
    rejected = explain_start_failure(AuthorizationRejected("bad token"), "ws://127.0.0.1:1", "adapter")
    assert rejected.startswith("the runtime at ws://127.0.0.1:1 refused to let us in as 'adapter'")


class SlowGroup(Group):
    """A group whose sends take a few turns of the loop (a busy broker)."""

    async def set_context(self, context: Mapping[str, Any]) -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        await super().set_context(context)


async def test_a_failed_context_send_is_raised_only_once_a_slower_send_has_gone_out() -> None:
    channel, session, group = Channel(), Group(fail=RuntimeError("session gone")), SlowGroup()
    events = EventPublisher(channel, group=True)
    events.joined(group, session)
    with pytest.raises(RuntimeError, match="session gone"):
        await events.deliver(FakeInstance().connection, change())
    # Not left running unawaited behind the error: the slower send has ended when the error is raised.
    assert len(group.contexts) == 1
