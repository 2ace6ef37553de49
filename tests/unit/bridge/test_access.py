"""The access decision for each door: channel connect, channel actions, intents (raiser known or not)."""

from __future__ import annotations

import pytest

from adapter.bridge.access import (
    AccessDeniedError,
    AccessPolicy,
    ChannelAction,
    ChannelConnect,
    IntentRaise,
    claimed_source,
)
from adapter.openfin import ClientIdentity
from adapter.settings import IntentAccess


def client(uuid: str) -> ClientIdentity:
    return ClientIdentity.model_validate({"uuid": uuid, "name": uuid, "endpointId": f"{uuid}-1"})


def allowed(policy: AccessPolicy, request: ChannelConnect | ChannelAction | IntentRaise) -> bool:
    try:
        policy.decide(request)
    except AccessDeniedError:
        return False
    return True


@pytest.mark.parametrize("door", ["connect", "servicenow.request"])
def test_the_channel_admits_exactly_the_allow_list(door: str) -> None:
    policy = AccessPolicy(["crm"])
    for uuid, expected in (("crm", True), ("intruder", False)):
        request = ChannelConnect(client(uuid)) if door == "connect" else ChannelAction(client(uuid), door)
        assert allowed(policy, request) is expected


def test_without_an_allow_list_every_app_and_every_intent_is_admitted() -> None:
    policy = AccessPolicy([])
    assert policy.unidentified_intents == "all"
    assert allowed(policy, ChannelAction(client("anyone"), "servicenow.request"))
    assert allowed(policy, IntentRaise("servicenow.CreateCase", writes=True, raiser=None))


@pytest.mark.parametrize(
    ("setting", "reads", "writes"),
    [(None, False, False), ("off", False, False), ("read-only", True, False), ("all", True, True)],
)
def test_unidentified_raisers_may_do_what_the_setting_says(
    setting: IntentAccess | None, reads: bool, writes: bool
) -> None:
    policy = AccessPolicy(["crm"], intents=setting)
    assert allowed(policy, IntentRaise("ViewInteractions", writes=False, raiser=None)) is reads
    assert allowed(policy, IntentRaise("CreateInteraction", writes=True, raiser=None)) is writes


def test_an_identified_raiser_is_judged_by_the_allow_list_whatever_the_setting() -> None:
    policy = AccessPolicy(["crm"], intents="all", trust_intent_source=True)
    assert allowed(policy, IntentRaise("CreateInteraction", writes=True, raiser="crm"))
    with pytest.raises(AccessDeniedError, match="'intruder' is not allowed to raise CreateInteraction"):
        policy.decide(IntentRaise("CreateInteraction", writes=True, raiser="intruder"))


def test_a_claimed_source_counts_only_when_the_broker_is_trusted_to_set_it() -> None:
    context = {"type": "fdc3.contact", "contextMetadata": {"source": {"appId": "crm", "instanceId": "x"}}}
    assert claimed_source(context) == "crm"
    assert AccessPolicy(["crm"]).raiser(context) is None
    assert AccessPolicy(["crm"], trust_intent_source=True).raiser(context) == "crm"


@pytest.mark.parametrize(
    "metadata",
    [None, "crm", {"source": "crm"}, {"source": {"appId": 7}}, {"source": {"appId": "  "}}, {"other": 1}],
)
def test_a_malformed_source_is_no_source(metadata: object) -> None:
    assert claimed_source({"type": "x", "contextMetadata": metadata}) is None
