"""The user's token goes to the REST APIs only (issue 13, finding 12), seen by a node-adapter app.

``servicenow.request`` used to forward any path on the instance with the Bearer token: the token endpoint,
the login page, the legacy processors. Now only paths under ``/api/`` are requested, plus the prefixes the
deployment allows with ``--allow-path``; anything else is a ``ParameterError`` and the instance never hears
of it (its request counts say so).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.adapter.conftest import App, AppError
from tests.reliability.desktop import CASES, Desktop, desktop

ALLOWED_EXTRA = "/sys_attachment.do"

OUTSIDE_THE_APIS = [
    "/oauth_token.do",
    "/oauth_revoke_token.do",
    "/oauth_auth.do?client_id=openfin-demo&response_type=code",
    "/login.do",
    "/xmlhttp.do",
    "/sys_user_list.do?JSONv2",
    "/__emulator/tokens",
    "/api%2F..%2Foauth_token.do",
    "/api/..;/oauth_token.do",
    "/api/%2e%2e;x/login.do",
    "/API/now/table/sys_user",
    "/apis/now/table/sys_user",
]


@pytest.fixture(scope="module")
def stack() -> Iterator[Desktop]:
    with desktop("--allow-path", ALLOWED_EXTRA) as running:
        yield running


@pytest.fixture(scope="module")
def app(stack: Desktop) -> App:
    crm = stack.app("paths-crm")
    crm.connect()
    return crm


def served_outside_the_apis(stack: Desktop) -> int:
    """Requests the instance served on paths other than the REST APIs, sign-in and the allowed prefix."""
    return sum(
        count
        for key, count in stack.stats().items()
        if not key.split(" ", 1)[1].startswith(("/api/", "/oauth_", ALLOWED_EXTRA))
    )


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", OUTSIDE_THE_APIS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_paths_outside_the_rest_apis_are_refused_before_any_io(
    stack: Desktop, app: App, endpoint: str, method: str
) -> None:
    before = served_outside_the_apis(stack)
    with pytest.raises(AppError) as refused:
        app.request(endpoint, method, **({"data": {"grant_type": "password"}} if method == "POST" else {}))
    assert refused.value.reason.startswith("ParameterError: Invalid API endpoint: ")
    # Counted outside /api/ only: the change poller reads the Table API meanwhile.
    assert served_outside_the_apis(stack) == before


@pytest.mark.slow
def test_the_rest_apis_and_the_allowed_prefix_are_reached(stack: Desktop, app: App) -> None:
    """Positive control: the same app reaches the REST APIs and the prefix the deployment allowed."""
    assert app.request(f"{CASES}?sysparm_limit=1")["status"] == 200
    before = stack.stats().get(f"GET {ALLOWED_EXTRA}", 0)
    with pytest.raises(AppError) as answered:  # the emulator has no such page: it answers 404 itself
        app.request(f"{ALLOWED_EXTRA}?sys_id=0123456789abcdef0123456789abcdef")
    assert answered.value.name == "ApiRequestError"
    assert stack.stats().get(f"GET {ALLOWED_EXTRA}", 0) == before + 1
