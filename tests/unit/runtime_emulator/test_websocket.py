"""The emulator on a real socket, spoken to with a plain ``websockets`` client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from adapter.emulators.runtime.auth import TokenFiles
from adapter.emulators.runtime.runtime import Runtime, RuntimeSettings
from adapter.emulators.runtime.server import RuntimeServer, serve
from adapter.lifecycle import StartupError
from tests.support.waiting import eventually

WAIT = 5.0


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RuntimeServer]:
    """An emulator listening on a free port."""
    async with RuntimeServer(Runtime(RuntimeSettings(), token_files=TokenFiles(tmp_path))) as running:
        yield running


async def _receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        frame: dict[str, Any] = json.loads(await ws.recv())
    return frame


async def _send(ws: ClientConnection, action: str, payload: dict[str, Any], message_id: int) -> None:
    await ws.send(json.dumps({"action": action, "payload": payload, "messageId": message_id}))


async def _authorize(ws: ClientConnection, uuid: str) -> None:
    await _send(ws, "request-external-authorization", {"uuid": uuid, "type": "file-token"}, 0)
    offer = (await _receive(ws))["payload"]
    Path(offer["file"]).write_text(offer["token"], encoding="utf-8")
    await _send(ws, "request-authorization", {"uuid": uuid, "type": "file-token"}, 1)
    assert (await _receive(ws))["payload"] == {"success": True}


async def test_auth_replies_carry_no_correlation_id(server: RuntimeServer) -> None:
    async with connect(server.url) as ws:
        await _send(ws, "request-external-authorization", {"uuid": "py", "type": "file-token"}, 0)
        offer = await _receive(ws)
        Path(offer["payload"]["file"]).write_text(offer["payload"]["token"], encoding="utf-8")
        await _send(ws, "request-authorization", {"uuid": "py", "type": "file-token"}, 1)
        answer = await _receive(ws)

    assert "correlationId" not in offer
    assert answer == {"action": "authorization-response", "payload": {"success": True}}


async def test_unauthenticated_request_is_refused(server: RuntimeServer) -> None:
    async with connect(server.url) as ws:
        await _send(ws, "get-version", {}, 5)
        reply = await _receive(ws)

    assert reply == {
        "action": "ack",
        "correlationId": 5,
        "payload": {"success": False, "reason": "This connection must be authenticated first"},
    }


async def test_unknown_action_wording(server: RuntimeServer) -> None:
    async with connect(server.url) as ws:
        await _authorize(ws, "py")
        await _send(ws, "fly-to-the-moon", {}, 2)
        reply = await _receive(ws)

    version = server.runtime.settings.version
    assert (
        reply["payload"]["reason"]
        == f"API call fly-to-the-moon not implemented in runtime version: {version}."
    )


async def test_refused_handshake_closes_the_socket(server: RuntimeServer) -> None:
    async with connect(server.url) as ws:
        await _send(ws, "request-authorization", {"uuid": "py", "token": "guess"}, 0)
        answer = await _receive(ws)
        async with asyncio.timeout(WAIT):
            await ws.wait_closed()

    assert answer["payload"] == {"success": False, "reason": "Invalid token or file"}


async def test_closing_a_providers_socket_tells_its_clients(server: RuntimeServer) -> None:
    async with connect(server.url) as client:
        await _authorize(client, "client")
        await _send(client, "subscribe-to-desktop-event", {"topic": "channel", "type": "disconnected"}, 2)
        assert (await _receive(client))["payload"] == {"success": True}
        async with connect(server.url) as provider:
            await _authorize(provider, "provider")
            await _send(provider, "create-channel", {"channelName": "svc"}, 2)
            assert (await _receive(provider))["payload"]["success"] is True

        event = await _receive(client)

    assert event["action"] == "process-desktop-event"
    assert (event["payload"]["type"], event["payload"]["channelName"]) == ("disconnected", "svc")
    await eventually(lambda: not server.runtime.connections, "every connection gone", timeout=WAIT)


async def test_plain_http_is_forbidden(server: RuntimeServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(server.url.replace("ws://", "http://"))

    assert response.status_code == 403


async def test_serve_announces_the_bound_port_and_stops_when_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(stop, host="127.0.0.1", port=0, broker=None, assets={}))
    chunks: list[str] = []

    def ready() -> bool:
        chunks.append(capsys.readouterr().out)
        return "READY " in "".join(chunks)

    await eventually(ready, "READY printed", timeout=WAIT)
    printed = "".join(chunks)
    [url] = [line.split()[1] for line in printed.splitlines() if line.startswith("READY ")]
    async with connect(url) as ws:
        await _authorize(ws, "py")
        stop.set()
        async with asyncio.timeout(WAIT):
            assert await serving == 0
            await ws.wait_closed()

    assert url.startswith("ws://127.0.0.1:")
    assert not url.endswith(":0")


async def test_serve_reports_an_unusable_port() -> None:
    async with RuntimeServer(Runtime()) as busy:
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{busy.port}") as raised:
            await serve(asyncio.Event(), host="127.0.0.1", port=busy.port, broker=None, assets={})

    assert raised.value.exit_code == 1


async def test_a_fragmented_request_is_answered_once_reassembled(server: RuntimeServer) -> None:
    text = json.dumps({"action": "get-version", "payload": {}, "messageId": 9})
    async with connect(server.url) as ws:
        await _authorize(ws, "py")
        await ws.send([text[:10], text[10:20], text[20:]])
        reply = await _receive(ws)

    assert reply == {
        "action": "ack",
        "correlationId": 9,
        "payload": {"success": True, "data": server.runtime.settings.version},
    }


async def test_a_request_in_a_binary_frame_is_answered(server: RuntimeServer) -> None:
    async with connect(server.url) as ws:
        await _authorize(ws, "py")
        await ws.send(json.dumps({"action": "get-version", "payload": {}, "messageId": 4}).encode())
        reply = await _receive(ws)

    assert reply["correlationId"] == 4
    assert reply["payload"]["data"] == server.runtime.settings.version


async def test_text_that_is_not_utf8_closes_the_socket_with_1007(server: RuntimeServer) -> None:
    async with connect(server.url) as ws:
        await _authorize(ws, "py")
        await ws.send(b'{"action": "\xff"}', text=True)
        async with asyncio.timeout(WAIT):
            await ws.wait_closed()

    assert ws.close_code == 1007
    await eventually(lambda: not server.runtime.connections, "every connection gone", timeout=WAIT)


async def test_requests_in_order_get_replies_in_order(server: RuntimeServer) -> None:
    async with connect(server.url) as ws:
        await _authorize(ws, "py")
        for message_id in range(2, 52):
            await _send(ws, "get-version", {}, message_id)
        replies = [await _receive(ws) for _ in range(50)]

    assert [reply["correlationId"] for reply in replies] == list(range(2, 52))


async def test_a_crash_while_handling_a_frame_closes_only_that_socket(
    server: RuntimeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_args: object) -> None:
        raise RuntimeError("boom")

    async with connect(server.url) as other, connect(server.url) as ws:
        await _authorize(ws, "py")
        await _authorize(other, "other")
        with monkeypatch.context() as patched:
            patched.setattr(server.runtime, "receive", crash)
            await _send(ws, "get-version", {}, 2)
            async with asyncio.timeout(WAIT):
                await ws.wait_closed()
        await _send(other, "get-version", {}, 2)
        reply = await _receive(other)

    assert ws.close_code == 1000
    assert reply["payload"]["data"] == server.runtime.settings.version
