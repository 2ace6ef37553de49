"""HTTP/1.1 message framing for the client side, without I/O: the request's bytes and the response parser.

Why not h11: it builds and validates an event object per step and walks a state machine for both peers, which
cost about a fifth of the adapter's CPU per record GET. A client that sends one request at a time on a
connection needs far less: write the head, then read one response, framed by RFC 9112 section 6. The parser
agrees with h11 on what it accepts and how it frames it (tests/unit/servicenow/test_http1_framing_oracle.py
feeds both the same bytes) and is stricter where the RFCs let a client be (folded lines, control bytes in
values, chunk lines without CRLF, a connection with bytes past the response); anything it refuses is
``httpx.RemoteProtocolError`` and the connection is not reused. Bounds: the head (and the trailers) at most
``max_header_bytes``; the body's own bound is the pool's (``BodyDecoder``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from adapter.servicenow.body_decoding import ResponseTooLarge

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# A field value: visible characters, obs-text, and spaces or tabs inside only (RFC 9110 section 5.5): the
# receiver strips whitespace at either end, so a value sent with it would not be the value read.
_UNSAFE_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]|\A[ \t]|[ \t]\Z")
# A request target as sent: visible ASCII only (RFC 9112 section 3.2; a URL's raw path is percent-encoded
# already), so no space, control or raw non-ASCII byte that a server or proxy could split or re-encode.
_UNSAFE_TARGET = re.compile(rb"[^\x21-\x7e]")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
# A status code is three digits from 100 up (RFC 9110 section 15): "050" is no answer at all.
# A minor version above 1 is read as 1.1, the highest we implement (RFC 9112 section 2.3).
_STATUS_LINE = re.compile(rb"HTTP/1\.([0-9]) ([1-9][0-9]{2})(?: [\t \x21-\x7e\x80-\xff]*)?")
# Possessive quantifiers throughout: a field of spaces that ends in a bad byte fails in linear time, not in
# the quadratic time of backtracking over every split of the spaces.
_FIELD = (
    rb"[!#$%&'*+.^_`|~0-9A-Za-z-]++:[ \t]*+"
    rb"(?:[\x21-\x7e\x80-\xff]++(?:[ \t]++[\x21-\x7e\x80-\xff]++)*+)?+[ \t]*+"
)
# Header lines are checked as one block (one pass in C), then split into fields.
_FIELDS = re.compile(rb"(?:" + _FIELD + rb"\r?\n)*+")
_FIELD_PARTS = re.compile(rb"([^:\r\n]++):[ \t]*+([^\r\n]*+)\r?\n")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")
MAX_CHUNK_LINE = 4_096


def request_bytes(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes | None
) -> bytes:
    """The request as sent: request line, headers, blank line, body.

    ``httpx.LocalProtocolError`` for a method or header name that is not a token, or a target or header value
    that could end a line (nothing reaches the socket then).
    """
    if not _TOKEN.fullmatch(method) or not target or _UNSAFE_TARGET.search(target):
        raise httpx.LocalProtocolError("Illegal request line")
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _UNSAFE_VALUE.search(value):
            raise httpx.LocalProtocolError(f"Illegal header {name!r}")
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    if body:
        parts.append(body)
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """A response's status and headers (names lower-cased, in the order received)."""

    status_code: int
    headers: list[tuple[bytes, bytes]]


_HEAD = 0
_LENGTH = 1
_CHUNK_SIZE_LINE = 2
_CHUNK_DATA = 3
_CHUNK_END = 4
_TRAILERS = 5
_UNTIL_CLOSE = 6
_DONE = 7


