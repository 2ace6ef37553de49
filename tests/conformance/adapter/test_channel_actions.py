"""The servicenow.* channel as node-adapter apps see it, through the runtime emulator, on the instance."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.conformance.adapter.conftest import CLIENT_ID, AdapterStack, AppError, adapter_stack

CASES = "/api/now/table/sn_customerservice_case"


def auth_requests(stats: dict[str, int]) -> int:
    return stats.get("GET /oauth_auth.do", 0)


def token_requests(stats: dict[str, int]) -> int:
    return stats.get("POST /oauth_token.do", 0)


def test_two_apps_connecting_at_once_cause_exactly_one_authorization(apps: AdapterStack) -> None:
    first, second = apps.app("crm-a"), apps.app("crm-b")
    before = apps.stats()
    results: dict[str, dict[str, Any]] = {}

    def connect(app: Any) -> None:
        results[app.uuid] = app.connect()

    threads = [threading.Thread(target=connect, args=(app,)) for app in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    after = apps.stats()
    assert auth_requests(after) - auth_requests(before) == 1
    assert token_requests(after) - token_requests(before) == 1
    assert {r["currentUser"]["user_name"] for r in results.values()} == {"beth.anglin"}
    assert sorted(r["shared"] for r in results.values()) == [False, True]
    assert max(r["apps"] for r in results.values()) == 2
    assert all(r["clientId"] == CLIENT_ID and r["instanceUrl"] == apps.instance for r in results.values())


def test_a_later_app_reuses_the_login_at_once(apps: AdapterStack) -> None:
    apps.app("first-in").connect()
    before = apps.stats()
    later = apps.app("later").connect()
    assert later["shared"] is True
    assert later["apps"] == 2
    assert auth_requests(apps.stats()) == auth_requests(before)


def test_requests_of_every_method_return_the_official_response_shape(apps: AdapterStack) -> None:
    app = apps.app("crm-methods")
    app.connect()
    listed = app.request(f"{CASES}?sysparm_limit=2&sysparm_fields=number,state")
    assert listed["status"] == 200
    assert listed["type"].startswith("application/json")
    assert len(listed["data"]) == 2
    assert set(listed["data"][0]) == {"number", "state"}

    created = app.request(CASES, "POST", data={"short_description": "Printer on fire"})
    assert created["status"] == 201
    sys_id = created["data"]["sys_id"]
    assert created["data"]["number"].startswith("CS")

    patched = app.request(f"{CASES}/{sys_id}", "PATCH", data={"state": "10"})
    assert patched["status"] == 200
    assert patched["data"]["state"] == "10"
    put = app.request(f"{CASES}/{sys_id}", "PUT", data={"priority": "2"})
    assert put["data"]["priority"] == "2"

    quiet = app.request(f"{CASES}/{sys_id}", "PATCH", data={"state": "18"}, suppressResponseBody=True)
    assert "data" not in quiet
    deleted = app.request(f"{CASES}/{sys_id}", "DELETE")
    assert deleted == {"status": 204}


def test_errors_reach_apps_by_name_with_the_instance_message(apps: AdapterStack) -> None:
    app = apps.app("crm-errors")
    with pytest.raises(AppError) as before_connect:
        app.request(CASES)
    assert before_connect.value.name == "NotConnectedError"
    assert before_connect.value.reason.startswith("NotConnectedError: ")

    app.connect()
    with pytest.raises(AppError) as missing:
        app.request(f"{CASES}/{'0' * 32}")
    assert missing.value.name == "ApiRequestError"
    assert missing.value.reason == "ApiRequestError: No Record found"

    with pytest.raises(AppError) as absolute:
        app.request("https://attacker.example/steal")
    assert absolute.value.name == "ParameterError"

    with pytest.raises(AppError) as malformed:
        app.dispatch("servicenow.request", {"apiEndpoint": CASES, "httpMethod": "BREW"})
    assert malformed.value.name == "ParameterError"
    assert "httpMethod" in malformed.value.reason


def test_disconnect_releases_shares_and_the_last_one_revokes_the_tokens(apps: AdapterStack) -> None:
    first, second = apps.app("share-1"), apps.app("share-2")
    first.connect()
    second.connect()
    assert apps.live_tokens()["access"]
    assert first.dispatch("servicenow.disconnect") == {"disconnected": True, "apps": 1, "revoked": False}
    assert apps.live_tokens()["access"], "one app still shares the login"
    assert second.dispatch("servicenow.disconnect") == {"disconnected": True, "apps": 0, "revoked": True}
    assert apps.live_tokens() == {"access": [], "refresh": []}
    with pytest.raises(AppError) as after:
        second.request(CASES)
    assert after.value.name == "NotConnectedError"


def test_closing_an_app_window_releases_its_share(apps: AdapterStack) -> None:
    stays, leaves = apps.app("stays"), apps.app("leaves")
    stays.connect()
    assert leaves.connect()["apps"] == 2
    leaves.close()
    deadline_checks = 100
    status: dict[str, Any] = {}
    for _ in range(deadline_checks):
        status = stays.dispatch("servicenow.status")
        if status["connections"][0]["apps"] == 1:
            break
    assert status["connections"][0]["apps"] == 1


def test_status_shows_the_connection_but_never_a_token(apps: AdapterStack) -> None:
    app = apps.app("status-app")
    app.connect()
    status = app.dispatch("servicenow.status")
    (connection,) = status["connections"]
    assert connection["state"] == "connected"
    assert connection["currentUser"] == "beth.anglin"
    assert connection["apps"] == 1
    assert status["watching"] == ["sn_customerservice_case"]
    text = repr(status)
    for token in apps.live_tokens()["access"] + apps.live_tokens()["refresh"]:
        assert token not in text


def test_an_app_outside_the_allow_list_is_refused() -> None:
    with adapter_stack("built-in", "--allow-app", "trusted-crm") as stack:
        refused = stack.refused_app("rogue-app")
        assert "AccessDeniedError" in refused["message"]
        trusted = stack.app("trusted-crm")
        assert trusted.connect()["currentUser"]["user_name"] == "beth.anglin"
