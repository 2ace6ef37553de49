"""Port discovery without I/O: the frames as docs/deployment.md section 7 lays them out, the exchange."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.openfin.discovery import DiscoveryFrameError, DiscoveryRequest, RuntimeMismatchError
from adapter.openfin.discovery.protocol import (
    HELLO_MESSAGE_TYPE,
    MAX_PAYLOAD_SIZE,
    DiscoveryExchange,
    Frame,
    FrameHeader,
    FrameReader,
    HeaderLayout,
    decode_header,
    decode_string_payload,
    encode_frame,
    encode_header,
    parse_runtime_information,
    rvm_arguments,
    string_frame,
    string_payload,
)

INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
INT16 = st.integers(min_value=-(2**15), max_value=2**15 - 1)
LAYOUTS = st.sampled_from(list(HeaderLayout))
VERSION = "42.103.2.1"


def hello_bytes(layout: HeaderLayout, pid: int = 4242) -> bytes:
    # Built by hand from the documented layout (routing id MSG_ROUTING_NONE = -2, payload = the sender's pid).
    header = struct.pack("<5i", 4, -2, 0xFFFF, 0, 0)
    if layout is HeaderLayout.POSIX:
        header += struct.pack("<2h", 0, 0)
    return header + struct.pack("<i", pid)


def info_bytes(layout: HeaderLayout, payload: dict[str, Any], action: str = "runtime-information") -> bytes:
    text = json.dumps({"action": action, "payload": payload}).encode()
    body = struct.pack("<i", len(text)) + text + b"\0" * (-len(text) % 4)
    header = struct.pack("<5i", len(body), 0, 0, 0, 0)
    if layout is HeaderLayout.POSIX:
        header += struct.pack("<2h", 0, 0)
    return header + body


def runtime_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "version": VERSION,
        "sslPort": -1,
        "port": 9697,
        "options": {"version-keyword": VERSION},
        "requestedVersion": VERSION,
        "runtimeInformationChannel": "ServiceNowAdapter.0011",
        "multiRuntime": False,
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not None}


# ------------------------------------------------------------------------------------------ header layouts


def test_windows_header_is_five_little_endian_int32() -> None:
    header = FrameHeader(payload_size=4, routing_id=-2, message_type=0xFFFF, flags=1, attachment_count=0)
    assert encode_header(header, HeaderLayout.WINDOWS) == bytes.fromhex(
        "04000000 feffffff ffff0000 01000000 00000000"
    )
    assert HeaderLayout.WINDOWS.size == 20


def test_posix_header_adds_num_fds_and_pad_as_int16() -> None:
    header = FrameHeader(payload_size=4, routing_id=-2, message_type=0xFFFF, num_fds=1, pad=0)
    assert encode_header(header, HeaderLayout.POSIX) == bytes.fromhex(
        "04000000 feffffff ffff0000 00000000 00000000 0100 0000"
    )
    assert HeaderLayout.POSIX.size == 24


@pytest.mark.parametrize(
    ("platform", "layout"),
    [("win32", HeaderLayout.WINDOWS), ("linux", HeaderLayout.POSIX), ("darwin", HeaderLayout.POSIX)],
)
def test_header_layout_follows_the_platform(platform: str, layout: HeaderLayout) -> None:
    assert HeaderLayout.for_platform(platform) is layout


@given(
    layout=LAYOUTS,
    size=st.integers(min_value=0, max_value=MAX_PAYLOAD_SIZE),
    routing=INT32,
    kind=INT32,
    flags=INT32,
    attachments=INT32,
    fds=INT16,
    pad=INT16,
)
def test_header_round_trips(
    layout: HeaderLayout, size: int, routing: int, kind: int, flags: int, attachments: int, fds: int, pad: int
) -> None:
    posix = layout is HeaderLayout.POSIX
    header = FrameHeader(size, routing, kind, flags, attachments, fds if posix else 0, pad if posix else 0)
    assert decode_header(encode_header(header, layout), layout) == header


# ------------------------------------------------------------------------------------------ string frames


@given(layout=LAYOUTS, text=st.text())
def test_string_frame_round_trips_through_a_byte_stream(layout: HeaderLayout, text: str) -> None:
    data = encode_frame(string_frame(text), layout)
    reader = FrameReader(layout)
    frames = [frame for byte in data for frame in reader.feed(bytes([byte]))]
    assert len(frames) == 1
    assert frames[0].header.message_type == 0
    assert decode_string_payload(frames[0].payload) == text
    assert reader.pending == 0


@given(text=st.text())
def test_string_payload_is_length_prefixed_and_padded_to_four_bytes(text: str) -> None:
    payload = string_payload(text)
    encoded = text.encode("utf-8")
    assert struct.unpack_from("<i", payload) == (len(encoded),)
    assert payload[4 : 4 + len(encoded)] == encoded
    assert len(payload) % 4 == 0
    assert set(payload[4 + len(encoded) :]) <= {0}


def test_reader_returns_every_frame_of_one_chunk_in_order() -> None:
    layout = HeaderLayout.POSIX
    data = hello_bytes(layout) + info_bytes(layout, runtime_payload())
    frames = FrameReader(layout).feed(data)
    assert [frame.header.message_type for frame in frames] == [HELLO_MESSAGE_TYPE, 0]


def test_encoding_refuses_a_header_that_lies_about_its_payload() -> None:
    with pytest.raises(ValueError, match="payload_size"):
        encode_frame(Frame(FrameHeader(8, 0, 0), b"abc"), HeaderLayout.POSIX)


# ------------------------------------------------------------------------------------------ malformed input


@pytest.mark.parametrize(
    "data",
    [
        struct.pack("<5i", -1, 0, 0, 0, 0) + struct.pack("<2h", 0, 0),
        struct.pack("<5i", MAX_PAYLOAD_SIZE + 1, 0, 0, 0, 0) + struct.pack("<2h", 0, 0),
    ],
    ids=["negative size", "oversized"],
)
def test_impossible_payload_size_is_a_frame_error(data: bytes) -> None:
    with pytest.raises(DiscoveryFrameError, match="payload size"):
        FrameReader(HeaderLayout.POSIX).feed(data)


def test_short_header_is_a_frame_error() -> None:
    with pytest.raises(DiscoveryFrameError, match="needs 20 bytes"):
        decode_header(b"\0" * 19, HeaderLayout.WINDOWS)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"\0\0", "no length"),
        (struct.pack("<i", 9) + b"abcd", "does not fit"),
        (struct.pack("<i", -1) + b"abcd", "does not fit"),
        (struct.pack("<i", 2) + b"\xff\xfe\0\0", "not UTF-8"),
    ],
)
def test_malformed_string_payload_is_a_frame_error(payload: bytes, problem: str) -> None:
    with pytest.raises(DiscoveryFrameError, match=problem):
        decode_string_payload(payload)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"action": "runtime-information"}', "payload is invalid"),
        ('{"action": "runtime-information", "payload": {"version": "1"}}', "port"),
        ('{"action": "runtime-information", "payload": {"port": 70000}}', "port"),
    ],
)
def test_unusable_runtime_information_is_a_frame_error(text: str, problem: str) -> None:
    with pytest.raises(DiscoveryFrameError, match=problem):
        parse_runtime_information(text)


# ------------------------------------------------------------------------------------------ the exchange


@pytest.mark.parametrize("layout", list(HeaderLayout))
def test_hello_is_echoed_byte_for_byte_then_the_port_is_accepted(layout: HeaderLayout) -> None:
    exchange = DiscoveryExchange(DiscoveryRequest(VERSION), layout)
    hello = hello_bytes(layout)
    assert exchange.receive(hello) == hello
    assert exchange.result is None
    assert exchange.receive(info_bytes(layout, runtime_payload())) == b""
    assert exchange.result is not None
    assert exchange.result.port == 9697
    assert exchange.result.requested_version == VERSION


def test_hello_and_answer_in_one_chunk_give_the_echo_and_the_result() -> None:
    layout = HeaderLayout.POSIX
    exchange = DiscoveryExchange(DiscoveryRequest(VERSION), layout)
    assert exchange.receive(hello_bytes(layout) + info_bytes(layout, runtime_payload())) == hello_bytes(
        layout
    )
    assert exchange.result is not None


def test_a_first_frame_other_than_hello_is_refused() -> None:
    layout = HeaderLayout.POSIX
    exchange = DiscoveryExchange(DiscoveryRequest(VERSION), layout)
    with pytest.raises(DiscoveryFrameError, match="expected the hello frame"):
        exchange.receive(info_bytes(layout, runtime_payload()))


def test_a_second_hello_is_refused() -> None:
    layout = HeaderLayout.WINDOWS
    exchange = DiscoveryExchange(DiscoveryRequest(VERSION), layout)
    exchange.receive(hello_bytes(layout))
    with pytest.raises(DiscoveryFrameError, match="expected a string frame"):
        exchange.receive(hello_bytes(layout))


def test_messages_other_than_runtime_information_are_skipped() -> None:
    layout = HeaderLayout.POSIX
    exchange = DiscoveryExchange(DiscoveryRequest(VERSION), layout)
    exchange.receive(hello_bytes(layout))
    exchange.receive(info_bytes(layout, {"anything": 1}, action="something-else"))
    assert exchange.result is None
    exchange.receive(info_bytes(layout, runtime_payload()))
    assert exchange.result is not None


# ------------------------------------------------------------------------------------------ version and realm


@pytest.mark.parametrize(
    ("wanted_realm", "answered"),
    [
        (None, runtime_payload()),
        ("acme", runtime_payload(securityRealm="acme")),
        (None, runtime_payload(securityRealm="")),
    ],
    ids=["no realm on either side", "same realm", "empty realm counts as none"],
)
def test_the_requested_runtime_is_accepted(wanted_realm: str | None, answered: dict[str, Any]) -> None:
    layout = HeaderLayout.POSIX
    exchange = DiscoveryExchange(DiscoveryRequest(VERSION, wanted_realm), layout)
    exchange.receive(hello_bytes(layout) + info_bytes(layout, answered))
    assert exchange.result is not None


@pytest.mark.parametrize(
    ("wanted_realm", "answered"),
    [
        (None, runtime_payload(requestedVersion="41.0.0.1")),
        (None, runtime_payload(requestedVersion=None)),
        (None, runtime_payload(securityRealm="acme")),
        ("acme", runtime_payload()),
        ("acme", runtime_payload(securityRealm="other")),
    ],
    ids=["other version", "no version", "realm not asked for", "realm missing", "other realm"],
)
def test_another_runtime_is_refused(wanted_realm: str | None, answered: dict[str, Any]) -> None:
    layout = HeaderLayout.POSIX
    exchange = DiscoveryExchange(DiscoveryRequest(VERSION, wanted_realm), layout)
    with pytest.raises(RuntimeMismatchError) as refused:
        exchange.receive(hello_bytes(layout) + info_bytes(layout, answered))
    assert refused.value.wanted_version == VERSION
    assert exchange.result is None


# ------------------------------------------------------------------------------------------ manifest and RVM


def test_manifest_names_only_the_runtime_version() -> None:
    assert DiscoveryRequest(VERSION).manifest() == {"runtime": {"version": VERSION, "arguments": ""}}


def test_manifest_carries_the_security_realm_as_a_runtime_argument() -> None:
    manifest = DiscoveryRequest(VERSION, "acme").manifest()
    assert manifest["runtime"]["arguments"] == "--security-realm=acme"


def test_rvm_is_told_the_manifest_and_the_information_channel() -> None:
    assert rvm_arguments("/tmp/m.json", "/tmp/ServiceNowAdapter.1.sock") == [
        "--no-ui",
        "--config=/tmp/m.json",
        "--runtime-arguments=--runtime-information-channel-v6=/tmp/ServiceNowAdapter.1.sock",
    ]
