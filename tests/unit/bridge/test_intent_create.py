"""The two intents that create a case, against fakes: what the case holds, which contact it is for, and the
``fdc3.transactionResult`` the raiser gets (docs/channel-api.md, "Intents"; FDC3's fdc3.interaction,
fdc3.timeRange and fdc3.transactionResult)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from structlog.testing import capture_logs

from adapter.bridge.intents import CONTACT_TABLE, participants_of
from adapter.openfin import ActionError
from adapter.servicenow import query_values
from adapter.servicenow.errors import ParameterError
from tests.unit.bridge.fakes import CASES, ORIGIN, FakeInstance
from tests.unit.bridge.test_intent_handlers import Desk

ACCOUNT = "a" * 32
OPENED = "2026-12-07 09:00:00"
"""When the fake instance opens every case (``sys_created_on``, as the Table API spells it)."""
OPENED_ISO = "2026-12-07T09:00:00Z"


def contact(instance: FakeInstance, name: str, email: str = "", account: str = "") -> dict[str, Any]:
    """A customer contact the instance knows."""
    return instance.put(CONTACT_TABLE, name=name, email=email, account=account)


def desk_with_julie(*, account: str = ACCOUNT, email: str = "julie.lewis@example.com") -> tuple[Desk, str]:
    """A desk whose instance knows Julie Lewis (and, listed before her, Mark Ross); Julie's sys_id."""
    desk = Desk()
    desk.instance.on_insert = {"sys_created_on": OPENED}
    contact(desk.instance, "Mark Ross", "mark.ross@example.com")
    julie = contact(desk.instance, "Julie Lewis", email, account)
    return desk, julie["sys_id"]


def interaction(contacts: list[Any], **fields: Any) -> dict[str, Any]:
    return {
        "type": "fdc3.interaction",
        "participants": {"type": "fdc3.contactList", "contacts": contacts},
        **fields,
    }


def by_email(email: str) -> dict[str, Any]:
    return {"type": "fdc3.contact", "id": {"email": email}}


def by_sys_id(sys_id: str) -> dict[str, Any]:
    return {"type": "fdc3.contact", "id": {"sys_id": sys_id}}


def posted(desk: Desk) -> dict[str, Any]:
    """The fields of the one case the intent inserted."""
    (post,) = desk.instance.requests("POST")
    assert post.path == f"/api/now/table/{CASES}"
    return dict(post.data)


async def test_an_interaction_becomes_a_case_and_comes_back_with_the_case_as_its_id() -> None:
    desk, julie = desk_with_julie()
    asked = interaction(
        [by_email("nobody@example.com"), by_email("Julie.Lewis@Example.COM")],
        interactionType=" Instant Message ",
        description="  Discussed a blocked card ",
        timeRange={
            "type": "fdc3.timeRange",
            "startTime": "2026-12-07T08:30:00Z",
            "endTime": "2026-12-07T08:45:00Z",
        },
        origin="crm-workspace",
    )
    result = await desk.raise_intent("CreateInteraction", asked)
    # E-mail addresses match whatever their case, as the instance's own query does.
    assert posted(desk) == {
        "short_description": "Discussed a blocked card",
        "description": "Discussed a blocked card",
        "contact": julie,
        "account": ACCOUNT,
        "contact_type": "chat",
    }
    (case,) = desk.instance.tables[CASES].values()
    page = quote(f"{CASES}.do?sys_id={case['sys_id']}", safe="")
    assert result == {
        "type": "fdc3.transactionResult",
        "status": "Created",
        "message": f"Created {case['number']}",
        "context": {
            "type": "fdc3.interaction",
            "id": {"URI": f"{ORIGIN}/nav_to.do?uri={page}", "SERVICENOW": case["number"]},
            "participants": {
                "type": "fdc3.contactList",
                "contacts": [
                    {
                        "type": "fdc3.contact",
                        "name": "Julie Lewis",
                        "id": {
                            "email": "julie.lewis@example.com",
                            "servicenow.sys_id": julie,
                            "sys_id": julie,
                        },
                    }
                ],
            },
            "timeRange": {
                "type": "fdc3.timeRange",
                "startTime": "2026-12-07T08:30:00Z",
                "endTime": "2026-12-07T08:45:00Z",
            },
            "interactionType": "Instant Message",
            "description": "Discussed a blocked card",
            "origin": "crm-workspace",
        },
    }
    assert desk.changes.writes == [("POST", f"/api/now/table/{CASES}", 201)]


