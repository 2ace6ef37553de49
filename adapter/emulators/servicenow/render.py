"""Stored rows turned into the Table API's JSON: strings everywhere, references and display values in the
shapes docs/emulators/servicenow-tables.md lists, for ``sysparm_display_value`` false / true / all with or
without reference links.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum

from .journal import display_text, load_entries
from .schema import Field, FieldType, Schema
from .store import quote

Rendered = str | dict[str, str]


class DisplayMode(StrEnum):
    """``sysparm_display_value``."""

    VALUE = "false"
    DISPLAY = "true"
    ALL = "all"

    @classmethod
    def parse(cls, text: str | None) -> DisplayMode:
        """Lenient, as an instance is: anything but ``true``/``all`` means actual values."""
        lowered = (text or "").lower()
        return cls.DISPLAY if lowered == "true" else cls.ALL if lowered == "all" else cls.VALUE


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How records are shown: display mode, links, requested fields, and the link prefix of this request."""

    display: DisplayMode = DisplayMode.VALUE
    exclude_reference_link: bool = False
    fields: tuple[str, ...] | None = None
    link_prefix: str = ""

    def link(self, table: str, sys_id: str) -> str:
        """The API URL of a record, repeating the request's scheme, host and API version."""
        return f"{self.link_prefix}/{table}/{sys_id}"


@dataclass(frozen=True, slots=True)
class Column:
    """One output key: its field definition and the SQL alias holding its stored value.

    ``stored`` and ``reference`` are read off ``field`` once, since every rendered value asks for them.
    """

    key: str
    field: Field
    alias: str
    stored: bool = dataclass_field(init=False)
    reference: str | None = dataclass_field(init=False)
    plain: bool = dataclass_field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stored", self.field.is_stored)
        reference = self.field.reference if self.field.type is FieldType.REFERENCE else None
        object.__setattr__(self, "reference", reference)
        object.__setattr__(self, "plain", self.stored and reference is None)


Layout = tuple[tuple[Column, int | str], ...]


def column_layout(names: Sequence[str], columns: Sequence[Column]) -> Layout:
    """Each column with the position of its alias among a result's column ``names`` (the alias itself when
    absent). A row looked up by name scans its column names each time; by position it does not."""
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        positions.setdefault(name, index)
    return tuple((column, positions.get(column.alias, column.alias)) for column in columns)


class Renderer:
    """Renders the rows of one page with batched look-ups of reference display values and journal entries."""

    def __init__(self, schema: Schema, db: sqlite3.Connection, options: RenderOptions) -> None:
        self._schema = schema
        self._db = db
        self._options = options

    def render(
        self, rows: Sequence[sqlite3.Row], columns: Sequence[Column], layout: Layout | None = None
    ) -> list[dict[str, Rendered]]:
        """Each row as a ``{key: value}`` object in column order; ``layout`` is ``column_layout`` of the rows'
        column names, when the caller already knows it."""
        if not rows:
            return []
        displays = self._reference_displays(rows, columns) if self._wants_display else {}
        journals = self._journals(rows, columns)
        places = layout if layout is not None else column_layout(rows[0].keys(), columns)
        value = self._value
        if self._options.display is DisplayMode.VALUE:
            # The actual value of a plain column is its stored text; references and journals take _value.
            result = []
            for row in rows:
                record: dict[str, Rendered] = {}
                for column, place in places:
                    if column.plain:
                        stored = row[place]
                        record[column.key] = "" if stored is None else str(stored)
                    else:
                        record[column.key] = value(row, column, place, displays, journals)
                result.append(record)
            return result
        return [
            {column.key: value(row, column, place, displays, journals) for column, place in places}
            for row in rows
        ]

    @property
    def _wants_display(self) -> bool:
        return self._options.display is not DisplayMode.VALUE

    def _value(
        self,
        row: sqlite3.Row,
        column: Column,
        place: int | str,
        displays: Mapping[tuple[str, str], str],
        journals: Mapping[str, Mapping[str, str]],
    ) -> Rendered:
        field, mode = column.field, self._options.display
        if not column.stored:
            if mode is DisplayMode.VALUE:
                return ""
            text = journals.get(str(row["sys_id"]), {}).get(field.name, "")
            return text if mode is DisplayMode.DISPLAY else {"display_value": text, "value": ""}
        stored = row[place]
        value = "" if stored is None else str(stored)
        if column.reference is not None:
            return self._reference(column.reference, value, displays)
        if mode is DisplayMode.VALUE:
            return value
        shown = field.choice_label(value) if field.choices else None
        display = value if shown is None else shown
        return display if mode is DisplayMode.DISPLAY else {"display_value": display, "value": value}

    def _reference(self, table: str, value: str, displays: Mapping[tuple[str, str], str]) -> Rendered:
        mode, plain = self._options.display, self._options.exclude_reference_link
        if not value:
            return {"display_value": "", "value": ""} if mode is DisplayMode.ALL else ""
        link = self._options.link(table, value)
        display = displays.get((self._schema.root(table), value.lower()), "")
        if mode is DisplayMode.VALUE:
            return value if plain else {"link": link, "value": value}
        if mode is DisplayMode.DISPLAY:
            return display if plain else {"display_value": display, "link": link}
        if plain:
            return {"display_value": display, "value": value}
        return {"display_value": display, "link": link, "value": value}

    def _reference_displays(
        self, rows: Sequence[sqlite3.Row], columns: Sequence[Column]
    ) -> dict[tuple[str, str], str]:
        wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
        for column in columns:
            target = column.field.reference
            if column.field.type is not FieldType.REFERENCE or target is None:
                continue
            key = (self._schema.root(target), self._schema.display_field(target))
            for row in rows:
                if row[column.alias]:
                    wanted[key].add(str(row[column.alias]).lower())
        found: dict[tuple[str, str], str] = {}
        for (root, display), ids in wanted.items():
            ordered = sorted(ids)
            marks = ", ".join("?" for _ in ordered)
            sql = f"SELECT sys_id, {quote(display)} FROM {quote(root)} WHERE sys_id IN ({marks})"  # noqa: S608
            for sys_id, shown in self._db.execute(sql, ordered):
                found[(root, str(sys_id).lower())] = "" if shown is None else str(shown)
        return found

    def _journals(self, rows: Sequence[sqlite3.Row], columns: Sequence[Column]) -> dict[str, dict[str, str]]:
        if not self._wants_display:
            return {}
        journal_columns = [c.field.name for c in columns if not c.stored]
        if not journal_columns:
            return {}
        entries = load_entries(self._db, (str(row["sys_id"]) for row in rows))
        writers = {entry.created_by for found in entries.values() for entry in found}
        names = self._user_names(writers)
        return {
            sys_id: {name: display_text(found, name, names) for name in journal_columns}
            for sys_id, found in entries.items()
        }

    def _user_names(self, user_names: set[str]) -> dict[str, str]:
        if not user_names:
            return {}
        ordered = sorted(user_names)
        marks = ", ".join("?" for _ in ordered)
        sql = f"SELECT user_name, name FROM sys_user WHERE user_name IN ({marks})"  # noqa: S608 (marks only)
        return {str(user): str(name) for user, name in self._db.execute(sql, ordered)}
