"""Interop as node-adapter users see it, against the stock broker and against our built-in ``--broker``.

Each broker kind gets one runtime emulator and one run of ``interop_flows.mjs`` (node-adapter clients doing
context groups, handlers, session groups and intents); every test below asserts one behaviour on what those
clients observed, for both brokers, so the two are shown to behave the same:

- ``stock-node-broker``: ``fin.Interop.init`` in a node process (``node_broker.mjs``), the stock
  ``InteropBroker`` with a routing ``handleFiredIntent`` override, on an emulator without ``--broker``;
- ``built-in-broker``: ``servicenow-adapter emulate runtime --broker <uuid>``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.node_support import node_executable, run_node, start_node
from tests.support.processes import adapter_command, running

PLATFORM_UUID = "interop-conformance-platform"
FLOWS_TIMEOUT = 60.0

INSTRUMENT = {"type": "fdc3.instrument", "id": {"ticker": "AAPL"}}
CONTACT = {"type": "fdc3.contact", "id": {"email": "beth.anglin@example.com"}}
ORGANIZATION = {"type": "fdc3.organization", "id": {"LEI": "5493001KJTIIGC8Y1R12"}}


@contextlib.contextmanager
def broker_runtime(kind: str) -> Iterator[str]:
    """A runtime emulator URL with a broker of ``kind`` serving ``interop-broker-<PLATFORM_UUID>``."""
    node_executable()
    if kind == "built-in-broker":
        with running(adapter_command("emulate", "runtime", "--port", "0", "--broker", PLATFORM_UUID)) as emu:
            yield emu.target
        return
    with running(adapter_command("emulate", "runtime", "--port", "0")) as emu:
        broker = start_node("interop/node_broker.mjs", {"address": emu.target, "platformUuid": PLATFORM_UUID})
        try:
            broker.wait_for_event("ready")
            yield emu.target
        finally:
            broker.kill()


@pytest.fixture(scope="module", params=["stock-node-broker", "built-in-broker"])
def observed(request: pytest.FixtureRequest) -> dict[str, Any]:
    """What node-adapter clients observed in every interop flow, through one broker kind."""
    with broker_runtime(request.param) as address:
        result: dict[str, Any] = run_node(
            "interop/interop_flows.mjs", {"address": address, "broker": PLATFORM_UUID}, timeout=FLOWS_TIMEOUT
        )
    return result


def scenario(observed: dict[str, Any], name: str) -> dict[str, Any]:
    """One scenario's observations; fails with the node error when the flow itself broke."""
    seen = observed[name]
    assert "error" not in seen, f"{name} failed in node-adapter: {seen['error']}"
    return dict(seen)


def test_context_groups_are_the_six_stock_groups_with_their_colours(observed: dict[str, Any]) -> None:
    groups = scenario(observed, "contextGroups")["groups"]
    assert [(g["id"], g["displayMetadata"]["color"]) for g in groups] == [
        ("green", "#00CC88"),
        ("purple", "#8C61FF"),
        ("orange", "#FF8C4C"),
        ("red", "#FF5E60"),
        ("pink", "#FF8FB8"),
        ("yellow", "#E9FF8F"),
    ]


def test_info_for_a_context_group_is_its_display_metadata(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "contextGroups")
    assert seen["purple"] == {"id": "purple", "displayMetadata": {"color": "#8C61FF", "name": "purple"}}
    assert seen["unknown"] == "<undefined>"


def test_set_context_reaches_the_setter_and_untyped_handlers_of_the_group(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "broadcast")
    assert seen["setterReceived"] == [INSTRUMENT, ORGANIZATION, CONTACT]
    assert seen["untypedReceived"] == [INSTRUMENT, ORGANIZATION, CONTACT]


def test_typed_handlers_receive_only_their_context_type(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "broadcast")
    assert seen["contactHandlerReceived"] == [CONTACT]
    assert seen["instrumentHandlerReceived"] == [INSTRUMENT]


def test_clients_of_another_group_receive_nothing_from_this_one(observed: dict[str, Any]) -> None:
    assert scenario(observed, "broadcast")["otherGroupReceived"] == [CONTACT]


def test_get_current_context_returns_the_last_context_or_the_one_of_a_type(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "broadcast")
    assert seen["currentContext"] == CONTACT
    assert seen["currentInstrument"] == INSTRUMENT
    assert seen["currentUnknownType"] == "<undefined>"


def test_all_clients_in_a_context_group_are_its_members(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "broadcast")
    assert seen["greenMembers"] == sorted([seen["expected"]["a"], seen["expected"]["b"]])
    assert seen["greenMembersHaveEndpointIds"] is True


def test_joining_a_group_replays_its_current_contexts_to_existing_handlers(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "replayOnJoin")
    assert seen["beforeJoin"] == 0
    assert seen["untypedReplay"] == [INSTRUMENT, CONTACT]
    assert seen["typedReplay"] == [CONTACT]


def test_connect_payload_group_is_joined_and_a_new_handler_gets_the_current_context(
    observed: dict[str, Any],
) -> None:
    seen = scenario(observed, "replayOnJoin")
    assert seen["connectPayloadReplay"] == [INSTRUMENT]
    assert seen["redMembers"] == seen["expected"]


def test_a_client_that_left_its_group_is_no_member_and_cannot_use_group_context(
    observed: dict[str, Any],
) -> None:
    seen = scenario(observed, "leaveGroup")
    assert seen["before"] == sorted(seen["expected"].values())
    assert seen["after"] == [seen["expected"]["a"]]
    assert (
        seen["currentContextAfterLeaving"]
        == "You must be a member of a context group to call getCurrentContext"
    )
    assert seen["setContextAfterLeaving"] == "You must join a context group before you can set context."


