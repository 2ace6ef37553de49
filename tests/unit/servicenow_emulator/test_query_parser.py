"""The encoded-query parser: ServiceNow's grammar read into a typed tree; QueryError is its only error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.emulators.servicenow.query import (
    MAX_QUERY_LENGTH,
    AnyOf,
    Condition,
    EncodedQuery,
    Group,
    InvalidTerm,
    Operator,
    Ordering,
    QueryError,
    parse_query,
)


def conditions(query: EncodedQuery) -> list[list[list[Condition | InvalidTerm]]]:
    return [[list(clause.terms) for clause in group.clauses] for group in query.groups]


def test_caret_joins_terms_with_and() -> None:
    parsed = parse_query("active=true^priority<3")
    assert conditions(parsed) == [
        [[Condition("active", Operator.EQ, "true")], [Condition("priority", Operator.LT, "3")]]
    ]


def test_or_binds_to_the_condition_just_before_it() -> None:
    parsed = parse_query("a=1^b=2^ORc=3")
    assert conditions(parsed) == [
        [
            [Condition("a", Operator.EQ, "1")],
            [Condition("b", Operator.EQ, "2"), Condition("c", Operator.EQ, "3")],
        ]
    ]


def test_nq_starts_a_new_group() -> None:
    parsed = parse_query("a=1^b=2^NQc=3")
    assert parsed.groups == (
        Group((AnyOf((Condition("a", Operator.EQ, "1"),)), AnyOf((Condition("b", Operator.EQ, "2"),)))),
        Group((AnyOf((Condition("c", Operator.EQ, "3"),)),)),
    )


def test_orderby_items_are_collected_in_order_from_anywhere() -> None:
    parsed = parse_query("ORDERBYpriority^active=true^ORDERBYDESCsys_updated_on")
    assert parsed.orderings == (Ordering("priority", False), Ordering("sys_updated_on", True))
    assert conditions(parsed) == [[[Condition("active", Operator.EQ, "true")]]]


def test_orderby_is_not_mistaken_for_an_or() -> None:
    parsed = parse_query("numberLIKEx^ORshort_descriptionLIKEx^ORDERBYDESCsys_updated_on")
    assert conditions(parsed) == [
        [[Condition("number", Operator.LIKE, "x"), Condition("short_description", Operator.LIKE, "x")]]
    ]
    assert parsed.orderings == (Ordering("sys_updated_on", True),)


@pytest.mark.parametrize(
    ("text", "operator", "value"),
    [
        ("state!=3", Operator.NE, "3"),
        ("priority>=2", Operator.GE, "2"),
        ("priority<=2", Operator.LE, "2"),
        ("priority>2", Operator.GT, "2"),
        ("nameNOT LIKEsmith", Operator.NOT_LIKE, "smith"),
        ("nameSTARTSWITHsm", Operator.STARTSWITH, "sm"),
        ("nameENDSWITHth", Operator.ENDSWITH, "th"),
        ("stateIN1,10,18", Operator.IN, "1,10,18"),
        ("stateNOT IN3,7", Operator.NOT_IN, "3,7"),
        ("assigned_toISEMPTY", Operator.ISEMPTY, ""),
        ("assigned_toISNOTEMPTY", Operator.ISNOTEMPTY, ""),
        ("contact.email=a@b.com", Operator.EQ, "a@b.com"),
        (
            "sys_created_onONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()",
            Operator.ON,
            "Today@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()",
        ),
    ],
)
def test_each_operator_is_recognised(text: str, operator: Operator, value: str) -> None:
    [[[term]]] = conditions(parse_query(text))
    assert isinstance(term, Condition)
    assert (term.operator, term.value) == (operator, value)


def test_double_caret_is_a_literal_caret_in_a_value() -> None:
    assert conditions(parse_query("short_description=a^^b^active=true")) == [
        [[Condition("short_description", Operator.EQ, "a^b")], [Condition("active", Operator.EQ, "true")]]
    ]


def test_eq_ends_the_query() -> None:
    assert conditions(parse_query("active=true^EQ^priority=1")) == [
        [[Condition("active", Operator.EQ, "true")]]
    ]


def test_unknown_operator_becomes_an_invalid_term() -> None:
    parsed = parse_query("stateFROBNICATE1^active=true")
    assert parsed.invalid_terms == (InvalidTerm("stateFROBNICATE1", "unknown operator"),)


def test_empty_query_is_one_group_without_conditions() -> None:
    assert parse_query("") == EncodedQuery((Group(()),), ())


def test_oversized_query_is_a_query_error() -> None:
    with pytest.raises(QueryError):
        parse_query("a=" + "x" * MAX_QUERY_LENGTH)


@given(st.text(max_size=300))
def test_any_text_parses_or_raises_only_query_error(text: str) -> None:
    try:
        parsed = parse_query(text)
    except QueryError:
        return
    assert parsed.groups


@given(
    st.lists(
        st.sampled_from(["a=1", "^", "^OR", "^NQ", "ORDERBY", "DESC", "b", "LIKE", "^^", "IN", "!=", "x"])
    )
)
def test_grammar_fragments_give_groups_of_non_empty_or_chains(parts: list[str]) -> None:
    try:
        parsed = parse_query("".join(parts))
    except QueryError:
        return
    assert all(clause.terms for group in parsed.groups for clause in group.clauses)
