"""pysnow, a widely used third-party ServiceNow client, against the emulator over real HTTP with Basic auth.

pysnow is synchronous (requests), so each scenario runs in a worker thread while the emulator serves on the
test's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import pysnow
import pytest

from tests.support.servicenow_emulator import ServiceNowEmulator

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
TABLE = "sn_customerservice_case"


def client(emulator: ServiceNowEmulator, **options: Any) -> Any:
    return pysnow.Client(
        host=urlsplit(emulator.url).netloc, user="admin", password="admin", use_ssl=False, **options
    )


def query_builder_and_paging(
    emulator: ServiceNowEmulator,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # A page size in the request parameters (not get_multiple's limit, which suppresses the Link header)
    # makes pysnow walk the pages by following rel="next".
    snow = client(emulator, request_params={"sysparm_limit": "7"})
    query = (
        pysnow.QueryBuilder()
        .field("state")
        .equals(["1", "10"])
        .AND()
        .field("priority")
        .less_than_or_equal(2)
        .AND()
        .field("number")
        .order_ascending()
    )
    paged = list(snow.query(TABLE, query=query).get_multiple(fields=["number", "state", "priority"]))
    resource = client(emulator).resource(api_path=f"/table/{TABLE}")
    single = list(resource.get(query=query, fields=["number"]).all())
    return paged, single


def insert_update_delete(emulator: ServiceNowEmulator) -> dict[str, Any]:
    snow = client(emulator)
    cases = snow.resource(api_path=f"/table/{TABLE}")
    created = cases.create(payload={"short_description": "Created by pysnow", "priority": "2"}).one()
    number = created["number"]
    updated = cases.update(query={"number": number}, payload={"state": "10", "comments": "from pysnow"}).one()
    after_update = cases.get(query={"number": number}, display_value=True).one()
    deleted = cases.delete(query={"number": number})
    remaining = list(cases.get(query={"number": number}).all())
    return {
        "created": created,
        "updated": updated,
        "shown": after_update,
        "deleted": deleted,
        "remaining": remaining,
    }


async def test_query_builder_query_follows_link_pages_to_the_end(emulator: ServiceNowEmulator) -> None:
    key = f"GET /api/now/table/{TABLE}"
    before = (await emulator.stats()).get(key, 0)
    paged, single = await asyncio.to_thread(query_builder_and_paging, emulator)
    requests_made = (await emulator.stats())[key] - before

    assert len(paged) > 7
    assert [r["number"] for r in paged] == sorted(r["number"] for r in paged)
    assert len({r["number"] for r in paged}) == len(paged)
    assert all(r["state"] in ("1", "10") and int(r["priority"]) <= 2 for r in paged)
    assert [r["number"] for r in single] == [r["number"] for r in paged]
    assert requests_made == (len(paged) + 6) // 7 + 1


async def test_insert_update_delete_round_trip(emulator: ServiceNowEmulator) -> None:
    result = await asyncio.to_thread(insert_update_delete, emulator)

    assert result["created"]["short_description"] == "Created by pysnow"
    assert result["created"]["state"] == "1"
    assert result["updated"]["state"] == "10"
    assert result["updated"]["sys_mod_count"] == "1"
    assert result["shown"]["state"] == "Open"
    assert "(Additional comments)\nfrom pysnow" in result["shown"]["comments"]
    assert result["deleted"] == {"status": "record deleted"}
    assert result["remaining"] == []


def error_from_unknown_table(emulator: ServiceNowEmulator) -> str:
    resource = client(emulator).resource(api_path="/table/no_such_table")
    try:
        list(resource.get(query={}).all())
    except Exception as error:  # pysnow raises requests' HTTPError for a 400
        return str(error)
    return ""


async def test_pysnow_sees_the_invalid_table_error(emulator: ServiceNowEmulator) -> None:
    message = await asyncio.to_thread(error_from_unknown_table, emulator)

    assert "400" in message
