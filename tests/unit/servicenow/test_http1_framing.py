"""HTTP/1.1 framing without sockets: the request's bytes and the response parser, split any way, and every
malformed or oversized answer refused by name."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.servicenow.body_decoding import ResponseTooLarge
from adapter.servicenow.http1_framing import ResponseParser, request_bytes

LIMIT = 1_024
BODY = b'{"result":{"number":"CS0001"}}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n"


def parse(
    data: bytes, *, pieces: list[int] | None = None, head_request: bool = False, eof: bool = False
) -> tuple[ResponseParser, bytes]:
    parser = ResponseParser(head_request=head_request, max_header_bytes=LIMIT)
    body: list[bytes] = []
    cuts = sorted({cut for cut in (pieces or []) if 0 < cut < len(data)})
    start = 0
    for cut in [*cuts, len(data)]:
        body += parser.feed(data[start:cut])
        start = cut
    if eof:
        body += parser.feed(b"")
    return parser, b"".join(body)


def test_a_response_with_a_length_is_read_whole_and_leaves_the_connection_reusable() -> None:
    parser, body = parse(HEAD + BODY)
    assert parser.done
    assert parser.reusable
    assert parser.head is not None
    assert parser.head.status_code == 200
    assert parser.head.headers == [(b"content-type", b"application/json"), (b"content-length", b"30")]
    assert body == BODY


@given(st.lists(st.integers(min_value=1, max_value=200), max_size=12))
def test_any_split_of_the_bytes_reads_the_same_response(cuts: list[int]) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    parser, body = parse(HEAD + BODY, pieces=cuts)
    assert parser.done
    assert parser.reusable
    assert body == BODY
    parser, body = parse(chunked, pieces=cuts)
    assert parser.done
    assert parser.reusable
    assert body == b"hello, world"


def test_a_head_with_bare_line_feeds_is_read_but_chunk_lines_need_crlf() -> None:
    parser, body = parse(b"HTTP/1.1 200 OK\ntransfer-encoding: chunked\n\n3\r\nabc\r\n0\r\nx: y\n\n")
    assert parser.done
    assert parser.reusable
    assert body == b"abc"


@pytest.mark.parametrize(
    "chunks",
    [
        b"3\nabc\r\n0\r\n\r\n",  # size line ended by LF alone
        b"3\r\nabc\n0\r\n\r\n",  # data ended by LF alone
        b"2\r\n\x00\r\n0\r\n\r\n",  # "\x00\r" then LF: a 2-byte chunk to us, framing error to h11
        b"3\r\nabc\r\n0\n\r\n",
        b"3\r\nabc\rX",
    ],
)
@given(cuts=st.lists(st.integers(min_value=1, max_value=80), max_size=6))
def test_chunk_framing_lines_end_in_crlf_exactly(chunks: bytes, cuts: list[int]) -> None:
    """RFC 9112 section 7.1; a lenient chunk end is how one response's bytes become another's."""
    with pytest.raises(httpx.RemoteProtocolError):
        parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks, pieces=cuts, eof=True)


def test_interim_answers_are_skipped_for_the_final_one() -> None:
    parser, body = parse(b"HTTP/1.1 100 Continue\r\n\r\n" + HEAD + BODY)
    assert parser.head is not None
    assert parser.head.status_code == 200
    assert body == BODY


@pytest.mark.parametrize(
    ("head", "head_request"),
    [
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 30\r\n\r\n", False),
        (b"HTTP/1.1 304 Not Modified\r\n\r\n", False),
        (HEAD, True),
    ],
)
def test_answers_without_a_body_are_done_at_their_head(head: bytes, head_request: bool) -> None:
    parser, body = parse(head, head_request=head_request)
    assert parser.done
    assert parser.reusable
    assert body == b""


def test_an_answer_without_framing_is_read_until_the_server_closes_and_not_reused() -> None:
    parser, body = parse(b"HTTP/1.1 200 OK\r\n\r\n" + BODY)
    assert not parser.done
    assert parser.feed(b"") == []
    assert parser.done
    assert body == BODY
    assert not parser.reusable


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 30\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 30\r\n\r\n",
        # Both framings: the chunks are read, but the connection is not trusted with another request.
        b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n1e\r\n",
    ],
)
def test_connections_the_server_closes_or_frames_twice_are_not_reused(head: bytes) -> None:
    data = head + BODY + (b"\r\n0\r\n\r\n" if b"chunked" in head else b"")
    parser, body = parse(data)
    assert parser.done
    assert body == BODY
    assert not parser.reusable


def test_bytes_after_the_response_make_the_connection_unusable() -> None:
    # Positive control: the same answer alone is reusable.
    assert parse(HEAD + BODY)[0].reusable
    parser, body = parse(HEAD + BODY + b"HTTP/1.1 200 OK\r\n")
    assert parser.done
    assert body == BODY
    assert not parser.reusable


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 050 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n",  # obs-fold
        b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\nContent-Length: 31\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    ],
)
def test_malformed_answers_are_protocol_errors(data: bytes) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        parse(data)


def test_repeated_equal_lengths_are_one_length() -> None:
    parser, body = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 30, 30\r\nContent-Length: 30\r\n\r\n" + BODY)
    assert parser.done
    assert parser.reusable
    assert body == BODY


def test_a_head_over_the_bound_is_refused_before_it_ends() -> None:
    parser = ResponseParser(head_request=False, max_header_bytes=LIMIT)
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    for _ in range(LIMIT // 16 - 2):
        parser.feed(b"X-Filler: 0123\r\n")
    with pytest.raises(ResponseTooLarge) as raised:
        parser.feed(b"X-Filler: 0123\r\n" * 2)
    assert raised.value.limit == LIMIT
    # Positive control: the same head under the bound is read.
    small = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: 0123\r\n" * 10 + b"Content-Length: 0\r\n\r\n"
    assert parse(small)[0].done


def test_trailers_over_the_bound_are_refused() -> None:
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"X-T: 0123456789\r\n" * 100
    with pytest.raises(ResponseTooLarge):
        parse(data)


def test_an_endless_chunk_header_is_refused() -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"x" * 5_000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Server disconnected without sending a response."),
        (HEAD + BODY[:10], "without sending complete message body"),
        (b"HTTP/1.1 200 OK\r\nContent-", "without sending complete message body"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "without sending complete"),
    ],
)
def test_a_close_before_the_end_is_a_protocol_error(data: bytes, message: str) -> None:
    parser = ResponseParser(head_request=False, max_header_bytes=LIMIT)
    if data:
        parser.feed(data)
    with pytest.raises(httpx.RemoteProtocolError, match=message):
        parser.feed(b"")


def test_the_request_is_written_as_one_message() -> None:
    data = request_bytes(b"POST", b"/api/now/table/incident?x=1", [(b"Host", b"h"), (b"A", b"b c")], b"{}")
    assert data == b"POST /api/now/table/incident?x=1 HTTP/1.1\r\nHost: h\r\nA: b c\r\n\r\n{}"


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        (b"GET", b"/api/x HTTP/1.1\r\nX-Injected: 1", []),
        (b"GET", b"/api/x\n", []),
        (b"GET", b"", []),
        (b"GE T", b"/api/x", []),
        (b"GET", b"/api/x", [(b"X-A", b"v\r\nX-Injected: 1")]),
        (b"GET", b"/api/x", [(b"X-A", b"v\nX")]),
        (b"GET", b"/api/x", [(b"X A", b"v")]),
        (b"GET", b"/api/x", [(b"X-A:", b"v")]),
        (b"GET", b"/caf\xc3\xa9", []),  # raw non-ASCII: h11 and RFC 9112 section 3.2 refuse it
        (b"GET", b"/a\xff", []),
        (b"GET", b"/api/x", [(b"X-A", b" v")]),  # whitespace around a value is not part of it
        (b"GET", b"/api/x", [(b"X-A", b"v\t")]),
    ],
)
def test_nothing_that_could_end_a_line_is_written(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    with pytest.raises(httpx.LocalProtocolError):
        request_bytes(method, target, headers, None)


@pytest.mark.parametrize(
    "line",
    [
        b"X-A: a" + b" " * 200_000 + b"\x00",
        b"X-A:" + b" " * 200_000 + b"\x01",
        b"X-A: a" + b" \t" * 100_000 + b"b\x7f",
    ],
)
def test_a_long_field_that_turns_bad_at_its_end_is_refused_without_backtracking(line: bytes) -> None:
    # Backtracking over every split of the spaces would take hours here (the suite's timeout fails it).
    parser = ResponseParser(head_request=False, max_header_bytes=262_144)
    with pytest.raises(httpx.RemoteProtocolError, match="illegal header line"):
        parser.feed(b"HTTP/1.1 200 OK\r\n" + line + b"\r\n\r\n")


def test_a_head_trickled_in_byte_by_byte_is_read() -> None:
    # Each piece is searched from where the last search stopped, so a slow head costs linear time.
    parser = ResponseParser(head_request=False, max_header_bytes=262_144)
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: 0123456789\r\n" * 5_000 + b"Content-Length: 30\r\n\r\n"
    for index in range(len(head)):
        assert parser.feed(head[index : index + 1]) == []
    assert parser.head is not None
    assert len(parser.head.headers) == 5_001
    assert b"".join(parser.feed(BODY)) == BODY
    assert parser.done


@pytest.mark.parametrize(
    ("data", "head_request"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", True),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: abc\r\n\r\n", False),
        (b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: gzip\r\n\r\n", False),
        (b"HTTP/1.1 100 Continue\r\nContent-Length: 1, 2\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: -1\r\n\r\n0\r\n\r\n", False),
    ],
)
def test_malformed_framing_fields_are_refused_even_where_they_frame_nothing(
    data: bytes, head_request: bool
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        parse(data, head_request=head_request)


def test_a_higher_minor_version_is_read_as_http_1_1() -> None:
    """RFC 9112 section 2.3: HTTP/1.2 is processed as the highest 1.x we implement, kept alive like 1.1."""
    parser, body = parse(b"HTTP/1.2 200 OK\r\nContent-Length: 30\r\n\r\n" + BODY)
    assert parser.done
    assert parser.reusable
    assert body == BODY


def test_empty_and_inner_whitespace_values_are_sent() -> None:
    data = request_bytes(b"GET", b"/api/x", [(b"X-Empty", b""), (b"X-A", b"a \tb")], None)
    assert data == b"GET /api/x HTTP/1.1\r\nX-Empty: \r\nX-A: a \tb\r\n\r\n"
