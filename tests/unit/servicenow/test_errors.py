"""Error names, default messages and the dict the bridge puts on the bus."""

from __future__ import annotations

from adapter.servicenow.errors import (
    ApiError,
    ApiRequestError,
    AuthorizationError,
    AuthTokenExpiredError,
    NotConnectedError,
    ParameterError,
)


def test_names_are_the_official_class_names() -> None:
    names = [
        cls().name for cls in (ApiRequestError, AuthorizationError, AuthTokenExpiredError, ParameterError)
    ]
    assert names == ["ApiRequestError", "AuthorizationError", "AuthTokenExpiredError", "ParameterError"]
    assert NotConnectedError().name == "NotConnectedError"


def test_default_messages_are_the_official_ones() -> None:
    assert ApiRequestError().message == "An error occurred when executing the API request"
    assert AuthorizationError().message == "An authorization error occurred"
    assert (
        AuthTokenExpiredError().message == "The API request failed as the authorization tokens have expired"
    )
    assert ParameterError().message == "Invalid parameter detected"


def test_to_dict_leaves_out_what_is_unknown() -> None:
    assert ParameterError("Invalid client ID").to_dict() == {
        "name": "ParameterError",
        "message": "Invalid client ID",
    }
    assert ApiRequestError("No Record found", status=404, detail="gone").to_dict() == {
        "name": "ApiRequestError",
        "message": "No Record found",
        "status": 404,
        "detail": "gone",
    }


def test_every_error_is_catchable_as_api_error_and_its_str_is_the_message() -> None:
    error = AuthorizationError("State mismatch")
    assert isinstance(error, ApiError)
    assert str(error) == "State mismatch"
    assert error.reason == "AuthorizationError: State mismatch"