async def test_a_contact_list_opens_a_case_for_the_first_listed_contact_servicenow_knows() -> None:
    # Julie has neither e-mail nor account; Mark is stored first, so the instance answers him first.
    desk, julie = desk_with_julie(account="", email="")
    listed = {
        "type": "fdc3.contactList",
        "contacts": [
            {"type": "fdc3.contact", "name": "no id"},
            by_sys_id(julie),
            by_email("mark.ross@example.com"),
        ],
    }
    result = await desk.raise_intent("CreateInteraction", listed)
    assert posted(desk) == {
        "short_description": "Interaction with Julie Lewis",
        "description": "",
        "contact": julie,
    }
    created = result["context"]
    assert created["participants"]["contacts"] == [
        {"type": "fdc3.contact", "name": "Julie Lewis", "id": {"servicenow.sys_id": julie, "sys_id": julie}}
    ]
    # No interactionType: "Other"; no time range asked for: the moment the case was opened, in UTC.
    assert (created["interactionType"], created["timeRange"]) == (
        "Other",
        {"type": "fdc3.timeRange", "startTime": OPENED_ISO},
    )
    assert "origin" not in created
    # The contacts were looked up in one request.
    reads = [sent.path for sent in desk.instance.requests("GET")]
    assert reads[0] == f"/api/now/table/{CONTACT_TABLE}"
    assert reads.count(f"/api/now/table/{CONTACT_TABLE}") == 1


async def test_the_listed_order_decides_not_the_order_servicenow_answers_in() -> None:
    desk, julie = desk_with_julie()
    mark = desk.instance.tables[CONTACT_TABLE]
    (mark_id,) = [sys_id for sys_id, row in mark.items() if row["name"] == "Mark Ross"]
    await desk.raise_intent(
        "CreateInteraction", interaction([by_email("julie.lewis@example.com"), by_sys_id(mark_id)])
    )
    await desk.raise_intent(
        "CreateInteraction", interaction([by_sys_id(mark_id), by_email("julie.lewis@example.com")])
    )
    assert [post.data["contact"] for post in desk.instance.requests("POST")] == [julie, mark_id]


@pytest.mark.parametrize(
    ("kind", "contact_type"),
    [
        ("Instant Message", "chat"),
        ("Email", "email"),
        ("Call", "phone"),
        ("Meeting", "walk-in"),
        ("call", "phone"),
    ],
)
async def test_the_interaction_type_sets_the_contact_type_and_names_the_case(
    kind: str, contact_type: str
) -> None:
    desk, julie = desk_with_julie()
    result = await desk.raise_intent(
        "CreateInteraction", interaction([by_sys_id(julie)], interactionType=kind)
    )
    fields = posted(desk)
    assert (fields["contact_type"], fields["short_description"]) == (contact_type, f"{kind} with Julie Lewis")
    assert result["context"]["interactionType"] == kind


async def test_an_interaction_type_servicenow_has_no_contact_type_for_sets_none() -> None:
    desk, julie = desk_with_julie()
    result = await desk.raise_intent(
        "CreateInteraction", interaction([by_sys_id(julie)], interactionType="Video")
    )
    assert "contact_type" not in posted(desk)
    assert result["context"]["interactionType"] == "Video"
    assert result["context"]["description"] == "Video with Julie Lewis"


async def test_an_interaction_with_nobody_servicenow_knows_is_a_failed_transaction_and_no_case() -> None:
    desk, _ = desk_with_julie()
    nobody = interaction([by_email("nobody@example.com")], description="Discussed a blocked card")
    result = await desk.raise_intent("CreateInteraction", nobody)
    assert result == {
        "type": "fdc3.transactionResult",
        "status": "Failed",
        "message": "No participant of the interaction is a ServiceNow contact",
    }
    assert desk.instance.requests("POST") == []
    assert desk.changes.writes == []
    # Positive control: the same interaction listing a known contact creates the case.
    nobody["participants"]["contacts"].append(by_email("julie.lewis@example.com"))
    assert (await desk.raise_intent("CreateInteraction", nobody))["status"] == "Created"
    assert len(desk.instance.requests("POST")) == 1


