"""Issue 13, finding 1: an app refused by ``--allow-app`` cannot reach the session through an intent.

Over real sockets: the ServiceNow and runtime emulators, the broker (the built-in one, the stock
node-adapter ``InteropBroker``, or the stock broker of a platform that stamps the raiser into
``contextMetadata.source``), the adapter, and official node-adapter apps. The refused app ("intruder") never
gets onto the channel; it raises the adapter's intents through the broker, claiming to be an allowed app.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.adapter.conftest import AppError
from tests.security.intent_desktop import CASES, CONTACTS, IntentDesktop, Raiser, intent_desktop

ALLOWED = ["allowed-crm", "allowed-phone"]
ALLOW_FLAGS = [flag for uuid in ALLOWED for flag in ("--allow-app", uuid)]


def a_contact(desktop: IntentDesktop) -> dict[str, Any]:
    """A contact with cases: its e-mail and one of its cases."""
    case: dict[str, Any] = desktop.instance.admin_get(
        CASES,
        sysparm_query="contactISNOTEMPTY^contact.emailISNOTEMPTY",
        sysparm_fields="sys_id,number,contact.email",
        sysparm_limit="1",
    )[0]
    return case


def intents_of(case: dict[str, Any], summary: str) -> dict[str, dict[str, Any]]:
    """One valid context for each intent the adapter handles."""
    email = case["contact.email"]
    contact = {"type": "fdc3.contact", "id": {"email": email}}
    return {
        "ViewInteractions": contact,
        "servicenow.ViewCase": {"type": "servicenow.case", "id": {"sys_id": case["sys_id"]}},
        "servicenow.CreateCase": {"type": "servicenow.case", "shortDescription": summary, "contact": contact},
        "CreateInteraction": {
            "type": "fdc3.interaction",
            "participants": {"type": "fdc3.contactList", "contacts": [contact]},
            "interactionType": "Call",
            "description": summary,
            "timeRange": {"type": "fdc3.timeRange", "startTime": "2026-12-07T09:00:00Z"},
        },
    }


def claiming(context: dict[str, Any], app: str) -> dict[str, Any]:
    """``context`` with an FDC3 2.x ``contextMetadata.source`` the raiser wrote itself."""
    return {**context, "contextMetadata": {"source": {"appId": app, "instanceId": "forged"}}}


def table_requests(desktop: IntentDesktop) -> int:
    """Table API requests the instance has served for cases and contacts."""
    stats = desktop.instance.stats()
    return sum(count for key, count in stats.items() if key.split(" ", 1)[1].startswith((CASES, CONTACTS)))


def refused(raiser: Raiser, name: str, context: dict[str, Any]) -> str:
    with pytest.raises(AppError) as denied:
        raiser.raise_intent(name, context)
    return denied.value.detail


@pytest.fixture(scope="module", params=["built-in", "stock"])
def guarded(request: pytest.FixtureRequest) -> Iterator[IntentDesktop]:
    """``--allow-app`` on a broker that does not say who raised an intent; ``--intents`` at its default."""
    with intent_desktop(*ALLOW_FLAGS, broker=request.param) as desktop:
        desktop.app("allowed-phone").connect()
        yield desktop


def test_a_refused_app_raises_no_intent_where_the_broker_does_not_name_raisers(
    guarded: IntentDesktop,
) -> None:
    intruder = guarded.raiser("intruder")
    case = a_contact(guarded)
    before = table_requests(guarded)
    for name, context in intents_of(case, "Created by a refused app").items():
        reason = refused(intruder, name, claiming(context, "allowed-crm"))
        assert "AccessDeniedError" in reason, (name, reason)
        assert "--intents" in reason
    assert table_requests(guarded) == before
    assert guarded.instance.cases("short_description=Created by a refused app") == []
    # Positive control: the login the intents would have used is live and sees the contact's cases.
    crm = guarded.app("allowed-crm")
    crm.connect()
    before = table_requests(guarded)
    answer = crm.request(f"{CASES}?sysparm_query=contact.email={case['contact.email']}&sysparm_fields=sys_id")
    assert answer["status"] == 200
    assert case["sys_id"] in {row["sys_id"] for row in answer["data"]}
    assert table_requests(guarded) == before + 1


@pytest.fixture(scope="module")
def read_only() -> Iterator[IntentDesktop]:
    """``--allow-app`` with ``--intents read-only``: unidentified raisers may view, never create."""
    with intent_desktop(*ALLOW_FLAGS, "--intents", "read-only") as desktop:
        desktop.app("allowed-phone").connect()
        yield desktop


def test_read_only_intents_let_an_unidentified_raiser_view_but_not_create(read_only: IntentDesktop) -> None:
    intruder = read_only.raiser("intruder")
    case = a_contact(read_only)
    contexts = intents_of(case, "Created by a read-only raiser")
    viewed = intruder.result("ViewInteractions", contexts["ViewInteractions"])
    assert case["sys_id"] in {found["id"]["sys_id"] for found in viewed["cases"]}
    assert (
        intruder.result("servicenow.ViewCase", contexts["servicenow.ViewCase"])["id"]["sys_id"]
        == case["sys_id"]
    )
    posts = read_only.instance.served("POST", CASES)
    for name in ("servicenow.CreateCase", "CreateInteraction"):
        reason = refused(intruder, name, contexts[name])
        assert reason.startswith("AccessDeniedError"), reason
        assert "only intents that read" in reason
    assert read_only.instance.served("POST", CASES) == posts
    assert read_only.instance.cases("short_description=Created by a read-only raiser") == []


@pytest.fixture(scope="module")
def stamped() -> Iterator[IntentDesktop]:
    """A platform broker that stamps each raiser into ``contextMetadata.source``, trusted by the adapter."""
    with intent_desktop(*ALLOW_FLAGS, "--trust-intent-source", broker="stamping") as desktop:
        desktop.app("allowed-phone").connect()
        yield desktop


def test_where_the_broker_names_the_raiser_the_allow_list_decides_each_intent(stamped: IntentDesktop) -> None:
    case = a_contact(stamped)
    allowed = stamped.raiser("allowed-crm")
    intruder = stamped.raiser("intruder")
    created = allowed.result(
        "servicenow.CreateCase", intents_of(case, "Created by an allowed app")["servicenow.CreateCase"]
    )
    assert (created["type"], created["status"]) == ("fdc3.transactionResult", "Created")
    assert len(stamped.instance.cases("short_description=Created by an allowed app")) == 1

    posts = stamped.instance.served("POST", CASES)
    for name, context in intents_of(case, "Created by a refused app").items():
        reason = refused(intruder, name, claiming(context, "allowed-crm"))
        assert reason.startswith("AccessDeniedError"), (name, reason)
        assert "'intruder'" in reason
    assert stamped.instance.served("POST", CASES) == posts
    assert stamped.instance.cases("short_description=Created by a refused app") == []
