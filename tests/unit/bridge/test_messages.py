"""The channel payload models: what apps may send."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapter.bridge.messages import RequestPayload


@pytest.mark.parametrize("method", ["patch", "Post", "PUT", "delete", "get"])
def test_http_method_is_accepted_in_any_case_and_goes_out_upper_case(method: str) -> None:
    payload = RequestPayload.model_validate({"apiEndpoint": "/api/now/table/incident", "httpMethod": method})
    assert payload.httpMethod == method.upper()


@pytest.mark.parametrize("method", ["HEAD", "options", "", 1])
def test_other_methods_are_still_refused(method: object) -> None:
    with pytest.raises(ValidationError):
        RequestPayload.model_validate({"apiEndpoint": "/x", "httpMethod": method})
