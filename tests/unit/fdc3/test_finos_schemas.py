"""The contexts the adapter builds are valid by the official FINOS schemas, and the check itself can fail."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.bridge.contexts import case_context, case_list_context
from tests.support.fdc3_schemas import (
    OUR_SCHEMAS,
    ROOT,
    Fdc3SchemaError,
    check_context,
    check_emitted,
    finos_types,
    problems,
)
from tests.unit.bridge.test_contexts import CASE_ALL, INSTANCE

TABLE = "sn_customerservice_case"
VALID_CASE = case_context(CASE_ALL, table=TABLE, instance_url=INSTANCE)


def test_the_finos_package_defines_the_standard_types_we_emit_and_take() -> None:
    standard = {"fdc3.contact", "fdc3.organization", "fdc3.transactionResult", "fdc3.interaction"}
    assert standard <= finos_types()


def test_a_built_case_and_case_list_are_valid() -> None:
    assert problems(VALID_CASE) == []
    assert problems(case_list_context([VALID_CASE, VALID_CASE])) == []


@pytest.mark.parametrize(
    ("context", "complaint"),
    [
        ({"type": "fdc3.organization", "name": "Boxeo"}, "'id' is a required property"),
        ({"type": "fdc3.organization", "id": {}}, "should be non-empty"),
        ({"type": "fdc3.contact", "id": {"email": "a@example.com", "rank": 3}}, "Unevaluated properties"),
        ({"type": "fdc3.contact", "id": {"email": "not an address"}}, "is not a 'email'"),
        ({"type": "fdc3.transactionResult", "status": "Done"}, "is not one of"),
        ({**VALID_CASE, "updatedOn": "2026-11-29 09:15:02"}, "is not a 'date-time'"),
        ({**VALID_CASE, "updatedOn": "2026-11-29T09:15:02"}, "is not a 'date-time'"),
        ({**VALID_CASE, "undocumented": 1}, "Additional properties are not allowed"),
        ({**VALID_CASE, "contact": {"type": "fdc3.contact", "name": "X", "id": {"sys_id": 7}}}, "7 is not"),
        ({"type": "servicenow.caseList", "cases": [{**VALID_CASE, "active": "yes"}]}, "is not of type"),
        ([], "must be an object"),
    ],
)
def test_invalid_contexts_are_caught_with_the_reason(context: Any, complaint: str) -> None:
    found = problems(context)
    assert any(complaint in problem for problem in found), found
    if isinstance(context, dict):
        with pytest.raises(Fdc3SchemaError):
            check_context(context)


def test_check_emitted_finds_contexts_inside_events_and_resolutions() -> None:
    bad = {"type": "fdc3.organization", "name": "Boxeo"}
    with pytest.raises(Fdc3SchemaError):
        check_emitted({"event": "reply", "data": {"result": {"result": bad}}})
    assert check_emitted({"event": "reply", "data": {"ok": True, "result": VALID_CASE}})


_text = st.text(max_size=20)
_field = st.one_of(_text, st.fixed_dictionaries({"value": _text, "display_value": _text}))


@given(
    record=st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(
            (
                "sys_id",
                "number",
                "short_description",
                "state",
                "priority",
                "active",
                "sys_updated_on",
                "sys_class_name",
                "assigned_to",
                "contact",
                "contact.name",
                "account",
                "account.name",
            ),
            _field,
        ),
    ),
    email=st.one_of(st.just(""), st.emails()),
)
def test_any_record_becomes_a_valid_case_context(record: dict[str, Any], email: str) -> None:
    record = {**record, "contact.email": email}
    assert problems(case_context(record, table=TABLE, instance_url=INSTANCE)) == []


def test_every_context_type_the_app_directory_record_names_has_a_published_schema() -> None:
    # The App Directory schema itself is not in the @finos npm packages (see docs/deployment.md); what the
    # record says about contexts is checked here: each type is FDC3's own or one of ours with a schema.
    record = json.loads((ROOT / "manifests" / "appd.json").read_text(encoding="utf-8"))["applications"][0]
    interop = record["interop"]
    named = {t for intent in interop["intents"]["listensFor"].values() for t in intent["contexts"]}
    named |= {intent["resultType"] for intent in interop["intents"]["listensFor"].values()}
    named |= set(interop["userChannels"]["broadcasts"]) | set(interop["userChannels"]["listensFor"])
    for channel in interop["appChannels"]:
        named |= set(channel["broadcasts"]) | set(channel["listensFor"])
    ours = {
        path.name.removesuffix(".context.schema.json") for path in OUR_SCHEMAS.glob("*.context.schema.json")
    }
    unknown = {t for t in named if t not in finos_types() and t not in ours}
    assert named
    assert not unknown, f"context types with no FINOS schema and none in docs/schemas: {sorted(unknown)}"
