"""Helpers for driving the runtime emulator's pure core with plain function calls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapter.emulators.runtime.auth import TokenFiles
from adapter.emulators.runtime.client_link import ClientLink
from adapter.emulators.runtime.frames import Frame
from adapter.emulators.runtime.runtime import Runtime, RuntimeSettings


@dataclass
class RecordingSink:
    """Collects what the runtime sends to one connection."""

    frames: list[Frame] = field(default_factory=list)
    closed: bool = False

    def send(self, frame: Frame) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        self.closed = True

    def take(self) -> list[Frame]:
        """Every frame received since the last take."""
        frames, self.frames = self.frames, []
        return frames

    def last(self) -> Frame:
        """The most recent frame."""
        assert self.frames, "nothing was sent"
        return self.frames[-1]

    def pushes(self, action: str) -> list[dict[str, Any]]:
        """Payloads of uncorrelated frames with ``action``."""
        return [f["payload"] for f in self.frames if f["action"] == action and "correlationId" not in f]

    def reply_to(self, message_id: int) -> Frame:
        """The ack correlated with ``message_id``."""
        replies = [f for f in self.frames if f.get("correlationId") == message_id]
        assert len(replies) == 1, f"expected one reply to {message_id}, got {replies}"
        return replies[0]


@dataclass
class Party:
    """A connection as a test sees it: send frames, read what came back."""

    runtime: Runtime
    connection: ClientLink
    sink: RecordingSink
    next_id: int = 1

    def send(
        self, action: str, payload: dict[str, Any] | None = None, *, message_id: int | None = None
    ) -> int:
        """Send a request; returns its messageId."""
        if message_id is None:
            message_id = self.next_id
            self.next_id += 1
        frame = {"action": action, "payload": payload or {}, "messageId": message_id}
        self.runtime.receive(self.connection, json.dumps(frame))
        return message_id

    def send_raw(self, frame: dict[str, Any]) -> None:
        """Send a frame as is (e.g. an echoed ackToSender)."""
        self.runtime.receive(self.connection, json.dumps(frame))

    def request(self, action: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send and return the reply's payload (``{success, data?|reason}``)."""
        message_id = self.send(action, payload)
        reply: dict[str, Any] = self.sink.reply_to(message_id)["payload"]
        return reply

    def close(self) -> None:
        """The socket closes."""
        self.runtime.disconnect(self.connection)


def open_party(runtime: Runtime) -> Party:
    """A new unauthorized connection."""
    sink = RecordingSink()
    return Party(runtime, runtime.connect(sink), sink)


def file_token_handshake(runtime: Runtime, uuid: str) -> Party:
    """Connect and authorize as ``uuid`` the way node-adapter does by default."""
    party = open_party(runtime)
    party.send("request-external-authorization", {"uuid": uuid, "type": "file-token"}, message_id=0)
    offer = party.sink.last()["payload"]
    Path(offer["file"]).write_text(offer["token"], encoding="utf-8")
    party.send("request-authorization", {"uuid": uuid, "type": "file-token"})
    assert party.sink.last()["payload"] == {"success": True}, party.sink.last()
    party.sink.take()
    return party


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime core with its token files under ``tmp_path``."""
    core = Runtime(RuntimeSettings(), token_files=TokenFiles(tmp_path))
    try:
        yield core
    finally:
        await core.aclose()
