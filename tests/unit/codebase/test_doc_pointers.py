"""What the code relies on is written in docs/, and the code's pointers there lead somewhere.

Code, tests and docs cite no material outside the repository (a design note or protocol reference the next
engineer does not have): the facts are in docs/ in our own words. Every ``docs/...md`` a module or test names
exists, and a section it names (``docs/deployment.md section 7``, ``docs/emulators/runtime.md, "Framing"``)
is a heading or a bold label of that file. The rules are listed in docs/contributing.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.codebase.source import ROOT

OUTSIDE = re.compile(
    r"shared/|DESIGN\.md|STYLE\.md|openfin-runtime-protocol\.md|\breference,? sections?\s+\d"
    r"|\(reference\s+\d|\breference open question|\bthe reference,? section",
    re.IGNORECASE,
)
"""How a citation of material outside the repository reads."""

DOC = re.compile(r"\bdocs/[\w./-]+\.md")
NUMBERED = re.compile(r"(docs/[\w./-]+\.md),? section (\d+)")
NAMED = re.compile(r'(docs/[\w./-]+\.md),? "([^"]+)"')
SOURCES = ("adapter", "tests", "benchmarks", "docs", "clients", "manifests")
SKIPPED = ("node_modules", "__pycache__", ".pytest_cache")
THIS = Path(__file__).resolve()


def _files(suffixes: tuple[str, ...]) -> Iterator[Path]:
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in suffixes and path.is_file() and not any(part in SKIPPED for part in path.parts):
                yield path
    yield ROOT / "README.md"
    yield ROOT / "pyproject.toml"


def outside_citations(text: str) -> list[str]:
    """The citations of material outside the repository in ``text``."""
    return [match.group(0) for match in OUTSIDE.finditer(text)]


def test_nothing_cites_material_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {cited}"
        for path in _files((".py", ".md", ".mjs", ".js", ".ts", ".json", ".toml"))
        if path != THIS
        for cited in outside_citations(path.read_text("utf-8", errors="replace"))
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "text",
    [
        "see shared/DESIGN.md",
        "(see the reference, section 4)",
        "fields (reference section 5.2)",
        "Reference sections 1.2 and 1.3.",
        "the grammar (reference 2.9)",
        "(reference open question 11)",
        "from openfin-runtime-protocol.md section 2.5",
    ],
)
def test_a_citation_outside_the_repository_is_caught(text: str) -> None:
    assert outside_citations(text)


def _labels(doc: Path) -> list[str]:
    text = doc.read_text("utf-8")
    headings = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
    return headings + re.findall(r"\*\*([^*]+)\*\*", text)


def pointer_problems(text: str) -> list[str]:
    """Pointers into docs/ in ``text`` that lead nowhere."""
    problems = [f"{doc}: no such file" for doc in DOC.findall(text) if not (ROOT / doc).is_file()]
    for doc, number in NUMBERED.findall(text):
        if (ROOT / doc).is_file() and not any(
            label.startswith((f"{number}.", f"{number} ")) for label in _labels(ROOT / doc)
        ):
            problems.append(f"{doc} has no section {number}")
    for doc, quoted in NAMED.findall(text):
        name = " ".join(quoted.split())  # a docstring may wrap the name
        if (ROOT / doc).is_file() and not any(label.startswith(name) for label in _labels(ROOT / doc)):
            problems.append(f'{doc} has no heading or label "{name}"')
    return problems


def test_every_pointer_into_docs_leads_somewhere() -> None:
    problems = [
        f"{path.relative_to(ROOT)}: {problem}"
        for path in _files((".py",))
        if path != THIS
        for problem in pointer_problems(path.read_text("utf-8"))
    ]
    assert not problems, "\n".join(problems)


def test_pointers_are_found_in_the_code() -> None:
    # Positive control: the code does point into docs/, with sections by number and by name.
    texts = [path.read_text("utf-8") for path in _files((".py",)) if path != THIS]
    assert sum(len(DOC.findall(text)) for text in texts) > 20
    assert any(NUMBERED.search(text) for text in texts)
    assert any(NAMED.search(text) for text in texts)


@pytest.mark.parametrize(
    "text",
    [
        "see docs/nowhere.md",
        "docs/deployment.md section 99",
        'docs/emulators/runtime.md, "No such heading"',
    ],
)
def test_a_pointer_to_nothing_is_caught(text: str) -> None:
    assert pointer_problems(text)


@pytest.mark.parametrize(
    "text",
    [
        "docs/deployment.md section 7",
        'docs/emulators/runtime.md, "Framing"',
        'docs/performance.md, "One HTTP stack"',
    ],
)
def test_a_pointer_to_a_real_section_passes(text: str) -> None:
    assert not pointer_problems(text)
