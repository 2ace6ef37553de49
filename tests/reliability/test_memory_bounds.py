"""What the adapter keeps per record it has seen change stays small, so a long day of writes stays cheap.

The change tracker remembers up to 10 000 records; at the few kilobytes a full case takes in Python that
alone would be tens of megabytes. Measured with ``tracemalloc`` on real case records from the emulator.
"""

from __future__ import annotations

import gc
import json
import tracemalloc

from adapter.bridge.changes import ChangeTracker
from tests.support.servicenow_emulator import servicenow_emulator

RECORDS = 2000
BUDGET_PER_RECORD = 1536  # bytes; a full case record held as a dict takes about 6 KB


async def test_remembering_a_changed_case_costs_little_memory() -> None:
    async with servicenow_emulator() as emulator:
        response = await emulator.hooks.get(
            "/api/now/table/sn_customerservice_case?sysparm_limit=1", auth=("admin", "admin")
        )
    body = response.content
    tracker = ChangeTracker()
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for index in range(RECORDS):
            record = json.loads(body)["result"][0]
            record["sys_id"] = f"{index:032x}"
            assert tracker.observe("sn_customerservice_case", record, created=True) is not None
            del record
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(tracker) == RECORDS
    assert (after - before) / RECORDS < BUDGET_PER_RECORD
