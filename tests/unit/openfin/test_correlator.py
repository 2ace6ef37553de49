"""Request correlation: ids, replies, failures and timeouts, without sockets."""

from __future__ import annotations

import asyncio

import pytest

from adapter.openfin.correlator import Correlator
from adapter.openfin.errors import ConnectionLostError, RequestTimeoutError, RuntimeRequestError
from adapter.openfin.frames import AckFrame


def ack(correlation_id: int, **payload: object) -> AckFrame:
    return AckFrame.model_validate({"action": "ack", "correlationId": correlation_id, "payload": payload})


async def test_message_ids_start_at_one_and_increase() -> None:
    correlator = Correlator()

    first = correlator.open("get-version")
    second = correlator.open("get-version")

    assert (first, second) == (1, 2)


async def test_a_success_ack_resolves_with_its_data() -> None:
    correlator = Correlator()
    message_id = correlator.open("get-version")

    assert correlator.resolve(ack(message_id, success=True, data="42.103.2"))
    assert await correlator.wait(message_id, timeout=1) == "42.103.2"
    assert correlator.pending == 0


async def test_a_failure_ack_raises_with_reason_and_error() -> None:
    correlator = Correlator()
    message_id = correlator.open("create-channel")
    correlator.resolve(
        ack(message_id, success=False, reason="taken", error={"name": "Error", "message": "taken"})
    )

    with pytest.raises(RuntimeRequestError) as caught:
        await correlator.wait(message_id, timeout=1)

    assert caught.value.action == "create-channel"
    assert caught.value.reason == "taken"
    assert caught.value.error_name == "Error"


async def test_a_reply_that_is_not_an_ack_fails_the_request() -> None:
    correlator = Correlator()
    message_id = correlator.open("get-version")
    correlator.resolve(
        AckFrame.model_validate({"action": "nack", "correlationId": message_id, "payload": None})
    )

    with pytest.raises(RuntimeRequestError, match="Did not receive ack action"):
        await correlator.wait(message_id, timeout=1)


async def test_an_unanswered_request_times_out_and_is_forgotten() -> None:
    correlator = Correlator()
    message_id = correlator.open("subscribe-to-desktop-event")

    with pytest.raises(RequestTimeoutError) as caught:
        await correlator.wait(message_id, timeout=0.01)

    assert caught.value.action == "subscribe-to-desktop-event"
    assert correlator.pending == 0
    assert not correlator.resolve(ack(message_id, success=True)), "a late reply must be ignored"


async def test_a_caller_that_stops_waiting_leaves_no_pending_request() -> None:
    correlator = Correlator()
    message_id = correlator.open("get-version")
    waiting = asyncio.ensure_future(correlator.wait(message_id, timeout=5))
    await asyncio.sleep(0)

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert correlator.pending == 0
    assert not correlator.resolve(ack(message_id, success=True)), "a late reply must be ignored"


async def test_a_reply_to_an_unknown_id_is_ignored() -> None:
    assert not Correlator().resolve(ack(99, success=True))


async def test_closing_the_socket_fails_every_pending_request() -> None:
    correlator = Correlator()
    ids = [correlator.open("get-version") for _ in range(3)]
    waits = [asyncio.ensure_future(correlator.wait(message_id, timeout=5)) for message_id in ids]
    await asyncio.sleep(0)

    correlator.fail_all(ConnectionLostError())
    outcomes = await asyncio.gather(*waits, return_exceptions=True)

    assert all(isinstance(outcome, ConnectionLostError) for outcome in outcomes)
    assert str(outcomes[0]) == "Remote connection has closed"
    assert correlator.pending == 0


async def test_waiting_on_several_requests_returns_each_outcome_in_order() -> None:
    correlator = Correlator()
    answered, refused, silent = (correlator.open("send-channel-message") for _ in range(3))
    correlator.resolve(ack(refused, success=False, reason="no handler"))
    correlator.resolve(ack(answered, success=True, data={"result": 1}))

    outcomes = await correlator.wait_all([answered, refused, silent], timeout=0.01)

    assert outcomes[0] == {"result": 1}
    assert isinstance(outcomes[1], RuntimeRequestError)
    assert outcomes[1].reason == "no handler"
    assert isinstance(outcomes[2], RequestTimeoutError)
    assert correlator.pending == 0


async def test_a_request_forgotten_when_the_socket_closed_counts_as_lost_among_several() -> None:
    correlator = Correlator()
    lost = correlator.open("send-channel-message")
    correlator.fail_all(ConnectionLostError())
    kept = correlator.open("send-channel-message")
    correlator.resolve(ack(kept, success=True, data=None))

    outcomes = await correlator.wait_all([lost, kept], timeout=1)

    assert isinstance(outcomes[0], ConnectionLostError)
    assert outcomes[1] is None
