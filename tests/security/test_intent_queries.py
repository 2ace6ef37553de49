"""Issue 13, findings 2, 3 and 5: what an intent's context may make the adapter ask the instance.

Over real sockets with official node-adapter apps and the ServiceNow emulator, which, like an instance,
evaluates ``javascript:`` values and drops a condition it cannot evaluate (so a poisoned condition widens
the query instead of failing it).

- 2: every value from a context is checked for its field before it reaches an encoded query;
- 3: ``servicenow.ViewCase`` reads the case table whatever ``id.table`` the context names;
- 5: a CreateInteraction's participants are looked up in one query, and more than the cap is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapter.bridge.intents import MAX_PARTICIPANTS
from tests.conformance.adapter.conftest import AppError
from tests.security.intent_desktop import CASES, CONTACTS, IntentDesktop, Raiser, intent_desktop

SCRIPT = "javascript:gs.getUserID()"


@pytest.fixture(scope="module")
def desktop() -> Iterator[IntentDesktop]:
    """The adapter with every app allowed (so every intent runs) and one app signed in."""
    with intent_desktop() as running:
        running.app("workspace-app").connect()
        yield running


@pytest.fixture
def raiser(desktop: IntentDesktop) -> Iterator[Raiser]:
    yield desktop.raiser("raiser")
    desktop.close_apps()
    desktop.app("workspace-app").connect()


def a_case(desktop: IntentDesktop) -> dict[str, Any]:
    case: dict[str, Any] = desktop.instance.admin_get(
        CASES,
        sysparm_query="contact.emailISNOTEMPTY",
        sysparm_fields="sys_id,number,contact,contact.email",
        sysparm_limit="1",
    )[0]
    return case


def instance_requests(desktop: IntentDesktop) -> int:
    """Case and contact requests the instance has served (reads and writes)."""
    return sum(
        count
        for key, count in desktop.instance.stats().items()
        if key.split(" ", 1)[1].startswith((CASES, CONTACTS))
    )


def participants(emails: list[str]) -> dict[str, Any]:
    return {
        "type": "fdc3.interaction",
        "participants": {
            "type": "fdc3.contactList",
            "contacts": [{"type": "fdc3.contact", "id": {"email": email}} for email in emails],
        },
        "interactionType": "Call",
        "description": "Fan-out probe",
        "timeRange": {"type": "fdc3.timeRange", "startTime": "2026-12-07T09:00:00Z"},
    }


POISONED: dict[str, tuple[str, dict[str, Any]]] = {
    "contact e-mail": ("ViewInteractions", {"type": "fdc3.contact", "id": {"email": SCRIPT}}),
    "contact sys_id": ("ViewInteractions", {"type": "fdc3.contact", "id": {"sys_id": SCRIPT}}),
    "organization name": ("ViewInteractions", {"type": "fdc3.organization", "name": SCRIPT}),
    "organization sys_id": ("ViewInteractions", {"type": "fdc3.organization", "id": {"sys_id": SCRIPT}}),
    "case number": ("servicenow.ViewCase", {"type": "servicenow.case", "id": {"number": SCRIPT}}),
    "case sys_id": ("servicenow.ViewCase", {"type": "servicenow.case", "id": {"sys_id": SCRIPT}}),
    "participant e-mail": ("CreateInteraction", participants([SCRIPT])),
    "case contact e-mail": (
        "servicenow.CreateCase",
        {"type": "servicenow.case", "shortDescription": "Poisoned", "contact": {"id": {"email": SCRIPT}}},
    ),
    "condition in an e-mail": (
        "ViewInteractions",
        {"type": "fdc3.contact", "id": {"email": "x@example.com^NQactive=true"}},
    ),
    "list in an e-mail": ("CreateInteraction", participants(["nobody@example.com,beth.anglin@example.com"])),
}


@pytest.mark.parametrize(("intent", "context"), POISONED.values(), ids=POISONED.keys())
def test_a_value_the_instance_would_evaluate_or_split_never_reaches_it(
    desktop: IntentDesktop, raiser: Raiser, intent: str, context: dict[str, Any]
) -> None:
    before = instance_requests(desktop)
    with pytest.raises(AppError) as refused:
        raiser.raise_intent(intent, context)
    assert refused.value.detail.startswith("ParameterError: Invalid "), refused.value.detail
    assert instance_requests(desktop) == before


def test_a_contact_s_interactions_are_that_contact_s_cases_only(
    desktop: IntentDesktop, raiser: Raiser
) -> None:
    # The positive control of the test above: the same intent with a real value reaches the instance.
    email = a_case(desktop)["contact.email"]
    expected = {case["sys_id"] for case in desktop.instance.cases(f"contact.email={email}")}
    found = raiser.result("ViewInteractions", {"type": "fdc3.contact", "id": {"email": email}})["cases"]
    assert expected
    assert {case["id"]["sys_id"] for case in found} == expected
    assert {case["contact"]["id"]["email"] for case in found} == {email}


def test_view_case_never_reads_the_table_a_context_names(desktop: IntentDesktop, raiser: Raiser) -> None:
    user = desktop.instance.admin_get("/api/now/table/sys_user", sysparm_query="user_name=beth.anglin")[0]
    stats = desktop.instance.stats()
    with pytest.raises(AppError) as refused:
        raiser.raise_intent(
            "servicenow.ViewCase",
            {"type": "servicenow.case", "id": {"sys_id": user["sys_id"], "table": "sys_user"}},
        )
    assert refused.value.detail == "ParameterError: No such case"
    after = desktop.instance.stats()
    assert after.get(f"GET /api/now/table/sys_user/{user['sys_id']}", 0) == 0
    assert after.get(f"GET {CASES}/{user['sys_id']}", 0) == stats.get(f"GET {CASES}/{user['sys_id']}", 0) + 1

    # Positive control: a case's sys_id under any table name is that case, read from the case table.
    case = a_case(desktop)
    for table in ("sys_user", f"sys_user?sysparm_query=active=true&x={case['sys_id']}", "../../sys_user"):
        shown = raiser.result(
            "servicenow.ViewCase",
            {"type": "servicenow.case", "id": {"sys_id": case["sys_id"], "table": table}},
        )
        assert (shown["type"], shown["id"]["number"]) == ("servicenow.case", case["number"])
    assert all(not key.startswith("GET /api/now/table/sys_user/") for key in desktop.instance.stats())


def test_participants_are_looked_up_in_one_query(desktop: IntentDesktop, raiser: Raiser) -> None:
    known = a_case(desktop)["contact.email"]
    emails = [f"stranger{n}@example.com" for n in range(MAX_PARTICIPANTS - 1)] + [known]
    lookups = desktop.instance.served("GET", CONTACTS)
    result = raiser.result("CreateInteraction", participants(emails))
    assert result["status"] == "Created", result
    assert [c["id"]["email"] for c in result["context"]["participants"]["contacts"]] == [known]
    assert desktop.instance.served("GET", CONTACTS) == lookups + 1


def test_more_participants_than_the_cap_are_refused_before_any_request(
    desktop: IntentDesktop, raiser: Raiser
) -> None:
    emails = [f"stranger{n}@example.com" for n in range(1500)]
    before = instance_requests(desktop)
    with pytest.raises(AppError) as refused:
        raiser.raise_intent("CreateInteraction", participants(emails))
    assert refused.value.detail == (
        f"ParameterError: An interaction may list at most {MAX_PARTICIPANTS} contacts, not 1500"
    )
    assert instance_requests(desktop) == before


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HOSTILE_TEXT = st.one_of(
    st.text(alphabet="^,=@.:!<>%\\/ \r\n\x00javscriptORNQEQ0123456789abcdefCS", max_size=40),
    st.sampled_from([SCRIPT, "a@b.com", "CS0001002", "6816f79cc0a8016401c5a33be04be441", "AAPL"]),
)
ANY_VALUE = st.one_of(HOSTILE_TEXT, st.integers(), st.none(), st.lists(HOSTILE_TEXT, max_size=2))
IDS = st.dictionaries(st.sampled_from(["email", "sys_id", "number", "table", "ticker", "ISIN"]), ANY_VALUE)
PARTY = st.fixed_dictionaries({"type": st.just("fdc3.contact"), "id": IDS})
CONTEXTS = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["fdc3.contact", "fdc3.organization", "fdc3.instrument"]), "id": IDS},
        optional={"name": ANY_VALUE},
    ).map(lambda context: ("ViewInteractions", context)),
    st.fixed_dictionaries({"type": st.just("servicenow.case"), "id": IDS}).map(
        lambda context: ("servicenow.ViewCase", context)
    ),
    st.fixed_dictionaries(
        {"type": st.just("servicenow.case"), "shortDescription": st.just("Fuzzed"), "contact": PARTY}
    ).map(lambda context: ("servicenow.CreateCase", context)),
    st.fixed_dictionaries({"type": st.just("fdc3.contactList"), "contacts": st.lists(PARTY, max_size=3)}).map(
        lambda context: ("CreateInteraction", context)
    ),
)
NAMED_ERRORS = ("ParameterError: ", "NotConnectedError: ", "ApiRequestError: ")


@FUZZ
@given(raised=CONTEXTS)
def test_any_context_gets_a_result_or_a_named_error_and_the_adapter_stays_up(
    desktop: IntentDesktop, raiser: Raiser, raised: tuple[str, dict[str, Any]]
) -> None:
    intent, context = raised
    outcome: Any
    try:
        outcome = raiser.result(intent, context)
    except AppError as error:
        outcome = error
    event(f"{intent}: {outcome.detail.split(':')[0] if isinstance(outcome, AppError) else outcome['type']}")
    if isinstance(outcome, AppError):
        assert outcome.detail.startswith(NAMED_ERRORS), outcome.detail
    else:
        assert outcome["type"] in ("servicenow.caseList", "servicenow.case", "fdc3.transactionResult"), (
            outcome
        )
    assert desktop.adapter.process.poll() is None
