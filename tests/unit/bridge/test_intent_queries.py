"""The encoded queries intents build from contexts, and the participant cap."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.bridge.intents import (
    MAX_PARTICIPANTS,
    Participant,
    contact_query,
    instrument_query,
    organization_query,
    participant_query,
    participants_of,
)
from adapter.servicenow.errors import ParameterError

SYS_ID = "6816f79cc0a8016401c5a33be04be441"


def test_a_contact_is_found_by_sys_id_before_e_mail() -> None:
    assert contact_query({"id": {"sys_id": SYS_ID.upper(), "email": "a@b.com"}}) == f"contact={SYS_ID}"
    assert contact_query({"id": {"email": "a@b.com"}}) == "contact.email=a@b.com"


def test_an_organization_is_found_by_sys_id_or_name() -> None:
    assert organization_query({"id": {"sys_id": SYS_ID}, "name": "x"}) == f"account={SYS_ID}"
    assert organization_query({"name": "Boxeo, Ltd."}) == "account.name=Boxeo, Ltd."


def test_an_instrument_is_found_in_short_descriptions_and_descriptions() -> None:
    query = instrument_query({"id": {"ISIN": "US0378331005", "ticker": "AAPL", "unknown": "x"}})
    assert query == (
        "short_descriptionLIKEAAPL^ORdescriptionLIKEAAPL"
        "^ORshort_descriptionLIKEUS0378331005^ORdescriptionLIKEUS0378331005"
    )


@pytest.mark.parametrize(
    "context",
    [{}, {"id": {"email": None}}, {"id": {"email": "javascript:x"}}, {"id": {"sys_id": "not-hex"}}],
)
def test_a_contact_without_a_usable_id_is_refused(context: dict[str, Any]) -> None:
    with pytest.raises(ParameterError):
        contact_query(context)


def test_participants_keep_their_order_and_skip_contacts_without_an_id() -> None:
    contacts = [
        {"type": "fdc3.contact", "id": {"email": "a@b.com"}},
        {"type": "fdc3.contact", "name": "no id"},
        "not a contact",
        {"type": "fdc3.contact", "id": {"sys_id": SYS_ID}},
    ]
    found = participants_of(contacts)
    assert found == [Participant("a@b.com", None), Participant(None, SYS_ID)]
    assert participant_query(found) == f"emailINa@b.com^ORsys_idIN{SYS_ID}"


def test_the_participant_cap_is_inclusive() -> None:
    at_cap = [{"id": {"email": f"p{n}@example.com"}} for n in range(MAX_PARTICIPANTS)]
    assert len(participants_of(at_cap)) == MAX_PARTICIPANTS
    with pytest.raises(ParameterError, match=f"at most {MAX_PARTICIPANTS} contacts"):
        participants_of([*at_cap, {"id": {"email": "one@more.com"}}])


@pytest.mark.parametrize("contacts", [None, {"contacts": []}, "a@b.com"])
def test_participants_must_be_a_list(contacts: object) -> None:
    with pytest.raises(ParameterError, match="contacts list"):
        participants_of(contacts)
