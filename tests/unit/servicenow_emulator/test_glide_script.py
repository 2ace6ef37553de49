"""The javascript:gs.* whitelist: helpers real clients send, evaluated against the caller and the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.emulators.servicenow.glide_script import ScriptContext, UnsupportedScript, evaluate
from adapter.emulators.servicenow.query import QueryError

CONTEXT = ScriptContext(
    "6816f79cc0a8016401c5a33be04be441", "admin", datetime(2026, 3, 15, 10, 30, 45, tzinfo=UTC)
)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("javascript:gs.getUserID()", "6816f79cc0a8016401c5a33be04be441"),
        ("javascript:gs.getUserName()", "admin"),
        ("javascript:gs.nowDateTime()", "2026-03-15 10:30:45"),
        ("javascript:gs.beginningOfToday()", "2026-03-15 00:00:00"),
        ("javascript:gs.endOfToday()", "2026-03-15 23:59:59"),
        ("javascript:gs.beginningOfYesterday()", "2026-03-14 00:00:00"),
        ("javascript:gs.daysAgoStart(2)", "2026-03-13 00:00:00"),
        ("javascript:gs.daysAgoEnd(2)", "2026-03-13 23:59:59"),
        ("javascript:gs.daysAgo(1)", "2026-03-14 10:30:45"),
        ("javascript:gs.minutesAgo(5)", "2026-03-15 10:25:45"),
        ("javascript:gs.hoursAgo(3)", "2026-03-15 07:30:45"),
        ("javascript:gs.hoursAgoStart(1)", "2026-03-15 09:00:00"),
        ("javascript:gs.beginningOfThisWeek()", "2026-03-09 00:00:00"),
        ("javascript:gs.beginningOfThisMonth()", "2026-03-01 00:00:00"),
        ("javascript:gs.endOfLastMonth()", "2026-02-28 23:59:59"),
        ("javascript:gs.beginningOfThisYear()", "2026-01-01 00:00:00"),
        ("javascript:gs.dateGenerate('2026-01-02','end')", "2026-01-02 23:59:59"),
        ('javascript:gs.dateGenerate("2017-01-01 08:00:00")', "2017-01-01 08:00:00"),
        ("javascript: gs.minutesAgo( 10 );", "2026-03-15 10:20:45"),
    ],
)
def test_whitelisted_helper_gives_the_instance_value(script: str, expected: str) -> None:
    assert evaluate(script, CONTEXT) == expected


@pytest.mark.parametrize(
    "script",
    [
        "javascript:gs.getUser().getRecord()",
        "javascript:new GlideRecord('sys_user')",
        "javascript:gs.minutesAgo('x')",
        "javascript:gs.minutesAgo()",
        "javascript:gs.eval('1')",
        "javascript:gs.dateGenerate('yesterday','noon')",
    ],
)
def test_anything_outside_the_whitelist_is_unsupported(script: str) -> None:
    with pytest.raises(UnsupportedScript):
        evaluate(script, CONTEXT)


def test_huge_counts_are_refused_instead_of_overflowing() -> None:
    with pytest.raises(UnsupportedScript):
        evaluate("javascript:gs.daysAgo(99999999)", CONTEXT)
    with pytest.raises(UnsupportedScript):
        evaluate("javascript:gs.yearsAgo(5000)", CONTEXT)


@given(st.text(max_size=80))
def test_arbitrary_script_text_raises_only_a_query_error(text: str) -> None:
    try:
        result = evaluate("javascript:" + text, CONTEXT)
    except QueryError:
        return
    assert isinstance(result, str)


@given(
    st.sampled_from(["minutesAgo", "hoursAgo", "daysAgo", "monthsAgo", "yearsAgo"]),
    st.integers(-(10**7), 10**7),
)
def test_any_count_for_ago_helpers_gives_a_timestamp_or_a_query_error(helper: str, count: int) -> None:
    try:
        result = evaluate(f"javascript:gs.{helper}({count})", CONTEXT)
    except QueryError:
        return
    assert len(result) == 19
