"""The tests keep docs/testing.md's first rule: no fixed sleep stands in for "wait until it happened".

Every ``asyncio.sleep(x)`` / ``time.sleep(x)`` with a non-zero ``x`` under tests/ is either inside the one
waiting helper (``tests/support/waiting.py``) or says, in a comment on its line or the two above, that time
passing is ``the subject`` of its test. ``sleep(0)`` (a yield to other tasks, not a wait) is not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
HELPER = TESTS / "support" / "waiting.py"
MARK = "the subject"


def _is_sleep(call: ast.Call) -> bool:
    function = call.func
    return (
        isinstance(function, ast.Attribute)
        and function.attr == "sleep"
        and isinstance(function.value, ast.Name)
        and function.value.id in ("asyncio", "time")
    )


def _zero(call: ast.Call) -> bool:
    return bool(call.args) and isinstance(call.args[0], ast.Constant) and call.args[0].value == 0


def unmarked_sleeps(source: str) -> list[int]:
    """The line numbers of fixed sleeps in ``source`` that do not say they are the subject of their test."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _is_sleep(node) and not _zero(node):
            first = max(node.lineno - 3, 0)
            last = node.end_lineno or node.lineno
            if not any(MARK in line for line in lines[first:last]):
                found.append(node.lineno)
    return sorted(found)


def test_no_fixed_sleep_waits_for_something_to_happen() -> None:
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != HELPER and "node_modules" not in path.parts
        for line in unmarked_sleeps(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], (
        "wait for the event or use tests/support/waiting.py (docs/testing.md), or mark a sleep whose "
        f"subject is time passing with a comment saying 'the subject': {offenders}"
    )


def test_the_rule_sees_a_sleep_used_as_a_wait_and_lets_the_others_pass() -> None:
    # The positive control: the scan does find what it forbids, in both spellings.
    waits = "import asyncio, time\nasync def f():\n    await asyncio.sleep(0.05)\n    time.sleep(1)\n"
    assert unmarked_sleeps(waits) == [3, 4]
    allowed = (
        "import asyncio\n"
        "async def f():\n"
        "    await asyncio.sleep(0)\n"
        "    await asyncio.sleep(10)  # the subject: a server that never answers\n"
        "    # the subject: time passing past the expiry\n"
        "    await asyncio.sleep(0.1)\n"
    )
    assert unmarked_sleeps(allowed) == []
