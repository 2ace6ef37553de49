"""One party connected to the runtime: its outgoing sink, its identity once authorized, its handshake."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog

from adapter.emulators.runtime.frames import Frame, loggable

log = structlog.get_logger(__name__)
_frames_log = logging.getLogger(__name__)

EXTERNAL_CONNECTION = "external connection"


class Sink(Protocol):
    """Where the runtime's frames for one connection go; the websocket layer (or a test) supplies it."""

    def send(self, frame: Frame) -> None:
        """Queue ``frame`` for delivery, in order."""

    def close(self) -> None:
        """Close the connection once every queued frame is delivered."""


@dataclass(frozen=True)
class PendingAuth:
    """A file-token handshake between ``request-external-authorization`` and ``request-authorization``."""

    uuid: str
    file: Path
    token: str


@dataclass(eq=False)
class ClientLink:
    """A websocket client (external connection) or an in-process party such as the built-in broker."""

    id: int
    sink: Sink
    internal: bool = False
    entity_type: str = EXTERNAL_CONNECTION
    uuid: str | None = None
    pending_auth: PendingAuth | None = None
    closed: bool = False

    @property
    def authorized(self) -> bool:
        """True once the handshake succeeded (internal connections are born authorized)."""
        return self.uuid is not None

    @property
    def identity(self) -> dict[str, Any]:
        """``{uuid, name}``; for an external connection the runtime always uses ``name == uuid``."""
        assert self.uuid is not None, "identity of an unauthorized connection"
        return {"uuid": self.uuid, "name": self.uuid}

    @property
    def is_external(self) -> bool:
        """True for a websocket client, false for an in-runtime party."""
        return not self.internal

    def send(self, frame: Frame) -> None:
        """Deliver ``frame`` unless the connection is already closed."""
        if self.closed:
            return
        if _frames_log.isEnabledFor(logging.DEBUG):  # the masked copy costs more than sending the frame
            log.debug("frame.out", connection=self.id, uuid=self.uuid, frame=loggable(frame))
        self.sink.send(frame)
