"""A hostile or broken instance, and a network that cuts answers into pieces, against a real connection over
the real pool: what the app gets is a result, or a named error within the request's deadline.

Covers issue 13's findings 7 (bodies bounded, decompression streamed and stopped at the bound), 9 (the
deadline includes the attempt in flight) and 12 (only the REST APIs get the token), and issue 14's long
headers and URLs.
"""

from __future__ import annotations

import asyncio
import tracemalloc
import zlib

import httpx
import pytest

from adapter.servicenow.connection import ConnectionOptions
from adapter.servicenow.errors import ApiRequestError, ParameterError
from adapter.servicenow.http1 import PoolLimits
from adapter.servicenow.retry import RetryPolicy
from tests.support.scripted_instance import (
    Request,
    connected,
    json_response,
    response,
    scripted_instance,
)

RECORD = "/api/now/table/sn_customerservice_case/0123456789abcdef0123456789abcdef"
SHORT = ConnectionOptions(
    timeout=httpx.Timeout(3.0, connect=3.0), retry=RetryPolicy(base_delay=0.01, max_delay=0.01)
)


async def answer_ok(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(json_response(200, {"result": {"target_length": len(request.target)}}))


# ----- headers ---------------------------------------------------------------------------------------------


async def test_200_kib_of_headers_in_4_kib_pieces_is_a_normal_answer() -> None:
    """The Table API's Link header repeats the request URL; a long query makes it larger than 16 KiB."""
    link = "<https://x/api/now/table/case?sysparm_query=sys_idIN" + "0123456789abcdef" * 256 + ">"
    headers = b"".join(f"Link: {link};rel=next\r\n".encode() for _ in range(50))
    assert len(headers) > 200 * 1024
    body = b'{"result":{"ok":true}}'
    whole = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + headers
        + b"\r\n"
        + body
    )

    async def in_pieces(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for start in range(0, len(whole), 4096):
            writer.write(whole[start : start + 4096])
            await writer.drain()

    async with scripted_instance(in_pieces) as instance:
        connection = await connected(instance, options=SHORT)
        answer = await connection.execute(RECORD)
        assert answer.status == 200
        assert answer.data == {"ok": True}
        assert len(instance.api_requests()) == 1  # sent once, not four times
        await connection.close()


async def test_headers_sent_forever_are_a_named_error_sent_once() -> None:
    async def endless_headers(
        request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        while True:
            writer.write(b"X-Filler: " + b"a" * 4000 + b"\r\n")
            await writer.drain()

    async with scripted_instance(endless_headers) as instance:
        connection = await connected(instance, options=SHORT)
        with pytest.raises(ApiRequestError, match="response headers are larger than 262144 bytes"):
            await connection.execute(RECORD)
        assert len(instance.api_requests()) == 1  # not worth retrying: the next answer would be the same
        await connection.close()


# ----- bodies ----------------------------------------------------------------------------------------------


def gzip_bomb(inflated: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [packer.compress(block) for _ in range(inflated // len(block))]
    return b"".join([*parts, packer.flush()])


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
BOMB_SIZE = 64 * 1024 * 1024
BOMB = gzip_bomb(BOMB_SIZE)


def bomb_answer(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(
        response(200, BOMB, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    )


async def peak_memory_of(limit: int) -> tuple[int, BaseException | None]:
    async def serve(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bomb_answer(request, reader, writer)

    async with scripted_instance(serve) as instance:
        connection = await connected(instance, options=SHORT, limits=PoolLimits(max_response_body=limit))
        tracemalloc.start()
        tracemalloc.reset_peak()
        failure: BaseException | None = None
        try:
            await connection.execute(RECORD)
        except ApiRequestError as error:
            failure = error
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        await connection.close()
    return peak, failure


async def test_a_gzip_answer_inflating_past_the_bound_stops_at_the_bound() -> None:
    assert len(BOMB) < 100 * 1024  # 64 MiB of JSON-looking zeros arrives as well under 100 KiB
    peak, failure = await peak_memory_of(1024 * 1024)
    assert isinstance(failure, ApiRequestError)
    assert "larger than 1048576 bytes" in failure.message
    assert peak < 8 * 1024 * 1024
    # Positive control: with a bound above it, the same answer is inflated (and held) whole.
    control_peak, control_failure = await peak_memory_of(2 * BOMB_SIZE)
    assert isinstance(control_failure, ApiRequestError)  # zeros are not JSON
    assert control_peak > BOMB_SIZE


async def test_a_body_sent_forever_is_a_named_error_at_the_bound() -> None:
    async def endless_body(
        request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"[" * 65536
        while True:
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()

    async with scripted_instance(endless_body) as instance:
        connection = await connected(
            instance, options=SHORT, limits=PoolLimits(max_response_body=4 * 1024 * 1024)
        )
        with pytest.raises(ApiRequestError, match="larger than 4194304 bytes") as refused:
            await connection.execute(RECORD)
        assert refused.value.detail == {"limit": 4 * 1024 * 1024}
        assert len(instance.api_requests()) == 1
        await connection.close()


async def test_a_body_trickling_forever_is_a_named_error_at_the_deadline() -> None:
    async def trickle(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        while True:
            writer.write(b"1\r\n \r\n")
            await writer.drain()
            await asyncio.sleep(0.05)  # the subject: a body that keeps trickling past the deadline

    options = ConnectionOptions(
        timeout=httpx.Timeout(1.0, connect=1.0), retry=RetryPolicy(base_delay=0.01, max_delay=0.01)
    )
    async with scripted_instance(trickle) as instance:
        connection = await connected(instance, options=options)
        with pytest.raises(ApiRequestError, match=r"^Timed out"):
            await connection.execute(RECORD)
        await connection.close()


async def test_a_request_body_over_the_bound_is_refused_before_any_io() -> None:
    async with scripted_instance(answer_ok) as instance:
        options = ConnectionOptions(max_request_body=1024)
        connection = await connected(instance, options=options)
        with pytest.raises(ParameterError, match="over the limit of 1024 bytes"):
            await connection.execute("/api/now/table/incident", "POST", {"text": "x" * 2000})
        assert instance.api_requests() == []
        # Positive control: within the bound it goes out.
        await connection.execute("/api/now/table/incident", "POST", {"text": "x" * 500})
        assert len(instance.api_requests()) == 1
        await connection.close()


# ----- deadline --------------------------------------------------------------------------------------------


async def test_the_deadline_includes_the_attempt_in_flight() -> None:
    """A 503 that comes late: the retry it earns is cut off at the deadline and the 503 is reported."""
    answered: list[str] = []
    abandoned = asyncio.Event()

    async def late_503(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            # The answer comes after 70 % of the deadline; a second attempt cannot finish within it.
            await asyncio.wait_for(reader.read(1), timeout=1.4)
        except TimeoutError:
            writer.write(json_response(503, {"error": {"message": "Instance busy", "detail": ""}}))
            answered.append(request.target)
            return
        abandoned.set()  # the client hung up before the answer

    options = ConnectionOptions(
        timeout=httpx.Timeout(2.0, connect=2.0),
        retry=RetryPolicy(deadline=2.0, base_delay=0.01, max_delay=0.01),
    )
    async with scripted_instance(late_503) as instance:
        connection = await connected(instance, options=options)
        with pytest.raises(ApiRequestError) as refused:
            await connection.execute(RECORD)
        assert refused.value.status == 503
        assert refused.value.message == "Instance busy"
        await asyncio.wait_for(abandoned.wait(), timeout=5)
        assert len(answered) == 1  # the second attempt was given up, not waited for
        assert len(instance.api_requests()) == 2
        await connection.close()


# ----- paths and URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "/oauth_token.do",
        "/sys_user.do?sysparm_query=active=true",
        "/login.do",
        "/xmlhttp.do",
        "/api%2F..%2Foauth_token.do",
        "/API/now/table/incident",
    ],
)
async def test_only_the_rest_apis_get_the_token(endpoint: str) -> None:
    async with scripted_instance(answer_ok) as instance:
        connection = await connected(instance, options=SHORT)
        with pytest.raises(ParameterError, match="Invalid API endpoint"):
            await connection.execute(endpoint)
        assert instance.api_requests() == []
        await connection.execute(RECORD)  # positive control
        assert len(instance.api_requests()) == 1
        await connection.close()


async def test_a_deployment_can_allow_another_path() -> None:
    async with scripted_instance(answer_ok) as instance:
        options = ConnectionOptions(allowed_paths=("/api/", "/sys_attachment.do"))
        connection = await connected(instance, options=options)
        await connection.execute("/sys_attachment.do?sys_id=0123456789abcdef0123456789abcdef")
        (request,) = instance.api_requests()
        assert request.target.startswith("/sys_attachment.do?")
        assert request.headers["authorization"] == "Bearer scripted-access-token"
        await connection.close()


async def test_a_url_as_long_as_the_official_package_sends_goes_out_whole() -> None:
    ids = ",".join(f"{n:032x}" for n in range(700))
    endpoint = f"/api/now/table/sn_customerservice_case?sysparm_query=sys_idIN{ids}"
    assert len(endpoint) > 19_882
    async with scripted_instance(answer_ok) as instance:
        connection = await connected(instance, options=SHORT)
        answer = await connection.execute(endpoint)
        assert answer.data == {"target_length": len(endpoint)}
        await connection.close()
