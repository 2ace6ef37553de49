"""The query compiler: encoded queries become parameterised SQL with ServiceNow's semantics.

Semantics are checked by running compiled queries through ``Records.list`` on an in-memory store holding a
handful of cases; the property tests check that no value ever reaches the SQL text.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.glide_script import ScriptContext
from adapter.emulators.servicenow.identity import Caller
from adapter.emulators.servicenow.query import QueryError, parse_query
from adapter.emulators.servicenow.query_sql import QueryCompiler
from adapter.emulators.servicenow.records import ListRequest, Records
from adapter.emulators.servicenow.render import RenderOptions
from adapter.emulators.servicenow.schema import SCHEMA
from adapter.emulators.servicenow.store import Store

MARKER = "Zq9kMarker"
CONTEXT = ScriptContext(
    "6816f79cc0a8016401c5a33be04be441", "admin", datetime(2026, 3, 15, 10, 0, 0, tzinfo=UTC)
)
FIELDS = [
    "number",
    "state",
    "priority",
    "active",
    "short_description",
    "assigned_to",
    "contact.email",
    "contact.account.name",
    "sys_updated_on",
    "no_such_field",
    "assigned_to.no_such",
    "user_password",
]
OPERATORS = [
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "LIKE",
    "NOT LIKE",
    "STARTSWITH",
    "ENDSWITH",
    "IN",
    "NOT IN",
    "ISEMPTY",
    "ISNOTEMPTY",
    "BETWEEN",
    "SAMEAS",
    "ON",
    "RELATIVEGT",
    "FOO",
]


@pytest.fixture
def cases() -> Iterator[tuple[Records, Caller]]:
    store = Store.open(None, Clock())
    store.add_user("admin", "admin", ("admin",))
    contact = store.add_user(
        "ann.lee",
        None,
        (),
        table="customer_contact",
        fields={"name": "Ann Lee", "email": "Ann.Lee@Boxeo.com"},
    )
    records = Records(store)
    admin = store.caller("admin")
    assert admin is not None
    for description, state, priority, assigned in [
        ("Login fails", "1", "1", ""),
        ("Wire transfer pending", "10", "2", admin.sys_id),
        ("Card declined", "18", "3", admin.sys_id),
        ("100% refund_request", "6", "4", ""),
        ("Closed one", "3", "4", admin.sys_id),
    ]:
        records.insert(
            admin,
            "sn_customerservice_case",
            {
                "short_description": description,
                "state": state,
                "priority": priority,
                "assigned_to": assigned,
                "contact": contact if description == "Card declined" else "",
            },
            RenderOptions(),
        )
    yield records, admin
    store.close()


def descriptions(cases: tuple[Records, Caller], query: str, **extra: str) -> list[str]:
    records, admin = cases
    page = records.list(
        admin,
        "sn_customerservice_case",
        ListRequest(query=query, name_values=extra),
        RenderOptions(fields=("short_description",)),
    )
    return [str(r["short_description"]) for r in page.records]


def test_and_of_conditions(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "active=true^priority<=2") == ["Login fails", "Wire transfer pending"]


def test_dependent_or_binds_to_the_previous_condition(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "priority=4^state=6^ORstate=3") == ["100% refund_request", "Closed one"]
    assert descriptions(cases, "state=1^ORstate=10^priority=2") == ["Wire transfer pending"]


def test_nq_ors_whole_groups(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "state=1^priority=1^NQstate=3") == ["Login fails", "Closed one"]


def test_like_is_contains_and_escapes_wildcards(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "short_descriptionLIKEtransfer") == ["Wire transfer pending"]
    assert descriptions(cases, "short_descriptionLIKE100%") == ["100% refund_request"]
    assert descriptions(cases, "short_descriptionLIKEd_r") == ["100% refund_request"]
    assert descriptions(cases, "short_descriptionLIKEe_t") == []


def test_string_matching_ignores_case_as_an_instance_does(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "short_description=login FAILS") == ["Login fails"]
    assert descriptions(cases, "short_descriptionSTARTSWITHcard") == ["Card declined"]
    assert descriptions(cases, "short_descriptionENDSWITHONE") == ["Closed one"]


def test_in_and_not_in_match_integer_choices(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "stateIN1,10") == ["Login fails", "Wire transfer pending"]
    assert descriptions(cases, "stateNOT IN1,10,18") == ["100% refund_request", "Closed one"]


def test_not_equals_keeps_empty_values(cases: tuple[Records, Caller]) -> None:
    admin = cases[1]
    assert descriptions(cases, f"assigned_to!={admin.sys_id}") == ["Login fails", "100% refund_request"]


def test_isempty_and_isnotempty(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "assigned_toISEMPTY") == ["Login fails", "100% refund_request"]
    assert descriptions(cases, "contactISNOTEMPTY") == ["Card declined"]


def test_dot_walk_compares_the_referenced_field(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "contact.email=ann.lee@boxeo.com") == ["Card declined"]
    assert descriptions(cases, "contact.nameSTARTSWITHAnn") == ["Card declined"]


def test_current_user_helper(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "assigned_to=javascript:gs.getUserID()^active=true") == [
        "Wire transfer pending",
        "Card declined",
    ]


def test_orderby_and_orderbydesc_sort_in_the_given_order(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "ORDERBYDESCpriority^ORDERBYshort_description") == [
        "100% refund_request",
        "Closed one",
        "Card declined",
        "Wire transfer pending",
        "Login fails",
    ]


def test_unknown_field_or_operator_is_ignored_by_default(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "no_such_field=1^state=1") == ["Login fails"]
    assert descriptions(cases, "stateFROB1^priority=1") == ["Login fails"]


def test_invalid_query_returns_no_rows_when_the_property_is_on(cases: tuple[Records, Caller]) -> None:
    records, admin = cases
    page = records.list(
        admin,
        "sn_customerservice_case",
        ListRequest(query="no_such_field=1^state=1", invalid_query_returns_no_rows=True),
        RenderOptions(),
    )
    assert (page.records, page.total) == ([], 0)


def test_name_value_pairs_accept_display_values(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "", state="Awaiting Info") == ["Card declined"]
    assert descriptions(cases, "", contact="Ann Lee") == ["Card declined"]


def test_password_field_cannot_be_queried() -> None:
    compiler = QueryCompiler(SCHEMA, "sys_user", CONTEXT)
    compiled = compiler.compile(parse_query("user_passwordSTARTSWITHpbkdf2"))
    assert compiled.where == "1"
    assert compiled.ignored == ("user_passwordSTARTSWITHpbkdf2",)


values = st.one_of(
    st.text(max_size=20).map(lambda text: MARKER + text),
    st.tuples(st.text(max_size=8), st.text(max_size=8)).map(
        lambda pair: f"{MARKER}{pair[0]}@{MARKER}{pair[1]}"
    ),
    st.sampled_from(["javascript:gs.minutesAgo(5)", "javascript:gs.getUserID()", "javascript:gs.bogus()"]),
    st.just(f"Today@javascript:gs.beginningOfToday()@{MARKER}"),
    st.just(f"@hour@ago@{MARKER}"),
)
terms = st.tuples(st.sampled_from(FIELDS), st.sampled_from(OPERATORS), values)
joins = st.sampled_from(["^", "^OR", "^NQ"])


@st.composite
def encoded_queries(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(joins, terms), min_size=1, max_size=6))
    text = "".join(f"{join}{field}{op}{value}" for join, (field, op, value) in parts)[1:]
    if draw(st.booleans()):
        text += f"^ORDERBYDESC{draw(st.sampled_from(FIELDS))}"
    return text


@settings(max_examples=100, deadline=None)
@given(encoded_queries())
def test_compiled_sql_never_contains_a_value_and_binds_every_placeholder(query: str) -> None:
    try:
        compiled = QueryCompiler(SCHEMA, "sn_customerservice_case", CONTEXT).compile(parse_query(query))
    except QueryError:
        return
    sql = compiled.where + " ".join(compiled.order_by)
    assert MARKER.lower() not in sql.lower()
    assert sql.count("?") == len(compiled.params)


@pytest.fixture(scope="module")
def empty_store() -> Iterator[Store]:
    store = Store.open(None, Clock())
    yield store
    store.close()


@settings(max_examples=100, deadline=None)
@given(query=encoded_queries())
def test_compiled_sql_always_runs(empty_store: Store, query: str) -> None:
    compiled = QueryCompiler(SCHEMA, "sn_customerservice_case", CONTEXT).compile(parse_query(query))
    order = ", ".join([*compiled.order_by, "t.rowid"])
    with empty_store.read() as db:
        db.execute(f"SELECT count(*) FROM task AS t WHERE {compiled.where} ORDER BY {order}", compiled.params)  # noqa: S608


@settings(max_examples=150, deadline=None)
@given(query=st.text(max_size=200))
def test_any_text_compiles_to_runnable_sql_or_a_query_error(empty_store: Store, query: str) -> None:
    try:
        compiled = QueryCompiler(SCHEMA, "task", CONTEXT).compile(parse_query(query))
    except QueryError:
        return
    with empty_store.read() as db:
        db.execute(f"SELECT count(*) FROM task AS t WHERE {compiled.where}", compiled.params)  # noqa: S608


def test_on_today_and_relative_ranges_use_the_clock(cases: tuple[Records, Caller]) -> None:
    today = "sys_created_onONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()"
    assert len(descriptions(cases, today)) == 5
    assert descriptions(cases, "sys_created_onRELATIVEGT@hour@ahead@1") == []
    assert len(descriptions(cases, "sys_created_onRELATIVEGT@hour@ago@1")) == 5
    assert descriptions(cases, "sys_created_on<javascript:gs.daysAgoStart(1)") == []


def test_between_and_sameas(cases: tuple[Records, Caller]) -> None:
    assert descriptions(cases, "priorityBETWEEN2@3") == ["Wire transfer pending", "Card declined"]
    assert len(descriptions(cases, "sys_created_onSAMEASsys_updated_on")) == 5
    assert descriptions(cases, "sys_created_onNSAMEASsys_updated_on") == []
