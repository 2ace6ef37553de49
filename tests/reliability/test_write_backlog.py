"""Writes to one record faster than the adapter can read them back do not pile up.

Every write through ``servicenow.request`` to a watched table is read back and broadcast. Twenty apps keep
updating one case, three writes in flight each; the read-backs waiting for that case stay at one running
and one queued (a queued read-back covers every write made before it reads), so memory stays flat and the
broadcast stays current; once the writes stop, the last version is broadcast.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.reliability.desktop import CASES, start_fleet
from tests.reliability.inprocess import WAIT, adapter_behind_proxy
from tests.support.waiting import eventually

WRITES = 1200
APPS = [f"writer-{n:02d}" for n in range(20)]


class HighWater(set[asyncio.Task[None]]):
    """The broadcaster's set of read-back tasks, remembering the most it ever held at once.

    Exact, where sampling the set's size now and then would miss a short pile-up (and miss more of them the
    slower the machine).
    """

    most = 0

    def add(self, task: asyncio.Task[None]) -> None:
        super().add(task)
        self.most = max(self.most, len(self))


@pytest.mark.slow
async def test_read_backs_of_a_hot_record_do_not_pile_up_and_the_last_version_is_broadcast() -> None:
    async with adapter_behind_proxy() as (service, _proxy, runtime, hooks):
        listed = await hooks.get(f"{CASES}?sysparm_limit=1&sysparm_fields=sys_id", auth=("admin", "admin"))
        sys_id = listed.json()["result"][0]["sys_id"]
        fleet = await asyncio.to_thread(start_fleet, runtime.address, APPS)
        try:
            assert all(result["ok"] for result in await asyncio.to_thread(fleet.connect))
            await asyncio.to_thread(fleet.events)
            write = {"apiEndpoint": f"{CASES}/{sys_id}", "httpMethod": "PATCH", "data": {"work_notes": "hot"}}
            writes = service.broadcaster._writes = HighWater(service.broadcaster._writes)
            outcome = await asyncio.to_thread(fleet.load, WRITES, [write], concurrency=3)
            final = (await hooks.get(f"{CASES}/{sys_id}", auth=("admin", "admin"))).json()["result"]
            await eventually(lambda: not writes, "every read-back done", timeout=WAIT)
            events = await asyncio.to_thread(fleet.events)
        finally:
            fleet.close()

    assert outcome["sent"] == WRITES
    assert outcome["lost"] == 0
    assert writes.most >= 1, "the writes were read back (the control: the set that must stay small was used)"
    assert writes.most <= 2, writes.most
    updates = [
        event["data"]
        for event in events[APPS[0]]
        if event["event"] == "servicenow.recordChanged" and event["data"]["sys_id"] == sys_id
    ]
    assert updates
    assert updates[-1]["context"]["updatedOn"] == final["sys_updated_on"].replace(" ", "T") + "Z"
