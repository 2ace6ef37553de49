"""Request and response bodies are bounded (issue 13, finding 7, HTTP part), seen by a node-adapter app.

With small bounds set on the real adapter process, an answer over ``--max-response-body`` is an
``ApiRequestError`` naming the bound (read up to it, never retried) and a body over ``--max-request-body``
is a ``ParameterError`` the instance never sees; answers and bodies within the bounds go through, and the
adapter keeps serving. The streamed decompression and the gzip-bomb memory figure are shown at the
connection in ``reliability/test_http_bounds.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.adapter.conftest import App, AppError
from tests.reliability.desktop import CASES, Desktop, desktop

MAX_RESPONSE = 16 * 1024
MAX_REQUEST = 2 * 1024


@pytest.fixture(scope="module")
def stack() -> Iterator[Desktop]:
    with desktop("--max-response-body", str(MAX_RESPONSE), "--max-request-body", str(MAX_REQUEST)) as running:
        yield running


@pytest.fixture(scope="module")
def app(stack: Desktop) -> App:
    crm = stack.app("bounds-crm")
    crm.connect()
    return crm


# The versioned path of the same table: the change poller reads the unversioned one, so the counts here are
# this test's alone.
V2_CASES = CASES.replace("/api/now/table/", "/api/now/v2/table/")


@pytest.mark.slow
def test_an_answer_over_the_bound_is_a_named_error_read_once(stack: Desktop, app: App) -> None:
    before = stack.stats().get(f"GET {V2_CASES}", 0)
    with pytest.raises(AppError) as refused:
        app.request(f"{V2_CASES}?sysparm_limit=200")
    assert refused.value.name == "ApiRequestError"
    assert refused.value.reason == f"ApiRequestError: The response body is larger than {MAX_RESPONSE} bytes"
    assert stack.stats().get(f"GET {V2_CASES}", 0) == before + 1  # not retried: it would be as large again
    # Positive control: one case fits, and the adapter is still serving.
    assert app.request(f"{V2_CASES}?sysparm_limit=1")["status"] == 200
    assert stack.stats().get(f"GET {V2_CASES}", 0) == before + 2
    assert stack.adapter_alive()


@pytest.mark.slow
def test_a_request_body_over_the_bound_never_reaches_the_instance(stack: Desktop, app: App) -> None:
    before = stack.stats().get(f"POST {CASES}", 0)
    with pytest.raises(AppError) as refused:
        app.request(CASES, "POST", data={"short_description": "x" * (MAX_REQUEST + 1)})
    assert refused.value.name == "ParameterError"
    assert f"over the limit of {MAX_REQUEST} bytes" in refused.value.reason
    assert stack.stats().get(f"POST {CASES}", 0) == before
    created = app.request(CASES, "POST", data={"short_description": "within the bound"})
    assert created["status"] == 201
    assert stack.stats().get(f"POST {CASES}", 0) == before + 1