class ResponseParser:
    """Reads the response to one request from the bytes fed to it, in order.

    ``feed`` takes what the socket gave (``b""`` at end of stream) and returns the body bytes it completes;
    ``head`` is set once the final (non-1xx) head is in, ``done`` once the whole response is. ``reusable``
    says whether the connection may carry another request afterwards: HTTP/1.1, no ``Connection: close``,
    framed by length or chunks, and nothing sent past the response's end.
    """

    __slots__ = (
        "_buffer",
        "_head_request",
        "_keep_alive",
        "_max_header_bytes",
        "_remaining",
        "_scanned",
        "_state",
        "head",
    )

    def __init__(self, *, head_request: bool, max_header_bytes: int) -> None:
        # What arrived and is not parsed yet; for a head or trailers still open, how much of it holds no end.
        self._buffer = bytearray()
        self._scanned = 0
        self._head_request = head_request
        self._max_header_bytes = max_header_bytes
        self._state = _HEAD
        self._remaining = 0
        self._keep_alive = False
        self.head: ResponseHead | None = None

    @property
    def done(self) -> bool:
        """The whole response is in."""
        return self._state == _DONE

    @property
    def reusable(self) -> bool:
        """The connection may carry the next request."""
        return self._state == _DONE and self._keep_alive and not self._buffer

    def feed(self, data: bytes) -> list[bytes]:
        """Take the next bytes read (``b""``: the peer closed); returns the body bytes they complete.

        ``httpx.RemoteProtocolError`` for a malformed or incomplete response, ``ResponseTooLarge`` for a head
        or trailers over ``max_header_bytes``.
        """
        if not data:
            return self._closed()
        if self._buffer:
            self._buffer += data
            if self._block_open():
                return []
            buffer = bytes(self._buffer)
            self._buffer = bytearray()
        else:
            buffer = data
        out: list[bytes] = []
        while buffer and self._state != _DONE:
            state = self._state
            if state in (_LENGTH, _CHUNK_DATA):
                if len(buffer) <= self._remaining:
                    self._remaining -= len(buffer)
                    out.append(buffer)
                    buffer = b""
                else:
                    out.append(buffer[: self._remaining])
                    buffer = buffer[self._remaining :]
                    self._remaining = 0
                if self._remaining == 0:
                    self._state = _DONE if state == _LENGTH else _CHUNK_END
            elif state == _UNTIL_CLOSE:
                out.append(buffer)
                buffer = b""
            else:
                rest = self._read_head(buffer) if state == _HEAD else self._read_chunk_framing(buffer)
                if rest is None:  # more bytes needed, kept in the buffer
                    return out
                buffer = rest
        self._buffer = bytearray(buffer)
        return out

    def _block_open(self) -> bool:
        """Whether the head or trailers held in the buffer still lack their end: searched from where the last
        search stopped, so that a head trickled in byte by byte costs linear time, not quadratic."""
        buffer = self._buffer
        if self._state not in (_HEAD, _TRAILERS) or (self._state == _TRAILERS and buffer[0] in b"\r\n"):
            return False
        if _HEAD_END.search(buffer, self._scanned) is not None:
            return False
        if len(buffer) > self._max_header_bytes:
            self._too_large("headers" if self._state == _HEAD else "trailers")
        self._scanned = max(0, len(buffer) - 3)
        return True

    def _closed(self) -> list[bytes]:
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
            return []
        if self._state == _DONE:
            return []
        if self._state == _HEAD and not self._buffer and self.head is None:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    def _block_end(self, buffer: bytes, what: str) -> re.Match[bytes] | None:
        """Where the head or the trailers at the start of ``buffer`` end; ``None`` when they do not yet (the
        buffer is kept for more bytes); ``ResponseTooLarge`` when they are over ``max_header_bytes``."""
        end = _HEAD_END.search(buffer)
        if end is None or end.start() > self._max_header_bytes:
            if end is not None or len(buffer) > self._max_header_bytes:
                self._too_large(what)
            self._buffer = bytearray(buffer)
            self._scanned = max(0, len(buffer) - 3)
            return None
        return end

    def _read_head(self, buffer: bytes) -> bytes | None:
        end = self._block_end(buffer, "headers")
        if end is None:
            return None
        block = _lines(buffer, end)
        rest = buffer[end.end() :]
        first_end = block.find(b"\n")
        status = _STATUS_LINE.fullmatch(block[:first_end].removesuffix(b"\r"))
        if status is None:
            raise httpx.RemoteProtocolError("illegal status line")
        code = int(status[2])
        headers = _header_fields(block[first_end + 1 :])
        # Framing fields are checked on every head, also where they frame nothing (1xx, 204, 304, HEAD):
        # a malformed one is a broken or hostile peer either way (RFC 9112 section 6.3), as h11 judged it.
        length, chunked, close = _framing(headers)
        if 100 <= code < 200:
            if code == 101:
                raise httpx.RemoteProtocolError("unexpected protocol switch (101)")
            return rest  # an interim answer: the final one follows
        self.head = ResponseHead(code, headers)
        self._keep_alive = status[1] != b"0" and not close
        if self._head_request or code in (204, 304):
            self._state = _DONE
        elif chunked:
            # Both framings on one answer (RFC 9112 section 6.3): chunks win, the connection is not reused.
            self._keep_alive = self._keep_alive and length is None
            self._state = _CHUNK_SIZE_LINE
        elif length is not None:
            self._remaining = length
            self._state = _LENGTH if self._remaining else _DONE
        else:
            self._keep_alive = False
            self._state = _UNTIL_CLOSE
        return rest

    def _read_chunk_framing(self, buffer: bytes) -> bytes | None:
        if self._state == _TRAILERS:
            if buffer.startswith((b"\r\n", b"\n")):
                self._state = _DONE
                return buffer[2 if buffer[0] == 13 else 1 :]
            end = self._block_end(buffer, "trailers")
            if end is None:
                return None
            _header_fields(_lines(buffer, end))
            self._state = _DONE
            return buffer[end.end() :]
        # Chunk framing lines end in CRLF exactly (RFC 9112 section 7.1), unlike the head's, where a bare LF
        # is tolerated (section 2.2): "abc\r" then "\n" must not pass for a chunk "abc\r\n" that a proxy
        # framed differently.
        if self._state == _CHUNK_END:
            if not buffer.startswith(b"\r\n"):
                if buffer != b"\r":
                    raise httpx.RemoteProtocolError("chunk not followed by CRLF")
                self._buffer = bytearray(buffer)
                return None
            self._state = _CHUNK_SIZE_LINE
            return buffer[2:]
        line_end = buffer.find(b"\n")
        if line_end < 0:
            if len(buffer) > MAX_CHUNK_LINE:
                raise httpx.RemoteProtocolError("chunk header too long")
            self._buffer = bytearray(buffer)
            return None
        if line_end == 0 or buffer[line_end - 1] != 13:
            raise httpx.RemoteProtocolError("chunk header not ended by CRLF")
        line = buffer[: line_end - 1]
        rest = buffer[line_end + 1 :]
        size = _CHUNK_SIZE.fullmatch(line)
        if size is None:
            raise httpx.RemoteProtocolError("illegal chunk header")
        self._remaining = int(size[1], 16)
        self._state = _CHUNK_DATA if self._remaining else _TRAILERS
        return rest

    def _too_large(self, what: str) -> None:
        limit = self._max_header_bytes
        raise ResponseTooLarge(f"The response {what} are larger than {limit} bytes", limit=limit)


