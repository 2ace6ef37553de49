"""A refused intent delivery is followed by the handler's re-announcement, without re-running the handler.

``QueueingBroker`` keeps the stock ``InteropBroker``'s ``setIntentTarget`` bookkeeping for one handler (a
readiness flag and the queued intents; a refused delivery marks the handler not ready, an
``intentHandlerRegistered`` marks it ready and re-delivers the last queued intent), and talks to a real
``InteropClient`` through its channel's own entry points: pushes into ``handle_message``, the client's
dispatches into the broker. No sockets.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, cast

import pytest

from adapter.openfin import Intent, InteropClient, RuntimeConnection
from adapter.openfin.errors import PayloadError
from adapter.openfin.frames import ChannelMessagePayload
from adapter.openfin.interop import ANNOUNCEMENTS_PER_REFUSAL, intent_handler_id

PLATFORM = "platform"
HANDLER_ID = intent_handler_id("ViewInteractions")
GOOD = {"type": "fdc3.contact", "id": {"email": "jane@example.com"}}
BAD = {"type": "fdc3.contact", "id": {"email": "a^ORactive=true"}}


class StubConnection:
    """The little of ``RuntimeConnection`` an ``InteropClient`` uses once connected."""

    uuid = "adapter"

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self.tasks.add(task)
        return task

    async def send(self, frame: dict[str, Any]) -> None:
        self.sent.append(frame)

    async def request(self, action: str, payload: Any = None) -> Any:
        return None

    async def settle(self) -> None:
        while pending := [t for t in self.tasks if not t.done()]:
            await asyncio.gather(*pending)


class QueueingBroker:
    """The stock broker's ``setIntentTarget`` state for our one handler, driving ``InteropClient``."""

    def __init__(self, client: InteropClient) -> None:
        self.client = client
        self.ready = True
        self.pending: list[dict[str, Any]] = []
        self.announcements = 0
        self.deliveries = 0
        self._ids = itertools.count()

    async def deliver(self, intent: dict[str, Any]) -> bool:
        """Push ``intent`` to the client's handler; whether it succeeded (the reply the client sent)."""
        self.deliveries += 1
        ack = {"action": "send-channel-result", "payload": {"correlationId": next(self._ids)}}
        provider = {"uuid": PLATFORM, "name": PLATFORM, "channelName": "broker", "channelId": "1"}
        push = ChannelMessagePayload.model_validate(
            {
                "ackToSender": ack,
                "providerIdentity": provider,
                "action": HANDLER_ID,
                "senderIdentity": {"uuid": PLATFORM, "name": PLATFORM, "endpointId": "broker"},
                "payload": intent,
            }
        )
        connection = cast(StubConnection, self.client.connection)
        await self.client._channel.handle_message(push)
        reply = connection.sent[-1]
        return bool(reply["payload"]["success"])

    async def set_intent_target(self, intent: dict[str, Any]) -> None:
        """A raise: queued, and delivered when the handler is ready; a refusal marks it not ready."""
        self.pending.append(intent)
        if self.ready:
            if await self.deliver(self.pending[-1]):
                self.pending = []
            else:
                self.ready = False

    async def dispatch(self, action: str, payload: Any = None, *, timeout: float | None = None) -> Any:
        """The client's dispatches to the broker: only ``intentHandlerRegistered`` matters here."""
        assert action == "intentHandlerRegistered"
        assert payload["handlerId"] == HANDLER_ID
        self.announcements += 1
        self.ready = True
        # The stock broker re-delivers the last queued intent; a refusal here keeps the handler ready.
        if self.pending and await self.deliver(self.pending[-1]):
            self.pending = []


@dataclass
class Desk:
    """The broker, what the handler ran for, and the connection whose tasks the re-announcements are."""

    broker: QueueingBroker
    handled: list[Intent]
    connection: StubConnection


@pytest.fixture
async def desk() -> Desk:
    connection = StubConnection()
    client = InteropClient(cast(RuntimeConnection, connection), PLATFORM)
    broker = QueueingBroker(client)
    client._channel._routing = cast(Any, object())  # connected as far as is_connected goes
    client._channel.dispatch = broker.dispatch  # type: ignore[method-assign]
    handled: list[Intent] = []

    async def view_interactions(intent: Intent) -> dict[str, Any]:
        handled.append(intent)
        if intent.context == BAD:
            raise PayloadError("Invalid contact e-mail (id.email)")
        return {"type": "servicenow.caseList", "cases": []}

    await client.register_intent_handler("ViewInteractions", view_interactions, contexts=["fdc3.contact"])
    broker.announcements = 0
    return Desk(broker, handled, connection)


def raised(context: dict[str, Any], number: int) -> dict[str, Any]:
    metadata = {"intentResolutionResultId": f"r{number}"}
    return {"name": "ViewInteractions", "context": context, "metadata": metadata}


async def test_after_a_refusal_the_next_raise_is_delivered_and_the_refused_one_is_not_rerun(
    desk: Desk,
) -> None:
    broker, handled, connection = desk.broker, desk.handled, desk.connection
    await broker.set_intent_target(raised(BAD, 1))
    assert not broker.ready  # the positive control: this is the state that killed the intent
    await connection.settle()

    assert broker.ready
    assert broker.announcements == 2  # once after the refusal, once after the broker answered
    assert [i.context for i in handled] == [BAD]  # the re-deliveries were refused without the handler
    await broker.set_intent_target(raised(GOOD, 2))
    assert [i.context for i in handled] == [BAD, GOOD]
    assert broker.pending == []


async def test_refusals_in_a_row_each_leave_the_handler_ready(
    desk: Desk,
) -> None:
    broker, handled, connection = desk.broker, desk.handled, desk.connection
    for number in range(3):
        await broker.set_intent_target(raised(BAD, number))
        await connection.settle()
        assert broker.ready
    assert broker.announcements == 3 * ANNOUNCEMENTS_PER_REFUSAL
    await broker.set_intent_target(raised(GOOD, 9))
    assert [i.context for i in handled] == [BAD, BAD, BAD, GOOD]


async def test_raises_refused_while_announcing_are_each_announced_after(desk: Desk) -> None:
    broker, handled, connection = desk.broker, desk.handled, desk.connection
    # Three refused raises before any announcement has run: the announcements still follow the last one.
    for number in range(3):
        broker.ready = True
        await broker.set_intent_target(raised(BAD, number))
    await connection.settle()
    assert broker.ready
    await broker.set_intent_target(raised(GOOD, 9))
    assert [i.context for i in handled] == [BAD, BAD, BAD, GOOD]


async def test_a_payload_refused_before_the_handler_runs_is_recognised_when_re_delivered(
    desk: Desk,
) -> None:
    broker, handled, connection = desk.broker, desk.handled, desk.connection
    await broker.set_intent_target({"context": "not an intent"})  # fails the Intent model: no handler run
    await connection.settle()

    assert broker.ready
    assert broker.announcements == ANNOUNCEMENTS_PER_REFUSAL
    assert handled == []


async def test_a_successful_delivery_announces_nothing(
    desk: Desk,
) -> None:
    broker, handled, connection = desk.broker, desk.handled, desk.connection
    await broker.set_intent_target(raised(GOOD, 1))
    await connection.settle()
    assert broker.announcements == 0
    assert [i.context for i in handled] == [GOOD]
