"""Modules stay small enough to read: one over ``MAX_LINES`` says in its docstring why it is one module.

The reason starts with the fixed phrase ``Why one module:`` so that a reader (and this test) finds it. The
rules are listed in docs/contributing.md.
"""

from __future__ import annotations

import ast

import pytest

from tests.unit.codebase.source import Module, adapter_modules, parse

MAX_LINES = 500
REASON = "Why one module:"
MIN_REASON_WORDS = 12


def size_problem(module: Module) -> str | None:
    """Why ``module`` breaks the rule, or None when it keeps it."""
    lines = len(module.text.splitlines())
    if lines <= MAX_LINES:
        return None
    docstring = ast.get_docstring(module.tree) or ""
    _, found, reason = docstring.partition(REASON)
    if not found:
        return f"{module.relative} has {lines} lines and no {REASON!r} in its docstring"
    if len(reason.split()) < MIN_REASON_WORDS:
        return f"{module.relative}: {REASON!r} needs a reason of a few sentences"
    return None


def test_every_long_module_says_why_it_is_one() -> None:
    problems = [problem for module in adapter_modules() if (problem := size_problem(module)) is not None]
    assert not problems, "\n".join(problems)


def test_the_scan_reads_every_module() -> None:
    # Positive control: the scan sees the package, including long modules that keep the rule.
    modules = list(adapter_modules())
    assert len(modules) > 100
    assert any(len(module.text.splitlines()) > MAX_LINES for module in modules)


def _long_module(docstring: str) -> str:
    return f'"""{docstring}"""\n' + "VALUE = 1\n" * MAX_LINES


def test_a_long_module_without_a_reason_is_caught() -> None:
    assert size_problem(parse(_long_module("Does many things."), "adapter.example"))


def test_a_reason_of_a_word_or_two_is_caught() -> None:
    assert size_problem(parse(_long_module(f"Does many things.\n\n{REASON} convenience."), "adapter.example"))


def test_a_long_module_with_its_reason_passes() -> None:
    reason = (
        f"{REASON} the parts share one state that every action reads and writes; apart they would reach in."
    )
    assert size_problem(parse(_long_module(f"Does one thing.\n\n{reason}"), "adapter.example")) is None


@pytest.mark.parametrize("lines", [1, MAX_LINES - 1])
def test_a_short_module_needs_no_reason(lines: int) -> None:
    assert size_problem(parse('"""Short."""\n' + "VALUE = 1\n" * lines, "adapter.example")) is None
