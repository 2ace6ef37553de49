"""Turns record versions into change events, each version once.

Two sources feed one ``ChangeTracker``: the adapter's own writes (reported at once) and the poller (other
people's changes). A version is identified by ``(sys_id, sys_mod_count)``, so the poller's later sighting of a
version the adapter wrote itself is dropped, and ``changedFields`` is computed against the last version seen.
Memory is bounded: the least recently seen records are forgotten first, and what is kept of a version is a
fingerprint (its number, ``sys_mod_count`` and one 64-bit digest per field), not the record itself.
"""

from __future__ import annotations

import sys
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapter.bridge.contexts import value_of
from adapter.bridge.messages import ChangeKind

# Fields that change on every write and say nothing about what the user changed.
_BOOKKEEPING = frozenset({"sys_updated_on", "sys_updated_by", "sys_mod_count"})
_SHARED_FIELD_SETS = 64


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


@dataclass(frozen=True, slots=True)
class _Version:
    """What is remembered of one record version: a record's full text would cost kilobytes each."""

    number: str
    mod_count: int
    fields: tuple[str, ...]  # shared by every version with the same field names
    digests: array[int]  # hash() of each field's value, in ``fields`` order

    def changed(self, values: Mapping[str, str]) -> tuple[str, ...]:
        """The fields of ``values`` whose value differs from this version's (unknown fields count as same)."""
        known = dict(zip(self.fields, self.digests, strict=True))
        return tuple(
            sorted(
                name
                for name, value in values.items()
                if name not in _BOOKKEEPING and known.get(name, hash(value)) != hash(value)
            )
        )


class ChangeTracker:
    """Remembers the last version of each record seen, per table, up to ``capacity`` records."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str], _Version] = OrderedDict()
        self._field_sets: dict[tuple[str, ...], tuple[str, ...]] = {}

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
        # A poll that started before our own write can return an older version after it: never go backwards.
        if previous is not None and _mod_count(values) <= previous.mod_count:
            self._seen.move_to_end(key)
            return None
        self._remember(key, values)
        if previous is None:
            kind: ChangeKind = "created" if created or values.get("sys_mod_count") == "0" else "updated"
            changed: tuple[str, ...] = ()
        else:
            kind = "updated"
            changed = previous.changed(values)
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
        known_number = number or (previous.number if previous is not None else "")
        return RecordChange(
            table, sys_id, known_number, "deleted", (), {"sys_id": sys_id, "number": known_number}
        )

    def _remember(self, key: tuple[str, str], values: dict[str, str]) -> None:
        names = tuple(values)
        fields = self._field_sets.get(names)
        if fields is None:
            fields = tuple(sys.intern(name) for name in names)
            # Apps choose sysparm_fields, so field sets are shared only up to a bound.
            if len(self._field_sets) < _SHARED_FIELD_SETS:
                self._field_sets[names] = fields
        self._seen[key] = _Version(
            number=values.get("number", ""),
            mod_count=_mod_count(values),
            fields=fields,
            digests=array("q", (hash(values[name]) for name in names)),
        )
        self._seen.move_to_end(key)
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
