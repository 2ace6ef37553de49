"""The encoded-query value checks: whatever string an app sends, an accepted value stays one value.

The oracle is the ServiceNow emulator's own encoded-query parser: ``field=<value>`` must parse as exactly one
condition whose value is the accepted text, never as two conditions, an ordering or a script.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.emulators.servicenow.glide_script import is_script
from adapter.emulators.servicenow.query import Condition, Operator, parse_query
from adapter.servicenow import query_values
from adapter.servicenow.errors import ParameterError

Check = Callable[[object, str], str]
CHECKS: dict[str, Check] = {
    "sys_id": query_values.sys_id,
    "email": query_values.email,
    "case_number": query_values.case_number,
    "name": query_values.name,
    "identifier": query_values.identifier,
}

# Text built from the characters that mean something in an encoded query, and from anything at all.
SYNTAX = st.text(alphabet="^,=@.:!<>% \r\n\t\x00javscriptORNQEQ0123456789abcdefABCDEF", max_size=60)
ANYTHING = st.one_of(SYNTAX, st.text(max_size=120))


def single_condition(field: str, operator: Operator, value: str) -> Condition:
    query = parse_query(f"{field}{operator.value}{value}")
    assert not query.orderings
    assert not query.invalid_terms
    assert len(query.groups) == 1
    (clause,) = query.groups[0].clauses
    (term,) = clause.terms
    assert isinstance(term, Condition)
    return term


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
@given(value=ANYTHING)
def test_an_accepted_value_is_exactly_one_condition_and_never_a_script(check: Check, value: str) -> None:
    try:
        accepted = check(value, "value")
    except ParameterError:
        return
    assert not is_script(accepted)
    assert "javascript:" not in accepted.lower()
    condition = single_condition("field", Operator.EQ, accepted)
    assert condition.value == accepted


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
@pytest.mark.parametrize("value", [None, 7, ["a"], {"a": "b"}, "", "   "])
def test_a_value_that_is_not_text_is_refused(check: Check, value: object) -> None:
    with pytest.raises(ParameterError, match="Invalid thing"):
        check(value, "thing")


@given(values=st.lists(ANYTHING, min_size=1, max_size=8))
def test_accepted_e_mails_and_sys_ids_stay_separate_values_of_one_in_condition(values: list[str]) -> None:
    accepted = []
    for value in values:
        for check in (query_values.email, query_values.sys_id):
            try:
                accepted.append(check(value, "value"))
            except ParameterError:
                continue
    if not accepted:
        return
    condition = single_condition("email", Operator.IN, query_values.in_list(accepted))
    assert condition.value.split(",") == accepted


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (query_values.sys_id, "  6816F79CC0A8016401C5A33BE04BE441 ", "6816f79cc0a8016401c5a33be04be441"),
        (query_values.email, "beth.anglin@example.com", "beth.anglin@example.com"),
        (query_values.email, "o'neil+cases@mail.example.co.uk", "o'neil+cases@mail.example.co.uk"),
        (query_values.case_number, "cs0001002", "CS0001002"),
        (query_values.name, "Boxeo: EMEA, Ltd.", "Boxeo: EMEA, Ltd."),
        (query_values.identifier, "BRK.B", "BRK.B"),
        # Two characters is the shortest identifier (ticker "GE"); one is refused below.
        (query_values.identifier, "GE", "GE"),
        (query_values.identifier, "AAPL US Equity", "AAPL US Equity"),
        (query_values.identifier, "US0378331005", "US0378331005"),
    ],
)
def test_real_values_are_accepted(check: Check, value: str, expected: str) -> None:
    assert check(value, "value") == expected


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (query_values.sys_id, "javascript:gs.getUserID()"),
        (query_values.sys_id, "6816f79cc0a8016401c5a33be04be44"),
        (query_values.sys_id, "6816f79cc0a8016401c5a33be04be441^ORactive=true"),
        (query_values.email, "javascript:gs.getUser().getEmail()"),
        (query_values.email, "a@b.com^ORemailISNOTEMPTY"),
        (query_values.email, "a@b.com,c@d.com"),
        (query_values.email, "no-at-sign.example.com"),
        (query_values.email, "a" * 250 + "@example.com"),
        (query_values.case_number, "CS0001002^NQactive=true"),
        (query_values.case_number, "javascript:1"),
        (query_values.name, "javascript:new GlideRecord('sys_user')"),
        (query_values.name, "  JavaScript:x"),
        (query_values.name, "Acme^ORnameISNOTEMPTY"),
        (query_values.name, "Acme\r\nX"),
        (query_values.name, "x" * 101),
        (query_values.identifier, "F"),
        (query_values.identifier, "AAPL^ORshort_descriptionISNOTEMPTY"),
        (query_values.identifier, "%"),
        (query_values.identifier, "javascript:x"),
    ],
)
def test_hostile_values_are_refused(check: Check, value: str) -> None:
    with pytest.raises(ParameterError):
        check(value, "value")


@pytest.mark.parametrize("value", ["sys_user", "sn_customerservice_case", "u_x9"])
def test_table_names_are_accepted(value: str) -> None:
    assert query_values.table_name(value, "table") == value


@pytest.mark.parametrize("value", ["Sys_user", "sys_user?sysparm_query=x", "../x", "", None, "a" * 81])
def test_other_table_names_are_refused(value: object) -> None:
    with pytest.raises(ParameterError):
        query_values.table_name(value, "table")


@pytest.mark.parametrize("values", [[], ["a,b"], ["a^b"], [""]])
def test_in_list_refuses_values_that_would_split_it(values: list[str]) -> None:
    with pytest.raises(ValueError, match="IN values"):
        query_values.in_list(values)


@pytest.mark.parametrize(
    ("check", "longest", "message"),
    [
        # RFC 5321's 254 characters for a whole address.
        (query_values.email, "a" * 242 + "@example.com", "not an e-mail address"),
        # docs/channel-api.md: "a name at most 100 characters".
        (query_values.name, "N" * 100, "longer than 100 characters"),
        (query_values.identifier, "I" * 40, "2 to 40 letters"),
    ],
)
def test_values_are_accepted_up_to_their_limit_and_refused_one_character_beyond(
    check: Check, longest: str, message: str
) -> None:
    assert check(longest, "value") == longest
    with pytest.raises(ParameterError, match=message):
        check(longest + longest[-1], "value")
