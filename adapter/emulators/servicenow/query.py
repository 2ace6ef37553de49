"""ServiceNow encoded queries (``active=true^priority<3^ORDERBYDESCsys_updated_on``) parsed into a typed tree.

Pure: no schema, no SQL. The grammar (docs/emulators/servicenow-tables.md, "Encoded queries"): terms
``<field><OP><value>`` joined by ``^`` (AND); ``^OR`` binds a term to the one before it (``A^B^ORC`` is ``A
AND (B OR C)``); ``^NQ`` starts a new AND-group, ORed with the others; ``ORDERBY<field>`` /
``ORDERBYDESC<field>`` may appear anywhere; ``^^`` is a literal ``^`` inside a value; ``^EQ`` ends the query.
A term this parser cannot read becomes an ``InvalidTerm``, which the compiler drops (ServiceNow's default) or
turns into "no rows".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_QUERY_LENGTH = 64_000


class QueryError(ValueError):
    """An encoded query that cannot be used at all (as opposed to a single invalid term)."""


class Operator(StrEnum):
    """The operators of the encoded-query grammar that the emulator evaluates."""

    EQ = "="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    LIKE = "LIKE"
    NOT_LIKE = "NOT LIKE"
    STARTSWITH = "STARTSWITH"
    ENDSWITH = "ENDSWITH"
    IN = "IN"
    NOT_IN = "NOT IN"
    ISEMPTY = "ISEMPTY"
    ISNOTEMPTY = "ISNOTEMPTY"
    ANYTHING = "ANYTHING"
    EMPTYSTRING = "EMPTYSTRING"
    BETWEEN = "BETWEEN"
    ON = "ON"
    NOTON = "NOTON"
    SAMEAS = "SAMEAS"
    NSAMEAS = "NSAMEAS"
    RELATIVEGT = "RELATIVEGT"
    RELATIVEGE = "RELATIVEGE"
    RELATIVELT = "RELATIVELT"
    RELATIVELE = "RELATIVELE"


# Longest first, so that ISNOTEMPTY wins over ISEMPTY and >= over >.
_OPERATORS = sorted(Operator, key=lambda op: len(op.value), reverse=True)
_VALUELESS = frozenset({Operator.ISEMPTY, Operator.ISNOTEMPTY, Operator.ANYTHING, Operator.EMPTYSTRING})
_FIELD = re.compile(r"[a-z0-9_.$]+")
_ORDER_FIELD = re.compile(r"[A-Za-z0-9_.$]+")


@dataclass(frozen=True, slots=True)
class Condition:
    """``field OP value``; ``by_display``: a reference or choice may match its display value too."""

    field: str
    operator: Operator
    value: str = ""
    by_display: bool = False


@dataclass(frozen=True, slots=True)
class InvalidTerm:
    """A term that is not ``<field><OP><value>`` with a known operator."""

    text: str
    reason: str


Term = Condition | InvalidTerm


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Terms joined by ``^OR``: true when any valid one is."""

    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """``AnyOf`` clauses joined by ``^``: true when all are."""

    clauses: tuple[AnyOf, ...]


@dataclass(frozen=True, slots=True)
class Ordering:
    """One ``ORDERBY`` / ``ORDERBYDESC`` item."""

    field: str
    descending: bool


@dataclass(frozen=True, slots=True)
class EncodedQuery:
    """A parsed query: groups joined by ``^NQ`` (OR) plus the orderings in the order given."""

    groups: tuple[Group, ...]
    orderings: tuple[Ordering, ...]

    @property
    def invalid_terms(self) -> tuple[InvalidTerm, ...]:
        """Every term the parser could not read."""
        return tuple(
            term
            for group in self.groups
            for clause in group.clauses
            for term in clause.terms
            if isinstance(term, InvalidTerm)
        )


def split_segments(text: str) -> list[str]:
    """Split on single ``^``; ``^^`` stays in the segment as a literal ``^``."""
    segments: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "^":
            if text.startswith("^^", index):
                current.append("^")
                index += 2
                continue
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    segments.append("".join(current))
    return segments


def parse_term(text: str) -> Term:
    """One ``<field><OP><value>`` term."""
    match = _FIELD.match(text)
    if match is None:
        return InvalidTerm(text, "no field name")
    field, rest = match.group(), text[match.end() :]
    for operator in _OPERATORS:
        if rest.startswith(operator.value):
            value = rest[len(operator.value) :]
            return Condition(field, operator, "" if operator in _VALUELESS else value)
    return InvalidTerm(text, "unknown operator")


def _parse_ordering(segment: str) -> Ordering | InvalidTerm | None:
    if segment.startswith("ORDERBYDESC"):
        field, descending = segment.removeprefix("ORDERBYDESC"), True
    elif segment.startswith("ORDERBY"):
        field, descending = segment.removeprefix("ORDERBY"), False
    else:
        return None
    if _ORDER_FIELD.fullmatch(field) is None:
        return InvalidTerm(segment, "bad ORDERBY field")
    return Ordering(field.lower(), descending)


def parse_query(text: str) -> EncodedQuery:
    """Parse an encoded query; raises ``QueryError`` only for input no instance would accept (oversized)."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"encoded query longer than {MAX_QUERY_LENGTH} characters")
    groups: list[Group] = []
    clauses: list[list[Term]] = []
    orderings: list[Ordering] = []
    for position, segment in enumerate(split_segments(text)):
        if position > 0 and segment == "EQ":
            break
        if position > 0 and segment.startswith("NQ"):
            groups.append(Group(tuple(AnyOf(tuple(c)) for c in clauses)))
            clauses = []
            segment = segment.removeprefix("NQ")
        ordering = _parse_ordering(segment)
        if isinstance(ordering, Ordering):
            orderings.append(ordering)
            continue
        if ordering is not None:
            term: Term = ordering
        elif position > 0 and segment.startswith("OR") and clauses:
            clauses[-1].append(parse_term(segment.removeprefix("OR")))
            continue
        elif not segment:
            continue
        else:
            term = parse_term(segment)
        clauses.append([term])
    groups.append(Group(tuple(AnyOf(tuple(c)) for c in clauses)))
    return EncodedQuery(tuple(g for g in groups if g.clauses) or (Group(()),), tuple(orderings))