def _framing(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, bool, bool]:
    """The head's Content-Length (None without one), whether it is chunked, and whether it says close.

    ``httpx.RemoteProtocolError`` for a transfer coding other than chunked alone, or a Content-Length that is
    not one decimal number (RFC 9112 sections 6.1 and 6.3).
    """
    close = False
    lengths: list[bytes] = []
    codings: list[bytes] = []
    for name, value in headers:
        if name == b"content-length":
            lengths += value.split(b",")
        elif name == b"transfer-encoding":
            codings += value.split(b",")
        elif name == b"connection":
            close = close or any(t.strip().lower() == b"close" for t in value.split(b","))
    if codings and [coding.strip().lower() for coding in codings] != [b"chunked"]:
        raise httpx.RemoteProtocolError("unsupported Transfer-Encoding")
    if not lengths:
        return None, bool(codings), close
    values = {length.strip() for length in lengths}
    length = values.pop()
    if values or not length.isdigit() or len(length) > 18:
        raise httpx.RemoteProtocolError("bad Content-Length")
    return int(length), bool(codings), close


def _lines(buffer: bytes, end: re.Match[bytes]) -> bytes:
    """The block of lines before the blank line ``end`` found, each with its line end (the first of the blank
    line's two)."""
    return buffer[: end.start() + (2 if buffer[end.start()] == 13 else 1)]


def _header_fields(block: bytes) -> list[tuple[bytes, bytes]]:
    """The fields of a block of header lines, each ending in a line end; names lower-cased."""
    if _FIELDS.fullmatch(block) is None:
        # Also a line folded onto the one before (obs-fold), which RFC 9112 lets a client refuse.
        raise httpx.RemoteProtocolError("illegal header line")
    return [(name.lower(), value.rstrip(b" \t")) for name, value in _FIELD_PARTS.findall(block)]
