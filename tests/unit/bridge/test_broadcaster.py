"""``ChangeBroadcaster`` against fakes: own writes broadcast at once, each version once, pollers per login."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapter.bridge.broadcast import ChangeBroadcaster
from adapter.servicenow.errors import AuthTokenExpiredError
from adapter.servicenow.response import ApiResponse
from tests.unit.bridge.fakes import CASES, WAIT, FakeInstance, RecordedDeliveries, ScriptedSource, until

TABLE = f"/api/now/table/{CASES}"


Parts = tuple[FakeInstance, ScriptedSource, RecordedDeliveries, ChangeBroadcaster]


@pytest.fixture
async def parts() -> AsyncIterator[Parts]:
    """An instance, a scripted source of other people's changes, and a broadcaster watching the cases."""
    instance, source, recipient = FakeInstance(), ScriptedSource(), RecordedDeliveries()
    broadcaster = ChangeBroadcaster([CASES], source, recipient)
    yield instance, source, recipient, broadcaster
    await broadcaster.aclose()


async def write(
    instance: FakeInstance, broadcaster: ChangeBroadcaster, method: str, endpoint: str, data: object = None
) -> None:
    """An app's write through the adapter, as ``servicenow.request`` makes and reports it."""
    response = await instance.execute(endpoint, method, data)
    broadcaster.own_write(instance.connection, method, endpoint, response)


async def settled(broadcaster: ChangeBroadcaster) -> None:
    """Every read-back pending now has ended."""
    async with asyncio.timeout(WAIT):
        await asyncio.gather(*broadcaster._writes)


async def test_an_own_write_is_broadcast_at_once_without_a_poll(parts: Parts) -> None:
    instance, source, recipient, broadcaster = parts
    case = instance.put(CASES, state="1")
    await write(instance, broadcaster, "PATCH", f"{TABLE}/{case['sys_id']}", {"state": "2"})
    (change,) = await recipient.wait_for(1)
    assert (change.table, change.sys_id, change.change) == (CASES, case["sys_id"], "updated")
    assert change.record["state"] == "2"
    assert source.started == [], "no poller was asked: the write itself was read back"
    (read,) = instance.requests("GET")
    assert read.path == f"{TABLE}/{case['sys_id']}"
    assert read.query["sysparm_display_value"] == "all"


async def test_a_record_created_through_the_adapter_is_reported_as_created(parts: Parts) -> None:
    instance, _source, recipient, broadcaster = parts
    await write(instance, broadcaster, "POST", TABLE, {"short_description": "new"})
    (change,) = await recipient.wait_for(1)
    assert change.change == "created"
    assert change.record["short_description"] == "new"


async def test_writes_that_change_no_watched_record_are_not_broadcast(parts: Parts) -> None:
    instance, _source, recipient, broadcaster = parts
    case = instance.put(CASES, state="1")
    other = instance.put("incident", state="1")
    connection = instance.connection
    await write(instance, broadcaster, "PATCH", f"/api/now/table/incident/{other['sys_id']}", {"state": "2"})
    refused = await instance.execute(f"{TABLE}/{case['sys_id']}", "GET")
    broadcaster.own_write(
        connection, "PATCH", f"{TABLE}/{case['sys_id']}", refused.model_copy(update={"status": 403})
    )
    broadcaster.own_write(connection, "POST", "/api/now/attachment/file", refused)
    broadcaster.own_write(connection, "POST", TABLE, refused.model_copy(update={"data": None}))
    assert broadcaster._writes == set(), "none of them is read back"
    # Positive control: a write to a watched record after them is read back and broadcast.
    await write(instance, broadcaster, "PATCH", f"{TABLE}/{case['sys_id']}", {"state": "3"})
    assert len(broadcaster._writes) == 1
    await settled(broadcaster)
    assert [(c.sys_id, c.record["state"]) for c in recipient.changes] == [(case["sys_id"], "3")]
    assert [sent.path for sent in instance.requests("GET")] == [f"{TABLE}/{case['sys_id']}"] * 2


async def test_a_deleted_record_is_reported_without_reading_it(parts: Parts) -> None:
    instance, _source, recipient, broadcaster = parts
    case = instance.put(CASES, state="1")
    await write(instance, broadcaster, "PATCH", f"{TABLE}/{case['sys_id']}", {"state": "2"})
    await recipient.wait_for(1)
    reads = len(instance.requests("GET"))
    assert reads == 1, "positive control: an update is read back"
    await write(instance, broadcaster, "DELETE", f"{TABLE}/{case['sys_id']}")
    changes = await recipient.wait_for(2)
    assert [(c.change, c.number) for c in changes] == [
        ("updated", case["number"]),
        ("deleted", case["number"]),
    ]
    assert len(instance.requests("GET")) == reads