async def test_contacts_without_an_id_are_not_looked_up_at_all() -> None:
    desk, _ = desk_with_julie()
    anonymous: dict[str, Any] = {
        "type": "fdc3.contactList",
        "contacts": [{"type": "fdc3.contact", "name": "Julie Lewis"}],
    }
    assert (await desk.raise_intent("CreateInteraction", anonymous))["status"] == "Failed"
    assert desk.instance.sent == []
    # Positive control: a contact with an e-mail is looked up in the same way.
    anonymous["contacts"].append(by_email("julie.lewis@example.com"))
    await desk.raise_intent("CreateInteraction", anonymous)
    assert desk.instance.requests("GET")[0].path == f"/api/now/table/{CONTACT_TABLE}"


def test_a_bad_contact_is_named_by_its_place_in_the_list() -> None:
    with pytest.raises(ParameterError, match="Invalid contact 2 e-mail"):
        participants_of([by_email("a@b.example"), by_email("not an address")])
    with pytest.raises(ParameterError, match="Invalid contact 1 id"):
        participants_of([by_sys_id("not-hex"), by_email("a@b.example")])


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        (
            {"type": "fdc3.timeRange", "endTime": "2026-12-07T10:00:00+01:00"},
            {"endTime": "2026-12-07T10:00:00+01:00"},
        ),
        (
            {"type": "fdc3.timeRange", "startTime": "2026-12-07T08:30:00.123456789-05:00"},
            {"startTime": "2026-12-07T08:30:00.123456789-05:00"},
        ),
        (
            {"type": "fdc3.timeRange", "startTime": "", "endTime": "2026-12-07T10:00:00Z"},
            {"endTime": "2026-12-07T10:00:00Z"},
        ),
        (
            {"type": "fdc3.timeRange", "startTime": 1765098000, "endTime": "2026-12-07T10:00:00Z"},
            {"endTime": "2026-12-07T10:00:00Z"},
        ),
    ],
)
async def test_the_raisers_time_range_is_kept_time_by_time(
    asked: dict[str, Any], kept: dict[str, str]
) -> None:
    desk, julie = desk_with_julie()
    result = await desk.raise_intent("CreateInteraction", interaction([by_sys_id(julie)], timeRange=asked))
    assert result["context"]["timeRange"] == {"type": "fdc3.timeRange", **kept}


@pytest.mark.parametrize(
    "asked",
    [
        {"type": "fdc3.timeRange"},
        {"type": "fdc3.timeRange", "startTime": ""},
        {"type": "fdc3.timeRange", "startTime": ["2026-12-07T08:30:00Z"]},
        {"type": "fdc3.timeRange", "startTime": "yesterday"},
        {"type": "fdc3.timeRange", "startTime": "2026-12-07T08:30:00"},
        {"type": "fdc3.timeRange", "startTime": "2026-12-07 08:30:00Z"},
        {"type": "fdc3.timeRange", "startTime": "20261207T083000Z"},
        {"type": "fdc3.timeRange", "startTime": "2026-13-07T08:30:00Z"},
        {"type": "fdc3.timeRange", "startTime": "2026-12-07T08:30:00Z" + "0" * 40},
        {"type": "fdc3.date", "startTime": "2026-12-07T08:30:00Z"},
        "2026-12-07T08:30:00Z",
    ],
)
async def test_a_time_range_that_is_not_one_gives_the_moment_the_case_was_opened(asked: object) -> None:
    # FDC3's fdc3.timeRange: startTime and endTime are ISO 8601 date-times with a timezone indicator.
    desk, julie = desk_with_julie()
    result = await desk.raise_intent("CreateInteraction", interaction([by_sys_id(julie)], timeRange=asked))
    assert result["context"]["timeRange"] == {"type": "fdc3.timeRange", "startTime": OPENED_ISO}


