"""Turns record versions into change events, each version once.

Two sources feed one ``ChangeTracker``: the adapter's own writes (reported at once) and the poller (other
people's changes). A version is identified by ``(sys_id, sys_mod_count)``, so the poller's later sighting of a
version the adapter wrote itself is dropped, and ``changedFields`` is computed against the last version seen.
Memory is bounded: the least recently seen records are forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapter.bridge.contexts import value_of
from adapter.bridge.messages import ChangeKind

# Fields that change on every write and say nothing about what the user changed.
_BOOKKEEPING = frozenset({"sys_updated_on", "sys_updated_by", "sys_mod_count"})


@dataclass(frozen=True, slots=True)
class RecordChange:
    """One new version of a record (or its deletion), ready to broadcast."""

    table: str
    sys_id: str
    number: str
    change: ChangeKind
    changed_fields: tuple[str, ...]
    record: Mapping[str, Any]


def _mod_count(values: Mapping[str, str]) -> int:
    try:
        return int(values.get("sys_mod_count", ""))
    except ValueError:
        return -1


def _newer(values: Mapping[str, str], previous: Mapping[str, str]) -> bool:
    # A poll that started before our own write can return an older version after it: never go backwards.
    return _mod_count(values) > _mod_count(previous)


class ChangeTracker:
    """Remembers the last version of each record seen, per table, up to ``capacity`` records."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str], dict[str, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def observe(self, table: str, record: Mapping[str, Any], *, created: bool = False) -> RecordChange | None:
        """Record a version; return the change, or ``None`` when this version was already seen.

        ``created`` marks a record the adapter itself just inserted. Otherwise a version counts as created
        when ServiceNow says it was never modified (``sys_mod_count`` 0) and the record was not known before.
        """
        sys_id = value_of(record, "sys_id")
        if not sys_id:
            return None
        key = (table, sys_id)
        values = {name: value_of(record, name) for name in record}
        previous = self._seen.get(key)
        if previous is not None and not _newer(values, previous):
            self._seen.move_to_end(key)
            return None
        self._remember(key, values)
        if previous is None:
            kind: ChangeKind = "created" if created or values.get("sys_mod_count") == "0" else "updated"
            changed: tuple[str, ...] = ()
        else:
            kind = "updated"
            changed = tuple(
                sorted(
                    name
                    for name, value in values.items()
                    if name not in _BOOKKEEPING and previous.get(name, value) != value
                )
            )
        return RecordChange(table, sys_id, values.get("number", ""), kind, changed, record)

    def prime(self, table: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Remember versions without reporting them (what the instance held when watching began)."""
        for record in records:
            sys_id = value_of(record, "sys_id")
            if sys_id and (table, sys_id) not in self._seen:
                self._remember((table, sys_id), {name: value_of(record, name) for name in record})

    def forget(self, table: str, sys_id: str, number: str = "") -> RecordChange:
        """Record a deletion and return it as a change."""
        previous = self._seen.pop((table, sys_id), None)
        known_number = number or (previous or {}).get("number", "")
        return RecordChange(
            table, sys_id, known_number, "deleted", (), {"sys_id": sys_id, "number": known_number}
        )

    def _remember(self, key: tuple[str, str], values: dict[str, str]) -> None:
        self._seen[key] = values
        self._seen.move_to_end(key)
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
