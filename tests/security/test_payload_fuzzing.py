"""Fuzzing every channel action's payload, sent by a node-adapter app through the runtime to the adapter.

Whatever an app sends, the reply is a result or one of the channel API's named errors (the reason alone
naming it); a payload the action's model refuses is a ``ParameterError`` (the handler never ran), and the
adapter process stays up and keeps serving.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from adapter.bridge.messages import ConnectPayload, DisconnectPayload, RequestPayload, StatusPayload
from tests.conformance.adapter.conftest import App, AppError
from tests.reliability.desktop import CASES, Desktop, desktop

TYPED_ERRORS = {
    "ParameterError",
    "NotConnectedError",
    "ApiRequestError",
    "AuthorizationError",
    "AuthTokenExpiredError",
    "AccessDeniedError",
}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
# Strings apps really get wrong: control characters, CR/LF, lone surrogates, huge and empty values.
nasty_text = (
    st.sampled_from(
        ["", " ", "\r\nX-Injected: 1", "\x00", "\ud800", "\u202e", "é" * 3, "a" * 10_000, "%0d%0a", "../" * 8]
    )
    | st.text()
)
endpoints = (
    nasty_text
    | st.sampled_from(
        [CASES, f"{CASES}?sysparm_limit=1", "api/now/table/sys_user", "/", "//", "/\\", "/%2e%2e/"]
    )
    | st.builds(lambda tail: f"{CASES}{tail}", st.text(max_size=20))
)


def payloads(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Dicts with some of the model's keys (plausible or arbitrary values) and perhaps unknown ones, or
    anything else at all."""
    keyed = st.fixed_dictionaries(
        {}, optional={name: values | json_values for name, values in fields.items()}
    )
    with_extra = st.builds(
        lambda known, extra: {**extra, **known}, keyed, st.dictionaries(st.text(), json_values)
    )
    return keyed | with_extra | json_values


@pytest.fixture(scope="module")
def stack() -> Iterator[Desktop]:
    with desktop() as running:
        yield running


@pytest.fixture(scope="module")
def app(stack: Desktop) -> App:
    fuzzer = stack.app("payload-fuzzer")
    fuzzer.connect()
    return fuzzer


def check(app: App, action: str, model: type[BaseModel], payload: Any) -> None:
    payload = payload or {}  # what the App driver sends for a falsy payload
    try:
        model.model_validate({} if payload is None else payload)
        valid = True
    except ValidationError:
        valid = False
    refused: AppError | None = None
    try:
        app.dispatch(action, payload)
    except AppError as error:
        refused = error
    if refused is None:
        assert valid, f"{action} accepted a payload its model refuses: {payload!r}"
        return
    assert refused.name in TYPED_ERRORS, refused.error
    assert refused.reason.startswith(f"{refused.name}: "), refused.reason
    if not valid:
        assert refused.name == "ParameterError", refused.error


@FUZZ
@given(
    payload=payloads(
        {
            "apiEndpoint": endpoints,
            "httpMethod": st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "get", "TRACE", ""]),
            "data": json_values,
            "suppressResponseBody": st.booleans(),
            "headers": st.dictionaries(nasty_text, nasty_text, max_size=3),
            "instanceUrl": nasty_text,
        }
    )
)
def test_any_request_payload_gets_a_result_or_a_named_error(stack: Desktop, app: App, payload: Any) -> None:
    check(app, "servicenow.request", RequestPayload, payload)


@FUZZ
@given(
    payload=payloads(
        {
            # No "//" in generated URLs: a fuzzed instance must not send the adapter onto the network.
            "instanceUrl": nasty_text.filter(lambda text: "//" not in text),
            "clientId": nasty_text,
            "scope": st.lists(nasty_text, max_size=3),
            "authFlowParams": st.dictionaries(nasty_text, nasty_text, max_size=3),
            "interactive": st.booleans(),
        }
    )
)
def test_any_connect_payload_gets_a_result_or_a_named_error(stack: Desktop, app: App, payload: Any) -> None:
    check(app, "servicenow.connect", ConnectPayload, payload)


@FUZZ
@given(payload=payloads({"instanceUrl": nasty_text}))
def test_any_disconnect_or_status_payload_gets_a_result_or_a_named_error(
    stack: Desktop, app: App, payload: Any
) -> None:
    check(app, "servicenow.status", StatusPayload, payload)
    if isinstance(payload, dict) and "instanceUrl" in payload:
        check(app, "servicenow.disconnect", DisconnectPayload, payload)


@FUZZ
@given(action=nasty_text, payload=json_values)
def test_unknown_actions_are_refused_by_name(stack: Desktop, app: App, action: str, payload: Any) -> None:
    if action.startswith("servicenow."):
        return
    with pytest.raises(AppError) as refused:
        app.dispatch(action, payload)
    # Ours: the runtime's default-action wording. An empty name never gets past the runtime.
    assert refused.value.reason.startswith(
        ("No action registered at target for", "Invalid payload: bad or missing action")
    ), refused.value.error


def test_the_adapter_is_still_up_and_serving_after_the_fuzzing(stack: Desktop, app: App) -> None:
    assert stack.adapter_alive()
    app.connect()
    assert app.request(f"{CASES}?sysparm_limit=1")["status"] == 200
