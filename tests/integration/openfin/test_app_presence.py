"""``ChannelProvider.app_connected``: whether an app (uuid and name) still has a connection to the channel,
kept in step with connects, disconnects and a lost runtime, over a real socket with scripted pushes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapter.openfin import ChannelProvider, ClientIdentity, RuntimeConnection
from tests.integration.openfin.fake_runtime import FakeRuntime, eventually

PROVIDER = {"uuid": "py", "name": "py", "channelName": "svc", "channelId": "chan-1", "isExternal": True}


def identity(uuid: str, endpoint: str, name: str | None = None) -> dict[str, Any]:
    return {"uuid": uuid, "name": name or uuid, "endpointId": endpoint, "isExternal": True}


def app(uuid: str, name: str | None = None) -> ClientIdentity:
    return ClientIdentity.model_validate(identity(uuid, "any", name))


def connection_push(correlation_id: int, client: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": "process-channel-connection",
        "payload": {
            "ackToSender": {
                "action": "send-channel-result",
                "payload": {"correlationId": correlation_id, "destinationToken": client, "payload": {}},
            },
            "providerIdentity": PROVIDER,
            "clientIdentity": client,
            "payload": None,
        },
    }


def disconnection_push(client: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": "process-desktop-event",
        "payload": {
            "topic": "channel",
            "type": "client-disconnected",
            **client,
            "channelName": "svc",
            "channelId": "chan-1",
        },
    }


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[FakeRuntime]:
    fake = FakeRuntime(tmp_path)
    fake.answers["create-channel"] = PROVIDER
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def provider(runtime: FakeRuntime) -> AsyncIterator[ChannelProvider]:
    async with RuntimeConnection(runtime.address, "py") as connection:
        provider = ChannelProvider(connection, "svc")
        await provider.create()
        yield provider


async def test_an_app_is_connected_until_its_last_connection_leaves(
    runtime: FakeRuntime, provider: ChannelProvider
) -> None:
    first, second, other = identity("app", "e-1"), identity("app", "e-2"), identity("other", "e-3")
    same_uuid_other_name = identity("app", "e-4", name="view")
    for n, client in enumerate((first, second, other, same_uuid_other_name)):
        await runtime.push(connection_push(n, client))
    await eventually(lambda: len(provider.connections) == 4)
    assert provider.app_connected(app("app"))

    await runtime.push(disconnection_push(first))
    await eventually(lambda: len(provider.connections) == 3)
    assert provider.app_connected(app("app")), "its second connection is still there"

    await runtime.push(disconnection_push(second))
    await eventually(lambda: len(provider.connections) == 2)
    assert not provider.app_connected(app("app"))
    # Positive controls: the other app, and another name of the same uuid (another app), are still here.
    assert provider.app_connected(app("other"))
    assert provider.app_connected(app("app", name="view"))
    assert not provider.app_connected(app("never-connected"))


async def test_a_client_connecting_again_on_the_same_endpoint_counts_once(
    runtime: FakeRuntime, provider: ChannelProvider
) -> None:
    client = identity("app", "e-1")
    await runtime.push(connection_push(1, client))
    await runtime.push(connection_push(2, client))
    await eventually(lambda: runtime.actions().count("send-channel-result") == 2)
    assert len(provider.connections) == 1
    assert provider.app_connected(app("app"))

    await runtime.push(disconnection_push(client))
    await eventually(lambda: provider.connections == [])
    assert not provider.app_connected(app("app"))


async def test_a_lost_runtime_leaves_no_app_connected(
    runtime: FakeRuntime, provider: ChannelProvider
) -> None:
    await runtime.push(connection_push(1, identity("app", "e-1")))
    await eventually(lambda: len(provider.connections) == 1)
    assert provider.app_connected(app("app"))

    provider.connection_lost()

    assert not provider.app_connected(app("app"))
