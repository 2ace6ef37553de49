"""Reading one record with ``Records.get``: what another process writes to a file database shows at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.records import Records
from adapter.emulators.servicenow.render import RenderOptions
from adapter.emulators.servicenow.seed import seed_demo_data
from adapter.emulators.servicenow.store import Store

CASE = "sn_customerservice_case"


def test_a_case_changed_by_another_process_in_a_file_database_reads_with_the_change(tmp_path: Path) -> None:
    path = tmp_path / "instance.db"
    store = Store.open(path, Clock())
    seed_demo_data(store)
    records = Records(store)
    beth = store.caller("beth.anglin")
    assert beth is not None
    with store.read() as db:
        sys_id = str(db.execute("SELECT sys_id FROM task WHERE sys_class_name = ?", (CASE,)).fetchone()[0])
    before = records.get(beth, CASE, sys_id, RenderOptions())

    outside = sqlite3.connect(path)
    outside.execute("UPDATE task SET short_description = 'Changed elsewhere' WHERE sys_id = ?", (sys_id,))
    outside.commit()
    outside.close()
    after = records.get(beth, CASE, sys_id, RenderOptions())

    assert before["short_description"] != "Changed elsewhere"
    assert after["short_description"] == "Changed elsewhere"
    store.close()
