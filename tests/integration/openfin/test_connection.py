"""``RuntimeConnection`` over a real socket against a scripted runtime speaking the runtime's frames."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapter.openfin import (
    AuthorizationRejected,
    Backoff,
    ConnectionLostError,
    RequestTimeoutError,
    RuntimeConnection,
    RuntimeConnectionState,
    RuntimeNotConnectedError,
)
from adapter.openfin.frames import DesktopEvent
from tests.integration.openfin.fake_runtime import FakeRuntime, eventually

FAST = Backoff(initial=0.01, cap=0.05)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[FakeRuntime]:
    fake = FakeRuntime(tmp_path, sponsored_tokens={"sponsored-app": "a-sponsored-token-1234"})
    await fake.start()
    yield fake
    await fake.stop()


async def test_the_file_token_handshake_writes_exactly_the_token_and_connects(runtime: FakeRuntime) -> None:
    connection = RuntimeConnection(runtime.address, "svc-adapter")

    async with connection:
        assert connection.state is RuntimeConnectionState.CONNECTED

    first, second = runtime.received[:2]
    assert first["action"] == "request-external-authorization"
    assert second["payload"] == {
        "uuid": "svc-adapter",
        "name": "svc-adapter",
        "nonPersistent": True,
        "type": "file-token",
    }
    assert len(runtime.written_tokens) == 1
    assert len(runtime.written_tokens[0]) == 36, "the file must hold the token and nothing else"


async def test_the_token_handshake_skips_the_token_file(runtime: FakeRuntime) -> None:
    async with RuntimeConnection(runtime.address, "sponsored-app", token="a-sponsored-token-1234"):
        pass

    assert runtime.actions()[0] == "request-authorization"
    assert runtime.received[0]["payload"]["token"] == "a-sponsored-token-1234"
    assert runtime.written_tokens == []


async def test_a_refused_handshake_raises_and_leaves_the_connection_closed(runtime: FakeRuntime) -> None:
    runtime.refuse_with = "Application with specified UUID already exists: svc-adapter"
    connection = RuntimeConnection(runtime.address, "svc-adapter")

    with pytest.raises(AuthorizationRejected, match="already exists"):
        await connection.connect()

    assert connection.state is RuntimeConnectionState.CLOSED


async def test_a_request_ids_start_at_one_after_the_handshake_and_return_data(runtime: FakeRuntime) -> None:
    async with RuntimeConnection(runtime.address, "svc-adapter") as connection:
        assert await connection.request("get-version") == "42.103.2"

    request = runtime.received[-1]
    assert request["action"] == "get-version"
    assert request["messageId"] == 3, "ids 1 and 2 went to the two handshake frames"


async def test_a_request_the_runtime_never_answers_times_out_and_the_connection_stays_usable(
    runtime: FakeRuntime,
) -> None:
    runtime.silent.add("subscribe-to-desktop-event")
    async with RuntimeConnection(runtime.address, "svc-adapter", request_timeout=0.1) as connection:
        with pytest.raises(RequestTimeoutError):
            await connection.request("subscribe-to-desktop-event", {"topic": "system", "type": "x"})

        assert await connection.request("get-version") == "42.103.2"
        assert connection.stats.request_timeouts == 1


async def test_pending_requests_fail_when_the_runtime_goes_away(runtime: FakeRuntime) -> None:
    runtime.silent.add("get-runtime-info")
    async with RuntimeConnection(runtime.address, "svc-adapter", reconnect=False) as connection:
        waiting = asyncio.ensure_future(connection.request("get-runtime-info"))
        await eventually(lambda: "get-runtime-info" in runtime.actions())

        await runtime.stop()

        with pytest.raises(ConnectionLostError, match="Remote connection has closed"):
            await waiting
        await connection.wait_for(RuntimeConnectionState.CLOSED, timeout=5)
        with pytest.raises(RuntimeNotConnectedError):
            await connection.request("get-version")


async def test_a_restarted_runtime_is_reconnected_and_event_subscriptions_are_replayed(
    runtime: FakeRuntime,
) -> None:
    connection = RuntimeConnection(runtime.address, "svc-adapter", backoff=FAST)
    seen: list[RuntimeConnectionState] = []
    connection.on_state_change(seen.append)
    events: list[DesktopEvent] = []
    async with connection:
        await connection.subscribe_event("system", "application-closed", events.append)

        await runtime.stop()
        await connection.wait_for(RuntimeConnectionState.RECONNECTING, timeout=5)
        runtime.received.clear()
        await runtime.start()
        await connection.wait_for(RuntimeConnectionState.CONNECTED, timeout=5)

        assert "subscribe-to-desktop-event" in runtime.actions()
        await runtime.push(
            {
                "action": "process-desktop-event",
                "payload": {"topic": "system", "type": "application-closed", "uuid": "a"},
            }
        )
        await eventually(lambda: len(events) == 1)

    assert seen == [
        RuntimeConnectionState.CONNECTING,
        RuntimeConnectionState.CONNECTED,
        RuntimeConnectionState.RECONNECTING,
        RuntimeConnectionState.RESTORING,
        RuntimeConnectionState.CONNECTED,
        RuntimeConnectionState.CLOSED,
    ]
    assert connection.stats.reconnects == 1


async def test_states_can_be_followed_as_an_async_iterator(runtime: FakeRuntime) -> None:
    connection = RuntimeConnection(runtime.address, "svc-adapter")
    followed: list[RuntimeConnectionState] = []

    async def follow() -> None:
        async for state in connection.states():
            followed.append(state)

    follower = asyncio.ensure_future(follow())
    await asyncio.sleep(0)
    await connection.connect()
    await connection.close()
    async with asyncio.timeout(5):
        await follower

    assert followed == [
        RuntimeConnectionState.CLOSED,
        RuntimeConnectionState.CONNECTING,
        RuntimeConnectionState.CONNECTED,
        RuntimeConnectionState.CLOSED,
    ]


async def test_close_leaves_no_task_running(runtime: FakeRuntime) -> None:
    before = asyncio.all_tasks()
    connection = RuntimeConnection(runtime.address, "svc-adapter")
    await connection.connect()
    await connection.subscribe_event("system", "window-closed", lambda _event: None)

    await connection.close()

    assert asyncio.all_tasks() - before == set()


async def test_send_each_json_writes_every_frame_and_each_answer_reaches_its_callback(
    runtime: FakeRuntime,
) -> None:
    heard: dict[int, object] = {}
    async with RuntimeConnection(runtime.address, "svc-adapter") as connection:
        outcomes = await connection.send_each_json(
            "get-version", ["{}"] * 3, lambda index, outcome: heard.__setitem__(index, outcome)
        )
        assert outcomes == [None, None, None]
        await eventually(lambda: len(heard) == 3)
        assert connection.stats.requests == 3
    assert heard == {0: "42.103.2", 1: "42.103.2", 2: "42.103.2"}
    assert runtime.actions()[-3:] == ["get-version"] * 3


async def test_send_each_json_unanswered_requests_time_out_under_one_deadline(runtime: FakeRuntime) -> None:
    runtime.silent.add("subscribe-to-desktop-event")
    heard: dict[int, object] = {}
    async with RuntimeConnection(runtime.address, "svc-adapter", request_timeout=0.1) as connection:
        outcomes = await connection.send_each_json(
            "subscribe-to-desktop-event", ["{}"] * 2, lambda index, outcome: heard.__setitem__(index, outcome)
        )
        assert outcomes == [None, None]
        await eventually(lambda: len(heard) == 2)
        assert all(isinstance(outcome, RequestTimeoutError) for outcome in heard.values())
        assert connection.stats.request_timeouts == 2
        assert await connection.request("get-version") == "42.103.2"  # the connection is still usable


async def test_send_each_json_callbacks_hear_of_a_runtime_that_went_away(runtime: FakeRuntime) -> None:
    runtime.silent.add("get-runtime-info")
    heard: dict[int, object] = {}
    async with RuntimeConnection(runtime.address, "svc-adapter", reconnect=False) as connection:
        await connection.send_each_json(
            "get-runtime-info", ["{}"], lambda index, outcome: heard.__setitem__(index, outcome)
        )
        await eventually(lambda: "get-runtime-info" in runtime.actions())
        await runtime.stop()
        await eventually(lambda: len(heard) == 1)
        assert isinstance(heard[0], ConnectionLostError)
        outcomes = await connection.send_each_json("get-version", ["{}"], lambda index, outcome: None)
        assert len(outcomes) == 1
        assert isinstance(outcomes[0], RuntimeNotConnectedError | ConnectionLostError)


async def test_send_each_json_without_a_socket_sends_nothing() -> None:
    connection = RuntimeConnection("ws://127.0.0.1:9", "svc-adapter")
    outcomes = await connection.send_each_json("get-version", ["{}", "{}"], lambda index, outcome: None)
    assert [type(outcome) for outcome in outcomes] == [RuntimeNotConnectedError, RuntimeNotConnectedError]