async def test_a_hot_records_read_backs_do_not_pile_up_and_its_latest_version_goes_out_once(
    parts: Parts,
) -> None:
    instance, _source, recipient, broadcaster = parts
    case = instance.put(CASES, state="0")
    endpoint = f"{TABLE}/{case['sys_id']}"
    instance.hold_reads = asyncio.Event()
    await write(instance, broadcaster, "PATCH", endpoint, {"state": "1"})
    await until(lambda: instance.reads_waiting == 1)  # the first read-back has started to read
    for n in range(2, 12):
        await write(instance, broadcaster, "PATCH", endpoint, {"state": str(n)})
    assert len(broadcaster._writes) == 2, "one reading, one waiting: nine writes rode on the second"
    instance.hold_reads.set()
    await settled(broadcaster)
    # Both read-backs read the eleventh version (the reads were held until every write was made): it is
    # broadcast once.
    assert len(instance.requests("GET")) == 2
    assert [c.record["state"] for c in recipient.changes] == ["11"]


async def test_a_failing_delivery_is_logged_and_later_changes_still_go_out(parts: Parts) -> None:
    instance, _source, _recipient, _broadcaster = parts
    recipient = RecordedDeliveries(fail_first=1)
    broadcaster = ChangeBroadcaster([CASES], ScriptedSource(), recipient)
    first, second = instance.put(CASES, state="1"), instance.put(CASES, state="1")
    await write(instance, broadcaster, "PATCH", f"{TABLE}/{first['sys_id']}", {"state": "2"})
    await settled(broadcaster)
    await write(instance, broadcaster, "PATCH", f"{TABLE}/{second['sys_id']}", {"state": "2"})
    changes = await recipient.wait_for(2)
    assert [c.sys_id for c in changes] == [first["sys_id"], second["sys_id"]]
    assert recipient.fail_first == 0, "the first delivery did fail"
    await broadcaster.aclose()


async def test_one_poller_per_login_however_many_apps_share_it_and_none_after_release(
    parts: Parts,
) -> None:
    instance, source, _recipient, broadcaster = parts
    broadcaster.connection_acquired(instance.connection)
    broadcaster.connection_acquired(instance.connection)
    await until(source.watching.is_set)
    assert source.started == [(instance.key, CASES)]
    broadcaster.connection_released(instance.key)
    await until(lambda: bool(source.stopped))
    assert source.stopped == [(instance.key, CASES)]
    # A new share after the release watches again.
    broadcaster.connection_acquired(instance.connection)
    await until(lambda: len(source.started) == 2)
    assert source.started == [(instance.key, CASES)] * 2


async def test_a_polled_version_the_own_write_reported_is_not_broadcast_again(parts: Parts) -> None:
    instance, source, recipient, broadcaster = parts
    case = instance.put(CASES, state="1")
    broadcaster.connection_acquired(instance.connection)
    await until(source.watching.is_set)
    await write(instance, broadcaster, "PATCH", f"{TABLE}/{case['sys_id']}", {"state": "2"})
    await recipient.wait_for(1)
    seen = dict(instance.tables[CASES][case["sys_id"]])
    newer = {**seen, "state": "3", "sys_mod_count": "2"}
    # The poller sees the version already broadcast, then (positive control) a newer one.
    source.send((CASES, seen), (CASES, newer))
    changes = await recipient.wait_for(2)
    assert [(c.record["state"], c.changed_fields) for c in changes] == [("2", ()), ("3", ("state",))]


async def test_what_the_instance_held_when_watching_began_is_remembered_not_broadcast() -> None:
    before = {"sys_id": "c" * 32, "number": "CS0000001", "sys_mod_count": "4", "state": "1", "priority": "3"}
    source, recipient = ScriptedSource([(CASES, before)]), RecordedDeliveries()
    broadcaster = ChangeBroadcaster([CASES], source, recipient)
    broadcaster.connection_acquired(FakeInstance().connection)
    await until(source.watching.is_set)
    source.send((CASES, {**before, "state": "2", "sys_mod_count": "5"}))
    (change,) = await recipient.wait_for(1)
    await broadcaster.aclose()
    assert (change.change, change.changed_fields) == ("updated", ("state",))


