"""``--db PATH``: a new file is seeded once; a restarted emulator keeps its records and is not reseeded."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.servicenow_emulator import CLIENT_TLS, servicenow_emulator

CASES = "/api/now/table/sn_customerservice_case"


async def count(http: httpx.AsyncClient, url: str, path: str) -> int:
    response = await http.get(f"{url}{path}", params={"sysparm_limit": "1"}, auth=("admin", "admin"))
    return int(response.headers["x-total-count"])


async def test_a_restarted_emulator_keeps_its_records_and_is_not_seeded_again(tmp_path: Path) -> None:
    db = tmp_path / "instance.sqlite"
    async with httpx.AsyncClient(timeout=10.0, verify=CLIENT_TLS) as http:
        async with servicenow_emulator(db=db) as first:
            users = await count(http, first.url, "/api/now/table/sys_user")
            created = await http.post(
                f"{first.url}{CASES}",
                json={"short_description": "Survives a restart"},
                auth=("admin", "admin"),
            )
            sys_id = created.json()["result"]["sys_id"]

        async with servicenow_emulator(db=db) as second:
            again = await http.get(f"{second.url}{CASES}/{sys_id}", auth=("admin", "admin"))
            users_after = await count(http, second.url, "/api/now/table/sys_user")

    assert created.status_code == 201
    assert users > 0
    assert again.json()["result"]["short_description"] == "Survives a restart"
    assert users_after == users
