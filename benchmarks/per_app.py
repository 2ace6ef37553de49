"""``python -m benchmarks.per_app``: what one request's bookkeeping costs as more apps connect.

No desktop: the adapter's own objects in one process, with 10 and with 1 000 apps connected, and one app with
100 and with 1 000 requests waiting for its turns. Each figure is the CPU time per call (median of 5 rounds);
a cost that grows with the apps shows as a ratio well above 1 between the two columns.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any, cast

from adapter.bridge.access import AccessPolicy
from adapter.bridge.actions import ServiceNowActions
from adapter.bridge.fairness import RequestGate
from adapter.logging import configure_logging
from adapter.openfin import ChannelProvider, ClientIdentity, RuntimeConnection
from adapter.openfin.frames import ChannelConnectionPayload
from adapter.servicenow.manager import ConnectionManager
from adapter.servicenow.transport import TransportRegistry
from tests.unit.servicenow.fakes import INSTANCE, ApprovingAuthorizer, FakeInstance

ROUNDS = 5
CALLS = 2_000


class _Runtime:
    """Just enough of a runtime connection for the provider to accept clients."""

    async def send(self, _frame: Any) -> None:
        return None

    def spawn(self, coroutine: Any, name: str = "") -> None:
        coroutine.close()


def _identity(n: int) -> ClientIdentity:
    return ClientIdentity.model_validate(
        {"uuid": f"app-{n}", "name": f"app-{n}", "endpointId": f"e-{n}", "isExternal": True}
    )


async def _provider(apps: int) -> ChannelProvider:
    provider = ChannelProvider(cast(RuntimeConnection, _Runtime()), "servicenow")
    for n in range(apps):
        await provider.handle_connection(
            ChannelConnectionPayload.model_validate(
                {
                    "ackToSender": {"action": "send-channel-result", "payload": {"correlationId": n}},
                    "providerIdentity": {
                        "uuid": "py",
                        "name": "py",
                        "channelName": "servicenow",
                        "channelId": "py/py/servicenow",
                    },
                    "clientIdentity": _identity(n).to_wire(),
                }
            )
        )
    return provider


def _per_call_us(call: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.process_time()
        for _ in range(CALLS):
            call()
        times.append((time.process_time() - start) / CALLS * 1e6)
    return statistics.median(times)


async def _lookups(apps: int) -> dict[str, float]:
    instance = FakeInstance()
    manager = ConnectionManager(
        ApprovingAuthorizer(), transports=TransportRegistry(factory=instance.transport)
    )
    for n in range(apps):
        await manager.acquire(f"app-{n}/app-{n}", INSTANCE, "openfin-demo")
    actions = ServiceNowActions(manager, AccessPolicy(()), cast(Any, None))
    provider = await _provider(apps)
    actions.register(provider)
    last = f"app-{apps - 1}/app-{apps - 1}"
    caller = _identity(apps - 1)
    figures = {
        "ConnectionManager.connection": _per_call_us(lambda: manager.connection(last)),
        "ConnectionManager.connection, instance URL given": _per_call_us(
            lambda: manager.connection(last, INSTANCE)
        ),
        "ServiceNowActions._present": _per_call_us(lambda: actions._present(caller)),
    }
    await manager.aclose(revoke=False)
    return figures


async def _turns(waiting: int) -> float:
    """CPU per request of an app that has ``waiting`` more requests queued behind its running ones."""
    gate = RequestGate(in_flight=16, backlog=waiting)
    release = asyncio.Event()

    async def request() -> None:
        async with gate.turn("busy"):
            await release.wait()

    times = []
    for _ in range(ROUNDS):
        release.clear()
        start = time.process_time()
        tasks = [asyncio.create_task(request()) for _ in range(16 + waiting)]
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*tasks)
        times.append((time.process_time() - start) / len(tasks) * 1e6)
    return statistics.median(times)


async def main() -> None:
    """Print the table."""
    configure_logging("error")
    few, many = await _lookups(10), await _lookups(1000)
    print("| per request | 10 apps (us) | 1 000 apps (us) |")
    print("|---|---|---|")
    for name in few:
        print(f"| {name} | {few[name]:.2f} | {many[name]:.2f} |")
    print(f"| RequestGate.turn, 100 / 1 000 waiting | {await _turns(100):.2f} | {await _turns(1000):.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
