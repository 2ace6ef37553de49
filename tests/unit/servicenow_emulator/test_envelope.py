"""The instance's JSON envelopes are encoded byte for byte as Starlette's ``JSONResponse`` encodes them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from adapter.emulators.servicenow.envelope import InstanceJSONResponse, result_response

_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@given(_values)
def test_any_answer_made_of_text_numbers_and_structure_encodes_as_starlette_does(value: Any) -> None:
    assert InstanceJSONResponse(value).body == JSONResponse(value).body


def test_record_text_with_control_characters_and_non_ascii_encodes_as_starlette_does() -> None:
    record = {"short_description": 'Tab\there, "quoted" \\ \x01 \u2028 café 😀', "state": "1"}

    assert result_response(record).body == JSONResponse({"result": record}).body


@pytest.mark.parametrize("value", [{1: "non-string key"}, [2**70]], ids=["int-key", "big-int"])
def test_what_orjson_refuses_still_encodes_as_starlette_does(value: Any) -> None:
    assert InstanceJSONResponse(value).body == JSONResponse(value).body


def test_text_that_is_not_utf8_fails_as_it_does_with_starlette() -> None:
    with pytest.raises(UnicodeEncodeError):
        JSONResponse({"a": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        InstanceJSONResponse({"a": "\ud800"})
