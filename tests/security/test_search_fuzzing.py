"""Fuzzing ``servicenow.search`` payloads through node-adapter and the runtime, as the other actions are:
a result or a named error, ``ParameterError`` whenever the model refuses the payload, the adapter stays up.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adapter.bridge.messages import SearchPayload
from tests.conformance.adapter.conftest import App
from tests.reliability.desktop import Desktop
from tests.security.test_payload_fuzzing import FUZZ, app, check, json_values, nasty_text, payloads, stack

__all__ = ["app", "stack"]  # the module's desktop and signed-in app, as for the other actions

search_texts = nasty_text | st.sampled_from(
    ["wire", "wire^active=false", "javascript:gs.sleep(1)", "x\ny", "CS0001", "^", "%5E", "a^^b", "Boxeo"]
)


@FUZZ
@given(
    payload=payloads(
        {
            "query": search_texts,
            "types": st.lists(st.sampled_from(["Contact", "Account", "Case", "Task", "Incident", "", "x"])),
            "limit": st.integers(-5, 60) | json_values,
            "instanceUrl": nasty_text,
        }
    )
)
def test_any_search_payload_gets_a_result_or_a_named_error(stack: Desktop, app: App, payload: Any) -> None:
    check(app, "servicenow.search", SearchPayload, payload)


def test_the_adapter_still_searches_after_the_fuzzing(stack: Desktop, app: App) -> None:
    assert stack.adapter_alive()
    result = app.dispatch("servicenow.search", {"query": "wire", "types": ["Case"]})
    assert result["groups"][0]["hits"]
