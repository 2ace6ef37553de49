"""The four intents against fakes: refused intents never reach the instance, views are shown in the user's
browser, created cases are broadcast at once, errors named as the official package names them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from adapter.bridge.access import AccessPolicy
from adapter.bridge.actions import LiveConnections
from adapter.bridge.intents import IntentHandlers
from adapter.openfin import ActionError, Intent, OpenFinError
from adapter.settings import IntentAccess
from tests.unit.bridge.fakes import CASES, ORIGIN, FakeInstance, RecordedBrowser, RecordedChanges

OTHER = "https://other.service-now.com"


class Desk:
    """Intent handlers over one live login, with the browser and the broadcaster they tell."""

    def __init__(
        self,
        *instances: FakeInstance,
        allowed: tuple[str, ...] = (),
        intents: IntentAccess | None = None,
        trust_source: bool = False,
        instance_url: str | None = None,
    ) -> None:
        self.instances = list(instances) or [FakeInstance()]
        self.live = LiveConnections()
        for instance in self.instances:
            self.live.add(instance.connection)
        self.browser = RecordedBrowser()
        self.changes = RecordedChanges()
        policy = AccessPolicy(allowed, intents=intents, trust_intent_source=trust_source)
        self.handlers = IntentHandlers(
            self.live, policy, writes=self.changes, browser=self.browser, instance_url=instance_url
        ).handlers

    @property
    def instance(self) -> FakeInstance:
        return self.instances[0]

    async def raise_intent(self, name: str, context: dict[str, Any]) -> dict[str, Any]:
        return await self.handlers[name](Intent(name=name, context=context))


def view_case(number: str, source: str | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"type": "servicenow.case", "id": {"number": number}}
    if source is not None:
        context["contextMetadata"] = {"source": {"appId": source}}
    return context


async def test_view_case_returns_the_case_and_shows_it_in_the_users_browser() -> None:
    desk = Desk()
    case = desk.instance.put(CASES, number="CS0001002", short_description="Card blocked")
    result = await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    assert (result["type"], result["id"]["sys_id"], result["id"]["number"]) == (
        "servicenow.case",
        case["sys_id"],
        "CS0001002",
    )
    page = quote(f"{CASES}.do?sys_id={case['sys_id']}", safe="")
    assert desk.browser.opened == [f"{ORIGIN}/nav_to.do?uri={page}"]
    by_id = await desk.raise_intent(
        "servicenow.ViewCase", {"type": "servicenow.case", "id": {"sys_id": case["sys_id"]}}
    )
    assert by_id["id"]["number"] == "CS0001002"
    assert desk.browser.opened == [f"{ORIGIN}/nav_to.do?uri={page}"] * 2


async def test_an_unknown_case_is_a_parameter_error_and_nothing_is_shown() -> None:
    desk = Desk()
    desk.instance.put(CASES, number="CS0001002")
    with pytest.raises(ActionError) as unknown:
        await desk.raise_intent("servicenow.ViewCase", view_case("CS0009999"))
    assert unknown.value.reason == "ParameterError: No such case"
    with pytest.raises(ActionError) as by_id:
        await desk.raise_intent(
            "servicenow.ViewCase", {"type": "servicenow.case", "id": {"sys_id": "f" * 32}}
        )
    assert by_id.value.reason == "ParameterError: No such case"
    assert desk.browser.opened == []
    # Positive control: a known case is shown through the same browser.
    await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    assert len(desk.browser.opened) == 1


async def test_a_browser_the_runtime_cannot_open_still_returns_the_case() -> None:
    desk = Desk()
    desk.instance.put(CASES, number="CS0001002")
    desk.browser.fail = OpenFinError("no browser")
    result = await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    assert result["id"]["number"] == "CS0001002"


async def test_view_interactions_shows_the_list_it_returns() -> None:
    desk = Desk()
    desk.instance.put(CASES, number="CS0000001", contact="c" * 32)
    result = await desk.raise_intent("ViewInteractions", {"type": "fdc3.contact", "id": {"sys_id": "c" * 32}})
    assert result["type"] == "servicenow.caseList"
    (opened,) = desk.browser.opened
    assert opened.startswith(f"{ORIGIN}/nav_to.do?uri={CASES}_list.do")


async def test_a_refused_intent_never_reaches_the_instance_nor_the_browser() -> None:
    desk = Desk(allowed=("trusted",), trust_source=True)
    desk.instance.put(CASES, number="CS0001002")
    for context in (view_case("CS0001002"), view_case("CS0001002", source="stranger")):
        with pytest.raises(ActionError) as refused:
            await desk.raise_intent("servicenow.ViewCase", context)
        assert refused.value.name == "AccessDeniedError"
    assert desk.instance.sent == []
    assert desk.browser.opened == []
    # Positive control: the same intent from an allowed raiser reaches both.
    await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002", source="trusted"))
    assert desk.instance.sent
    assert desk.browser.opened


async def test_read_only_raisers_may_view_but_not_create() -> None:
    desk = Desk(allowed=("trusted",), intents="read-only")
    desk.instance.put(CASES, number="CS0001002")
    with pytest.raises(ActionError) as refused:
        await desk.raise_intent("servicenow.CreateCase", {"type": "servicenow.case", "shortDescription": "x"})
    assert refused.value.name == "AccessDeniedError"
    assert desk.instance.requests("POST") == []
    assert (await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002")))["id"][
        "number"
    ] == "CS0001002"


async def test_a_created_case_is_reported_for_broadcast_at_once() -> None:
    desk = Desk()
    result = await desk.raise_intent(
        "servicenow.CreateCase", {"type": "servicenow.case", "shortDescription": "Raised by intent"}
    )
    assert (result["type"], result["status"]) == ("fdc3.transactionResult", "Created")
    (post,) = desk.instance.requests("POST")
    assert post.data == {"short_description": "Raised by intent"}
    assert desk.changes.writes == [("POST", f"/api/now/table/{CASES}", 201)]
    assert result["context"]["shortDescription"] == "Raised by intent"


async def test_without_a_login_intents_fail_as_not_connected() -> None:
    instance = FakeInstance()
    desk = Desk(instance)
    instance.state = instance.state.EXPIRED
    with pytest.raises(ActionError) as failed:
        await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    assert failed.value.name == "NotConnectedError"
    assert "an app must call servicenow.connect first" in failed.value.message
    assert instance.sent == []


async def test_two_logins_without_a_setting_are_an_error_never_a_guess() -> None:
    ours, theirs = FakeInstance(), FakeInstance(OTHER)
    for instance in (ours, theirs):
        instance.put(CASES, number="CS0001002")
    desk = Desk(ours, theirs)
    with pytest.raises(ActionError) as ambiguous:
        await desk.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    assert ambiguous.value.name == "ParameterError"
    assert "set --instance-url" in ambiguous.value.message
    assert ours.sent == theirs.sent == []
    # Positive control: naming the instance picks it, and only it is asked.
    named = Desk(ours, theirs, instance_url=OTHER)
    await named.raise_intent("servicenow.ViewCase", view_case("CS0001002"))
    assert ours.sent == []
    assert theirs.sent


async def test_a_hostile_context_value_is_refused_before_any_query() -> None:
    desk = Desk()
    with pytest.raises(ActionError) as refused:
        await desk.raise_intent(
            "ViewInteractions", {"type": "fdc3.contact", "id": {"email": "a^ORactive=true"}}
        )
    assert refused.value.name == "ParameterError"
    with pytest.raises(ActionError) as wrong_type:
        await desk.raise_intent("servicenow.ViewCase", {"type": "fdc3.contact", "id": {"email": "a@b.c"}})
    assert wrong_type.value.name == "ParameterError"
    assert desk.instance.sent == []
