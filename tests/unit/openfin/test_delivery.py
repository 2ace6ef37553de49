"""The per-client event queue (``adapter.openfin.delivery``): bounded, merged by key, oldest dropped."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapter.openfin.delivery import ClientDelivery, Event, Fanout, Mailbox
from tests.support.waiting import eventually


def _drain(mailbox: Mailbox) -> list[str | None]:
    taken = []
    while (event := mailbox.take()) is not None:
        taken.append(event.payload_json)
    return taken


def test_events_come_out_in_the_order_they_went_in() -> None:
    mailbox = Mailbox(backlog=10)
    for n in range(3):
        mailbox.put(Event("changed", str(n)))
    assert _drain(mailbox) == ["0", "1", "2"]
    assert mailbox.take() is None


def test_a_newer_event_of_a_key_replaces_the_waiting_one_in_its_place() -> None:
    mailbox = Mailbox(backlog=10)
    mailbox.put(Event("changed", "a1"), key="a")
    mailbox.put(Event("changed", "b1"), key="b")
    mailbox.put(Event("changed", "a2"), key="a")
    assert _drain(mailbox) == ["a2", "b1"]
    assert mailbox.counts.merged == 1
    assert mailbox.counts.dropped == 0


def test_the_same_key_of_another_action_is_not_merged() -> None:
    mailbox = Mailbox(backlog=10)
    mailbox.put(Event("changed", "1"), key="a")
    mailbox.put(Event("connection", "2"), key="a")
    assert _drain(mailbox) == ["1", "2"]
    assert mailbox.counts.merged == 0


def test_past_the_backlog_the_oldest_waiting_event_is_dropped() -> None:
    mailbox = Mailbox(backlog=2)
    for n in range(5):
        mailbox.put(Event("changed", str(n)), key=n)
    assert len(mailbox) == 2
    assert _drain(mailbox) == ["3", "4"]
    assert mailbox.counts.dropped == 3


def test_a_backlog_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="backlog"):
        Mailbox(backlog=0)


async def test_a_client_that_never_answers_holds_up_only_its_own_events() -> None:
    hung_started = asyncio.Event()
    delivered: list[str | None] = []

    async def hang(event: Event) -> None:
        hung_started.set()
        await asyncio.Event().wait()

    async def deliver(event: Event) -> None:
        delivered.append(event.payload_json)

    def spawn(coroutine: Any, name: str) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(coroutine, name=name)

    hung = ClientDelivery(Mailbox(backlog=2), hang, "hung")
    healthy = ClientDelivery(Mailbox(backlog=2), deliver, "healthy")
    for n in range(4):
        for client in (hung, healthy):
            client.post(Event("changed", str(n)), None, spawn)
        # The hung client holds "0" from the start; the healthy one has each event before the next comes.
        count = n + 1
        await eventually(
            lambda: hung_started.is_set() and len(delivered) == count,  # noqa: B023 (awaited here)
            f"event {n} delivered to the healthy client",
        )
    assert delivered == ["0", "1", "2", "3"]
    assert healthy.mailbox.counts.delivered == 4
    # The hung client holds "0"; of "1", "2", "3" only its backlog of two waits.
    assert len(hung.mailbox) == 2
    assert hung.mailbox.counts.dropped == 1
    hung.stop()
    healthy.stop()


async def test_a_failed_dispatch_is_counted_and_the_next_event_still_goes() -> None:
    sent: list[str | None] = []

    async def flaky(event: Event) -> None:
        sent.append(event.payload_json)
        if event.payload_json == "0":
            raise TimeoutError("no answer")

    def spawn(coroutine: Any, name: str) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(coroutine, name=name)

    client = ClientDelivery(Mailbox(), flaky, "flaky")
    client.post(Event("changed", "0"), None, spawn)
    client.post(Event("changed", "1"), None, spawn)
    await eventually(
        lambda: len(sent) == 2 and client.mailbox.counts.delivered == 1, "the second event delivered"
    )
    assert client.mailbox.counts.failed == 1
    assert client.mailbox.counts.delivered == 1
    client.stop()


class FanoutLog:
    def __init__(self) -> None:
        self.done: list[Fanout] = []

    def __call__(self, fanout: Fanout) -> None:
        self.done.append(fanout)


def test_a_fanout_is_done_once_every_copy_was_written_or_missed() -> None:
    log = FanoutLog()
    fanout = Fanout("changed", 3, log)
    fanout.wrote()
    fanout.missed()
    assert log.done == []  # positive control for the line below: not done before the last copy settles
    fanout.wrote()
    assert log.done == [fanout]
    assert fanout.written == 2
    assert fanout.written_ms is not None
    assert fanout.written_ms >= 0


def test_copies_merged_dropped_or_cleared_in_a_mailbox_count_as_missed() -> None:
    log = FanoutLog()
    mailbox = Mailbox(backlog=2)
    events = [Event("changed", str(n), Fanout("changed", 1, log)) for n in range(4)]
    mailbox.put(events[0], key="a")
    mailbox.put(events[1], key="a")  # merged: the first copy will never be written
    assert [done.action for done in log.done] == ["changed"]
    assert log.done[0] is events[0].fanout
    mailbox.put(events[2], key="b")
    mailbox.put(events[3], key="c")  # over the backlog: the oldest waiting (events[1]) is dropped
    assert log.done[1] is events[1].fanout
    mailbox.clear()
    assert {id(done) for done in log.done} == {id(event.fanout) for event in events}
    assert all(done.written == 0 and done.written_ms is None for done in log.done)


def _spawner() -> Any:
    def spawn(coroutine: Any, name: str) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(coroutine, name=name)

    return spawn


async def test_an_idle_client_hands_its_event_out_and_the_sender_waits_for_its_answer() -> None:
    sent: list[str | None] = []

    async def send(event: Event) -> None:
        sent.append(event.payload_json)

    spawn = _spawner()
    client = ClientDelivery(Mailbox(), send, "idle")
    first = client.post_ready(Event("changed", "0"), None, spawn)
    assert first is not None
    assert first.payload_json == "0"
    # Unanswered: the next event waits, and no sender sends it meanwhile.
    assert client.post_ready(Event("changed", "1"), None, spawn) is None
    for _ in range(5):
        await asyncio.sleep(0)
    assert sent == []
    client.done(first, None, spawn)
    while client.mailbox.counts.delivered < 2:
        await asyncio.sleep(0)
    assert sent == ["1"]  # the sender took over, after the answer
    # Idle again: the next event is handed out rather than sent by the sender.
    again = client.post_ready(Event("changed", "2"), None, spawn)
    assert again is not None
    assert again.payload_json == "2"
    client.done(again, TimeoutError("no answer"), spawn)
    assert (client.mailbox.counts.delivered, client.mailbox.counts.failed) == (2, 1)
    client.stop()


async def test_a_stopped_client_hands_nothing_out() -> None:
    async def send(event: Event) -> None:
        raise AssertionError("a stopped client sends nothing")

    client = ClientDelivery(Mailbox(), send, "gone")
    client.stop()
    assert client.post_ready(Event("changed", "0"), None, _spawner()) is None
