"""Our ``ChannelProvider`` serving official node-adapter clients through the runtime emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from adapter.openfin import (
    ActionError,
    ChannelActionError,
    ChannelConnectionRejected,
    ChannelProvider,
    ClientIdentity,
    RuntimeConnection,
)
from tests.conformance.conftest import NodeScripts
from tests.conformance.openfin_client.support import event, eventually, result

CHANNEL = "py-service"


class Echo(BaseModel):
    text: str
    times: int = 1


class Service:
    """A provider with a few actions and hooks that record what they saw."""

    def __init__(self, connection: RuntimeConnection) -> None:
        self.provider = ChannelProvider(connection, CHANNEL)
        self.connected: list[tuple[ClientIdentity, Any]] = []
        self.disconnected: list[ClientIdentity] = []
        self.echo_calls = 0

        @self.provider.on_connection
        def admit(client: ClientIdentity, payload: Any) -> dict[str, str]:
            if client.uuid == "unwelcome-app":
                raise ChannelConnectionRejected("unwelcome-app may not use py-service")
            self.connected.append((client, payload))
            return {"welcome": client.uuid}

        @self.provider.on_disconnection
        def leave(client: ClientIdentity) -> None:
            self.disconnected.append(client)

        @self.provider.action("echo", payload=Echo)
        def echo(payload: Echo, caller: ClientIdentity) -> dict[str, Any]:
            self.echo_calls += 1
            return {
                "echoed": payload.text * payload.times,
                "caller": caller.uuid,
                "endpoint": caller.endpoint_id,
            }

        @self.provider.action("lookup")
        async def lookup(_payload: Any, _caller: ClientIdentity) -> None:
            raise ActionError("Record not found", name="ApiRequestError", status=404, detail="no such sys_id")

        @self.provider.action("crash")
        def crash(_payload: Any, _caller: ClientIdentity) -> None:
            raise ZeroDivisionError("division by zero")

        # Where each kind of handler runs: the task it finds itself in, by name.
        @self.provider.action("where-plain", payload=Echo)
        def where_plain(payload: Echo, _caller: ClientIdentity) -> dict[str, str]:
            return {"task": running_task(), "text": payload.text}

        @self.provider.action("where-async", payload=Echo)
        async def where_async(payload: Echo, _caller: ClientIdentity) -> dict[str, str]:
            return {"task": running_task(), "text": payload.text}

        @self.provider.action("where-deferred")
        def where_deferred(_payload: Any, _caller: ClientIdentity) -> Awaitable[dict[str, str]]:
            # A plain function handing back an awaitable: awaited as an async handler's result is.
            return where_async(Echo(text="later"), _caller)

        @self.provider.action("crash-async")
        async def crash_async(_payload: Any, _caller: ClientIdentity) -> None:
            raise ZeroDivisionError("division by zero")


def running_task() -> str:
    task = asyncio.current_task()
    assert task is not None
    return task.get_name()


@pytest.fixture
async def service(runtime_emulator: str) -> AsyncIterator[Service]:
    async with RuntimeConnection(runtime_emulator, "py-provider") as connection:
        service = Service(connection)
        await service.provider.create()
        yield service


def client_params(address: str, uuid: str = "node-client", **extra: Any) -> dict[str, Any]:
    return {"address": address, "uuid": uuid, "channelName": CHANNEL, **extra}


async def test_node_clients_get_results_of_python_actions_and_see_who_they_are(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    node = node_script.start(
        "openfin_client/channel_client.mjs",
        client_params(
            runtime_emulator,
            connectPayload={"app": "crm"},
            dispatches=[{"action": "echo", "payload": {"text": "ab", "times": 2}}],
        ),
    )

    routing = await event(node, "connected")
    outcomes = await event(node, "dispatched")
    node.send({"step": "finish"})
    await result(node)

    assert routing["result"] == {"welcome": "node-client"}
    assert routing["channelName"] == CHANNEL
    client, payload = service.connected[0]
    assert (client.uuid, payload) == ("node-client", {"app": "crm"})
    assert outcomes == [
        {"ok": True, "result": {"echoed": "abab", "caller": "node-client", "endpoint": client.endpoint_id}}
    ]


async def test_errors_thrown_by_python_handlers_reach_node_with_name_and_fields(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    node = node_script.start(
        "openfin_client/channel_client.mjs",
        client_params(runtime_emulator, dispatches=[{"action": "lookup"}, {"action": "crash"}]),
    )

    lookup, crash = await event(node, "dispatched")
    node.send({"step": "finish"})
    await result(node)

    assert not lookup["ok"]
    assert lookup["error"]["className"] == "ChannelError"
    assert lookup["error"]["message"] == "ApiRequestError: Record not found"
    assert lookup["error"]["cause"] == {
        "name": "ApiRequestError",
        "message": "Record not found",
        "status": 404,
        "detail": "no such sys_id",
    }
    assert crash["error"]["message"] == "ZeroDivisionError: division by zero"
    assert crash["error"]["cause"]["name"] == "ZeroDivisionError"


async def test_a_bad_payload_is_refused_without_running_the_handler(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    node = node_script.start(
        "openfin_client/channel_client.mjs",
        client_params(runtime_emulator, dispatches=[{"action": "echo", "payload": {"times": "x"}}]),
    )

    [outcome] = await event(node, "dispatched")
    node.send({"step": "finish"})
    await result(node)

    assert outcome["error"]["cause"]["name"] == "ParameterError"
    assert "text" in outcome["error"]["message"]
    assert "times" in outcome["error"]["message"]
    assert service.echo_calls == 0


async def test_a_plain_handler_is_answered_by_the_reader_and_an_async_one_in_a_task_of_its_own(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    dispatches = [
        {"action": "where-plain", "payload": {"text": "a"}},
        {"action": "where-async", "payload": {"text": "b"}},
        {"action": "where-deferred"},
        {"action": "where-plain", "payload": {"times": "x"}},
        {"action": "where-async", "payload": {"times": "x"}},
        {"action": "crash"},
        {"action": "crash-async"},
    ]
    node = node_script.start(
        "openfin_client/channel_client.mjs", client_params(runtime_emulator, dispatches=dispatches)
    )

    outcomes = await event(node, "dispatched")
    node.send({"step": "finish"})
    await result(node)

    plain, awaited, deferred, plain_refused, async_refused, crash, crash_async = outcomes
    assert plain == {"ok": True, "result": {"task": "openfin-reader", "text": "a"}}
    assert awaited == {"ok": True, "result": {"task": "openfin-action-where-async", "text": "b"}}
    assert deferred == {"ok": True, "result": {"task": "openfin-action-where-deferred", "text": "later"}}
    # Whichever kind: the same refusal of a bad payload, the same reply for a handler that raises.
    for refused in (plain_refused, async_refused):
        assert refused["error"]["cause"]["name"] == "ParameterError"
        assert "text" in refused["error"]["message"]
    assert crash["error"] == crash_async["error"]
    assert crash["error"]["message"] == "ZeroDivisionError: division by zero"


async def test_an_unknown_action_is_refused_with_the_runtimes_wording(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    node = node_script.start(
        "openfin_client/channel_client.mjs",
        client_params(runtime_emulator, dispatches=[{"action": "teleport"}]),
    )

    [outcome] = await event(node, "dispatched")
    node.send({"step": "finish"})
    await result(node)

    assert outcome["error"]["message"] == "No action registered at target for teleport"


async def test_a_client_refused_by_on_connection_gets_the_reason(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    node = node_script.start(
        "openfin_client/channel_client.mjs", client_params(runtime_emulator, "unwelcome-app")
    )
    outcome = await result(node)

    assert outcome["connected"] is False
    assert outcome["error"]["message"] == "unwelcome-app may not use py-service"
    assert service.provider.connections == []


async def test_the_provider_dispatches_and_publishes_to_node_clients(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    first = node_script.start(
        "openfin_client/channel_client.mjs", client_params(runtime_emulator, "node-one")
    )
    second = node_script.start(
        "openfin_client/channel_client.mjs", client_params(runtime_emulator, "node-two")
    )
    await event(first, "dispatched")
    await event(second, "dispatched")
    one = next(c for c in service.provider.connections if c.uuid == "node-one")

    pong = await service.provider.dispatch(one, "ping", {"n": 41})
    outcomes = await service.provider.publish("news", {"headline": "case CS0001001 updated"})
    for node in (first, second):
        node.send({"step": "finish"})
    seen_one, seen_two = await result(first), await result(second)

    assert pong == {"pong": 42}
    assert sorted((o.client.uuid, o.result) for o in outcomes) == [
        ("node-one", "thanks"),
        ("node-two", "thanks"),
    ]
    assert seen_one["received"] == [
        {"action": "ping", "payload": {"n": 41}, "from": "py-provider"},
        {"action": "news", "payload": {"headline": "case CS0001001 updated"}},
    ]
    assert seen_two["received"] == [{"action": "news", "payload": {"headline": "case CS0001001 updated"}}]


async def test_a_failing_client_does_not_spoil_a_publish_to_the_others(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    node = node_script.start("openfin_client/channel_client.mjs", client_params(runtime_emulator))
    await event(node, "dispatched")
    client = service.provider.connections[0]

    with pytest.raises(ChannelActionError) as caught:
        await service.provider.dispatch(client, "broken")
    outcomes = await service.provider.publish("no-such-handler", {})
    node.send({"step": "finish"})
    await result(node)

    assert caught.value.reason == "this client cannot do that"
    assert caught.value.error_name == "TypeError"
    assert [o.ok for o in outcomes] == [False]
    assert isinstance(outcomes[0].error, ChannelActionError)
    assert "No action registered at target for no-such-handler" in str(outcomes[0].error)


async def test_on_disconnection_runs_when_a_node_client_leaves(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    node = node_script.start("openfin_client/channel_client.mjs", client_params(runtime_emulator))
    await event(node, "dispatched")

    node.send({"step": "finish"})
    await result(node)
    await eventually(lambda: len(service.disconnected) == 1)

    assert service.disconnected[0].uuid == "node-client"
    assert service.provider.connections == []


async def test_a_post_to_every_client_says_when_each_copy_was_written(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    nodes = [
        node_script.start("openfin_client/channel_client.mjs", client_params(runtime_emulator, f"node-{n}"))
        for n in range(2)
    ]
    for node in nodes:
        await event(node, "dispatched")
    with capture_logs() as logs:
        service.provider.post("news", {"headline": "case CS0001001 updated"})
        await eventually(lambda: any(entry["event"] == "channel.fanout" for entry in logs))
        # The events reach the apps too (the line is about frames written, not a stand-in for delivery).
        await eventually(lambda: service.provider.delivery_totals().delivered == 2)
    for node in nodes:
        node.send({"step": "finish"})
        assert {"action": "news", "payload": {"headline": "case CS0001001 updated"}} in (await result(node))[
            "received"
        ]
    (fanout,) = [entry for entry in logs if entry["event"] == "channel.fanout"]
    assert (fanout["action"], fanout["clients"], fanout["written"]) == ("news", 2, 2)
    assert fanout["written_ms"] >= 0


async def test_a_post_a_client_refuses_is_counted_as_failed_and_the_next_one_still_goes(
    service: Service, runtime_emulator: str, node_script: NodeScripts
) -> None:
    node = node_script.start("openfin_client/channel_client.mjs", client_params(runtime_emulator))
    await event(node, "dispatched")
    service.provider.post("no-such-handler", {})
    service.provider.post("news", {"headline": "after the refusal"})
    await eventually(lambda: service.provider.delivery_totals().failed == 1)
    await eventually(lambda: service.provider.delivery_totals().delivered == 1)
    node.send({"step": "finish"})
    received = (await result(node))["received"]
    assert {"action": "news", "payload": {"headline": "after the refusal"}} in received
