"""The access decision for each door: channel connect, channel actions, intents (raiser known or not)."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from adapter.bridge.access import (
    AccessDeniedError,
    AccessPolicy,
    ChannelAction,
    ChannelConnect,
    IntentRaise,
    app_id,
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


def test_an_app_is_its_uuid_and_name_whatever_its_connection() -> None:
    # Shares and request quotas are counted per app: two views of one platform are two apps, two
    # connections of one view are one.
    view = ClientIdentity.model_validate({"uuid": "platform", "name": "blotter", "endpointId": "e1"})
    same_view = ClientIdentity.model_validate({"uuid": "platform", "name": "blotter", "endpointId": "e2"})
    other_view = ClientIdentity.model_validate({"uuid": "platform", "name": "chart", "endpointId": "e3"})
    assert app_id(view) == app_id(same_view) == "platform/blotter"
    assert app_id(other_view) == "platform/chart"


def test_an_open_channel_is_said_in_the_log_and_a_guarded_one_is_not() -> None:
    with capture_logs() as logs:
        AccessPolicy([])
    assert [entry["event"] for entry in logs] == ["access.open", "access.intents"]
    assert logs[0]["log_level"] == "warning"
    assert logs[1]["unidentified_raisers"] == "all"
    with capture_logs() as logs:
        AccessPolicy(["crm"], trust_intent_source=True)
    # The startup line is there (the capture works) and names the setting; no warning about an open channel.
    assert [entry["event"] for entry in logs] == ["access.intents"]
    assert (logs[0]["unidentified_raisers"], logs[0]["raiser_from_broker"]) == ("off", True)


def test_every_refusal_is_logged_with_the_app_and_the_door() -> None:
    policy = AccessPolicy(["crm"], trust_intent_source=True)
    refused: list[ChannelConnect | ChannelAction | IntentRaise] = [
        ChannelConnect(client("intruder")),
        ChannelAction(client("intruder"), "servicenow.request"),
        IntentRaise("CreateInteraction", writes=True, raiser="intruder"),
        IntentRaise("CreateInteraction", writes=True, raiser=None),
    ]
    with capture_logs() as logs:
        assert allowed(policy, ChannelAction(client("crm"), "servicenow.request"))
        for request in refused:
            assert not allowed(policy, request)
    assert [(entry["event"], entry["log_level"], entry["app"], entry["door"]) for entry in logs] == [
        ("access.denied", "warning", "intruder", "connect"),
        ("access.denied", "warning", "intruder", "servicenow.request"),
        ("access.denied", "warning", "intruder", "intent CreateInteraction"),
        ("access.denied", "warning", None, "intent CreateInteraction"),
    ]
    assert logs[-1]["unidentified"] == "off"


@pytest.mark.parametrize(
    ("setting", "what"), [("off", "may use no intents"), ("read-only", "may use only intents that read")]
)
def test_a_refused_unidentified_raiser_is_told_what_the_setting_allows(
    setting: IntentAccess, what: str
) -> None:
    policy = AccessPolicy(["crm"], intents=setting)
    with pytest.raises(AccessDeniedError, match=f"CreateInteraction refused: .* {what} \\(--intents\\)"):
        policy.decide(IntentRaise("CreateInteraction", writes=True, raiser=None))
