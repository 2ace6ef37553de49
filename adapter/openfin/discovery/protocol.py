"""Port discovery without I/O: the temporary manifest, the Chromium-IPC frames, and which answer to accept.

How the official adapters find a runtime's port (docs/deployment.md section 7):
the adapter listens on a pipe, starts the RVM with a manifest naming the runtime version and with
``--runtime-information-channel-v6=<channel>``; the runtime (or the already running one it delegates to)
connects to the pipe, sends a *hello* frame that the adapter echoes, then a *string* frame carrying JSON
``{"action": "runtime-information", "payload": {"port", "requestedVersion", "securityRealm", ...}}``.

Frames are Chromium IPC messages, little-endian: a header of five int32 (``payload_size``, ``routing_id``,
``message_type``, ``flags``, ``attachment_count``), on POSIX followed by two int16 (``num_fds``, ``pad``),
then ``payload_size`` bytes. A string payload is an int32 byte length, the UTF-8 bytes, and zero padding to a
multiple of four (Chromium's pickle alignment).

``DiscoveryExchange`` is the listener's side of one pipe connection as a state machine: bytes in, bytes to
send back and the accepted ``RuntimeInformation`` out.
"""

from __future__ import annotations

import enum
import json
import struct
import sys
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapter.openfin.discovery.errors import DiscoveryFrameError, RuntimeMismatchError

HELLO_MESSAGE_TYPE = 0xFFFF
STRING_MESSAGE_TYPE = 0
RUNTIME_INFORMATION = "runtime-information"
CHANNEL_ARGUMENT = "--runtime-information-channel-v6"
SECURITY_REALM_ARGUMENT = "--security-realm"
# runtime-information is a few kilobytes; a larger frame on this pipe is not a discovery frame.
MAX_PAYLOAD_SIZE = 1 << 20

_FIXED = struct.Struct("<5i")
_POSIX_TAIL = struct.Struct("<2h")
_LENGTH = struct.Struct("<i")


class HeaderLayout(enum.Enum):
    """A platform's frame header: Windows has five int32, POSIX adds ``num_fds`` and ``pad`` (int16)."""

    WINDOWS = "windows"
    POSIX = "posix"

    @classmethod
    def for_platform(cls, platform: str = sys.platform) -> HeaderLayout:
        """The layout the runtime uses on ``platform`` (a ``sys.platform`` value)."""
        return cls.WINDOWS if platform == "win32" else cls.POSIX

    @property
    def size(self) -> int:
        """Header length in bytes."""
        return _FIXED.size + (_POSIX_TAIL.size if self is HeaderLayout.POSIX else 0)


@dataclass(frozen=True)
class FrameHeader:
    """One Chromium-IPC message header; ``num_fds`` and ``pad`` exist on the wire only in the POSIX layout."""

    payload_size: int
    routing_id: int
    message_type: int
    flags: int = 0
    attachment_count: int = 0
    num_fds: int = 0
    pad: int = 0


@dataclass(frozen=True)
class Frame:
    """A whole frame: its header and exactly ``header.payload_size`` payload bytes."""

    header: FrameHeader
    payload: bytes


def encode_header(header: FrameHeader, layout: HeaderLayout) -> bytes:
    """The header's bytes in ``layout``."""
    fixed = _FIXED.pack(
        header.payload_size, header.routing_id, header.message_type, header.flags, header.attachment_count
    )
    if layout is HeaderLayout.POSIX:
        return fixed + _POSIX_TAIL.pack(header.num_fds, header.pad)
    return fixed


def decode_header(data: bytes, layout: HeaderLayout) -> FrameHeader:
    """The header at the start of ``data``; ``DiscoveryFrameError`` if short or its size is impossible."""
    if len(data) < layout.size:
        raise DiscoveryFrameError(f"frame header needs {layout.size} bytes, got {len(data)}")
    payload_size, routing_id, message_type, flags, attachment_count = _FIXED.unpack_from(data)
    num_fds = pad = 0
    if layout is HeaderLayout.POSIX:
        num_fds, pad = _POSIX_TAIL.unpack_from(data, _FIXED.size)
    if not 0 <= payload_size <= MAX_PAYLOAD_SIZE:
        raise DiscoveryFrameError(f"frame payload size {payload_size} is out of range")
    return FrameHeader(payload_size, routing_id, message_type, flags, attachment_count, num_fds, pad)


def encode_frame(frame: Frame, layout: HeaderLayout) -> bytes:
    """The frame's bytes in ``layout``; the header's ``payload_size`` must match the payload."""
    if frame.header.payload_size != len(frame.payload):
        raise ValueError("payload_size does not match the payload")
    return encode_header(frame.header, layout) + frame.payload


def string_payload(text: str) -> bytes:
    """A Chromium pickle string: int32 byte length, UTF-8 bytes, zero padding to a multiple of four."""
    data = text.encode("utf-8")
    return _LENGTH.pack(len(data)) + data + b"\0" * (-len(data) % 4)


def string_frame(text: str, *, routing_id: int = 0) -> Frame:
    """A type-0 string frame carrying ``text``."""
    payload = string_payload(text)
    return Frame(FrameHeader(len(payload), routing_id, STRING_MESSAGE_TYPE), payload)


