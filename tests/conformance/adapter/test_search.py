"""``servicenow.search`` over the channel, from node-adapter apps, against the ServiceNow emulator."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from tests.conformance.adapter.conftest import WAIT, AdapterStack, App, AppError, adapter_stack
from tests.support.waiting import eventually_blocking

CASES = "/api/now/table/sn_customerservice_case"
ACCOUNTS = "/api/now/table/customer_account"
DEFAULT_TYPES = ["Contact", "Account", "Case", "Task", "Incident"]
_later_ids = itertools.count(10_000)


def search(app: App, query: str, **payload: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.dispatch("servicenow.search", {"query": query, **payload})
    return result


def group(result: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(g for g in result["groups"] if g["type"] == name)
    return found


def requests_to(stack: AdapterStack, path: str) -> int:
    return stack.stats().get(f"GET {path}", 0)


def test_every_default_type_is_searched_in_order_and_a_forbidden_type_reports_its_own_error(
    apps: AdapterStack,
) -> None:
    app = apps.app("search-types")
    app.connect()
    result = search(app, "wire")
    assert [g["type"] for g in result["groups"]] == DEFAULT_TYPES
    assert result["instanceUrl"] == apps.instance
    cases = group(result, "Case")
    assert cases["error"] is None
    assert cases["hits"]
    for hit in cases["hits"]:
        assert "wire" in (hit["title"] + hit["label"]).lower()
        assert hit["label"].startswith("Case CS")
        assert hit["url"] == f"{apps.instance}/{hit['table']}.do?sys_id={hit['sysId']}"
        assert {field["label"] for field in hit["fields"]} <= {
            "Assigned To", "Account", "Description", "State", "Priority", "Approval", "Updated On"
        }  # fmt: skip
    # beth.anglin is a customer service agent, not itil: the instance refuses incidents, the rest still come.
    incidents = group(result, "Incident")
    assert incidents["hits"] == []
    assert incidents["error"]["name"] == "ApiRequestError"
    assert incidents["error"]["status"] == 403


def test_a_contact_card_carries_its_phone_and_email(apps: AdapterStack) -> None:
    app = apps.app("search-contact")
    app.connect()
    contact = app.request("/api/now/table/customer_contact?sysparm_limit=1&sysparm_fields=name,phone,email")
    wanted = contact["data"][0]
    found = group(search(app, wanted["name"], types=["Contact"]), "Contact")["hits"]
    first = found[0]
    assert first["title"] == wanted["name"]
    assert first["score"] == 3
    assert first["phone"] == wanted["phone"]
    assert first["email"] == wanted["email"]
    assert {"Phone", "E-mail"} <= {field["label"] for field in first["fields"]}


def test_results_are_ranked_by_match_quality_before_age(apps: AdapterStack) -> None:
    app = apps.app("search-ranking")
    app.connect()
    # Created best match first, so that newest-first alone would give the reverse order.
    for text in ("zebrafund", "Zebrafund limit raised", "Question on zebrafund fees", "Autozebrafund glitch"):
        app.request(CASES, "POST", data={"short_description": text})
    hits = group(search(app, "zebrafund", types=["Case"]), "Case")["hits"]
    assert [hit["title"] for hit in hits] == [
        "zebrafund",
        "Zebrafund limit raised",
        "Question on zebrafund fees",
        "Autozebrafund glitch",
    ]
    assert [hit["score"] for hit in hits] == [3, 2, 1, 0]


def test_each_type_is_capped_and_an_app_may_ask_for_fewer_never_more(apps: AdapterStack) -> None:
    app = apps.app("search-caps")
    app.connect()
    for _ in range(12):
        app.request(CASES, "POST", data={"short_description": "Capybara onboarding pack"})
    assert len(group(search(app, "capybara", types=["Case"]), "Case")["hits"]) == 10
    assert len(group(search(app, "capybara", types=["Case"], limit=4), "Case")["hits"]) == 4
    assert len(group(search(app, "capybara", types=["Case"], limit=50), "Case")["hits"]) == 10
    updated = [hit["updatedOn"] for hit in group(search(app, "capybara", types=["Case"]), "Case")["hits"]]
    assert updated == sorted(updated, reverse=True)


def test_the_type_filter_searches_only_those_types(apps: AdapterStack) -> None:
    app = apps.app("search-filter")
    app.connect()
    before = requests_to(apps, "/api/now/table/customer_contact")
    result = search(app, "Boxeo", types=["Account", "Case"])
    assert [g["type"] for g in result["groups"]] == ["Account", "Case"]
    assert group(result, "Account")["hits"][0]["title"] == "Boxeo Financial"
    assert requests_to(apps, "/api/now/table/customer_contact") == before


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("wire^active=false", "^"),
        ("wire^ORnumberISNOTEMPTY", "^"),
        ("wire\nactive=false", "control"),
        ("wire\u2028x", "control"),
        ("javascript:gs.getUserID()", "javascript"),
        ("JavaScript :gs.sleep(9)", "javascript"),
        ("x" * 101, "100"),
        ("   ", "empty"),
    ],
)
def test_search_text_that_could_change_the_query_is_refused_before_any_request(
    apps: AdapterStack, query: str, why: str
) -> None:
    app = apps.app("search-hostile")
    app.connect()
    # Accounts, not cases: the adapter's own poller reads the case table while the test counts.
    before = requests_to(apps, ACCOUNTS)
    with pytest.raises(AppError) as refused:
        search(app, query, types=["Account"])
    assert refused.value.name == "ParameterError"
    assert requests_to(apps, ACCOUNTS) == before
    # Positive control: the same app's plain search does reach the instance.
    search(app, "Boxeo", types=["Account"])
    assert requests_to(apps, ACCOUNTS) == before + 1


def test_unknown_types_and_payload_keys_are_parameter_errors(apps: AdapterStack) -> None:
    app = apps.app("search-bad-payload")
    app.connect()
    for payload in (
        {"query": "wire", "types": ["Case", "Ticket"]},
        {"query": "wire", "types": []},
        {"query": "wire", "limit": 0},
        {"query": "wire", "sysparm_query": "active=false"},
    ):
        with pytest.raises(AppError) as refused:
            app.dispatch("servicenow.search", payload)
        assert refused.value.name == "ParameterError", payload


def test_searching_before_connecting_is_a_not_connected_error(apps: AdapterStack) -> None:
    app = apps.app("search-unconnected")
    with pytest.raises(AppError) as refused:
        search(app, "wire")
    assert refused.value.name == "NotConnectedError"


def _wait_until(check: Any) -> None:
    eventually_blocking(check, "the search's read at the instance", timeout=WAIT)


def _later(app: App, query: str) -> int:
    command = next(_later_ids)
    app.node.send(
        {"op": "dispatchLater", "id": command, "action": "servicenow.search", "payload": {"query": query}}
    )
    return command


def test_a_newer_search_cancels_the_same_apps_older_one_but_not_another_apps(apps: AdapterStack) -> None:
    app, other = apps.app("search-cancel"), apps.app("search-cancel-other")
    app.connect()
    other.connect()
    contacts = "/api/now/table/customer_contact"
    with httpx.Client(base_url=apps.instance, timeout=10.0) as hooks:
        try:
            before = requests_to(apps, contacts)
            # The app's first search hangs on its contact read...
            hooks.post("/__emulator/faults", json={"path": contacts, "latency_ms": 60_000, "times": 1})
            older = _later(app, "ben")
            _wait_until(lambda: requests_to(apps, contacts) == before + 1)
            # ... and the other app's is slow, still in flight when the app searches again. Its text differs:
            # the same text would be the same contact read, which shares the first one's request.
            hooks.post("/__emulator/faults", json={"path": contacts, "latency_ms": 5_000, "times": 1})
            others = _later(other, "bennett")
            _wait_until(lambda: requests_to(apps, contacts) == before + 2)
            newer = search(app, "Boxeo")
            assert group(newer, "Account")["hits"][0]["title"] == "Boxeo Financial"
            cancelled = app.wait_for("reply", lambda reply: reply["id"] == older)
            assert cancelled["ok"] is False
            assert cancelled["error"]["message"].startswith("SearchCancelledError")
            finished = other.wait_for("reply", lambda reply: reply["id"] == others)
            assert finished["ok"] is True
            assert group(finished["result"], "Contact")["hits"]
        finally:
            hooks.delete("/__emulator/faults").raise_for_status()


def test_a_login_that_expired_for_good_fails_the_whole_search_so_the_app_signs_in_again() -> None:
    # Its own desktop: moving the instance's clock ends every login on it.
    with adapter_stack() as stack:
        app = stack.app("search-expired")
        app.connect()
        assert group(search(app, "wire"), "Case")["hits"]
        with httpx.Client(base_url=stack.instance, timeout=10.0) as hooks:
            hooks.post("/__emulator/clock", json={"advance": 120 * 86400}).raise_for_status()
        with pytest.raises(AppError) as expired:
            search(app, "wire")
        assert expired.value.name == "AuthTokenExpiredError"
        app.connect()
        assert group(search(app, "wire"), "Case")["hits"]
