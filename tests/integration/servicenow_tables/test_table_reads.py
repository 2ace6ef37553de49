"""Reading tables over HTTP: envelopes, paging headers, fields, display shapes, inheritance, ACLs, errors."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.integration.servicenow_tables.conftest import CASES, CASES_V2
from tests.support.servicenow_emulator import ServiceNowEmulator

pytestmark = pytest.mark.asyncio(loop_scope="module")
SYS_ID = re.compile(r"[0-9a-f]{32}")


async def case_count(client: httpx.AsyncClient) -> int:
    response = await client.get(CASES, params={"sysparm_limit": "1"})
    return int(response.headers["X-Total-Count"])


async def test_list_answers_the_result_envelope_with_every_value_a_string(admin: httpx.AsyncClient) -> None:
    response = await admin.get(CASES, params={"sysparm_limit": "3", "sysparm_exclude_reference_link": "true"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    records = response.json()["result"]
    assert len(records) == 3
    for record in records:
        assert all(isinstance(value, str) for value in record.values())
        assert SYS_ID.fullmatch(record["sys_id"])
        assert re.fullmatch(r"CS\d{7}", record["number"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", record["sys_updated_on"])


async def test_total_count_is_all_matches_not_the_page_size(admin: httpx.AsyncClient) -> None:
    everything = await admin.get(CASES, params={"sysparm_fields": "sys_id"})
    one = await admin.get(CASES, params={"sysparm_limit": "1"})

    assert len(one.json()["result"]) == 1
    assert one.headers["X-Total-Count"] == str(len(everything.json()["result"]))
    assert int(one.headers["X-Total-Count"]) > 300


async def test_link_header_lists_first_prev_next_last_without_spaces(admin: httpx.AsyncClient) -> None:
    total = await case_count(admin)
    response = await admin.get(CASES_V2, params={"sysparm_query": "ORDERBYnumber", "sysparm_limit": "10"})

    links = re.findall(r'<([^>]*)>;rel="(\w+)"', response.headers["Link"])
    assert [rel for _, rel in links] == ["first", "prev", "next", "last"]
    assert response.headers["Link"] == ",".join(f'<{url}>;rel="{rel}"' for url, rel in links)
    assert [url.rsplit("sysparm_offset=", 1)[1] for url, _ in links] == ["0", "-10", "10", str(total - 10)]
    assert links[2][0] == (
        f"http://127.0.0.1:{response.url.port}/api/now/v2/table/sn_customerservice_case?"
        "sysparm_query=ORDERBYnumber&sysparm_limit=10&sysparm_offset=10"
    )


async def test_last_page_has_no_next_link(admin: httpx.AsyncClient) -> None:
    total = await case_count(admin)
    response = await admin.get(CASES, params={"sysparm_limit": "10", "sysparm_offset": str(total - 5)})

    assert len(response.json()["result"]) == 5
    assert 'rel="next"' not in response.headers["Link"]
    assert 'rel="last"' in response.headers["Link"]


async def test_pagination_header_can_be_suppressed_and_count_skipped(admin: httpx.AsyncClient) -> None:
    response = await admin.get(
        CASES,
        params={
            "sysparm_limit": "2",
            "sysparm_suppress_pagination_header": "true",
            "sysparm_no_count": "true",
        },
    )

    assert response.status_code == 200
    assert "Link" not in response.headers
    assert "X-Total-Count" not in response.headers


async def test_offset_pages_cover_every_record_once(admin: httpx.AsyncClient) -> None:
    total = await case_count(admin)
    seen: list[str] = []
    for offset in range(0, total, 100):
        page = await admin.get(
            CASES,
            params={
                "sysparm_query": "ORDERBYDESCsys_created_on",
                "sysparm_fields": "sys_id",
                "sysparm_limit": "100",
                "sysparm_offset": str(offset),
            },
        )
        seen.extend(r["sys_id"] for r in page.json()["result"])

    assert len(seen) == total
    assert len(set(seen)) == total


async def test_fields_selects_keys_including_dot_walked_ones(admin: httpx.AsyncClient) -> None:
    response = await admin.get(
        CASES,
        params={
            "sysparm_query": "contactISNOTEMPTY",
            "sysparm_limit": "1",
            "sysparm_fields": "number,contact.email,account.name,no_such_field",
        },
    )

    [record] = response.json()["result"]
    assert list(record) == ["number", "contact.email", "account.name"]
    assert "@" in record["contact.email"]
    assert record["account.name"]


async def test_reference_shapes_for_each_display_value_setting(admin: httpx.AsyncClient) -> None:
    base = {
        "sysparm_query": "assigned_toISNOTEMPTY^ORDERBYnumber",
        "sysparm_limit": "1",
        "sysparm_fields": "assigned_to,state,priority",
    }
    plain = (await admin.get(CASES_V2, params=base)).json()["result"][0]
    shown = (await admin.get(CASES_V2, params={**base, "sysparm_display_value": "true"})).json()["result"][0]
    both = (await admin.get(CASES_V2, params={**base, "sysparm_display_value": "all"})).json()["result"][0]
    bare = (await admin.get(CASES_V2, params={**base, "sysparm_exclude_reference_link": "true"})).json()[
        "result"
    ][0]
    names = (
        await admin.get(
            CASES_V2,
            params={**base, "sysparm_display_value": "true", "sysparm_exclude_reference_link": "true"},
        )
    ).json()["result"][0]

    user_id = plain["assigned_to"]["value"]
    link = f"http://127.0.0.1:{admin.base_url.port}/api/now/v2/table/sys_user/{user_id}"
    user = (await admin.get(f"/api/now/table/sys_user/{user_id}")).json()["result"]
    assert plain["assigned_to"] == {"link": link, "value": user_id}
    assert shown["assigned_to"] == {"display_value": user["name"], "link": link}
    assert both["assigned_to"] == {"display_value": user["name"], "link": link, "value": user_id}
    assert bare["assigned_to"] == user_id
    assert names["assigned_to"] == user["name"]
    assert plain["state"] in {"1", "10", "18", "6", "3", "7"}
    labels = {
        "1": "New",
        "10": "Open",
        "18": "Awaiting Info",
        "6": "Resolved",
        "3": "Closed",
        "7": "Canceled",
    }
    assert shown["state"] == labels[plain["state"]]
    assert both["state"] == {"display_value": labels[plain["state"]], "value": plain["state"]}
    assert re.fullmatch(r"[1-4] - (Critical|High|Moderate|Low)", shown["priority"])


async def test_empty_reference_is_an_empty_string_or_empty_pair(admin: httpx.AsyncClient) -> None:
    base = {"sysparm_query": "assigned_toISEMPTY", "sysparm_limit": "1", "sysparm_fields": "assigned_to"}
    plain = (await admin.get(CASES, params=base)).json()["result"][0]
    both = (await admin.get(CASES, params={**base, "sysparm_display_value": "all"})).json()["result"][0]

    assert plain["assigned_to"] == ""
    assert both["assigned_to"] == {"display_value": "", "value": ""}


async def test_unversioned_links_use_the_unversioned_path(admin: httpx.AsyncClient) -> None:
    response = await admin.get(CASES, params={"sysparm_query": "contactISNOTEMPTY", "sysparm_limit": "1"})

    contact = response.json()["result"][0]["contact"]
    assert contact["link"].endswith(f"/api/now/table/customer_contact/{contact['value']}")


async def test_task_query_returns_cases_with_class_and_only_task_columns(admin: httpx.AsyncClient) -> None:
    response = await admin.get(
        "/api/now/table/task",
        params={"sysparm_query": "numberSTARTSWITHCS^ORDERBYnumber", "sysparm_limit": "1"},
    )

    [record] = response.json()["result"]
    assert record["sys_class_name"] == "sn_customerservice_case"
    assert record["number"] == "CS0001001"
    assert "short_description" in record
    assert "contact" not in record
    assert "account" not in record


async def test_fso_cases_are_cases_too(admin: httpx.AsyncClient) -> None:
    fso = await admin.get("/api/now/table/sn_bom_financial_service", params={"sysparm_limit": "1"})
    as_case = await admin.get(
        CASES, params={"sysparm_query": "sys_class_name=sn_bom_financial_service", "sysparm_limit": "1"}
    )

    assert int(fso.headers["X-Total-Count"]) > 0
    assert fso.headers["X-Total-Count"] == as_case.headers["X-Total-Count"]
    assert "service_definition" in fso.json()["result"][0]


async def test_get_one_record_and_404_for_a_missing_one(admin: httpx.AsyncClient) -> None:
    first = (await admin.get(CASES, params={"sysparm_limit": "1"})).json()["result"][0]

    found = await admin.get(f"{CASES}/{first['sys_id']}")
    missing = await admin.get(f"{CASES}/{'0' * 32}")

    assert found.status_code == 200
    assert found.json()["result"]["number"] == first["number"]
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "message": "No Record found",
            "detail": "Record doesn't exist or ACL restricts the record retrieval",
        },
        "status": "failure",
    }


async def test_unknown_table_is_400_invalid_table(admin: httpx.AsyncClient) -> None:
    response = await admin.get("/api/now/v2/table/no_such_table")

    assert response.status_code == 400
    assert response.json() == {
        "error": {"message": "Invalid table no_such_table", "detail": None},
        "status": "failure",
    }


async def test_user_without_the_case_role_gets_403_on_the_case_list(abel: httpx.AsyncClient) -> None:
    response = await abel.get(CASES)

    assert response.status_code == 403
    assert response.json() == {
        "error": {"message": "Insufficient rights to query records", "detail": None},
        "status": "failure",
    }


async def test_a_case_is_404_for_a_user_who_may_not_read_it(
    abel: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    first = (await admin.get(CASES, params={"sysparm_limit": "1"})).json()["result"][0]

    response = await abel.get(f"{CASES}/{first['sys_id']}")

    assert response.status_code == 404


async def test_task_query_hides_classes_the_user_may_not_read(abel: httpx.AsyncClient) -> None:
    response = await abel.get("/api/now/table/task", params={"sysparm_fields": "number,sys_class_name"})

    classes = {r["sys_class_name"] for r in response.json()["result"]}
    # Plain tasks and incidents, never the cases an itil user may not read.
    assert classes == {"incident", "task"}


async def test_agent_reads_cases(beth: httpx.AsyncClient) -> None:
    response = await beth.get(CASES, params={"sysparm_query": "assigned_to=javascript:gs.getUserID()"})

    assert response.status_code == 200
    assert response.json()["result"]


async def test_encoded_query_with_or_nq_and_dot_walk(admin: httpx.AsyncClient) -> None:
    contact = (await admin.get("/api/now/table/customer_contact", params={"sysparm_limit": "1"})).json()[
        "result"
    ][0]
    query = f"contact.email={contact['email']}^stateIN1,10^ORpriority=1^NQnumber=CS0001001"

    response = await admin.get(
        CASES, params={"sysparm_query": query, "sysparm_fields": "number,contact,state,priority"}
    )

    records = response.json()["result"]
    assert any(r["number"] == "CS0001001" for r in records)
    for record in records:
        if record["number"] != "CS0001001":
            assert record["contact"]["value"] == contact["sys_id"]
            assert record["state"] in ("1", "10") or record["priority"] == "1"


async def test_unknown_field_in_a_query_is_ignored(admin: httpx.AsyncClient) -> None:
    plain = await admin.get(CASES, params={"sysparm_query": "state=1", "sysparm_limit": "1"})
    bogus = await admin.get(CASES, params={"sysparm_query": "state=1^no_such_field=x", "sysparm_limit": "1"})

    assert bogus.status_code == 200
    assert bogus.headers["X-Total-Count"] == plain.headers["X-Total-Count"]


async def test_oversized_query_is_a_400(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        CASES, headers={"X-http-method-override": "GET"}, params={"sysparm_query": "a=" + "x" * 64_100}
    )

    assert response.status_code == 400
    assert response.json()["status"] == "failure"


async def test_name_value_pairs_filter_like_a_query(admin: httpx.AsyncClient) -> None:
    by_pair = await admin.get(CASES, params={"state": "Awaiting Info", "sysparm_limit": "1"})
    by_query = await admin.get(CASES, params={"sysparm_query": "state=18", "sysparm_limit": "1"})

    assert by_pair.headers["X-Total-Count"] == by_query.headers["X-Total-Count"]
    assert by_pair.json()["result"][0]["state"] == "18"


async def test_seed_has_cases_in_every_state_and_priority(admin: httpx.AsyncClient) -> None:
    response = await admin.get(CASES, params={"sysparm_fields": "state,priority,contact,assigned_to"})

    records = response.json()["result"]
    assert {r["state"] for r in records} == {"1", "10", "18", "6", "3", "7"}
    assert {r["priority"] for r in records} == {"1", "2", "3", "4"}
    assert all(r["contact"] for r in records)
    assert len({r["assigned_to"]["value"] for r in records if r["assigned_to"]}) >= 4


async def test_empty_list_is_200_on_v2_and_unversioned_and_404_on_v1(admin: httpx.AsyncClient) -> None:
    params = {"sysparm_query": "number=CS9999999"}

    v2 = await admin.get(CASES_V2, params=params)
    latest = await admin.get(CASES, params=params)
    v1 = await admin.get("/api/now/v1/table/sn_customerservice_case", params=params)

    assert (v2.status_code, v2.json()) == (200, {"result": []})
    assert (latest.status_code, latest.json()) == (200, {"result": []})
    assert v1.status_code == 404
    assert v1.json()["error"]["message"] == "No Record found"


async def test_unknown_api_version_is_400(admin: httpx.AsyncClient) -> None:
    response = await admin.get("/api/now/v9/table/sn_customerservice_case")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Requested URI does not represent any resource"


async def test_head_answers_headers_without_a_body(admin: httpx.AsyncClient) -> None:
    response = await admin.head(CASES, params={"sysparm_limit": "1"})

    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["X-Total-Count"]) > 300


async def test_default_limit_is_10000(emulator: ServiceNowEmulator, admin: httpx.AsyncClient) -> None:
    response = await admin.get("/api/now/table/sys_journal_field", params={"sysparm_fields": "sys_id"})

    assert len(response.json()["result"]) == int(response.headers["X-Total-Count"])
    assert "sysparm_limit=10000" in response.headers["Link"]


async def test_journal_entries_of_unreadable_records_stay_hidden(
    admin: httpx.AsyncClient, abel: httpx.AsyncClient
) -> None:
    query = {"sysparm_query": "name=sn_customerservice_case", "sysparm_limit": "1"}

    as_admin = await admin.get("/api/now/table/sys_journal_field", params=query)
    as_itil = await abel.get("/api/now/table/sys_journal_field", params=query)
    entry = as_admin.json()["result"][0]

    assert int(as_admin.headers["X-Total-Count"]) > 0
    assert as_itil.headers["X-Total-Count"] == "0"
    assert (await abel.get(f"/api/now/table/sys_journal_field/{entry['sys_id']}")).status_code == 404
