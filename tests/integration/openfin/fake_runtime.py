"""A tiny scripted runtime for socket-level tests of our client: the runtime's frames, nothing more.

It speaks the handshake (file-token and token), acks every request with ``data`` from ``answers`` (or
never answers actions in ``silent``), sends ``follow_ups`` right behind an action's ack, records every
frame it receives, and can push frames and be stopped and restarted on the same port.
"""

from __future__ import annotations

import contextlib
import json
import uuid as uuidlib
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

from tests.support import waiting


class FakeRuntime:
    """Scripted runtime endpoint on 127.0.0.1."""

    def __init__(self, token_dir: Path, *, sponsored_tokens: dict[str, str] | None = None) -> None:
        self.token_dir = token_dir
        self.sponsored_tokens = sponsored_tokens or {}
        self.received: list[dict[str, Any]] = []
        self.answers: dict[str, Any] = {"get-version": "42.103.2"}
        self.silent: set[str] = set()
        self.follow_ups: dict[str, list[dict[str, Any]]] = {}
        self.refuse_with: str | None = None
        self.written_tokens: list[bytes] = []
        self.port = 0
        self._server: Server | None = None
        self._sockets: set[ServerConnection] = set()

    @property
    def address(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await serve(self._serve, "127.0.0.1", self.port)
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def actions(self) -> list[str]:
        return [frame["action"] for frame in self.received]

    async def push(self, frame: dict[str, Any]) -> None:
        for socket in list(self._sockets):
            await socket.send(json.dumps(frame))

    async def _serve(self, socket: ServerConnection) -> None:
        self._sockets.add(socket)
        pending: dict[str, tuple[Path, str]] = {}
        try:
            async for raw in socket:
                frame = json.loads(raw)
                self.received.append(frame)
                await self._handle(socket, frame, pending)
        finally:
            self._sockets.discard(socket)

    async def _handle(
        self, socket: ServerConnection, frame: dict[str, Any], pending: dict[str, tuple[Path, str]]
    ) -> None:
        action, payload = frame["action"], frame.get("payload") or {}
        if action == "request-external-authorization":
            path, token = self.token_dir / f"token-{uuidlib.uuid4()}", str(uuidlib.uuid4())
            pending[payload["uuid"]] = (path, token)
            reply = {"file": str(path), "token": token, "uuid": payload["uuid"]}
            await socket.send(json.dumps({"action": "external-authorization-response", "payload": reply}))
        elif action == "request-authorization":
            await socket.send(
                json.dumps({"action": "authorization-response", "payload": self._authorize(payload, pending)})
            )
        elif action not in self.silent and "messageId" in frame:
            reply = {"success": True}
            if action in self.answers:
                reply["data"] = self.answers[action]
            await socket.send(
                json.dumps({"action": "ack", "correlationId": frame["messageId"], "payload": reply})
            )
            for follow_up in self.follow_ups.get(action, []):
                await socket.send(json.dumps(follow_up))

    def _authorize(self, payload: dict[str, Any], pending: dict[str, tuple[Path, str]]) -> dict[str, Any]:
        if self.refuse_with is not None:
            return {"success": False, "reason": self.refuse_with}
        if "token" in payload:
            ok = self.sponsored_tokens.get(payload["uuid"]) == payload["token"]
        else:
            path, token = pending.pop(payload["uuid"])
            content = path.read_bytes()
            self.written_tokens.append(content)
            ok = token.encode() in content
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return {"success": True} if ok else {"success": False, "reason": "Invalid token or file"}


async def eventually(condition: Any, timeout: float = 5.0) -> None:
    """``tests.support.waiting.eventually`` with this suite's bound."""
    await waiting.eventually(condition, "the condition", timeout=timeout)