def test_context_errors_carry_the_stock_broker_messages(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "errors")
    assert seen["noGroup"] == "You must join a context group before you can set context."
    assert seen["unknownGroup"] == (
        "Attempting to join a context group that does not exist: mauve. "
        "You may only join existing context groups."
    )
    assert seen["noType"] == (
        "Failed to set Context - bad Context. Reason: Context must have a type property. "
        'Context: {"id":{"ticker":"AAPL"}}'
    )


def test_session_context_group_delivers_to_untyped_and_matching_typed_handlers(
    observed: dict[str, Any],
) -> None:
    seen = scenario(observed, "sessionContextGroups")
    assert seen["untypedReceived"] == [INSTRUMENT, CONTACT, INSTRUMENT]
    assert seen["typedReceived"] == [CONTACT]


def test_session_handler_added_later_has_the_current_context_before_add_resolves(
    observed: dict[str, Any],
) -> None:
    assert scenario(observed, "sessionContextGroups")["replayedBeforeAddResolved"] == [INSTRUMENT]


def test_session_get_current_context_by_type_or_last(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "sessionContextGroups")
    assert seen["current"] == INSTRUMENT
    assert seen["currentContact"] == CONTACT


def test_fired_intent_reaches_the_registered_handler_unchanged(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "intents")
    assert seen["handlerReceived"] == [seen["fired"]]


def test_fired_intent_resolves_to_source_intent_version_and_handler_result(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "intents")
    resolution = seen["resolution"]
    assert resolution["source"]["appId"] == seen["handlerUuid"]
    assert isinstance(resolution["source"]["instanceId"], str)
    assert resolution["intent"] == "ViewChart"
    assert resolution["version"] == "2.0"
    assert resolution["result"] == {"type": "fdc3.chart", "id": {"ticker": "AAPL"}}


def test_intent_nobody_handles_fails_with_no_apps_found(observed: dict[str, Any]) -> None:
    assert scenario(observed, "intents")["unhandled"] == "NoAppsFound"


def test_intent_handler_error_is_fdc3s_intent_handler_rejected_with_the_reason_as_cause(
    observed: dict[str, Any],
) -> None:
    seen = scenario(observed, "intents")
    assert seen["handlerFailed"] == "IntentHandlerRejected"
    # error.cause is the broker's error, error.cause.cause the handler's.
    assert seen["handlerFailedCause"] == "IntentHandlerRejected <- chart service down"


def test_a_handler_that_refused_still_answers_the_next_raise(observed: dict[str, Any]) -> None:
    assert scenario(observed, "intents")["afterFailure"] == {"type": "fdc3.chart", "id": {"ticker": "AAPL"}}


def test_find_intent_lists_only_handlers_taking_the_context(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "intentsByContext")
    assert seen["findWithContact"] == [seen["expected"]["cases"]]
    assert seen["findWithInstrument"] == "NoAppsFound"
    assert seen["findWithoutContext"] == [seen["expected"]["cases"]]


def test_find_intents_by_context_lists_every_intent_taking_it(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "intentsByContext")
    # ViewAnything declared no contexts, so it takes any.
    assert seen["byContact"] == [
        {"intent": "ViewAnything", "apps": ["ic-charts"]},
        {"intent": "ViewInteractions", "apps": ["ic-cases"]},
    ]
    assert seen["byInstrument"] == [{"intent": "ViewAnything", "apps": ["ic-charts"]}]
    assert seen["byNothing"] == [{"intent": "ViewAnything", "apps": ["ic-charts"]}]
    assert seen["malformed"] == "MalformedContext"


def test_a_raise_with_a_context_no_handler_takes_finds_no_apps(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "intentsByContext")
    assert seen["raiseUndeclared"] == "NoAppsFound"
    assert seen["raiseDeclared"] == "ViewInteractions"
    assert seen["handlerSaw"] == [CONTACT]


def test_fdc3_raise_intent_get_result_returns_the_listener_result(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "fdc3v2")
    assert seen["result"] == {"type": "fdc3.quote", "id": {"ticker": "AAPL"}, "price": 187.5}
    assert seen["listenerReceived"] == [INSTRUMENT]
    assert seen["source"]["appId"] == seen["handlerUuid"]
    assert seen["intent"] == "ViewQuote"


def test_fdc3_raise_intent_nobody_handles_rejects_with_no_apps_found(observed: dict[str, Any]) -> None:
    assert scenario(observed, "fdc3v2")["unhandled"] == "NoAppsFound"


def test_fdc3_find_intent_lists_the_listening_app(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "fdc3v2")
    assert seen["found"]["intent"] == {"name": "ViewQuote", "displayName": "ViewQuote"}
    assert [app["appId"] for app in seen["found"]["apps"]] == [seen["handlerUuid"]]
    assert seen["notFound"] == "NoAppsFound"


def test_fdc3_broadcast_on_a_user_channel_reaches_a_context_listener(observed: dict[str, Any]) -> None:
    assert scenario(observed, "fdc3v2")["broadcastReceived"] == [CONTACT]


def test_disconnected_client_leaves_its_group_and_its_intents(observed: dict[str, Any]) -> None:
    seen = scenario(observed, "disconnectCleanup")
    assert seen["before"] == sorted(seen["expected"].values())
    assert seen["beforeIntent"] == "LeaverIntent"
    assert seen["after"] == [seen["expected"]["stayer"]]
    assert seen["afterIntent"] == "NoAppsFound"
