"""The official response shape and error mapping, from status, Content-Type and body."""

from __future__ import annotations

import json

import pytest

from adapter.servicenow.errors import ApiRequestError
from adapter.servicenow.response import BROKEN_JSON, error_from_response, success_response

JSON = "application/json;charset=UTF-8"


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def test_result_envelope_is_unwrapped_and_type_is_the_raw_content_type() -> None:
    response = success_response(200, JSON, body({"result": [{"number": "CS0001"}]}))
    assert response.to_wire() == {"status": 200, "data": [{"number": "CS0001"}], "type": JSON}


def test_an_empty_result_list_is_still_unwrapped_as_javascript_would() -> None:
    assert success_response(200, JSON, body({"result": []})).to_wire() == {
        "status": 200,
        "data": [],
        "type": JSON,
    }


def test_a_falsy_result_is_not_unwrapped() -> None:
    assert success_response(200, JSON, body({"result": ""})).data == {"result": ""}


def test_no_body_gives_only_the_status() -> None:
    assert success_response(204, None, b"").to_wire() == {"status": 204}
    assert success_response(200, JSON, b"").to_wire() == {"status": 200}


def test_a_json_null_body_gives_only_the_status() -> None:
    assert success_response(200, JSON, b"null").to_wire() == {"status": 200}


def test_text_and_xml_bodies_are_text() -> None:
    assert success_response(200, "text/plain", b"hello").data == "hello"
    assert success_response(200, "application/xml", b"<a/>").data == "<a/>"


def test_binary_bodies_are_base64() -> None:
    response = success_response(200, "application/octet-stream", b"\x00\x01")
    assert response.to_wire() == {"status": 200, "data": "AAE=", "type": "application/octet-stream"}


def test_vendor_json_is_json() -> None:
    assert success_response(200, "application/vnd.api+json", body({"a": 1})).data == {"a": 1}


@pytest.mark.parametrize(
    ("status", "message", "detail"),
    [
        (400, "Invalid table nope", None),
        (401, "User Not Authenticated", "Required to provide Auth information"),
        (403, "Operation Failed", "ACL Exception Update Failed due to security constraints"),
        (404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"),
        (500, "Transaction cancelled: maximum execution time exceeded", None),
    ],
)
def test_instance_errors_carry_status_message_and_detail(
    status: int, message: str, detail: str | None
) -> None:
    error = error_from_response(
        status, JSON, body({"error": {"message": message, "detail": detail}, "status": "failure"})
    )
    assert isinstance(error, ApiRequestError)
    assert (error.status, error.message, error.detail) == (status, message, detail)
    assert error.reason == f"ApiRequestError: {message}"


def test_a_non_json_error_gets_the_official_generic_message() -> None:
    error = error_from_response(503, "text/html", b"<html>Hibernating</html>")
    assert error.to_dict() == {
        "name": "ApiRequestError",
        "message": "Failed to execute API request",
        "status": 503,
    }


def test_a_truncated_json_body_is_an_api_request_error_not_text() -> None:
    with pytest.raises(ApiRequestError) as raised:
        success_response(200, JSON, b'{"result": [{"number": "CS00')
    assert raised.value.message == BROKEN_JSON
    assert raised.value.status == 200


def test_instance_errors_carry_the_whole_json_body_as_data() -> None:
    envelope = {"error": {"message": "No Record found", "detail": "ACL"}, "status": "failure"}
    error = error_from_response(404, JSON, body(envelope))
    assert error.data == envelope
    assert error.to_dict() == {
        "name": "ApiRequestError",
        "message": "No Record found",
        "status": 404,
        "detail": "ACL",
        "data": envelope,
    }
