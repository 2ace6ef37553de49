"""Correlator.on_reply / expire_together: replies nobody awaits, one deadline for many."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from adapter.openfin.correlator import Correlator
from adapter.openfin.errors import ConnectionLostError, RequestTimeoutError
from adapter.openfin.frames import AckFrame, AckPayload


def ack(message_id: int, data: Any) -> AckFrame:
    return AckFrame(action="ack", correlation_id=message_id, payload=AckPayload(success=True, data=data))


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_each_callback_hears_its_own_reply_and_the_request_is_forgotten() -> None:
    correlator = Correlator()
    heard: list[tuple[int, Any]] = []
    ids = [correlator.open("send-channel-message") for _ in range(3)]
    for index, message_id in enumerate(ids):
        correlator.on_reply(
            message_id, functools.partial(lambda i, outcome: heard.append((i, outcome)), index)
        )
    correlator.expire_together(ids, 60.0)
    for message_id in reversed(ids):
        correlator.resolve(ack(message_id, {"n": message_id}))
    await _settle()
    assert sorted(heard) == [(index, {"n": message_id}) for index, message_id in enumerate(ids)]
    assert correlator.pending == 0


async def test_requests_without_a_reply_fail_with_a_timeout_under_one_deadline() -> None:
    correlator = Correlator()
    heard: list[Any] = []
    ids = [correlator.open("send-channel-message") for _ in range(2)]
    for message_id in ids:
        correlator.on_reply(message_id, heard.append)
    correlator.resolve(ack(ids[0], "answered"))  # positive control: an answered one is not timed out
    correlator.expire_together(ids, 0.0)
    while len(heard) < 2:
        await asyncio.sleep(0)
    assert heard[0] == "answered"
    assert isinstance(heard[1], RequestTimeoutError)
    assert correlator.pending == 0


async def test_a_discarded_request_is_heard_as_a_lost_connection() -> None:
    correlator = Correlator()
    heard: list[Any] = []
    message_id = correlator.open("send-channel-message")
    correlator.on_reply(message_id, heard.append)
    correlator.discard(message_id)
    await _settle()
    assert len(heard) == 1
    assert isinstance(heard[0], ConnectionLostError)


async def test_fail_all_reaches_every_callback() -> None:
    correlator = Correlator()
    heard: list[Any] = []
    for _ in range(2):
        correlator.on_reply(correlator.open("send-channel-message"), heard.append)
    correlator.fail_all(ConnectionLostError())
    await _settle()
    assert [type(outcome) for outcome in heard] == [ConnectionLostError, ConnectionLostError]
