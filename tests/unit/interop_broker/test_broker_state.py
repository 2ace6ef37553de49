"""The built-in interop broker's rules, as plain calls on its pure state (no sockets)."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.emulators.runtime.broker_state import (
    NO_APPS_FOUND,
    TARGET_APP_UNAVAILABLE,
    BrokerError,
    BrokerState,
    Dispatch,
    JsonObject,
)

INSTRUMENT = {"type": "fdc3.instrument", "id": {"ticker": "AAPL"}}
CONTACT = {"type": "fdc3.contact", "id": {"email": "beth.anglin@example.com"}}


def client(name: str, endpoint: str | None = None) -> JsonObject:
    return {
        "uuid": name,
        "name": name,
        "endpointId": endpoint or f"ep-{name}",
        "isExternal": True,
        "entityType": "external connection",
    }


def connected(state: BrokerState, *names: str, group: str | None = None) -> list[JsonObject]:
    identities = [client(n) for n in names]
    for identity in identities:
        state.connect(identity, {"currentContextGroup": group} if group else None)
    return identities


def deliveries(dispatches: list[Dispatch]) -> list[tuple[str, str, Any]]:
    return [(d.target["uuid"], d.action, d.payload) for d in dispatches]


def test_context_groups_are_the_stock_six_with_display_metadata() -> None:
    groups = BrokerState().handle("getContextGroups", None, client("a")).result
    assert [g["id"] for g in groups] == ["green", "purple", "orange", "red", "pink", "yellow"]
    assert groups[0] == {"id": "green", "displayMetadata": {"color": "#00CC88", "name": "green"}}


def test_client_without_endpoint_id_is_refused_at_connection() -> None:
    with pytest.raises(BrokerError, match="Version too old to be compatible with Interop"):
        BrokerState().connect({"uuid": "old", "name": "old"}, None)


def test_connect_payload_current_context_group_joins_that_group() -> None:
    state = BrokerState()
    (a,) = connected(state, "a", group="red")
    assert state.handle("getAllClientsInContextGroup", {"contextGroupId": "red"}, a).result == [a]


def test_connect_payload_with_unknown_group_joins_nothing() -> None:
    state = BrokerState()
    (a,) = connected(state, "a", group="mauve")
    with pytest.raises(BrokerError, match=r"^You must join a context group before you can set context\.$"):
        state.handle("setContext", {"context": INSTRUMENT}, a)


def test_set_context_reaches_every_matching_handler_in_the_group_including_the_setter() -> None:
    state = BrokerState()
    a, b, c = connected(state, "a", "b", "c", group="green")
    state.handle("joinContextGroup", {"contextGroupId": "red"}, c)
    state.handle("contextHandlerRegistered", {"handlerId": "invokeContextHandler"}, a)
    state.handle("contextHandlerRegistered", {"handlerId": "h-contact", "contextType": "fdc3.contact"}, b)
    state.handle("contextHandlerRegistered", {"handlerId": "h-inst", "contextType": "fdc3.instrument"}, b)
    state.handle("contextHandlerRegistered", {"handlerId": "invokeContextHandler"}, c)

    outcome = state.handle("setContext", {"context": INSTRUMENT}, a)

    assert deliveries(outcome.dispatches) == [
        ("a", "invokeContextHandler", INSTRUMENT),
        ("b", "h-inst", INSTRUMENT),
    ]
    assert outcome.result is None


def test_set_context_without_a_group_is_refused_with_the_stock_wording() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    with pytest.raises(BrokerError, match=r"^You must join a context group before you can set context\.$"):
        state.handle("setContext", {"context": INSTRUMENT}, a)


def test_set_context_without_type_is_refused() -> None:
    state = BrokerState()
    (a,) = connected(state, "a", group="green")
    with pytest.raises(BrokerError) as caught:
        state.handle("setContext", {"context": {"id": {}}}, a)
    assert str(caught.value) == (
        'Failed to set Context - bad Context. Reason: Context must have a type property. Context: {"id":{}}'
    )


def test_join_replays_current_contexts_untyped_gets_one_per_type_typed_gets_its_type() -> None:
    state = BrokerState()
    (setter, joiner) = connected(state, "setter", "joiner")
    state.handle("joinContextGroup", {"contextGroupId": "red"}, setter)
    state.handle("setContext", {"context": INSTRUMENT}, setter)
    state.handle("setContext", {"context": CONTACT}, setter)
    state.handle("contextHandlerRegistered", {"handlerId": "invokeContextHandler"}, joiner)
    state.handle("contextHandlerRegistered", {"handlerId": "typed", "contextType": "fdc3.contact"}, joiner)

    outcome = state.handle("joinContextGroup", {"contextGroupId": "red"}, joiner)

    assert deliveries(outcome.dispatches) == [
        ("joiner", "invokeContextHandler", INSTRUMENT),
        ("joiner", "invokeContextHandler", CONTACT),
        ("joiner", "typed", CONTACT),
    ]


def test_joining_the_group_one_is_already_in_replays_nothing() -> None:
    state = BrokerState()
    (a,) = connected(state, "a", group="red")
    state.handle("setContext", {"context": INSTRUMENT}, a)
    state.handle("contextHandlerRegistered", {"handlerId": "invokeContextHandler"}, a)
    assert state.handle("joinContextGroup", {"contextGroupId": "red"}, a).dispatches == []


def test_handler_registration_replays_the_current_context_of_its_type() -> None:
    state = BrokerState()
    (a,) = connected(state, "a", group="red")
    state.handle("setContext", {"context": INSTRUMENT}, a)
    outcome = state.handle(
        "contextHandlerRegistered", {"handlerId": "t", "contextType": "fdc3.instrument"}, a
    )
    assert deliveries(outcome.dispatches) == [("a", "t", INSTRUMENT)]
    other = state.handle("contextHandlerRegistered", {"handlerId": "u", "contextType": "fdc3.contact"}, a)
    assert other.dispatches == []


def test_removed_context_handler_receives_nothing_more() -> None:
    state = BrokerState()
    (a,) = connected(state, "a", group="red")
    state.handle("contextHandlerRegistered", {"handlerId": "invokeContextHandler"}, a)
    state.handle("removeContextHandler", {"handlerId": "invokeContextHandler"}, a)
    assert state.handle("setContext", {"context": INSTRUMENT}, a).dispatches == []


def test_join_unknown_group_is_refused() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    with pytest.raises(BrokerError, match="Attempting to join a context group that does not exist: mauve"):
        state.handle("joinContextGroup", {"contextGroupId": "mauve"}, a)


def test_join_with_target_moves_every_connection_of_that_identity() -> None:
    state = BrokerState()
    a, b = connected(state, "a", "b")
    state.handle("joinContextGroup", {"contextGroupId": "pink", "target": {"uuid": "b", "name": "b"}}, a)
    assert state.handle("getAllClientsInContextGroup", {"contextGroupId": "pink"}, a).result == [b]


def test_join_with_target_that_is_not_connected_is_refused() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    with pytest.raises(
        BrokerError, match="Given Identity ghost ghost is not connected to the Interop Broker"
    ):
        state.handle(
            "joinContextGroup", {"contextGroupId": "pink", "target": {"uuid": "ghost", "name": "ghost"}}, a
        )


def test_remove_from_context_group_stops_delivery_and_current_context() -> None:
    state = BrokerState()
    a, b = connected(state, "a", "b", group="green")
    state.handle("contextHandlerRegistered", {"handlerId": "invokeContextHandler"}, b)
    state.handle("removeFromContextGroup", {}, b)
    assert state.handle("setContext", {"context": INSTRUMENT}, a).dispatches == []
    with pytest.raises(
        BrokerError, match="You must be a member of a context group to call getCurrentContext"
    ):
        state.handle("getCurrentContext", {}, b)


def test_get_current_context_by_type_or_last_set() -> None:
    state = BrokerState()
    (a,) = connected(state, "a", group="green")
    assert state.handle("getCurrentContext", {}, a).result is None
    state.handle("setContext", {"context": INSTRUMENT}, a)
    state.handle("setContext", {"context": CONTACT}, a)
    assert state.handle("getCurrentContext", {}, a).result == CONTACT
    assert state.handle("getCurrentContext", {"contextType": "fdc3.instrument"}, a).result == INSTRUMENT
    assert state.handle("getCurrentContext", {"contextType": "fdc3.nothing"}, a).result is None


def test_get_info_for_context_group_returns_metadata_or_nothing() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    info = state.handle("getInfoForContextGroup", {"contextGroupId": "purple"}, a).result
    assert info == {"id": "purple", "displayMetadata": {"color": "#8C61FF", "name": "purple"}}
    assert state.handle("getInfoForContextGroup", {"contextGroupId": "mauve"}, a).result is None


def test_disconnected_client_leaves_groups_and_receives_nothing() -> None:
    state = BrokerState()
    a, b = connected(state, "a", "b", group="green")
    state.handle("contextHandlerRegistered", {"handlerId": "invokeContextHandler"}, b)
    state.disconnect(b)
    assert state.handle("getAllClientsInContextGroup", {"contextGroupId": "green"}, a).result == [a]
    assert state.handle("setContext", {"context": INSTRUMENT}, a).dispatches == []
    assert state.clients() == [a]


def test_fire_intent_routes_to_the_registered_handler_with_the_intent_untouched() -> None:
    state = BrokerState()
    raiser, handler = connected(state, "raiser", "handler")
    state.handle(
        "intentHandlerRegistered", {"handlerId": "intent-handler-ViewChart", "fdc3Version": "2.0"}, handler
    )
    intent = {"name": "ViewChart", "context": INSTRUMENT, "metadata": {"intentResolutionResultId": "0.42"}}

    route = state.handle("fireIntent", intent, raiser).intent

    assert route is not None
    assert route.target == handler
    assert route.handler_id == "intent-handler-ViewChart"
    assert route.intent == intent
    assert route.resolution({"type": "fdc3.chart"}, has_result=True) == {
        "source": {"appId": "handler", "instanceId": "ep-handler"},
        "intent": "ViewChart",
        "version": "2.0",
        "result": {"type": "fdc3.chart"},
    }


def test_fire_intent_nobody_handles_fails_with_no_apps_found() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    with pytest.raises(BrokerError, match=f"^{NO_APPS_FOUND}$"):
        state.handle("fireIntent", {"name": "ViewChart", "context": INSTRUMENT}, a)


def test_fire_intent_goes_to_the_latest_registration() -> None:
    state = BrokerState()
    raiser, first, second = connected(state, "raiser", "first", "second")
    state.handle("intentHandlerRegistered", {"handlerId": "intent-handler-X"}, first)
    state.handle("intentHandlerRegistered", {"handlerId": "intent-handler-X"}, second)
    route = state.handle("fireIntent", {"name": "X", "context": INSTRUMENT}, raiser).intent
    assert route is not None
    assert route.target == second


def test_fire_intent_with_target_app_picks_that_app_or_fails() -> None:
    state = BrokerState()
    raiser, first, second = connected(state, "raiser", "first", "second")
    state.handle("intentHandlerRegistered", {"handlerId": "intent-handler-X"}, first)
    state.handle("intentHandlerRegistered", {"handlerId": "intent-handler-X"}, second)
    targeted = {"name": "X", "context": INSTRUMENT, "metadata": {"target": {"appId": "first"}}}
    route = state.handle("fireIntent", targeted, raiser).intent
    assert route is not None
    assert route.target == first
    missing = {"name": "X", "context": INSTRUMENT, "metadata": {"target": "nobody"}}
    with pytest.raises(BrokerError, match=f"^{TARGET_APP_UNAVAILABLE}$"):
        state.handle("fireIntent", missing, raiser)


def test_intent_handlers_of_a_disconnected_client_are_forgotten() -> None:
    state = BrokerState()
    raiser, handler = connected(state, "raiser", "handler")
    state.handle("intentHandlerRegistered", {"handlerId": "intent-handler-X"}, handler)
    state.disconnect(handler)
    with pytest.raises(BrokerError, match=NO_APPS_FOUND):
        state.handle("fireIntent", {"name": "X", "context": INSTRUMENT}, raiser)


def test_resolution_without_handler_result_has_no_result_key() -> None:
    state = BrokerState()
    raiser, handler = connected(state, "raiser", "handler")
    state.handle("intentHandlerRegistered", {"handlerId": "intent-handler-X", "fdc3Version": "1.2"}, handler)
    route = state.handle("fireIntent", {"name": "X", "context": INSTRUMENT}, raiser).intent
    assert route is not None
    assert route.resolution(None, has_result=False) == {
        "source": {"appId": "handler", "instanceId": "ep-handler"},
        "intent": "X",
        "version": "1.2",
    }


def test_get_info_for_intent_lists_the_handling_apps() -> None:
    state = BrokerState()
    raiser, handler = connected(state, "raiser", "handler")
    with pytest.raises(BrokerError, match=NO_APPS_FOUND):
        state.handle("getInfoForIntent", {"name": "X"}, raiser)
    state.handle("intentHandlerRegistered", {"handlerId": "intent-handler-X"}, handler)
    assert state.handle("getInfoForIntent", {"name": "X"}, raiser).result == {
        "intent": {"name": "X", "displayName": "X"},
        "apps": [{"appId": "handler", "instanceId": "ep-handler"}],
    }


def test_session_group_set_context_reaches_member_handlers_and_get_context_returns_it() -> None:
    state = BrokerState()
    a, b = connected(state, "a", "b")
    assert state.handle(
        "sessionContextGroup:createIfNeeded", {"sessionContextGroupId": "my-group"}, a
    ).result == {"hasConflict": False}
    state.handle("sessionContextGroup:createIfNeeded", {"sessionContextGroupId": "my-group"}, b)
    state.handle("sessionContextGroup:handlerAdded-my-group", {"handlerId": "g"}, b)
    state.handle(
        "sessionContextGroup:handlerAdded-my-group", {"handlerId": "t", "contextType": "fdc3.contact"}, b
    )

    outcome = state.handle("sessionContextGroup:setContext-my-group", {"context": INSTRUMENT}, a)

    assert deliveries(outcome.dispatches) == [("b", "g", INSTRUMENT)]
    assert state.handle("sessionContextGroup:getContext-my-group", {}, a).result == INSTRUMENT
    assert state.handle("sessionContextGroup:getContext-my-group", {"type": "fdc3.contact"}, a).result is None


def test_session_handler_added_replays_and_waits_for_delivery() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    state.handle("sessionContextGroup:createIfNeeded", {"sessionContextGroupId": "s"}, a)
    state.handle("sessionContextGroup:setContext-s", {"context": CONTACT}, a)
    outcome = state.handle(
        "sessionContextGroup:handlerAdded-s", {"handlerId": "h", "contextType": "fdc3.contact"}, a
    )
    assert deliveries(outcome.dispatches) == [("a", "h", CONTACT)]
    assert outcome.await_dispatches


def test_session_handler_removed_receives_nothing_more() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    state.handle("sessionContextGroup:createIfNeeded", {"sessionContextGroupId": "s"}, a)
    state.handle("sessionContextGroup:handlerAdded-s", {"handlerId": "h"}, a)
    state.handle("sessionContextGroup:handlerRemoved-s", {"handlerId": "h"}, a)
    assert state.handle("sessionContextGroup:setContext-s", {"context": CONTACT}, a).dispatches == []


def test_session_group_named_like_a_context_group_reports_a_conflict_and_cannot_be_joined_as_one() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    assert state.handle("sessionContextGroup:createIfNeeded", {"sessionContextGroupId": "red"}, a).result == {
        "hasConflict": True
    }
    with pytest.raises(BrokerError, match="is a Session Context Group"):
        state.handle("joinContextGroup", {"contextGroupId": "red"}, a)


def test_session_actions_before_creation_are_unknown_actions() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    with pytest.raises(
        BrokerError, match=r"^No action registered at target for sessionContextGroup:setContext-s$"
    ):
        state.handle("sessionContextGroup:setContext-s", {"context": CONTACT}, a)


def test_session_set_context_by_a_non_member_is_refused() -> None:
    state = BrokerState()
    a, b = connected(state, "a", "b")
    state.handle("sessionContextGroup:createIfNeeded", {"sessionContextGroupId": "s"}, a)
    with pytest.raises(BrokerError, match="not in Session Client State Map"):
        state.handle("sessionContextGroup:setContext-s", {"context": CONTACT}, b)


def test_disconnected_client_leaves_session_groups() -> None:
    state = BrokerState()
    a, b = connected(state, "a", "b")
    for identity in (a, b):
        state.handle("sessionContextGroup:createIfNeeded", {"sessionContextGroupId": "s"}, identity)
    state.handle("sessionContextGroup:handlerAdded-s", {"handlerId": "h"}, b)
    state.disconnect(b)
    assert state.handle("sessionContextGroup:setContext-s", {"context": CONTACT}, a).dispatches == []


def test_unsupported_fdc3_actions_answer_with_the_stock_not_overridden_error() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    with pytest.raises(BrokerError, match="handleFiredIntentForContext has not been overridden"):
        state.handle("fireIntentForContext", INSTRUMENT, a)


def test_unknown_action_uses_the_runtime_wording() -> None:
    state = BrokerState()
    (a,) = connected(state, "a")
    with pytest.raises(BrokerError, match=r"^No action registered at target for frobnicate$"):
        state.handle("frobnicate", {}, a)


def test_fdc3_get_info_names_openfin_and_the_runtime_version() -> None:
    state = BrokerState(provider_version="42.103.2")
    (a,) = connected(state, "a")
    info = state.handle("fdc3v2GetInfo", {"fdc3Version": "2.0"}, a).result
    assert info["fdc3Version"] == "2.0"
    assert info["provider"] == "OpenFin"
    assert info["providerVersion"] == "42.103.2"


def registered(state: BrokerState, identity: JsonObject, name: str, contexts: list[str] | None) -> None:
    payload: JsonObject = {"handlerId": f"intent-handler-{name}", "fdc3Version": "2.0"}
    if contexts is not None:
        payload["contexts"] = contexts
    state.handle("intentHandlerRegistered", payload, identity)


def test_intents_are_found_and_raised_only_with_a_context_their_handler_declared() -> None:
    state = BrokerState()
    raiser, cases, charts = connected(state, "raiser", "cases", "charts")
    registered(state, cases, "ViewInteractions", ["fdc3.contact", "fdc3.organization"])
    registered(state, charts, "ViewInteractions", None)
    both = state.handle("getInfoForIntent", {"name": "ViewInteractions", "context": CONTACT}, raiser)
    assert [app["appId"] for app in both.result["apps"]] == ["cases", "charts"]
    undeclared = state.handle("getInfoForIntent", {"name": "ViewInteractions", "context": INSTRUMENT}, raiser)
    assert [app["appId"] for app in undeclared.result["apps"]] == ["charts"]
    without_context = state.handle("getInfoForIntent", {"name": "ViewInteractions"}, raiser)
    assert len(without_context.result["apps"]) == 2

    state.disconnect(charts)
    with pytest.raises(BrokerError, match=f"^{NO_APPS_FOUND}$"):
        state.handle("getInfoForIntent", {"name": "ViewInteractions", "context": INSTRUMENT}, raiser)
    with pytest.raises(BrokerError, match=f"^{NO_APPS_FOUND}$"):
        state.handle("fireIntent", {"name": "ViewInteractions", "context": INSTRUMENT}, raiser)
    route = state.handle("fireIntent", {"name": "ViewInteractions", "context": CONTACT}, raiser).intent
    assert route is not None
    assert route.target["uuid"] == "cases"


def test_find_intents_by_context_lists_every_intent_taking_it_by_name() -> None:
    state = BrokerState()
    raiser, cases, charts = connected(state, "raiser", "cases", "charts")
    registered(state, cases, "ViewInteractions", ["fdc3.contact"])
    registered(state, cases, "CreateInteraction", ["fdc3.interaction"])
    registered(state, charts, "ViewChart", ["fdc3.instrument"])
    for action in ("fdc3v2FindIntentsByContext", "getInfoForIntentsByContext"):
        assert state.handle(action, CONTACT, raiser).result == [
            {
                "intent": {"name": "ViewInteractions", "displayName": "ViewInteractions"},
                "apps": [{"appId": "cases", "instanceId": "ep-cases"}],
            }
        ]
    with_result_type = {"context": INSTRUMENT, "metadata": {"resultType": "fdc3.chart"}}
    found = state.handle("fdc3v2FindIntentsByContext", with_result_type, raiser).result
    assert [i["intent"]["name"] for i in found] == ["ViewChart"]
    with pytest.raises(BrokerError, match=f"^{NO_APPS_FOUND}$"):
        state.handle("fdc3v2FindIntentsByContext", {"type": "fdc3.nothing"}, raiser)
    with pytest.raises(BrokerError, match=r"^MalformedContext$"):
        state.handle("fdc3v2FindIntentsByContext", {"id": {"ticker": "AAPL"}}, raiser)


@pytest.mark.parametrize("contexts", [["fdc3.contact", ""], ["fdc3.contact", 7], ["x"] * 65])
def test_a_registration_with_bad_declared_contexts_is_refused(contexts: list[Any]) -> None:
    state = BrokerState()
    raiser, handler = connected(state, "raiser", "handler")
    with pytest.raises(BrokerError, match="contexts must be"):
        registered(state, handler, "X", contexts)
    with pytest.raises(BrokerError, match=NO_APPS_FOUND):
        state.handle("fireIntent", {"name": "X", "context": CONTACT}, raiser)
