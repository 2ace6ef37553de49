"""``RuntimeConnection.send_soon``: a frame written without awaiting, and when it must wait instead, over a
real socket against a scripted runtime."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from adapter.jsoncodec import NestingError
from adapter.openfin import (
    ConnectionLostError,
    RuntimeConnection,
    RuntimeConnectionState,
    RuntimeNotConnectedError,
)
from adapter.openfin.connection import MAX_QUEUED_FRAMES
from adapter.openfin.errors import FrameTooLargeError
from tests.integration.openfin.fake_runtime import FakeRuntime, eventually

LIMIT = 64 * 1024


def note(n: int) -> dict[str, Any]:
    return {"action": "note", "payload": {"n": n}}


def notes(runtime: FakeRuntime) -> list[int]:
    return [frame["payload"]["n"] for frame in runtime.received if frame["action"] == "note"]


def socket_of(connection: RuntimeConnection) -> ClientConnection:
    ws = connection._ws
    assert ws is not None
    return ws


async def test_a_frame_the_socket_can_take_is_written_at_once_and_counted(runtime: FakeRuntime) -> None:
    async with RuntimeConnection(runtime.address, "svc-adapter") as connection:
        sent = connection.stats.frames_sent

        assert connection.send_soon(note(1)) is True
        assert connection.send_soon('{"action":"note","payload":{"n":2}}') is True

        assert connection.stats.frames_sent == sent + 2
        await eventually(lambda: notes(runtime) == [1, 2])


async def test_a_paused_transport_queues_the_frame_and_those_after_it_in_order(runtime: FakeRuntime) -> None:
    async with RuntimeConnection(runtime.address, "svc-adapter") as connection:
        ws = socket_of(connection)
        # What the transport does when its buffer passes the high-water mark.
        ws.pause_writing()

        assert connection.send_soon(note(1)) is False
        assert connection.send_soon(note(2)) is False
        queued = [task for task in asyncio.all_tasks() if task.get_name() == "openfin-send-queued"]
        assert len(queued) == 2
        # The queue waits for room: the frames' tasks are still waiting for the transport to drain.
        await eventually(lambda: notes(runtime) == [1, 2])
        assert not any(task.done() for task in queued)

        ws.resume_writing()
        await asyncio.gather(*queued)
        # Room again and nothing queued: written at once, after the queued frames.
        assert connection.send_soon(note(3)) is True
        await eventually(lambda: notes(runtime) == [1, 2, 3])
        assert connection.stats.frames_sent >= 3


async def test_a_frame_behind_a_queued_one_is_queued_too(runtime: FakeRuntime) -> None:
    async with RuntimeConnection(runtime.address, "svc-adapter") as connection:
        ws = socket_of(connection)
        ws.pause_writing()
        assert connection.send_soon(note(1)) is False
        # The transport has room again, but the first frame's task has not run yet.
        ws.resume_writing()

        assert connection.send_soon(note(2)) is False

        await eventually(lambda: notes(runtime) == [1, 2])


async def test_an_oversized_frame_is_refused_before_the_socket(runtime: FakeRuntime) -> None:
    async with RuntimeConnection(runtime.address, "svc-adapter", max_frame_bytes=LIMIT) as connection:
        sent = connection.stats.frames_sent

        with pytest.raises(FrameTooLargeError):
            connection.send_soon({"action": "note", "payload": {"text": "x" * LIMIT}})
        with pytest.raises(NestingError):
            connection.send_soon({"action": "note", "payload": _nested(300)})

        assert connection.stats.frames_sent == sent
        assert connection.send_soon(note(1)) is True
        await eventually(lambda: notes(runtime) == [1])
        assert connection.state is RuntimeConnectionState.CONNECTED


async def test_a_closing_socket_raises_connection_lost_and_a_closed_one_not_connected(
    runtime: FakeRuntime,
) -> None:
    connection = RuntimeConnection(runtime.address, "svc-adapter", reconnect=False)
    await connection.connect()
    ws = socket_of(connection)
    closing = asyncio.create_task(ws.close())
    # One step of the close: its frame is written and the socket waits for the runtime's answer, which
    # cannot have been read yet.
    await asyncio.sleep(0)
    assert ws.protocol.state is State.CLOSING

    with pytest.raises(ConnectionLostError):
        connection.send_soon(note(1))

    await closing
    await connection.wait_for(RuntimeConnectionState.CLOSED, timeout=5.0)
    with pytest.raises(RuntimeNotConnectedError) as raised:
        connection.send_soon(note(2))
    assert not isinstance(raised.value, ConnectionLostError)
    assert notes(runtime) == []
    await connection.close()


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth + 1):
        value = [value]
    return value


async def test_a_pass_of_requests_waits_for_room_when_paused_and_keeps_their_order(
    runtime: FakeRuntime,
) -> None:
    # A pass of requests is written while the socket has room and waits behind
    # ``ws.send``'s wait for room (``drain``) once the transport is paused, its frames in order.
    async with RuntimeConnection(runtime.address, "svc-adapter") as connection:
        ws = socket_of(connection)
        payloads = [f'{{"n":{n}}}' for n in (1, 2, 3)]

        assert await connection.send_each_json("note", payloads, lambda _i, _o: None, timeout=5) == [None] * 3
        await eventually(lambda: notes(runtime) == [1, 2, 3])

        ws.pause_writing()
        passing = asyncio.create_task(
            connection.send_each_json("note", [f'{{"n":{n}}}' for n in (4, 5, 6)], lambda _i, _o: None)
        )
        # The first frame is handed to the socket, then the pass waits for room before the next.
        await eventually(lambda: notes(runtime) == [1, 2, 3, 4])
        assert not passing.done()

        ws.resume_writing()
        assert await passing == [None] * 3
        await eventually(lambda: notes(runtime) == [1, 2, 3, 4, 5, 6])


async def test_the_reader_waits_while_the_queue_of_frames_is_full_and_reads_on_once_it_drains(
    runtime: FakeRuntime,
) -> None:
    # A runtime that stops reading the adapter's answers must not make it hold answers without end: with
    # MAX_QUEUED_FRAMES waiting, the reader takes no further message until they are on the socket.
    async with RuntimeConnection(runtime.address, "svc-adapter") as connection:
        ws = socket_of(connection)
        ws.pause_writing()
        for n in range(MAX_QUEUED_FRAMES - 1):
            assert connection.send_soon(note(n)) is False
        assert not connection.reading_paused  # control: one short of the bound, the reader reads on
        received = connection.stats.frames_received
        await runtime.push({"action": "ping", "payload": {}})
        await eventually(lambda: connection.stats.frames_received == received + 1)

        assert connection.send_soon(note(MAX_QUEUED_FRAMES)) is False
        assert connection.reading_paused
        await runtime.push({"action": "ping", "payload": {}})
        await runtime.push({"action": "ping", "payload": {}})
        # The reader takes at most the message it was handling, then waits for room.
        await eventually(lambda: connection.stats.frames_received >= received + 2)
        assert connection.stats.frames_received == received + 2

        ws.resume_writing()
        await eventually(lambda: not connection.reading_paused)
        await eventually(lambda: connection.stats.frames_received == received + 3)
        await eventually(lambda: len(notes(runtime)) == MAX_QUEUED_FRAMES)
