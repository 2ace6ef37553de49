"""The change watcher against the emulator: other people's creates and updates arrive once each."""

from __future__ import annotations

from adapter.servicenow.watcher import ChangeWatcher, WatchSettings
from tests.integration.servicenow_client.conftest import CASES, CLIENT_ID, ManagerFactory
from tests.support.servicenow_emulator import ServiceNowEmulator


async def test_created_and_updated_records_are_reported_once_each(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    connection = (await make_manager().acquire("watcher", emulator.url, CLIENT_ID)).connection
    watcher = ChangeWatcher(connection, WatchSettings("sn_customerservice_case", fields=["number", "state"]))
    assert await watcher.poll_once() == []
    await emulator.advance_clock(60)
    created = await connection.execute(CASES, "POST", {"short_description": "Card declined"})
    assert isinstance(created.data, dict)
    sys_id = created.data["sys_id"]
    first = await watcher.poll_once()
    assert [(r["sys_id"], r["sys_mod_count"]) for r in first] == [(sys_id, "0")]
    await connection.execute(f"{CASES}/{sys_id}", "PATCH", {"state": "10"})
    second = await watcher.poll_once()
    assert [(r["sys_id"], r["sys_mod_count"], r["state"]) for r in second] == [(sys_id, "1", "10")]
    assert await watcher.poll_once() == []
