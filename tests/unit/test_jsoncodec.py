"""The hot-path JSON codec: orjson's speed without refusing anything the standard library accepted."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter import jsoncodec

# Integers past 64 bits are read as floats, as JavaScript reads them (the test below): here, exact ones only.
exact_integers = st.integers(min_value=-(2**63), max_value=2**64 - 1)
json_values = st.recursive(
    st.none() | st.booleans() | exact_integers | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_whatever_it_writes_reads_back_the_same_and_the_standard_library_agrees(value: object) -> None:
    text = jsoncodec.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert jsoncodec.loads(text) == json.loads(text)
    assert jsoncodec.loads(jsoncodec.dumps_bytes(value)) == jsoncodec.loads(text)


@pytest.mark.parametrize("text", ["-9223372036854775809", "18446744073709551616"])
def test_integers_past_64_bits_are_read_as_floats_as_javascript_reads_them(text: str) -> None:
    assert jsoncodec.loads(text) == float(text)


def test_text_is_written_as_utf8_not_escaped_as_javascript_writes_it() -> None:
    assert jsoncodec.dumps({"name": "Zoë 日本"}) == '{"name":"Zoë 日本"}'


def test_values_orjson_refuses_still_parse_and_encode() -> None:
    assert math.isnan(jsoncodec.loads('{"a": NaN}')["a"])
    assert jsoncodec.dumps({1: "x"}) == '{"1":"x"}'
    assert jsoncodec.dumps({"big": 2**70}) == '{"big":1180591620717411303424}'


def test_a_lone_surrogate_read_from_an_escape_is_written_back_as_an_escape() -> None:
    value = jsoncodec.loads('{"text": "\\ud800 alone"}')
    assert value == {"text": "\ud800 alone"}
    written = jsoncodec.dumps(value)
    assert written == '{"text":"\\ud800 alone"}'
    written.encode("utf-8")  # what a websocket must be able to send
    assert jsoncodec.dumps_bytes(value) == b'{"text":"\\ud800 alone"}'


def test_what_is_not_json_is_a_value_error_and_what_has_no_json_form_a_type_error() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        jsoncodec.loads('{"truncated": [1, 2')
    with pytest.raises(TypeError):
        jsoncodec.dumps({"a": object()})


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [1025, 3000, 100_000])
def test_text_nested_past_the_parser_is_a_nesting_error_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(jsoncodec.NestingError):
        jsoncodec.loads("[" * depth + "]" * depth)
    # Where orjson refuses for another reason (NaN), the standard library's parser is bounded too.
    with pytest.raises(jsoncodec.NestingError):
        jsoncodec.loads("[" * depth + "NaN" + "]" * depth)


def test_values_nested_past_the_encoder_are_a_nesting_error() -> None:
    assert jsoncodec.dumps(_nested(200)) == "[" * 200 + "]" * 200
    with pytest.raises(jsoncodec.NestingError):
        jsoncodec.dumps(_nested(300))
    with pytest.raises(jsoncodec.NestingError):
        jsoncodec.dumps_bytes(_nested(3000))


JSON_TREES = st.recursive(
    st.none() | st.integers() | st.text(alphabet='ab{}[]"\\', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=400)
@given(value=JSON_TREES, limit=st.integers(0, 8))
def test_the_quick_bracket_count_never_clears_a_value_that_is_too_deep(value: Any, limit: int) -> None:
    for text in (jsoncodec.dumps(value), jsoncodec.dumps_bytes(value)):
        if jsoncodec.too_deep(value, limit):
            assert jsoncodec.may_be_too_deep(text, limit)


def test_the_quick_bracket_count_clears_shallow_text_and_flags_deep_text() -> None:
    assert not jsoncodec.may_be_too_deep('{"a": [1, {"b": 2}]}', 3)
    assert jsoncodec.may_be_too_deep(jsoncodec.dumps(_nested(6)), 5)
    assert jsoncodec.may_be_too_deep(b'{"a": "[[[["}', 3)  # brackets in strings count: only ever too many


def test_too_deep_counts_the_outer_container_as_level_one() -> None:
    assert not jsoncodec.too_deep(_nested(5), 5)
    assert jsoncodec.too_deep(_nested(6), 5)
    assert not jsoncodec.too_deep({"a": [1, {"b": "deep text [[[["}]}, 3)
    assert jsoncodec.too_deep({"a": [1, {"b": {}}]}, 3)
    assert not jsoncodec.too_deep("scalar", 0)
    assert jsoncodec.too_deep(_nested(100_000), 64)


def _nested_text(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("depth", [1100, 3000, 100_000])
def test_nesting_too_deep_to_read_is_a_value_error_not_a_recursion_error(depth: int) -> None:
    """orjson stops at 1024 levels and the standard library, taking over, overflows Python's stack: a
    3 000-deep frame ended the runtime connection's reader (issue 13, finding 8)."""
    with pytest.raises(ValueError, match="nested"):
        jsoncodec.loads(_nested_text(depth))


def test_nesting_too_deep_to_write_is_a_value_error_not_a_recursion_error() -> None:
    value: object = 1
    for _ in range(1020):  # readable (orjson reads up to 1024 levels), too deep for either writer
        value = [value]
    with pytest.raises(ValueError, match="nested"):
        jsoncodec.dumps(value)
    with pytest.raises(ValueError, match="nested"):
        jsoncodec.dumps_bytes(value)


def test_deep_but_ordinary_nesting_still_reads_and_writes() -> None:
    """Positive control: the bound is far beyond what any real frame or ServiceNow body uses."""
    text = _nested_text(200)
    assert jsoncodec.loads(jsoncodec.dumps(jsoncodec.loads(text))) == jsoncodec.loads(text)


def test_a_frame_nested_too_deep_is_a_protocol_error() -> None:
    from adapter.openfin.errors import ProtocolError
    from adapter.openfin.frames import parse_frame

    with pytest.raises(ProtocolError, match="not JSON"):
        parse_frame(b'{"action":"process-channel-message","payload":' + _nested_text(3000) + b"}")
    assert parse_frame(b'{"action":"ping","payload":' + _nested_text(50) + b"}").action == "ping"


def test_an_instance_body_nested_too_deep_is_a_named_error() -> None:
    from adapter.servicenow.errors import ApiRequestError
    from adapter.servicenow.response import error_from_response, success_response

    with pytest.raises(ApiRequestError):
        success_response(200, "application/json", _nested_text(3000))
    assert error_from_response(500, "application/json", _nested_text(3000)).status == 500
