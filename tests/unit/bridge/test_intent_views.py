"""The two intents that show cases, and the instance every intent goes to, against fakes
(docs/channel-api.md, "Intents")."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from structlog.testing import capture_logs

from adapter.bridge.access import AccessPolicy
from adapter.bridge.actions import LiveConnections
from adapter.bridge.intents import IntentHandlers
from adapter.openfin import ActionError, Intent, OpenFinError
from adapter.servicenow.errors import NotConnectedError
from tests.unit.bridge.fakes import CASES, ORIGIN, FakeInstance, RecordedBrowser, RecordedChanges
from tests.unit.bridge.test_intent_handlers import Desk, view_case

CONTACT = "c" * 32
ACCOUNT = "a" * 32


async def test_view_interactions_lists_the_cases_of_that_contact_or_that_organization() -> None:
    desk = Desk()
    julies = desk.instance.put(CASES, contact=CONTACT, account="b" * 32)
    boxeos = desk.instance.put(CASES, contact="d" * 32, account=ACCOUNT)
    desk.instance.put(CASES, contact="e" * 32, account="f" * 32)
    of_contact = await desk.raise_intent(
        "ViewInteractions", {"type": "fdc3.contact", "id": {"sys_id": CONTACT}}
    )
    of_account = await desk.raise_intent(
        "ViewInteractions", {"type": "fdc3.organization", "name": "Boxeo", "id": {"sys_id": ACCOUNT}}
    )
    assert [case["id"]["sys_id"] for case in of_contact["cases"]] == [julies["sys_id"]]
    assert [case["id"]["sys_id"] for case in of_account["cases"]] == [boxeos["sys_id"]]
    shown = [
        f"{CASES}_list.do?sysparm_query={quote(f'{q}^ORDERBYDESCsys_updated_on', safe='')}"
        for q in (
            f"contact={CONTACT}",
            f"account={ACCOUNT}",
        )
    ]
    assert desk.browser.opened == [f"{ORIGIN}/nav_to.do?uri={quote(page, safe='')}" for page in shown]


async def test_view_case_takes_only_a_servicenow_case() -> None:
    desk = Desk()
    desk.instance.put(CASES, number="CS0001002")
    with pytest.raises(ActionError, match=r"servicenow\.ViewCase takes servicenow\.case") as refused:
        await desk.raise_intent(
            "servicenow.ViewCase", {"type": "fdc3.contact", "id": {"number": "CS0001002"}}
        )
    assert refused.value.name == "ParameterError"
    assert desk.instance.sent == []
    # Positive control: the same id in a servicenow.case is found.
    assert (await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002")))["id"][
        "number"
    ] == "CS0001002"


async def test_view_case_by_number_asks_for_one_case() -> None:
    desk = Desk()
    desk.instance.put(CASES, number="CS0001002")
    await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    (read,) = desk.instance.requests("GET")
    assert (read.path, read.query["sysparm_query"], read.query["sysparm_limit"]) == (
        f"/api/now/table/{CASES}",
        "number=CS0001002",
        "1",
    )


@pytest.mark.parametrize(
    ("class_name", "page_table"),
    [("sn_customerservice_case_child", "sn_customerservice_case_child"), ("../sys_user", CASES)],
)
async def test_view_case_shows_the_page_of_the_cases_own_class_when_it_is_a_table(
    class_name: str, page_table: str
) -> None:
    # A case of an extended table opens on its own form; a class name that is no table name never makes a URL.
    desk = Desk()
    case = desk.instance.put(CASES, number="CS0001002", sys_class_name=class_name)
    await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    page = quote(f"{page_table}.do?sys_id={case['sys_id']}", safe="")
    assert desk.browser.opened == [f"{ORIGIN}/nav_to.do?uri={page}"]


async def test_a_page_the_runtime_cannot_show_is_a_warning_for_the_operator() -> None:
    desk = Desk()
    desk.instance.put(CASES, number="CS0001002")
    desk.browser.fail = OpenFinError("no browser")
    with capture_logs() as logs:
        await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    assert {"event": "intent.not_shown", "error": "no browser", "log_level": "warning"} in logs
    # Positive control: a page that is shown logs no such warning.
    desk.browser.fail = None
    with capture_logs() as shown:
        await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    assert desk.browser.opened
    assert [log for log in shown if log["event"] == "intent.not_shown"] == []


def handlers_for(
    live: LiveConnections, *, instance_url: str | None = None, client_id: str | None = None
) -> IntentHandlers:
    return IntentHandlers(
        live,
        AccessPolicy(()),
        writes=RecordedChanges(),
        browser=RecordedBrowser(),
        instance_url=instance_url,
        client_id=client_id,
    )


async def test_client_id_names_the_login_among_several_on_the_same_instance() -> None:
    ours, theirs = FakeInstance(client_id="ours"), FakeInstance(client_id="theirs")
    live = LiveConnections()
    for instance in (ours, theirs):
        instance.put(CASES, number="CS0001002")
        live.add(instance.connection)
    named = handlers_for(live, instance_url=ORIGIN, client_id="theirs").handlers["servicenow.ViewCase"]
    await named(Intent(name="servicenow.ViewCase", context=view_case("CS0001002")))
    assert (len(ours.sent), len(theirs.sent)) == (0, 1)
    # Without --client-id the two logins to the one instance are a choice intents do not make.
    unnamed = handlers_for(live, instance_url=ORIGIN).handlers["servicenow.ViewCase"]
    with pytest.raises(ActionError, match="cannot choose between 2 ServiceNow connections"):
        await unnamed(Intent(name="servicenow.ViewCase", context=view_case("CS0001002")))


@pytest.mark.parametrize(
    ("instance_url", "message"),
    [
        (None, "No ServiceNow connection: an app must call servicenow.connect first"),
        (
            "https://other.service-now.com",
            "No ServiceNow connection to https://other.service-now.com: an app",
        ),
    ],
)
def test_without_a_login_the_error_names_the_instance_intents_wait_for(
    instance_url: str | None, message: str
) -> None:
    with pytest.raises(NotConnectedError, match=message):
        handlers_for(LiveConnections(), instance_url=instance_url).connection()
