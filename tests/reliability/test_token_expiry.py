"""Token expiry under load, moved along with the instance's clock hook instead of by waiting.

Five apps keep requesting while the access token expires: one refresh serves them all and every app hears
``refreshed``. When the refresh token has expired too, requests fail as ``AuthTokenExpiredError``, every app
hears ``expired``, and a new ``servicenow.connect`` signs in cleanly and work goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.desktop import CASES, Desktop, Fleet, desktop, eventually

ACCESS_LIFESPAN = 1800  # the seeded openfin-demo client's access token lifespan
REFRESH_LIFESPAN = 8_640_000
APPS = [f"expiry-app-{n}" for n in range(5)]
READ = {"apiEndpoint": f"{CASES}?sysparm_limit=1&sysparm_fields=number", "httpMethod": "GET"}
# Distinct reads (by offset): identical ones in flight together share one instance request, and the tests
# count the instance's reads to know how much of the load has been served.
DISTINCT_READS = [
    {"apiEndpoint": f"{CASES}?sysparm_limit=1&sysparm_fields=number&sysparm_offset={n}", "httpMethod": "GET"}
    for n in range(400)
]


@pytest.fixture(scope="module")
def stack() -> Iterator[Desktop]:
    with desktop() as running:
        yield running


@pytest.fixture
def fleet(stack: Desktop) -> Iterator[Fleet]:
    apps = stack.fleet(APPS)
    yield apps
    apps.close()


def token_grants(stack: Desktop) -> int:
    return stack.stats().get("POST /oauth_token.do", 0)


def reads(stack: Desktop) -> int:
    return stack.stats().get(f"GET {CASES}", 0)


def load_while(stack: Desktop, fleet: Fleet, total: int, change: Any) -> dict[str, Any]:
    """Run ``total`` reads over the fleet and call ``change()`` once some of them have been served."""
    outcome: dict[str, Any] = {}
    started = reads(stack)
    worker = threading.Thread(target=lambda: outcome.update(fleet.load(total, DISTINCT_READS, concurrency=4)))
    worker.start()
    try:
        eventually(lambda: reads(stack) - started >= total // 4, "a quarter of the load served")
        change()
    finally:
        worker.join(timeout=120)
    assert not worker.is_alive()
    return outcome


def states_heard(fleet: Fleet) -> dict[str, list[str]]:
    return {
        uuid: [e["data"]["state"] for e in events if e["event"] == "servicenow.connectionChanged"]
        for uuid, events in fleet.events().items()
    }


@pytest.mark.slow
def test_a_token_expiring_mid_load_is_refreshed_once_and_no_request_fails(
    stack: Desktop, fleet: Fleet
) -> None:
    assert all(result["ok"] for result in fleet.connect())
    fleet.events()
    grants = token_grants(stack)
    outcome = load_while(stack, fleet, 400, lambda: stack.advance_clock(ACCESS_LIFESPAN + 60))
    assert outcome == {"sent": 400, "ok": 400, "lost": 0, "errors": {}, "statuses": {"200": 400}}
    assert token_grants(stack) - grants == 1
    heard = states_heard(fleet)
    assert all("refreshed" in heard[uuid] for uuid in APPS), heard


@pytest.mark.slow
def test_a_refused_refresh_mid_load_is_auth_token_expired_for_every_app_and_a_new_connect_recovers(
    stack: Desktop, fleet: Fleet
) -> None:
    assert all(result["ok"] for result in fleet.connect())
    fleet.events()
    grants = token_grants(stack)
    outcome = load_while(
        stack, fleet, 400, lambda: stack.advance_clock(REFRESH_LIFESPAN + ACCESS_LIFESPAN + 60)
    )
    assert token_grants(stack) - grants == 1  # one refused refresh, not one per waiting request
    assert outcome["lost"] == 0
    assert outcome["sent"] == 400
    assert outcome["ok"] + outcome["errors"].get("AuthTokenExpiredError", 0) == 400
    assert outcome["errors"].get("AuthTokenExpiredError", 0) > 0
    heard = states_heard(fleet)
    assert all("expired" in heard[uuid] for uuid in APPS), heard

    logins = stack.stats().get("GET /oauth_auth.do", 0)
    reconnected = fleet.connect()
    assert all(result["ok"] for result in reconnected), reconnected
    assert stack.stats().get("GET /oauth_auth.do", 0) - logins == 1
    again = fleet.load(100, [READ], concurrency=4)
    assert again == {"sent": 100, "ok": 100, "lost": 0, "errors": {}, "statuses": {"200": 100}}
