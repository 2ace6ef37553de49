"""The client library's additions over the real adapter: events, status(), configure({fin})."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.adapter.conftest import CLIENT_ID, AdapterStack, adapter_stack
from tests.conformance.node_support import run_node


@pytest.fixture(scope="module")
def desktop() -> Iterator[AdapterStack]:
    with adapter_stack() as stack:
        yield stack


def test_events_and_status_reach_an_app_through_the_library(desktop: AdapterStack) -> None:
    result = run_node(
        "dropin/library_extras.mjs",
        {
            "address": desktop.runtime,
            "uuid": "library-extras",
            "instanceUrl": desktop.instance,
            "clientId": CLIENT_ID,
        },
        timeout=120.0,
    )

    # Outside OpenFin, without configure({fin}), the library says so with its own error class.
    assert result["withoutFin"] == {"name": "InitializationError", "isApiError": True}
    assert result["user"] == "beth.anglin"
    (connection,) = result["status"]["connections"]
    assert (connection["state"], connection["currentUser"], connection["apps"]) == (
        "connected",
        "beth.anglin",
        1,
    )
    assert "sn_customerservice_case" in result["status"]["watching"]
    assert result["event"] == {
        **result["posted"],
        "table": "sn_customerservice_case",
        "contextType": "servicenow.case",
    }
    assert result["states"][0] == "connected"
    assert result["gone"]["state"] == "disconnected"
    assert result["gone"]["instanceUrl"] == desktop.instance