def decode_string_payload(payload: bytes) -> str:
    """The text of a string frame's payload; ``DiscoveryFrameError`` if the length or encoding is wrong."""
    if len(payload) < _LENGTH.size:
        raise DiscoveryFrameError("string frame has no length field")
    (length,) = _LENGTH.unpack_from(payload)
    if not 0 <= length <= len(payload) - _LENGTH.size:
        raise DiscoveryFrameError(f"string length {length} does not fit a payload of {len(payload)} bytes")
    try:
        return payload[_LENGTH.size : _LENGTH.size + length].decode("utf-8")
    except UnicodeDecodeError as error:
        raise DiscoveryFrameError(f"string frame is not UTF-8: {error}") from None


class FrameReader:
    """Splits a byte stream into whole frames (data may arrive in any chunks)."""

    def __init__(self, layout: HeaderLayout) -> None:
        self.layout = layout
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data``; return every frame completed by it, in order."""
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= self.layout.size:
            header = decode_header(bytes(self._buffer[: self.layout.size]), self.layout)
            end = self.layout.size + header.payload_size
            if len(self._buffer) < end:
                break
            frames.append(Frame(header, bytes(self._buffer[self.layout.size : end])))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole frame yet."""
        return len(self._buffer)


class RuntimeInformation(BaseModel):
    """The ``runtime-information`` payload: the runtime's websocket port and what it was asked to be."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    port: int = Field(ge=1, le=65535)
    version: str | None = None
    requested_version: str | None = Field(default=None, alias="requestedVersion")
    security_realm: str | None = Field(default=None, alias="securityRealm")
    ssl_port: int | None = Field(default=None, alias="sslPort")
    runtime_information_channel: str | None = Field(default=None, alias="runtimeInformationChannel")
    multi_runtime: bool | None = Field(default=None, alias="multiRuntime")


@dataclass(frozen=True)
class DiscoveryRequest:
    """Which runtime we ask the RVM for: the platform's runtime version and, if it has one, security realm."""

    version: str
    security_realm: str | None = None

    def manifest(self) -> dict[str, Any]:
        """The temporary manifest handed to the RVM: only the runtime to start or reuse, no app."""
        arguments = f"{SECURITY_REALM_ARGUMENT}={self.security_realm}" if self.security_realm else ""
        return {"runtime": {"version": self.version, "arguments": arguments}}

    def check(self, info: RuntimeInformation) -> None:
        """Accept only the runtime we asked for: same requested version and same realm (or none on both)."""
        realm_matches = (info.security_realm or None) == (self.security_realm or None)
        if info.requested_version != self.version or not realm_matches:
            raise RuntimeMismatchError(
                wanted_version=self.version,
                wanted_realm=self.security_realm,
                got_version=info.requested_version,
                got_realm=info.security_realm,
            )


def rvm_arguments(manifest_path: str, channel: str) -> list[str]:
    """The RVM's command-line arguments: no installer UI, our manifest, the channel for the runtime."""
    return ["--no-ui", f"--config={manifest_path}", f"--runtime-arguments={CHANNEL_ARGUMENT}={channel}"]


def parse_runtime_information(text: str) -> RuntimeInformation | None:
    """The payload of a ``runtime-information`` message; ``None`` for any other action."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError as error:
        raise DiscoveryFrameError(f"string frame is not JSON: {error.msg}") from None
    if not isinstance(message, dict):
        raise DiscoveryFrameError("string frame is not a JSON object")
    if message.get("action") != RUNTIME_INFORMATION:
        return None
    try:
        return RuntimeInformation.model_validate(message.get("payload"))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in error.errors()
        )
        raise DiscoveryFrameError(f"runtime-information payload is invalid: {problems}") from None


class DiscoveryExchange:
    """The listener's side of one discovery pipe connection.

    Feed what arrives to ``receive``; send back what it returns. The first frame must be the runtime's hello
    (type ``0xFFFF``), which is echoed byte for byte. Then string frames are read until one carries
    ``runtime-information``; it is checked against the request and becomes ``result``. Malformed frames
    raise ``DiscoveryFrameError``, an answer for another runtime ``RuntimeMismatchError``.
    """

    def __init__(self, request: DiscoveryRequest, layout: HeaderLayout) -> None:
        self.request = request
        self.layout = layout
        self.result: RuntimeInformation | None = None
        self._reader = FrameReader(layout)
        self._greeted = False

    def receive(self, data: bytes) -> bytes:
        """Take bytes from the pipe; return the bytes to write back (possibly none)."""
        reply = b""
        for frame in self._reader.feed(data):
            if self.result is not None:
                break
            reply += self._on_frame(frame)
        return reply

    def _on_frame(self, frame: Frame) -> bytes:
        if not self._greeted:
            if frame.header.message_type != HELLO_MESSAGE_TYPE:
                raise DiscoveryFrameError(
                    f"expected the hello frame (type {HELLO_MESSAGE_TYPE}), "
                    f"got type {frame.header.message_type}"
                )
            self._greeted = True
            return encode_frame(frame, self.layout)
        if frame.header.message_type != STRING_MESSAGE_TYPE:
            raise DiscoveryFrameError(
                f"expected a string frame (type 0), got type {frame.header.message_type}"
            )
        info = parse_runtime_information(decode_string_payload(frame.payload))
        if info is not None:
            self.request.check(info)
            self.result = info
        return b""
