"""An answer's body decoded as it arrives (``Content-Encoding``: gzip, deflate, stacked), within a bound.

Pure: bytes in, bytes out, no sockets. The HTTP/1.1 pool (``adapter.servicenow.http1``) feeds it each piece it
reads; a small compressed answer that would inflate past the bound stops at the bound, it is never inflated
whole, and a hostile list of codings cannot nest decoders without limit.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

INFLATE_STEP = 65_536
MAX_CODINGS = 4


class ResponseTooLarge(httpx.RemoteProtocolError):
    """An answer over a bound: headers over ``max_header_bytes`` or a decoded body over
    ``max_response_body``. Reading stops at the bound and the connection is dropped; never worth retrying."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class BodyDecoder:
    """Undoes ``Content-Encoding`` (gzip, deflate, stacked) as the body arrives, holding at most ``limit``
    decoded bytes: a small compressed answer that would inflate past the bound stops at the bound, it is
    never inflated whole. ``httpx.DecodingError`` for an undecodable body, ``ResponseTooLarge`` past it."""

    __slots__ = ("_limit", "_parts", "_size", "_stages", "decodes")

    def __init__(self, encoding: str | None, limit: int) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self._stages: list[_Inflater] = []
        codings = [part.strip().lower() for part in (encoding or "").split(",") if part.strip()]
        if len(codings) > MAX_CODINGS:  # each stage nests a decoder: a hostile list must not nest deep
            raise httpx.DecodingError(f"Undecodable response body: {len(codings)} stacked content codings")
        for coding in reversed(codings):
            if coding in ("gzip", "x-gzip"):
                self._stages.append(_Inflater(16 + zlib.MAX_WBITS))
            elif coding == "deflate":
                self._stages.append(_Inflater(None))
            elif coding != "identity":
                raise httpx.DecodingError(f"Undecodable {encoding} response body: unsupported coding")
        self.decodes = bool(self._stages)

    def feed(self, data: bytes) -> None:
        """Decode one piece of the body as received."""
        self._push(0, data)

    def finish(self) -> bytes:
        """The whole decoded body; ``httpx.DecodingError`` when a compressed stream ended early."""
        for index, stage in enumerate(self._stages):
            for out in stage.flush():
                self._push(index + 1, out)
        return b"".join(self._parts)

    def _push(self, index: int, data: bytes) -> None:
        if index == len(self._stages):
            self._size += len(data)
            if self._size > self._limit:
                raise ResponseTooLarge(
                    f"The response body is larger than {self._limit} bytes", limit=self._limit
                )
            self._parts.append(data)
            return
        for out in self._stages[index].inflate(data):
            self._push(index + 1, out)


class _Inflater:
    """One zlib stage; ``wbits=None`` is ``deflate``, sniffed as zlib-wrapped or raw (servers send both)."""

    __slots__ = ("_fed", "_obj", "_pending")

    def __init__(self, wbits: int | None) -> None:
        self._obj = zlib.decompressobj(wbits) if wbits is not None else None
        self._pending = b""
        self._fed = False

    def inflate(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        self._fed = True
        if self._obj is None:
            data, self._pending = self._pending + data, b""
            if len(data) < 2:
                self._pending = data
                return
            wrapped = (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        try:
            while True:
                # Bounded steps: the output of one call is at most INFLATE_STEP, whatever the ratio. A full
                # step may leave output inside zlib even with all input taken: ask again until it is drained.
                out = self._obj.decompress(data, INFLATE_STEP)
                data = self._obj.unconsumed_tail
                if out:
                    yield out
                if not data and len(out) < INFLATE_STEP:
                    break
        except zlib.error as error:
            raise httpx.DecodingError(f"Undecodable response body: {error}") from None

    def flush(self) -> Iterator[bytes]:
        if not self._fed:  # no body at all (204, HEAD): nothing to decode
            return
        if self._obj is None or not self._obj.eof:
            raise httpx.DecodingError("Undecodable response body: the compressed stream ended early")
        rest = self._obj.flush()
        if rest:
            yield rest