async def test_a_poller_stopped_by_an_expired_login_is_started_again_by_the_next_share(
    parts: Parts,
) -> None:
    instance, source, _recipient, broadcaster = parts
    broadcaster.connection_acquired(instance.connection)
    await until(source.watching.is_set)
    source.stop_with(AuthTokenExpiredError())
    await until(lambda: bool(source.stopped))
    broadcaster.connection_acquired(instance.connection)
    await until(lambda: len(source.started) == 2)
    assert source.started == [(instance.key, CASES)] * 2


@pytest.mark.parametrize(("status", "read_back"), [(199, False), (200, True), (299, True), (300, False)])
async def test_only_a_write_the_instance_answered_with_2xx_is_read_back(
    parts: Parts, status: int, read_back: bool
) -> None:
    instance, _source, _recipient, broadcaster = parts
    case = instance.put(CASES, state="1")
    answered = await instance.execute(f"{TABLE}/{case['sys_id']}", "PATCH", {"state": "2"})
    broadcaster.own_write(
        instance.connection,
        "PATCH",
        f"{TABLE}/{case['sys_id']}",
        answered.model_copy(update={"status": status}),
    )
    assert (len(broadcaster._writes) == 1) is read_back


class SlowFirstRead(FakeInstance):
    """An instance whose next record read answers with the record as it was when the read began, but only
    once ``release`` is set (a slow request)."""

    def __init__(self) -> None:
        super().__init__()
        self.release: asyncio.Event | None = None
        self.reading = asyncio.Event()

    async def execute(self, endpoint: str, method: str = "GET", *args: Any, **kwargs: Any) -> ApiResponse:
        release = self.release
        if method == "GET" and release is not None:
            self.release = None
            answer = await super().execute(endpoint, method, *args, **kwargs)
            self.reading.set()
            await release.wait()
            return answer
        return await super().execute(endpoint, method, *args, **kwargs)


async def test_writes_to_one_record_are_broadcast_in_the_order_they_were_made() -> None:
    instance, recipient = SlowFirstRead(), RecordedDeliveries()
    broadcaster = ChangeBroadcaster([CASES], ScriptedSource(), recipient)
    case = instance.put(CASES, state="0")
    endpoint = f"{TABLE}/{case['sys_id']}"
    instance.release = release = asyncio.Event()
    await write(instance, broadcaster, "PATCH", endpoint, {"state": "1"})
    await until(instance.reading.is_set)  # the first read-back has read version 1 and is slow to answer
    await write(instance, broadcaster, "PATCH", endpoint, {"state": "2"})
    assert len(broadcaster._writes) == 2, "the second write needs its own read-back"
    release.set()
    changes = await recipient.wait_for(2)
    await broadcaster.aclose()
    # Had the second read-back not waited for the first, version 2 would go out first and version 1,
    # older, would be dropped.
    assert [c.record["state"] for c in changes] == ["1", "2"]


async def test_a_finished_read_back_leaves_nothing_behind(parts: Parts) -> None:
    instance, _source, recipient, broadcaster = parts
    cases = [instance.put(CASES, state="1") for _ in range(3)]
    for case in cases:
        await write(instance, broadcaster, "PATCH", f"{TABLE}/{case['sys_id']}", {"state": "2"})
    assert (len(broadcaster._writes), len(broadcaster._read_backs)) == (3, 3), "positive control"
    await recipient.wait_for(3)
    await until(lambda: not broadcaster._writes)
    assert len(broadcaster._read_backs) == 0


async def test_closing_waits_for_every_poller_and_read_back_to_end(parts: Parts) -> None:
    instance, source, _recipient, broadcaster = parts
    broadcaster.connection_acquired(instance.connection)
    await until(source.watching.is_set)
    case = instance.put(CASES, state="1")
    instance.hold_reads = asyncio.Event()
    await write(instance, broadcaster, "PATCH", f"{TABLE}/{case['sys_id']}", {"state": "2"})
    await until(lambda: instance.reads_waiting == 1)
    tasks = [*broadcaster._pollers.values(), *broadcaster._writes]
    assert len(tasks) == 2, "positive control: a poller and a held read-back are running"
    await broadcaster.aclose()
    assert all(task.done() for task in tasks)
    assert (broadcaster._pollers, broadcaster._writes) == ({}, set())
