"""Case changes reach every app as channel events and as FDC3 contexts, without apps polling ServiceNow."""

from __future__ import annotations

import time
from typing import Any

from tests.conformance.adapter.conftest import POLL_INTERVAL, AdapterStack, adapter_stack

CASES = "/api/now/table/sn_customerservice_case"
CASE_POLL = f"GET {CASES}"


def latest_case(stack: AdapterStack) -> dict[str, Any]:
    """The most recently updated case with a contact: the adapter knew its last version when it began."""
    with stack.instance_client() as admin:
        found = admin.get(
            CASES,
            params={
                "sysparm_query": "contactISNOTEMPTY^ORDERBYDESCsys_updated_on",
                "sysparm_fields": "sys_id,state",
                "sysparm_limit": "1",
            },
        )
        result: dict[str, Any] = found.json()["result"][0]
        return result


def test_an_apps_own_write_is_broadcast_at_once_as_event_and_context(apps: AdapterStack) -> None:
    writer, reader = apps.app("writer-app"), apps.app("reader-app")
    writer.connect()
    reader.connect()
    reader.join_session("servicenow")
    created = writer.request(CASES, "POST", data={"short_description": "Broadcast me"})["data"]

    event = reader.wait_for("servicenow.recordChanged", lambda e: e["sys_id"] == created["sys_id"])
    assert event["change"] == "created"
    assert event["number"] == created["number"]
    assert event["context"]["type"] == "servicenow.case"
    assert event["context"]["id"]["sys_id"] == created["sys_id"]
    assert event["context"]["state"] == "New"

    context = reader.wait_for("context", lambda c: c["id"]["sys_id"] == created["sys_id"])
    assert context["name"] == f"{created['number']}: Broadcast me"
    assert all(isinstance(value, str) for value in context["id"].values())


def test_someone_elses_change_arrives_through_polling_with_what_changed(apps: AdapterStack) -> None:
    app = apps.app("watching-app")
    app.connect()
    app.join_session("servicenow")
    case = latest_case(apps)
    new_state = "18" if case["state"] != "18" else "10"
    with apps.instance_client() as admin:
        admin.patch(f"{CASES}/{case['sys_id']}", json={"state": new_state}).raise_for_status()
    event = app.wait_for("servicenow.recordChanged", lambda e: e["sys_id"] == case["sys_id"])
    assert event["change"] == "updated"
    assert event["changedFields"] == ["state"]
    assert event["context"]["contact"]["type"] == "fdc3.contact"
    assert "@" in event["context"]["contact"]["id"]["email"]
    assert event["context"]["account"]["type"] == "fdc3.organization"
    context = app.wait_for("context", lambda c: c["id"]["sys_id"] == case["sys_id"])
    assert context["type"] == "servicenow.case"


def test_deleting_through_the_adapter_is_broadcast_as_a_deletion(apps: AdapterStack) -> None:
    app = apps.app("deleting-app")
    app.connect()
    created = app.request(CASES, "POST", data={"short_description": "Short-lived"})["data"]
    app.request(f"{CASES}/{created['sys_id']}", "DELETE")
    deleted = app.wait_for(
        "servicenow.recordChanged", lambda e: e["sys_id"] == created["sys_id"] and e["change"] == "deleted"
    )
    assert deleted["number"] == created["number"]


def test_polling_does_not_grow_with_the_number_of_apps(apps: AdapterStack) -> None:
    def polls_during(seconds: float) -> int:
        before = apps.stats().get(CASE_POLL, 0)
        time.sleep(seconds)  # the subject: a window of time to count a rate in
        return apps.stats().get(CASE_POLL, 0) - before

    apps.app("poll-1").connect()
    one_app = polls_during(3.0)
    for index in range(2, 6):
        apps.app(f"poll-{index}").connect()
    five_apps = polls_during(3.0)
    expected = 3.0 / float(POLL_INTERVAL)
    # The controls: polling went on in both windows (a stalled machine would count nothing and prove nothing).
    assert one_app >= 1
    assert five_apps >= 1
    # One poller per (connection, table): five pollers would make about five times the expected count. A
    # slow machine only lowers the count (a poller waits its interval after each poll), never raises it, so
    # the bound is not compared with the first window's count, which a busy moment could make small.
    assert five_apps < 2 * expected + 2


def test_connection_changes_are_announced_to_apps(apps: AdapterStack) -> None:
    app = apps.app("announce-app")
    app.connect()
    announced = app.wait_for("servicenow.connectionChanged", lambda e: e["state"] == "connected")
    assert announced["clientId"] == "openfin-demo"
    assert announced["instanceUrl"] == apps.instance


def test_with_a_context_group_cases_are_also_broadcast_on_that_user_channel() -> None:
    with adapter_stack("built-in", "--context-group", "green") as stack:
        app = stack.app("green-app")
        app.connect()
        app.join_user_channel("green")
        created = app.request(CASES, "POST", data={"short_description": "Seen on green"})["data"]
        context = app.wait_for("groupContext", lambda c: c.get("id", {}).get("sys_id") == created["sys_id"])
        assert context["type"] == "servicenow.case"
        assert context["shortDescription"] == "Seen on green"


def test_apps_reading_a_changed_case_again_on_its_broadcast_cost_the_instance_one_request() -> None:
    # A window long enough that the apps' reads, made one after another from here, all fall in it.
    with adapter_stack("built-in", "--change-read-window", "60") as stack:
        readers = [stack.app(f"rereading-app-{index}") for index in range(3)]
        for app in readers:
            app.connect()
        case = latest_case(stack)
        record = f"{CASES}/{case['sys_id']}"
        readers[0].request(record)  # a read from before the change, which nobody after it may be given
        served = stack.stats().get(f"GET {record}", 0)
        assert served >= 1  # positive control: the instance counts the record's reads under this key
        new_state = "18" if case["state"] != "18" else "10"
        with stack.instance_client() as admin:
            admin.patch(record, json={"state": new_state}).raise_for_status()
        for app in readers:
            app.wait_for("servicenow.recordChanged", lambda e: e["sys_id"] == case["sys_id"])
            assert app.request(record)["data"]["state"] == new_state
        assert stack.stats().get(f"GET {record}", 0) - served == 1
