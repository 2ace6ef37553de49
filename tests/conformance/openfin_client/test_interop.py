"""Our ``InteropClient`` on a platform's interop broker, with a node-adapter app in the same context group.

Every scenario runs twice: against the stock node-adapter ``InteropBroker`` (``fin.Interop.init`` with the
intent routing platform owners write) and against the runtime emulator's built-in broker (``--broker``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapter.openfin import ChannelActionError, Intent, InteropClient, RuntimeConnection
from tests.conformance.conftest import NodeScripts
from tests.conformance.node_support import NodeProcess
from tests.conformance.openfin_client.support import event, eventually, result

NODE_BROKER_PLATFORM = "node-platform"
CONTACT = {"type": "fdc3.contact", "name": "Jane Doe", "id": {"email": "jane.doe@example.com"}}
CASE = {
    "type": "servicenow.case",
    "id": {"sys_id": "0" * 32, "number": "CS0001001", "table": "sn_customerservice_case"},
}


@dataclass
class Desk:
    """Our InteropClient, a node interop app in group ``green``, and what our handlers received."""

    interop: InteropClient
    node: NodeProcess
    any_context: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    instruments: list[dict[str, Any]] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)

    async def step(self, name: str, reply: str) -> Any:
        self.node.send({"step": name})
        return await event(self.node, reply)


@pytest.fixture(params=["node-broker", "built-in-broker"])
async def desk(request: pytest.FixtureRequest, node_script: NodeScripts) -> AsyncIterator[Desk]:
    if request.param == "node-broker":
        address: str = request.getfixturevalue("runtime_emulator")
        platform, node_runs_broker = NODE_BROKER_PLATFORM, True
    else:
        address, platform = request.getfixturevalue("runtime_emulator_with_broker")
        node_runs_broker = False
    async with RuntimeConnection(address, "py-interop") as connection:
        interop = InteropClient(connection, platform, connect_timeout=20)
        # Connect before the broker exists (node starts it below): the client must wait for it.
        connecting = asyncio.ensure_future(interop.connect())
        node = node_script.start(
            "openfin_client/interop_peer.mjs",
            {
                "address": address,
                "platformUuid": platform,
                "startBroker": node_runs_broker,
                "groupId": "green",
                "context": CONTACT,
                "intent": "ViewInteractions",
            },
        )
        async with asyncio.timeout(20):
            await connecting
        desk = Desk(interop, node)
        await event(node, "ready")
        await interop.join_context_group("green")
        await interop.add_context_handler(desk.any_context.append)
        await interop.add_context_handler(desk.contacts.append, "fdc3.contact")
        await interop.add_context_handler(desk.instruments.append, "fdc3.instrument")

        async def view_interactions(intent: Intent) -> dict[str, Any]:
            desk.intents.append(intent)
            return {**CASE, "name": f"cases of {intent.context['name']}"}

        await interop.register_intent_handler("ViewInteractions", view_interactions)
        yield desk
        node.send({"step": "finish"})
        await result(node)
        await interop.close()


async def test_a_context_set_by_a_node_app_reaches_matching_python_handlers(desk: Desk) -> None:
    outcome = await desk.step("set-context", "context-set")
    await eventually(lambda: desk.contacts and desk.any_context)

    assert outcome == {"ok": True, "result": None}
    assert desk.contacts == [CONTACT]
    assert desk.any_context == [CONTACT]
    assert desk.instruments == []


async def test_python_set_context_reaches_node_context_handlers(desk: Desk) -> None:
    await desk.interop.set_context(CASE)

    async def node_received() -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = await desk.step("received", "received")
        return received

    async def node_has_it() -> bool:
        return CASE in await node_received()

    await eventually(node_has_it)
    await eventually(lambda: CASE in desk.any_context)
    assert desk.contacts == []


async def test_an_intent_fired_by_a_node_app_is_answered_by_the_python_handler(desk: Desk) -> None:
    outcome = await desk.step("fire-intent", "intent-fired")

    assert outcome["ok"], outcome
    assert outcome["result"]["intent"] == "ViewInteractions"
    assert outcome["result"]["source"]["appId"] == "py-interop"
    assert outcome["result"]["result"] == {**CASE, "name": "cases of Jane Doe"}
    assert [(i.name, i.context) for i in desk.intents] == [("ViewInteractions", CONTACT)]


async def test_an_fdc3_2_raiser_gets_the_python_result_from_get_result(desk: Desk) -> None:
    outcome = await desk.step("raise-intent-fdc3", "intent-raised")

    assert outcome["ok"], outcome
    assert outcome["result"]["result"] == {**CASE, "name": "cases of Jane Doe"}
    assert desk.intents[0].result_topic is not None


async def test_context_groups_are_listed_and_leaving_stops_set_context(desk: Desk) -> None:
    groups = await desk.interop.get_context_groups()
    await desk.interop.leave_context_group()

    with pytest.raises(ChannelActionError, match="join a context group"):
        await desk.interop.set_context(CASE)
    assert [g.id for g in groups] == ["green", "purple", "orange", "red", "pink", "yellow"]
    assert groups[0].display_metadata == {"color": "#00CC88", "name": "green"}


async def test_a_session_context_group_delivers_and_remembers_contexts(desk: Desk) -> None:
    session = await desk.interop.join_session_context_group("servicenow")
    seen: list[dict[str, Any]] = []
    await session.add_context_handler(seen.append, "servicenow.case")

    await session.set_context(CASE)
    await eventually(lambda: seen == [CASE])

    assert await session.get_current_context("servicenow.case") == CASE
    assert await session.get_current_context() == CASE
