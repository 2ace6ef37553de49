"""Journal fields (``comments``, ``work_notes``): entries in ``sys_journal_field``, read back as text.

Writing a journal field never overwrites: each write is a new ``sys_journal_field`` row (``element``,
``element_id``, ``name``, ``value``). With display values on, a journal field reads as all its entries,
newest first, each ``"<time> - <user's name> (<field label>)\\n<text>\\n\\n"``; ``comments_and_work_notes``
interleaves both fields (docs/emulators/servicenow-tables.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .store import Store, new_sys_id

JOURNAL_FIELDS: dict[str, str] = {"comments": "Additional comments", "work_notes": "Work notes"}
COMBINED_FIELD = "comments_and_work_notes"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One ``sys_journal_field`` row as the display needs it."""

    element_id: str
    element: str
    value: str
    created_on: str
    created_by: str


def add_entry(
    store: Store, db: sqlite3.Connection, table: str, element_id: str, element: str, text: str, user_name: str
) -> None:
    """Append an entry for ``element`` of record ``element_id`` in ``table``, by ``user_name``, now."""
    now = store.now()
    store.insert_row(
        db,
        "sys_journal_field",
        {
            "sys_id": new_sys_id(),
            "sys_created_on": now,
            "sys_created_by": user_name,
            "sys_updated_on": now,
            "sys_updated_by": user_name,
            "sys_mod_count": 0,
            "element": element,
            "element_id": element_id,
            "name": table,
            "value": text,
        },
    )


def load_entries(db: sqlite3.Connection, element_ids: Iterable[str]) -> dict[str, list[JournalEntry]]:
    """Every journal entry of the given records, newest first, keyed by record sys_id."""
    ids = list(dict.fromkeys(element_ids))
    found: dict[str, list[JournalEntry]] = {sys_id: [] for sys_id in ids}
    if not ids:
        return found
    marks = ", ".join("?" for _ in ids)
    sql = (
        "SELECT element_id, element, value, sys_created_on, sys_created_by FROM sys_journal_field "  # noqa: S608
        f"WHERE element_id IN ({marks}) ORDER BY sys_created_on DESC, rowid DESC"
    )
    rows = db.execute(sql, ids).fetchall()
    for row in rows:
        entry = JournalEntry(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]))
        found.setdefault(entry.element_id.lower(), []).append(entry)
    return found


def display_text(entries: Iterable[JournalEntry], field: str, names: Mapping[str, str]) -> str:
    """The display value of journal ``field`` (or ``comments_and_work_notes``) from the record's entries."""
    wanted = set(JOURNAL_FIELDS) if field == COMBINED_FIELD else {field}
    parts = []
    for entry in entries:
        if entry.element in wanted:
            who = names.get(entry.created_by, entry.created_by)
            parts.append(f"{entry.created_on} - {who} ({JOURNAL_FIELDS[entry.element]})\n{entry.value}\n\n")
    return "".join(parts)
