"""Which intents read and which write (as ``--intents read-only`` sees them), and the intents' bounds."""

from __future__ import annotations

import pytest

from adapter.bridge.intents import HANDLED_INTENTS, participants_of
from adapter.openfin import ActionError
from adapter.servicenow.errors import ParameterError
from tests.unit.bridge.fakes import CASES
from tests.unit.bridge.test_intent_handlers import Desk, view_case


def test_the_intents_that_create_records_are_the_ones_declared_as_writing() -> None:
    assert {name for name, spec in HANDLED_INTENTS.items() if spec.writes} == {
        "CreateInteraction",
        "servicenow.CreateCase",
    }


async def test_with_read_only_intents_an_unidentified_raiser_may_view_but_never_create() -> None:
    desk = Desk(allowed=("crm",), intents="read-only")
    desk.instance.put(CASES, number="CS0001002", short_description="Card blocked")
    shown = await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    listed = await desk.raise_intent(
        "ViewInteractions", {"type": "fdc3.contact", "id": {"email": "a@b.example"}}
    )
    assert (shown["type"], listed["type"]) == ("servicenow.case", "servicenow.caseList")
    reads = len(desk.instance.sent)
    interaction = {
        "type": "fdc3.interaction",
        "participants": {"type": "fdc3.contactList", "contacts": []},
        "interactionType": "Instant Message",
        "description": "Discussed a blocked card",
    }
    for name, context in (
        ("CreateInteraction", interaction),
        ("servicenow.CreateCase", view_case("CS0001003")),
    ):
        with pytest.raises(ActionError, match="the raiser cannot be identified") as refused:
            await desk.raise_intent(name, context)
        assert refused.value.name == "AccessDeniedError"
    assert len(desk.instance.sent) == reads, "a refused intent never reaches the instance"


def test_an_interaction_may_list_50_contacts_and_not_51() -> None:
    # One query finds them all (docs/channel-api.md): the list an app sends is bounded.
    contacts = [{"type": "fdc3.contact", "id": {"email": f"person{n}@example.com"}} for n in range(51)]
    assert len(participants_of(contacts[:50])) == 50
    with pytest.raises(ParameterError, match="at most 50 contacts, not 51"):
        participants_of(contacts)


async def test_view_interactions_asks_for_at_most_50_cases() -> None:
    desk = Desk()
    await desk.raise_intent("ViewInteractions", {"type": "fdc3.contact", "id": {"email": "a@b.example"}})
    (read,) = [sent for sent in desk.instance.requests("GET") if sent.path.endswith(f"/{CASES}")]
    assert read.query["sysparm_limit"] == "50"
