"""No measured figures in comments or docstrings: they go stale where nobody re-measures them.

Figures belong in docs/performance.md, with how they were measured; a comment says why and points there. This
reads every comment and docstring of adapter/ and benchmarks/ and the comments of pyproject.toml for what
a measurement looks like (milliseconds, microseconds, percentages, "3x", requests per second). The rules are
listed in docs/contributing.md.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator

import pytest

from tests.unit.codebase.source import ROOT

FIGURE = re.compile(
    r"\d+(?:\.\d+)?\s?(?:ms|us|µs)\b|\d+(?:\.\d+)?\s?%|\b\d+(?:\.\d+)?x\b|\breq/s\b|\brequests/s\b",
    re.IGNORECASE,
)


def prose(text: str) -> Iterator[tuple[int, str]]:
    """``(line, text)`` of every comment and docstring in Python source ``text``."""
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring is not None:
                yield node.body[0].lineno, docstring


def figures(text: str) -> list[str]:
    """The measurement-like figures in the comments and docstrings of ``text``."""
    return [f"line {line}: {match}" for line, words in prose(text) for match in FIGURE.findall(words)]


def test_no_figures_in_the_comments_of_adapter_and_benchmarks() -> None:
    found = [
        f"{path.relative_to(ROOT)} {figure}"
        for top in ("adapter", "benchmarks")
        for path in sorted((ROOT / top).rglob("*.py"))
        for figure in figures(path.read_text("utf-8"))
    ]
    assert not found, "\n".join(found)


def test_no_figures_in_the_comments_of_pyproject() -> None:
    comments = [line.partition("#")[2] for line in (ROOT / "pyproject.toml").read_text("utf-8").splitlines()]
    assert any(comments)  # positive control: the file has comments to read
    assert not [comment for comment in comments if FIGURE.search(comment)]


@pytest.mark.parametrize(
    "text",
    [
        "x = 1  # a line per success cost 14 % of the CPU\n",
        "# Nagle would add ~40 ms to every reused connection\n",
        '"""Several times cheaper: 3x the throughput."""\n',
        'def f() -> None:\n    """Parse 21.9 us per record."""\n',
        "# 898 req/s before\n",
    ],
)
def test_a_figure_in_a_comment_or_docstring_is_caught(text: str) -> None:
    assert figures(text)


@pytest.mark.parametrize(
    "text",
    [
        "TIMEOUT_MS = 250  # a bound, in code, not a comment\n",
        "# headers up to 256 KiB, as a browser accepts\n",
        '"""Retry after 0.5 s, doubled every 10 tries."""\n',
    ],
)
def test_bounds_and_code_pass(text: str) -> None:
    assert not figures(text)
