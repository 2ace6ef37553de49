"""Issue 13, finding 4: intents go to the one instance the adapter can name, never to a guess.

Two ServiceNow emulators: the legitimate instance and a "server of its own" an allowed app connects to
first. Without ``--instance-url`` and with both connections live, an intent is refused with an error naming
both; once one connection is left, or with ``--instance-url``, it goes to the instance named.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.adapter.conftest import CLIENT_ID, AppError
from tests.security.intent_desktop import CASES, IntentDesktop, intent_desktop

CARD_CASE = {"type": "servicenow.case", "shortDescription": "Card 4111 1111 1111 1111 blocked"}


@pytest.fixture
def unnamed() -> Iterator[IntentDesktop]:
    with intent_desktop(instances=2, name_instance=False) as desktop:
        yield desktop


@pytest.fixture
def named() -> Iterator[IntentDesktop]:
    with intent_desktop(instances=2, name_instance=True) as desktop:
        yield desktop


def test_without_instance_url_two_live_connections_make_intents_fail_not_guess(
    unnamed: IntentDesktop,
) -> None:
    legitimate, rogue = unnamed.instances
    rogue_app = unnamed.app("rogue-app")
    rogue_app.connect(instanceUrl=rogue.url, clientId=CLIENT_ID)
    unnamed.app("crm").connect(instanceUrl=legitimate.url, clientId=CLIENT_ID)
    raiser = unnamed.raiser("raiser")

    with pytest.raises(AppError) as refused:
        raiser.raise_intent("servicenow.CreateCase", CARD_CASE)
    reason = refused.value.detail
    assert reason.startswith("ParameterError: Intents cannot choose between 2 ServiceNow connections"), reason
    assert legitimate.url in reason
    assert rogue.url in reason
    assert "--instance-url" in reason
    assert rogue.served("POST", CASES) == legitimate.served("POST", CASES) == 0

    # Positive control: with the rogue connection gone, the only live one is named, and the case goes there.
    rogue_app.dispatch("servicenow.disconnect", {"instanceUrl": rogue.url})
    created = raiser.result("servicenow.CreateCase", CARD_CASE)
    assert created["context"]["id"]["instance"] == legitimate.url
    assert legitimate.served("POST", CASES) == 1
    assert rogue.served("POST", CASES) == 0


def test_with_instance_url_intents_ignore_a_connection_made_first_elsewhere(named: IntentDesktop) -> None:
    legitimate, rogue = named.instances
    named.app("rogue-app").connect(instanceUrl=rogue.url, clientId=CLIENT_ID)
    raiser = named.raiser("raiser")
    with pytest.raises(AppError) as refused:
        raiser.raise_intent("servicenow.CreateCase", CARD_CASE)
    assert refused.value.detail.startswith(f"NotConnectedError: No ServiceNow connection to {legitimate.url}")

    named.app("crm").connect()
    created = raiser.result("servicenow.CreateCase", CARD_CASE)
    assert created["context"]["id"]["instance"] == legitimate.url
    assert (legitimate.served("POST", CASES), rogue.served("POST", CASES)) == (1, 0)
