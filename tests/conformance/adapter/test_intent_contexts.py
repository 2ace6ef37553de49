"""Every Possible Context of ViewInteractions and CreateInteraction, results as the standard shows them, and
View intents that show what they return; on the built-in broker and on the stock node-adapter broker.

Apps are official node-adapter apps: one on the channel signs the desktop in, a raiser raises the intents
through the broker and reads which URLs the runtime was asked to open in the user's browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.conformance.adapter.conftest import AppError
from tests.security.intent_desktop import CASES, IntentDesktop, Raiser, intent_desktop


@pytest.fixture(scope="module", params=["built-in", "stock"])
def desktop(request: pytest.FixtureRequest) -> Iterator[IntentDesktop]:
    with intent_desktop(broker=request.param) as running:
        running.app("workspace-app").connect()
        yield running


@pytest.fixture
def raiser(desktop: IntentDesktop) -> Iterator[Raiser]:
    yield desktop.raiser("raiser")
    desktop.close_apps()
    desktop.app("workspace-app").connect()


def a_contact(desktop: IntentDesktop) -> dict[str, Any]:
    found: dict[str, Any] = desktop.instance.admin_get(
        CASES,
        sysparm_query="contact.emailISNOTEMPTY",
        sysparm_fields="contact,contact.email,contact.name",
        sysparm_limit="1",
    )[0]
    return found


def opened_page(url: str, instance: str) -> str:
    """The instance page a ``nav_to.do?uri=`` URL opens (decoded)."""
    assert url.startswith(f"{instance}/nav_to.do?uri="), url
    return unquote(url.removeprefix(f"{instance}/nav_to.do?uri="))


def test_view_interactions_for_an_instrument_are_the_cases_that_mention_it(
    desktop: IntentDesktop, raiser: Raiser
) -> None:
    mentioning = [
        desktop.instance.admin_post(CASES, {"short_description": "Margin call on ZXQV shares"}),
        desktop.instance.admin_post(
            CASES, {"short_description": "Statement query", "description": "Holding ZZ0000000017 moved"}
        ),
    ]
    instrument = {"type": "fdc3.instrument", "id": {"ticker": "ZXQV", "ISIN": "ZZ0000000017"}}
    result = raiser.result("ViewInteractions", instrument)
    assert result["type"] == "servicenow.caseList"
    assert sorted(case["id"]["sys_id"] for case in result["cases"]) == sorted(c["sys_id"] for c in mentioning)
    with pytest.raises(AppError) as refused:
        raiser.raise_intent("ViewInteractions", {"type": "fdc3.instrument", "id": {"FOO": "ZXQV"}})
    assert refused.value.detail.startswith("ParameterError: An fdc3.instrument needs one of id.ticker")


def test_view_interactions_shows_the_list_it_returns(desktop: IntentDesktop, raiser: Raiser) -> None:
    email = a_contact(desktop)["contact.email"]
    seen = len(raiser.browser_urls())
    cases = raiser.result("ViewInteractions", {"type": "fdc3.contact", "id": {"email": email}})["cases"]
    urls = raiser.browser_urls()[seen:]
    assert len(urls) == 1
    page = urlsplit(opened_page(urls[0], desktop.instance.url))
    assert page.path == "sn_customerservice_case_list.do"
    query = parse_qs(page.query)["sysparm_query"][0]
    assert query == f"contact.email={email}^ORDERBYDESCsys_updated_on"
    # The page shows what the intent returned: the same query, asked of the instance.
    listed = desktop.instance.admin_get(
        CASES, sysparm_query=query, sysparm_fields="sys_id", sysparm_limit="50"
    )
    assert [case["id"]["sys_id"] for case in cases] == [row["sys_id"] for row in listed]


def test_view_case_shows_the_case_it_returns(desktop: IntentDesktop, raiser: Raiser) -> None:
    seen = len(raiser.browser_urls())
    case = raiser.result("servicenow.ViewCase", {"type": "servicenow.case", "id": {"number": "CS0001002"}})
    (url,) = raiser.browser_urls()[seen:]
    assert opened_page(url, desktop.instance.url) == f"{case['id']['table']}.do?sys_id={case['id']['sys_id']}"


def interaction_of(
    contacts: list[dict[str, Any]], kind: str, description: str = "Discussed a blocked card"
) -> dict[str, Any]:
    return {
        "type": "fdc3.interaction",
        "participants": {"type": "fdc3.contactList", "contacts": contacts},
        "interactionType": kind,
        "description": description,
        "timeRange": {"type": "fdc3.timeRange", "startTime": "2026-12-07T09:00:00Z"},
        "origin": "crm-workspace",
    }


def test_create_interaction_returns_the_created_interaction_with_its_new_id(
    desktop: IntentDesktop, raiser: Raiser
) -> None:
    contact = a_contact(desktop)
    person = {
        "type": "fdc3.contact",
        "name": contact["contact.name"],
        "id": {"email": contact["contact.email"]},
    }
    result = raiser.result("CreateInteraction", interaction_of([person], "Instant Message"))
    assert (result["type"], result["status"]) == ("fdc3.transactionResult", "Created")
    created = result["context"]
    (stored,) = desktop.instance.admin_get(
        CASES,
        sysparm_query=f"number={created['id']['SERVICENOW']}",
        sysparm_fields="sys_id,sys_class_name,contact,contact_type,short_description",
    )
    assert stored["contact"] == contact["contact"]
    assert stored["contact_type"] == "chat"
    assert stored["short_description"] == "Discussed a blocked card"
    page = f"{stored['sys_class_name']}.do?sys_id={stored['sys_id']}"
    assert opened_page(created["id"]["URI"], desktop.instance.url) == page
    assert created == {
        "type": "fdc3.interaction",
        "id": created["id"],
        "participants": {
            "type": "fdc3.contactList",
            "contacts": [
                {
                    "type": "fdc3.contact",
                    "name": contact["contact.name"],
                    "id": {
                        "email": contact["contact.email"],
                        "servicenow.sys_id": contact["contact"]["value"],
                        "sys_id": contact["contact"]["value"],
                    },
                }
            ],
        },
        "timeRange": {"type": "fdc3.timeRange", "startTime": "2026-12-07T09:00:00Z"},
        "interactionType": "Instant Message",
        "description": "Discussed a blocked card",
        "origin": "crm-workspace",
    }
    assert result["message"] == f"Created {created['id']['SERVICENOW']}"


def test_create_interaction_takes_a_contact_list(desktop: IntentDesktop, raiser: Raiser) -> None:
    contact = a_contact(desktop)
    contacts = {
        "type": "fdc3.contactList",
        "contacts": [
            {"type": "fdc3.contact", "id": {"email": "nobody@example.com"}},
            {"type": "fdc3.contact", "id": {"email": contact["contact.email"]}},
        ],
    }
    result = raiser.result("CreateInteraction", contacts)
    assert result["status"] == "Created"
    created = result["context"]
    assert created["type"] == "fdc3.interaction"
    assert [c["id"]["email"] for c in created["participants"]["contacts"]] == [contact["contact.email"]]
    assert created["description"] == f"Interaction with {contact['contact.name']}"
    assert created["timeRange"]["startTime"].endswith("Z")
    (stored,) = desktop.instance.admin_get(
        CASES, sysparm_query=f"number={created['id']['SERVICENOW']}", sysparm_fields="contact"
    )
    assert stored["contact"] == contact["contact"]


def test_an_interaction_with_nobody_servicenow_knows_is_a_failed_transaction(raiser: Raiser) -> None:
    result = raiser.result(
        "CreateInteraction",
        interaction_of([{"type": "fdc3.contact", "id": {"email": "x@example.com"}}], "Call"),
    )
    assert result == {
        "type": "fdc3.transactionResult",
        "status": "Failed",
        "message": "No participant of the interaction is a ServiceNow contact",
    }
