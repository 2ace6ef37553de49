"""``AdapterService`` before it starts (nothing opened): the channel door's access decision, an app's share
released with its last channel connection only, status without a runtime, and where the runtime is looked
for."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from adapter.bridge.messages import StatusPayload, StatusResult
from adapter.bridge.publisher import EventPublisher
from adapter.bridge.service import DEFAULT_RUNTIME_ADDRESS, AdapterService, runtime_address
from adapter.openfin import ChannelConnectionRejected, ClientIdentity
from adapter.openfin.frames import ChannelConnectionPayload
from adapter.openfin.registry import to_json_text
from adapter.servicenow.connection import ConnectionKey
from adapter.settings import load_settings
from tests.unit.bridge.fakes import CASES, CLIENT_ID, ORIGIN, Summary


def client(uuid: str, endpoint: str = "1") -> ClientIdentity:
    return ClientIdentity.model_validate({"uuid": uuid, "name": uuid, "endpointId": f"{uuid}-{endpoint}"})


def service(**flags: Any) -> AdapterService:
    return AdapterService(load_settings({"authorizer": "http", "keyring": False, **flags}))


def test_an_app_not_allowed_is_refused_at_the_channel_door_with_the_reason() -> None:
    adapter = service(allow_app=["trusted"])
    with pytest.raises(ChannelConnectionRejected) as refused:
        adapter._client_connecting(client("stranger"), None)
    assert "'stranger' is not allowed" in str(refused.value)
    # Positive control: the allowed app passes the same door.
    adapter._client_connecting(client("trusted"), None)


async def test_an_app_gives_its_shares_back_only_with_its_last_channel_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released: list[str] = []

    async def release_app(caller: ClientIdentity) -> None:
        released.append(caller.uuid)

    async def connected(*clients: ClientIdentity) -> AdapterService:
        adapter = service()
        monkeypatch.setattr(adapter.actions, "release_app", release_app)
        monkeypatch.setattr(adapter.runtime, "send", _accepted)
        for other in clients:
            await adapter.provider.handle_connection(_connection_push(other))
        return adapter

    await (await connected(client("app", "2")))._client_gone(client("app", "1"))
    assert released == [], "another channel connection of the same app is still there"
    await (await connected(client("other")))._client_gone(client("app", "1"))
    assert released == ["app"]


async def _accepted(_frame: object) -> None:
    """The runtime takes the provider's answer to a connecting client."""


def _connection_push(caller: ClientIdentity) -> ChannelConnectionPayload:
    return ChannelConnectionPayload.model_validate(
        {
            "ackToSender": {"action": "send-channel-result", "payload": {"correlationId": 1}},
            "providerIdentity": {"uuid": "py", "name": "py", "channelName": "svc", "channelId": "chan-1"},
            "clientIdentity": caller.to_wire(),
        }
    )


def test_status_before_start_names_the_runtime_and_no_broker_or_watchers() -> None:
    status = service(watch_table=["sn_customerservice_case"]).adapter_status()
    assert status["runtime"]["state"] == "closed"
    assert status["broker"] is None
    assert (status["apps"], status["watchers"], status["lastError"]) == ([], [], None)
    assert service(broker="platform").adapter_status()["broker"] == {
        "platform": "platform",
        "joined": False,
    }


def test_changes_go_to_the_service_publisher_and_the_broker_gets_the_four_intents() -> None:
    adapter = service()
    assert isinstance(adapter.events, EventPublisher)
    assert adapter.broadcaster._recipient is adapter.events
    assert adapter.intents.handlers.keys() == {
        "ViewInteractions",
        "CreateInteraction",
        "servicenow.ViewCase",
        "servicenow.CreateCase",
    }


async def test_the_runtime_address_given_wins_and_without_one_the_customary_port_is_used() -> None:
    given = load_settings({"runtime_address": "ws://127.0.0.1:7000"})
    assert await runtime_address(given) == "ws://127.0.0.1:7000"
    assert await runtime_address(load_settings({})) == DEFAULT_RUNTIME_ADDRESS


async def test_the_status_answer_is_status_results_json_form_with_every_part_filled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``servicenow.status`` is built as plain values, not models: the model, which docs/schemas is made
    from, must accept the answer and write exactly the same JSON from it, with every optional part present."""
    adapter = service(broker="platform", watch_table=[CASES])
    adapter.health.polled(ORIGIN, CASES, "Service Unavailable")
    signed_in = SimpleNamespace(key=ConnectionKey(ORIGIN, CLIENT_ID))
    monkeypatch.setattr(adapter.actions.live, "signed_in", lambda: [signed_in])
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    login = Summary(ORIGIN, CLIENT_ID, "connected", {"user_name": "beth.anglin"}, 2, expires)
    monkeypatch.setattr(adapter.manager, "status", lambda: [login])

    answer = adapter.actions.status(StatusPayload(), client("app"))

    # As the reply carries it (``to_json_text`` is what the channel writes a handler's result with).
    assert to_json_text(answer) == StatusResult.model_validate(answer).model_dump_json()
    # Positive controls: each optional part is filled, so the comparison above covers its form.
    assert answer["connections"] == [
        {
            "instanceUrl": ORIGIN,
            "clientId": CLIENT_ID,
            "state": "connected",
            "currentUser": "beth.anglin",
            "apps": 2,
            "tokenExpiresAt": "2030-01-02T03:04:05+00:00",
        }
    ]
    assert answer["broker"] == {"platform": "platform", "joined": False}
    assert [(w["instanceUrl"], w["healthy"], w["lastError"]) for w in answer["watchers"]] == [
        (ORIGIN, False, "Service Unavailable")
    ]
    assert answer["watchers"][0]["lastPollAt"] is not None
    assert answer["lastError"] is not None
    assert answer["lastError"]["where"] == "watcher"
    assert answer["runtime"]["state"] == "closed"
    assert answer["delivery"]["backlog"] == adapter.provider.event_backlog
    assert answer["watching"] == [CASES]
