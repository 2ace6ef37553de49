"""Which intents read and which write, as the ``--intents read-only`` setting sees them."""

from __future__ import annotations

import pytest

from adapter.bridge.intents import HANDLED_INTENTS
from adapter.openfin import ActionError
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
