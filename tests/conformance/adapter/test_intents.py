"""FDC3 intents raised by Workspace apps reach the adapter through the platform's broker, whichever it is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.conformance.adapter.conftest import AdapterStack, App, AppError, adapter_stack

CASES = "/api/now/table/sn_customerservice_case"


@pytest.fixture(scope="module", params=["built-in", "stock"])
def desktop(request: pytest.FixtureRequest) -> Iterator[AdapterStack]:
    """The adapter on the emulator's built-in broker, and on the stock node-adapter InteropBroker."""
    with adapter_stack(request.param) as stack:
        yield stack


@pytest.fixture
def signed_in(apps: AdapterStack) -> App:
    """An app that connected to ServiceNow through the adapter, so the desktop holds a login."""
    app = apps.app("workspace-app")
    app.connect()
    return app


def a_contact(stack: AdapterStack) -> dict[str, Any]:
    with stack.instance_client() as admin:
        cases = admin.get(
            CASES,
            params={
                "sysparm_query": "contactISNOTEMPTY",
                "sysparm_fields": "contact.email,contact.name,account,account.name",
                "sysparm_limit": "1",
                "sysparm_exclude_reference_link": "true",
            },
        )
        found: dict[str, Any] = cases.json()["result"][0]
        return found


def test_view_interactions_for_a_contact_returns_their_cases(apps: AdapterStack, signed_in: App) -> None:
    contact = a_contact(apps)
    resolution = signed_in.raise_intent(
        "ViewInteractions", {"type": "fdc3.contact", "id": {"email": contact["contact.email"]}}
    )
    assert resolution["intent"] == "ViewInteractions"
    result = resolution["result"]
    assert result["type"] == "servicenow.caseList"
    assert result["cases"]
    assert {case["contact"]["id"]["email"] for case in result["cases"]} == {contact["contact.email"]}


def test_view_interactions_for_an_organization_returns_its_cases(apps: AdapterStack, signed_in: App) -> None:
    # As an app forwards the account of a case it received: FDC3 requires an organization's id.
    found = a_contact(apps)
    account = {"type": "fdc3.organization", "name": found["account.name"], "id": {"sys_id": found["account"]}}
    result = signed_in.raise_intent("ViewInteractions", account)["result"]
    assert result["cases"]
    assert {case["account"]["name"] for case in result["cases"]} == {found["account.name"]}


def test_view_interactions_for_an_organization_known_by_another_id_uses_its_name(
    apps: AdapterStack, signed_in: App
) -> None:
    name = a_contact(apps)["account.name"]
    organization = {"type": "fdc3.organization", "name": name, "id": {"LEI": "5493001KJTIIGC8Y1R12"}}
    result = signed_in.raise_intent("ViewInteractions", organization)["result"]
    assert result["cases"]
    assert {case["account"]["name"] for case in result["cases"]} == {name}


def test_create_interaction_creates_a_case_for_the_participant(apps: AdapterStack, signed_in: App) -> None:
    contact = a_contact(apps)
    interaction = {
        "type": "fdc3.interaction",
        "participants": {
            "type": "fdc3.contactList",
            "contacts": [{"type": "fdc3.contact", "id": {"email": contact["contact.email"]}}],
        },
        "interactionType": "Phone",
        "description": "Called about a blocked card",
        "timeRange": {"type": "fdc3.timeRange", "startTime": "2026-11-29T09:00:00Z"},
    }
    result = signed_in.raise_intent("CreateInteraction", interaction)["result"]
    assert result["type"] == "fdc3.transactionResult"
    assert result["status"] == "Created"
    created = result["context"]
    assert created["type"] == "fdc3.interaction"
    assert created["description"] == "Called about a blocked card"
    assert [c["id"]["email"] for c in created["participants"]["contacts"]] == [contact["contact.email"]]
    number = created["id"]["SERVICENOW"]
    assert result["message"] == f"Created {number}"
    with apps.instance_client() as admin:
        stored = admin.get(
            CASES,
            params={"sysparm_query": f"number={number}", "sysparm_fields": "contact_type,contact.email"},
        ).json()["result"]
        assert [(case["contact_type"], case["contact.email"]) for case in stored] == [
            ("phone", contact["contact.email"])
        ]


def test_view_case_returns_the_case_and_opens_it_in_the_browser(apps: AdapterStack, signed_in: App) -> None:
    seen = len(signed_in.browser_urls())
    result = signed_in.raise_intent(
        "servicenow.ViewCase", {"type": "servicenow.case", "id": {"number": "CS0001002"}}
    )["result"]
    assert result["id"]["number"] == "CS0001002"
    assert len(result["id"]["sys_id"]) == 32
    # The runtime was asked to open that very case in the user's browser, on the instance's own UI.
    page = quote(f"{result['id']['table']}.do?sys_id={result['id']['sys_id']}", safe="")
    assert signed_in.browser_urls()[seen:] == [f"{apps.instance}/nav_to.do?uri={page}"]


def test_create_case_creates_it_and_broadcasts_it(apps: AdapterStack, signed_in: App) -> None:
    result = signed_in.raise_intent(
        "servicenow.CreateCase", {"type": "servicenow.case", "shortDescription": "Raised by intent"}
    )["result"]
    assert (result["type"], result["status"]) == ("fdc3.transactionResult", "Created")
    case = result["context"]
    assert case["shortDescription"] == "Raised by intent"
    event = signed_in.wait_for("servicenow.recordChanged", lambda e: e["sys_id"] == case["id"]["sys_id"])
    assert event["change"] == "created"


def test_intents_without_a_servicenow_login_fail_with_a_clear_reason(apps: AdapterStack) -> None:
    app = apps.app("not-signed-in")
    with pytest.raises(AppError) as failed:
        app.raise_intent("ViewInteractions", {"type": "fdc3.contact", "id": {"email": "x@example.com"}})
    assert failed.value.reason == "IntentHandlerRejected"
    assert "an app must call servicenow.connect first" in failed.value.detail


def test_a_bad_intent_context_is_a_parameter_error(apps: AdapterStack, signed_in: App) -> None:
    with pytest.raises(AppError) as failed:
        signed_in.raise_intent(
            "ViewInteractions", {"type": "fdc3.contact", "id": {"email": "a^ORactive=true"}}
        )
    # FDC3's ResultError name for the raiser's code, the adapter's reason for people.
    assert failed.value.reason == "IntentHandlerRejected"
    assert "Invalid contact e-mail" in failed.value.detail
