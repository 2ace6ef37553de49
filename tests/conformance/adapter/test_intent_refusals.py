"""A raise the adapter refuses never leaves the intent dead, whichever broker the platform runs.

The stock ``InteropBroker``, routing through its own ``setIntentTarget``, marks a handler not ready when a
delivery is refused and queues every later raise of that intent until the handler announces itself again.
The adapter re-announces after each refusal, so the next raise is delivered and answered. Each broker kind
gets the same sequence: a raise refused (a contact e-mail that is no valid query value), then a valid raise
of the same intent, through FDC3 2.0 (``raiseIntent`` + ``getResult``) and through ``interop.fireIntent``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.adapter.conftest import AdapterStack, App, AppError, adapter_stack
from tests.conformance.adapter.test_intents import a_contact

BAD_CONTACT = {"type": "fdc3.contact", "id": {"email": "a^ORactive=true"}}


@pytest.fixture(scope="module", params=["built-in", "stock", "stock-queued"])
def desktop(request: pytest.FixtureRequest) -> Iterator[AdapterStack]:
    """The adapter on the built-in broker, and on the stock broker routing by dispatch or by its queue."""
    with adapter_stack(request.param) as stack:
        yield stack


@pytest.fixture
def signed_in(apps: AdapterStack) -> App:
    """An app that connected to ServiceNow through the adapter, so the desktop holds a login."""
    app = apps.app("refusal-app")
    app.connect()
    return app


def test_an_fdc3_raise_after_a_refused_one_is_delivered_and_answered(
    apps: AdapterStack, signed_in: App
) -> None:
    email = a_contact(apps)["contact.email"]
    contact = {"type": "fdc3.contact", "id": {"email": email}}
    with pytest.raises(AppError) as refused:
        signed_in.raise_fdc3_intent("ViewInteractions", BAD_CONTACT)
    # FDC3's own name for a handler's refusal, from raiseIntent or from getResult (setIntentTarget routing).
    assert refused.value.reason == "IntentHandlerRejected"

    for _ in range(2):
        answered = signed_in.raise_fdc3_intent("ViewInteractions", contact)
        assert answered["intent"] == "ViewInteractions"
        assert answered["result"]["type"] == "servicenow.caseList"
        assert {c["contact"]["id"]["email"] for c in answered["result"]["cases"]} == {email}


def test_refused_raises_in_a_row_leave_the_intent_alive(apps: AdapterStack, signed_in: App) -> None:
    contact = {"type": "fdc3.contact", "id": {"email": a_contact(apps)["contact.email"]}}
    for _ in range(3):
        with pytest.raises(AppError):
            signed_in.raise_fdc3_intent("ViewInteractions", BAD_CONTACT)
    answered = signed_in.raise_fdc3_intent("ViewInteractions", contact)
    assert answered["result"]["cases"]


def test_a_fire_intent_after_a_refused_one_is_answered(apps: AdapterStack, signed_in: App) -> None:
    contact = {"type": "fdc3.contact", "id": {"email": a_contact(apps)["contact.email"]}}
    with pytest.raises(AppError):
        signed_in.raise_fdc3_intent("ViewInteractions", BAD_CONTACT)
    resolution = signed_in.raise_intent("ViewInteractions", contact)
    assert resolution["intent"] == "ViewInteractions"
    assert resolution["source"]["appId"]
