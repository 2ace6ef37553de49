"""``--case-notifications``: node-adapter apps are told when someone assigns a case to the signed-in user
and when the case's customer comments on it, from the changes the adapter's poller already reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conformance.adapter.conftest import AdapterStack, adapter_stack

CASES = "/api/now/table/sn_customerservice_case"
NOTIFICATION = "servicenow.caseNotification"


@pytest.fixture(scope="module")
def notifying() -> Iterator[AdapterStack]:
    with adapter_stack("built-in", "--case-notifications") as stack:
        yield stack


def _primary_contact(admin: httpx.Client) -> dict[str, Any]:
    account = admin.get(
        "/api/now/table/customer_account", params={"sysparm_limit": "1", "sysparm_fields": "primary_contact"}
    ).json()["result"][0]
    contact: dict[str, Any] = admin.get(
        f"/api/now/table/customer_contact/{account['primary_contact']['value']}",
        params={"sysparm_fields": "sys_id,user_name,name"},
    ).json()["result"]
    return contact


def test_an_assignment_by_someone_else_and_a_customer_comment_are_notified(notifying: AdapterStack) -> None:
    app = notifying.app("notified-agent")
    me = app.connect()["currentUser"]
    with notifying.instance_client() as admin:
        contact = _primary_contact(admin)
        created = admin.post(
            CASES,
            json={
                "short_description": "Card blocked abroad",
                "contact": contact["sys_id"],
                "assigned_to": me["sys_id"],
            },
        ).json()["result"]
    assigned = app.wait_for(NOTIFICATION, lambda event: event["sys_id"] == created["sys_id"])
    assert assigned["kind"] == "assigned"
    assert assigned["title"] == f"Case {created['number']} assigned to you"
    assert assigned["body"] == "Card blocked abroad"
    assert assigned["author"] == "admin"
    assert assigned["url"] == f"{notifying.instance}/sn_customerservice_case.do?sys_id={created['sys_id']}"
    assert assigned["context"]["type"] == "servicenow.case"
    assert assigned["context"]["id"]["number"] == created["number"]

    user = contact["user_name"]
    with httpx.Client(base_url=notifying.instance, auth=(user, user), timeout=10.0) as customer:
        customer.patch(
            f"{CASES}/{created['sys_id']}", json={"comments": "The card still fails at every terminal."}
        ).raise_for_status()
    commented = app.wait_for(NOTIFICATION, lambda event: event["sys_id"] == created["sys_id"])
    assert commented["kind"] == "customerComment"
    assert commented["title"] == f"{contact['name']} commented on {created['number']}"
    assert commented["body"] == "The card still fails at every terminal."
    assert commented["author"] == contact["name"]


def test_the_users_own_assignment_and_other_peoples_cases_are_not_notified(notifying: AdapterStack) -> None:
    app = notifying.app("quiet-agent")
    me = app.connect()["currentUser"]
    # The user assigns a case to themselves through the adapter: broadcast, not notified.
    own = app.request(CASES, "POST", data={"short_description": "Own pick-up", "assigned_to": me["sys_id"]})
    app.wait_for("servicenow.recordChanged", lambda event: event["sys_id"] == own["data"]["sys_id"])
    with notifying.instance_client() as admin:
        david = admin.get(
            "/api/now/table/sys_user",
            params={"sysparm_query": "user_name=david.loo", "sysparm_fields": "sys_id"},
        ).json()["result"][0]
        # Someone else's case changes: broadcast, not notified.
        other = admin.post(
            CASES, json={"short_description": "Not mine", "assigned_to": david["sys_id"]}
        ).json()["result"]
        app.wait_for("servicenow.recordChanged", lambda event: event["sys_id"] == other["sys_id"])
        # Positive control: an assignment to the user after both is notified, and it is the first one.
        mine = admin.post(CASES, json={"short_description": "Yours now", "assigned_to": me["sys_id"]}).json()[
            "result"
        ]
    first = app.wait_for(NOTIFICATION)
    assert first["sys_id"] == mine["sys_id"]
    assert first["kind"] == "assigned"
