"""Decoding an answer's body as it arrives: every coding, fed in small pieces, stopped at its bound."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from adapter.servicenow.body_decoding import BodyDecoder, ResponseTooLarge

PAYLOAD = b'{"result":[' + b'{"number":"CS0001"},' * 2000 + b"{}]}"


def decode_whole(decoder: BodyDecoder, body: bytes) -> bytes:
    decoder.feed(body)
    return decoder.finish()


def deflated(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(PAYLOAD)),
        ("x-gzip", gzip.compress(PAYLOAD)),
        ("deflate", deflated(PAYLOAD, zlib.MAX_WBITS)),  # zlib-wrapped, as RFC 9110 says
        ("deflate", deflated(PAYLOAD, -zlib.MAX_WBITS)),  # raw, as some servers send it
        ("deflate, gzip", gzip.compress(deflated(PAYLOAD, zlib.MAX_WBITS))),
        ("identity", PAYLOAD),
        (None, PAYLOAD),
    ],
)
def test_the_body_decoder_undoes_every_coding_fed_in_small_pieces(encoding: str | None, body: bytes) -> None:
    decoder = BodyDecoder(encoding, limit=len(PAYLOAD))
    for start in range(0, len(body), 7):
        decoder.feed(body[start : start + 7])
    assert decoder.finish() == PAYLOAD


def test_the_body_decoder_stops_one_byte_past_its_bound() -> None:
    decoder = BodyDecoder("gzip", limit=len(PAYLOAD) - 1)
    with pytest.raises(ResponseTooLarge) as refused:
        decode_whole(decoder, gzip.compress(PAYLOAD))
    assert refused.value.limit == len(PAYLOAD) - 1


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(PAYLOAD)[:-20]),
        ("br", b"\x8b\x00"),
        ("deflate", b"\x78\x9c\xff\xff"),
        (", ".join(["gzip"] * 2000), PAYLOAD),  # would nest 2000 decoders
    ],
)
def test_truncated_garbled_or_unknown_codings_are_decoding_errors(encoding: str, body: bytes) -> None:
    with pytest.raises(httpx.DecodingError):
        decode_whole(BodyDecoder(encoding, limit=1 << 20), body)


def test_an_empty_body_with_a_coding_is_empty() -> None:
    assert BodyDecoder("gzip", limit=10).finish() == b""
