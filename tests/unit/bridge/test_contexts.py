"""Case records become FDC3 contexts that other desktop apps can act on."""

from __future__ import annotations

from typing import Any

from adapter.bridge.contexts import (
    case_context,
    case_list_context,
    display_of,
    iso_time,
    sys_id_of,
    value_of,
)

INSTANCE = "https://acme.service-now.com"

CASE_ALL: dict[str, Any] = {
    "sys_id": {"display_value": "5f1c", "value": "5f1c0a8e1b2c3d4e5f60718293a4b5c6"},
    "number": {"display_value": "CS0001007", "value": "CS0001007"},
    "short_description": {"display_value": "Card declined abroad", "value": "Card declined abroad"},
    "state": {"display_value": "Open", "value": "10"},
    "priority": {"display_value": "2 - High", "value": "2"},
    "active": {"display_value": "true", "value": "true"},
    "sys_updated_on": {"display_value": "2026-11-29 09:15:02", "value": "2026-11-29 09:15:02"},
    "sys_class_name": {"display_value": "Case", "value": "sn_customerservice_case"},
    "assigned_to": {"display_value": "Beth Anglin", "value": "46d44a23a9fe19810012d100cca80666"},
    "contact": {"display_value": "Julie Lewis", "value": "a1b2c3d4e5f60718293a4b5c6d7e8f90"},
    "contact.email": {"display_value": "julie.lewis@example.com", "value": "julie.lewis@example.com"},
    "contact.name": {"display_value": "Julie Lewis", "value": "Julie Lewis"},
    "account": {"display_value": "Boxeo", "value": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"},
    "account.name": {"display_value": "Boxeo", "value": "Boxeo"},
}


def test_case_context_carries_string_ids_and_readable_labels() -> None:
    context = case_context(CASE_ALL, table="sn_customerservice_case", instance_url=INSTANCE)
    assert context["type"] == "servicenow.case"
    assert context["id"] == {
        "sys_id": "5f1c0a8e1b2c3d4e5f60718293a4b5c6",
        "number": "CS0001007",
        "table": "sn_customerservice_case",
        "instance": INSTANCE,
    }
    assert all(isinstance(v, str) for v in context["id"].values())
    assert context["name"] == "CS0001007: Card declined abroad"
    assert context["state"] == "Open"
    assert context["priority"] == "2 - High"
    assert context["assignedTo"] == "Beth Anglin"


def test_contact_and_account_become_fdc3_contact_and_organization() -> None:
    context = case_context(CASE_ALL, table="sn_customerservice_case", instance_url=INSTANCE)
    assert context["contact"] == {
        "type": "fdc3.contact",
        "name": "Julie Lewis",
        "id": {
            "servicenow.sys_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            "sys_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            "email": "julie.lewis@example.com",
        },
    }
    assert context["account"] == {
        "type": "fdc3.organization",
        "name": "Boxeo",
        "id": {
            "servicenow.sys_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "sys_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        },
    }


def test_updated_on_is_iso_8601_in_utc_with_its_zone() -> None:
    context = case_context(CASE_ALL, table="sn_customerservice_case", instance_url=INSTANCE)
    assert context["updatedOn"] == "2026-11-29T09:15:02Z"


def test_times_keep_an_offset_and_drop_what_has_no_zone() -> None:
    assert iso_time("2026-11-29 09:15:02") == "2026-11-29T09:15:02Z"
    assert iso_time("2026-11-29T10:15:02+01:00") == "2026-11-29T10:15:02+01:00"
    assert iso_time("2026-11-29T10:15:02") == ""
    assert iso_time("") == ""
    assert iso_time("yesterday") == ""


def test_a_case_without_an_update_time_has_no_updated_on() -> None:
    context = case_context({"sys_id": "ab" * 16, "number": "CS1"}, table="t", instance_url=INSTANCE)
    assert "updatedOn" not in context


def test_sys_id_is_read_from_the_namespaced_key_then_the_legacy_one() -> None:
    assert sys_id_of({"servicenow.sys_id": "new", "sys_id": "old"}) == "new"
    assert sys_id_of({"sys_id": "old"}) == "old"
    assert sys_id_of({"servicenow.sys_id": "", "sys_id": "old"}) == "old"
    assert sys_id_of({"email": "a@example.com"}) is None


def test_case_without_parties_has_no_contact_or_account_and_plain_strings_work() -> None:
    plain = {"sys_id": "ab" * 16, "number": "CS0001008", "state": "1", "contact": "", "account": ""}
    context = case_context(plain, table="sn_customerservice_case", instance_url=INSTANCE)
    assert "contact" not in context
    assert "account" not in context
    assert context["name"] == "CS0001008"
    assert context["state"] == "1"


def test_subclass_records_keep_their_own_table_in_the_id() -> None:
    record = {**CASE_ALL, "sys_class_name": {"display_value": "FSO", "value": "sn_bom_financial_service"}}
    context = case_context(record, table="sn_customerservice_case", instance_url=INSTANCE)
    assert context["id"]["table"] == "sn_bom_financial_service"


def test_value_and_display_fall_back_sensibly() -> None:
    assert value_of({"a": None}, "a") == ""
    assert display_of({"a": {"display_value": "", "value": "7"}}, "a") == "7"
    assert case_list_context([]) == {"type": "servicenow.caseList", "cases": []}


def test_a_partys_name_is_its_own_name_field_and_else_the_references_label() -> None:
    # The reference's label is whatever the table displays (an e-mail, a code): the name field wins.
    labelled = {
        **CASE_ALL,
        "contact": {"display_value": "julie.lewis@example.com", "value": "a1b2c3d4e5f60718293a4b5c6d7e8f90"},
        "account": {"display_value": "ACC-0042", "value": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"},
    }
    context = case_context(labelled, table="sn_customerservice_case", instance_url=INSTANCE)
    assert (context["contact"]["name"], context["account"]["name"]) == ("Julie Lewis", "Boxeo")
    unnamed = {key: value for key, value in labelled.items() if key not in ("contact.name", "account.name")}
    context = case_context(unnamed, table="sn_customerservice_case", instance_url=INSTANCE)
    assert (context["contact"]["name"], context["account"]["name"]) == ("julie.lewis@example.com", "ACC-0042")


def test_active_is_true_only_for_an_active_case() -> None:
    closed = {**CASE_ALL, "active": {"display_value": "false", "value": "false"}}
    assert case_context(CASE_ALL, table="sn_customerservice_case", instance_url=INSTANCE)["active"] is True
    assert case_context(closed, table="sn_customerservice_case", instance_url=INSTANCE)["active"] is False