@pytest.mark.parametrize(
    ("origin", "kept"),
    [
        ("x", True),
        ("o" * query_values.MAX_NAME_LENGTH, True),
        ("o" * (query_values.MAX_NAME_LENGTH + 1), False),
        ("", False),
        (42, False),
    ],
)
async def test_the_origin_is_returned_when_it_is_a_bounded_string(origin: object, kept: bool) -> None:
    desk, julie = desk_with_julie()
    result = await desk.raise_intent("CreateInteraction", interaction([by_sys_id(julie)], origin=origin))
    assert result["context"].get("origin", None) == (origin if kept else None)


async def test_create_case_takes_its_contact_and_the_contacts_account() -> None:
    desk, _ = desk_with_julie()
    asked = {
        "type": "servicenow.case",
        "shortDescription": " Card blocked ",
        "description": " Blocked abroad ",
        "priority": "2",
        "contact": by_email("julie.lewis@example.com"),
    }
    with capture_logs() as logs:
        result = await desk.raise_intent("servicenow.CreateCase", asked)
    julie = desk.instance.tables[CONTACT_TABLE]
    (julie_id,) = [sys_id for sys_id, row in julie.items() if row["name"] == "Julie Lewis"]
    assert posted(desk) == {
        "short_description": "Card blocked",
        "description": "Blocked abroad",
        "priority": "2",
        "contact": julie_id,
        "account": ACCOUNT,
    }
    (case,) = desk.instance.tables[CASES].values()
    assert (result["type"], result["status"], result["message"]) == (
        "fdc3.transactionResult",
        "Created",
        f"Created {case['number']}",
    )
    assert (result["context"]["type"], result["context"]["id"]["sys_id"]) == (
        "servicenow.case",
        case["sys_id"],
    )
    # The operator's trail of what apps created.
    assert {"event": "intent.case_created", "number": case["number"], "log_level": "info"} in logs


async def test_create_case_for_a_contact_without_an_account_sets_none() -> None:
    desk, julie = desk_with_julie(account="")
    await desk.raise_intent(
        "servicenow.CreateCase",
        {"type": "servicenow.case", "shortDescription": "x", "contact": by_sys_id(julie)},
    )
    assert posted(desk) == {"short_description": "x", "contact": julie}


@pytest.mark.parametrize(
    ("asked", "reason"),
    [
        ({"shortDescription": "   "}, "needs a shortDescription"),
        ({"shortDescription": 5}, "needs a shortDescription"),
        ({"shortDescription": "x", "contact": by_email("nobody@example.com")}, "not a ServiceNow contact"),
        (
            {"shortDescription": "x", "contact": {"type": "fdc3.contact", "name": "Julie"}},
            "needs id.email or id.sys_id",
        ),
    ],
)
async def test_a_case_that_cannot_be_created_is_a_parameter_error_and_no_insert(
    asked: dict[str, Any], reason: str
) -> None:
    desk, _ = desk_with_julie()
    with pytest.raises(ActionError, match=reason) as refused:
        await desk.raise_intent("servicenow.CreateCase", {"type": "servicenow.case", **asked})
    assert refused.value.name == "ParameterError"
    assert desk.instance.requests("POST") == []
    # Positive control: the same desk creates a case for a known contact.
    known = {"shortDescription": "x", "contact": by_email("julie.lewis@example.com")}
    await desk.raise_intent("servicenow.CreateCase", {"type": "servicenow.case", **known})
    assert len(desk.instance.requests("POST")) == 1


async def test_create_case_takes_only_a_servicenow_case() -> None:
    desk = Desk()
    with pytest.raises(ActionError, match=r"servicenow\.CreateCase takes servicenow\.case") as refused:
        await desk.raise_intent("servicenow.CreateCase", {"type": "fdc3.contact", "shortDescription": "x"})
    assert refused.value.name == "ParameterError"
    assert desk.instance.sent == []
    await desk.raise_intent("servicenow.CreateCase", {"type": "servicenow.case", "shortDescription": "x"})
    assert len(desk.instance.requests("POST")) == 1
