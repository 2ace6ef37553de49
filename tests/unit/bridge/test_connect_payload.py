"""``servicenow.connect`` payloads whose text no URL can carry are refused by the model (a ParameterError)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adapter.bridge.messages import ConnectPayload


@pytest.mark.parametrize(
    "payload",
    [
        {"authFlowParams": {"prompt": "\ud800"}},
        {"authFlowParams": {"\udc00": "login"}},
        {"scope": ["useraccount", "\ud800"]},
        {"clientId": "\ud800"},
        {"instanceUrl": "https://\ud800.example"},
    ],
)
def test_a_lone_surrogate_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ConnectPayload.model_validate(payload)


def test_other_text_is_kept_as_given() -> None:
    payload = ConnectPayload.model_validate(
        {"clientId": "client-é", "scope": ["useraccount"], "authFlowParams": {"prompt": "login"}}
    )
    assert payload.clientId == "client-é"
    assert payload.authFlowParams == {"prompt": "login"}
