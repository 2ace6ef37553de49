"""``AdapterService`` before it starts (nothing opened): the channel door's access decision, an app's share
released with its last channel connection only, status without a runtime, and where the runtime is looked
for."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.bridge.publisher import EventPublisher
from adapter.bridge.service import DEFAULT_RUNTIME_ADDRESS, AdapterService, runtime_address
from adapter.openfin import ChannelConnectionRejected, ClientIdentity
from adapter.settings import load_settings


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
    adapter = service()
    released: list[str] = []

    async def release_app(caller: ClientIdentity) -> None:
        released.append(caller.uuid)

    monkeypatch.setattr(adapter.actions, "release_app", release_app)
    monkeypatch.setattr(type(adapter.provider), "connections", property(lambda _p: [client("app", "2")]))
    await adapter._client_gone(client("app", "1"))
    assert released == [], "another channel connection of the same app is still there"
    monkeypatch.setattr(type(adapter.provider), "connections", property(lambda _p: [client("other")]))
    await adapter._client_gone(client("app", "1"))
    assert released == ["app"]


def test_status_before_start_names_the_runtime_and_no_broker_or_watchers() -> None:
    status = service(watch_table=["sn_customerservice_case"]).adapter_status()
    assert status["runtime"].state == "closed"
    assert status["broker"] is None
    assert (status["apps"], status["watchers"], status["lastError"]) == ([], [], None)
    assert service(broker="platform").adapter_status()["broker"].model_dump() == {
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
