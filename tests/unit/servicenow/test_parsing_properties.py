"""Properties of the pure readers: any redirect or response is handled with a typed outcome, never a crash."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from adapter.servicenow.authorizers.base import code_from_redirect
from adapter.servicenow.errors import ApiRequestError, AuthorizationError
from adapter.servicenow.response import BROKEN_JSON, error_from_response, success_response

REDIRECT = "https://acme.service-now.com/oauth_redirect.do"
params = st.dictionaries(
    st.sampled_from(["code", "state", "error", "x", "error_description"]), st.text(), max_size=5
)


@given(query=params, expected=st.text(min_size=1))
def test_a_code_is_only_ever_returned_for_the_expected_state(query: dict[str, str], expected: str) -> None:
    url = f"{REDIRECT}?{urlencode(query)}"
    try:
        code = code_from_redirect(url, expected)
    except AuthorizationError:
        return
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert parsed["state"] == [expected]
    assert "error" not in parsed
    assert code
    assert code == parsed["code"][0]


content_types = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(
        ["application/json;charset=UTF-8", "text/html; charset=bogus", "application/xml", "image/png"]
    ),
)


@given(status=st.integers(200, 299), content_type=content_types, body=st.binary(max_size=64))
def test_any_success_body_gives_the_official_shape_or_the_broken_json_error(
    status: int, content_type: str | None, body: bytes
) -> None:
    refused: ApiRequestError | None = None
    try:
        wire = success_response(status, content_type, body).to_wire()
    except ApiRequestError as error:
        refused = error
    if refused is not None:
        assert refused.message == BROKEN_JSON
        assert refused.status == status
        assert content_type is not None
        assert "json" in content_type.lower()
        return
    assert wire["status"] == status
    assert set(wire) <= {"status", "data", "type"}


@given(status=st.integers(400, 599), content_type=content_types, body=st.binary(max_size=64))
def test_any_error_body_gives_an_api_request_error(
    status: int, content_type: str | None, body: bytes
) -> None:
    error = error_from_response(status, content_type, body)
    assert isinstance(error, ApiRequestError)
    assert error.status == status
    assert error.message
