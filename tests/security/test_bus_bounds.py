"""Frames as a trust boundary: nesting depth and frame size, in both directions (issue 13, findings 7, 8).

A hostile app's message nested deeper than ``--max-json-depth`` gets ``MessageTooDeepError`` and the frame
reader serves the next frame; one nested past what the JSON parser reads at all (3 000 levels) is dropped
without ending the reader. An answer larger than ``--max-frame-bytes`` is never sent as one frame (the runtime
would close the socket every app shares): the app gets ``ReplyTooLargeError`` telling it to page. Apps are
official node-adapter apps on the runtime emulator; the 3 000-level frame comes from a scripted runtime over a
real socket, since no runtime forwards what it cannot parse itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.bus_apps import BusApp, start_bus_app
from tests.reliability.desktop import CASES, Desktop, desktop, tcp_peers
from tests.security.test_frame_fuzzing import Harness, message_push

pytestmark = pytest.mark.timeout(300)


def _cause(reply: dict[str, Any]) -> str | None:
    cause = reply.get("error", {}).get("cause") or {}
    name = cause.get("name") if isinstance(cause, dict) else None
    return name if isinstance(name, str) else None


def _one_runtime_socket(running: Desktop) -> bool:
    peers = tcp_peers(running.pid)
    return peers is None or peers[running.runtime.port] == 1


@pytest.fixture(scope="module")
def bus() -> Iterator[tuple[Desktop, BusApp, BusApp]]:
    with desktop() as running:
        hostile = start_bus_app(running.runtime.address, "hostile-app")
        other = start_bus_app(running.runtime.address, "other-app")
        try:
            for app in (hostile, other):
                assert app.dispatch("servicenow.connect")["ok"]
            yield running, hostile, other
        finally:
            hostile.close()
            other.close()


def test_a_message_nested_too_deeply_gets_a_typed_error_and_the_reader_goes_on(
    bus: tuple[Desktop, BusApp, BusApp],
) -> None:
    running, hostile, other = bus
    # Positive control: a payload 10 levels deep reaches the action and its payload model refuses it.
    shallow = hostile.command("nested", action="servicenow.request", depth=10)
    assert not shallow["ok"]
    assert _cause(shallow) == "ParameterError", shallow

    deep = hostile.command("nested", action="servicenow.request", depth=100)

    assert not deep["ok"], deep
    assert _cause(deep) == "MessageTooDeepError", deep
    assert other.request(f"{CASES}?sysparm_limit=1")["ok"]
    assert hostile.request(f"{CASES}?sysparm_limit=1")["ok"]
    assert _one_runtime_socket(running)


def test_an_answer_larger_than_a_frame_is_a_typed_error_and_the_socket_stays(
    bus: tuple[Desktop, BusApp, BusApp],
) -> None:
    running, hostile, other = bus
    marker = "frame-bound-test"
    description = "x" * (7 * 1024 * 1024)
    for _ in range(3):
        created = hostile.request(
            CASES,
            "POST",
            data={"short_description": marker, "description": description},
            suppressResponseBody=True,
        )
        assert created["ok"], str(created)[:500]

    # About 21 MB of answer: the runtime refuses frames over 16 MiB by closing the socket that sent one.
    answer = hostile.request(f"{CASES}?sysparm_query=short_description={marker}")

    assert not answer["ok"]
    assert _cause(answer) == "ReplyTooLargeError", str(answer)[:500]
    assert "sysparm_limit" in answer["error"]["message"]
    # The same read, paged, goes through; the other app never lost the channel.
    paged = hostile.request(f"{CASES}?sysparm_query=short_description={marker}&sysparm_limit=1")
    assert paged["ok"]
    assert len(paged["result"]["data"]) == 1
    assert other.request(f"{CASES}?sysparm_limit=1")["ok"]
    assert _one_runtime_socket(running)


def test_a_message_larger_than_a_frame_gets_a_typed_error(bus: tuple[Desktop, BusApp, BusApp]) -> None:
    running, hostile, other = bus
    before = running.stats().get(f"POST {CASES}", 0)
    big = {"short_description": "too large", "description": "x" * (9 * 1024 * 1024)}

    refused = hostile.request(CASES, "POST", data=big)

    assert not refused["ok"]
    assert _cause(refused) == "MessageTooLargeError", str(refused)[:500]
    assert running.stats().get(f"POST {CASES}", 0) == before
    # Positive control: the same write, smaller, reaches the instance.
    written = hostile.request(CASES, "POST", data={**big, "description": "x" * 1024})
    assert written["ok"], str(written)[:500]
    assert running.stats().get(f"POST {CASES}", 0) == before + 1
    assert other.request(f"{CASES}?sysparm_limit=1")["ok"]
    assert _one_runtime_socket(running)


def test_a_frame_nested_past_the_parser_leaves_the_reader_running(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    harness.start()
    try:
        # Python's json cannot write 3 000 levels: the frame's text is put together by hand.
        frame = json.dumps(message_push(1, "servicenow.status", "PLACEHOLDER"))
        text = frame.replace('"PLACEHOLDER"', '{"n":' * 3000 + "{}" + "}" * 3000)
        harness.run(harness.push(text))
        harness.run(harness.push(message_push(2, "servicenow.status", {})))

        answer = harness.run(harness.reply(2))

        assert answer["success"] is True
        assert harness.connection is not None
        assert harness.connection.stats.errors >= 1
        assert harness.replies_to(1) == 0
    finally:
        harness.stop()
