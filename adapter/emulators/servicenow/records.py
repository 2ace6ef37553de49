"""Record operations with an instance's semantics: role checks, queries, system fields, numbering, task
defaults, state-driven fields, journal writes, the 400/403/404 outcomes (docs/emulators/servicenow-tables.md).

No HTTP here: ``table_api`` turns requests into these calls and ``RecordError``s into error envelopes.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .glide_script import ScriptContext
from .identity import Caller
from .journal import JOURNAL_FIELDS, add_entry
from .query import AnyOf, Condition, EncodedQuery, Group, Operator, QueryError, parse_query
from .query_sql import QueryCompiler, SqlValue
from .render import Column, Layout, Rendered, Renderer, RenderOptions, column_layout
from .schema import CLASS_FIELD, SYSTEM_FIELD_NAMES, Field, FieldType
from .store import Store, hash_password, new_sys_id, quote

Record = dict[str, Rendered]
_SYS_ID = re.compile(r"[0-9a-f]{32}")
_NOT_FOUND_DETAIL = "Record doesn't exist or ACL restricts the record retrieval"


class RecordError(Exception):
    """An outcome the Table API reports as an error envelope."""

    def __init__(self, status: int, message: str, detail: str | None = None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.detail = detail


def invalid_table(table: str) -> RecordError:
    """400 for a table the dictionary does not know."""
    return RecordError(400, f"Invalid table {table}")


def not_found() -> RecordError:
    """404 for a record that does not exist or that the caller may not see."""
    return RecordError(404, "No Record found", _NOT_FOUND_DETAIL)


def acl_denied(operation: str) -> RecordError:
    """403 as an instance words it for ``query``, ``Insert``, ``Update`` or ``Delete``."""
    if operation == "query":
        return RecordError(403, "Insufficient rights to query records")
    return RecordError(
        403, "Operation Failed", f"ACL Exception {operation} Failed due to security constraints"
    )


@dataclass(frozen=True, slots=True)
class ListRequest:
    """What a list call asks for: the encoded query, name=value pairs, the page, and whether to count."""

    query: str = ""
    name_values: Mapping[str, str] = field(default_factory=dict)
    limit: int = 10000
    offset: int = 0
    count: bool = True
    invalid_query_returns_no_rows: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records and the total number of matches (None when counting was skipped)."""

    records: list[Record]
    total: int | None


@dataclass(slots=True)
class _Write:
    """A request body sorted into stored column values and journal entries."""

    columns: dict[str, SqlValue] = field(default_factory=dict)
    journal: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _ReadPlan:
    """How to read records of one table with one ``sysparm_fields``: the output columns and the SELECT."""

    columns: tuple[Column, ...]
    select: str
    layout: Layout


_PLAN_CACHE_SIZE = 256
_RECENT_CACHE_SIZE = 256
_FilterKey = tuple[str, tuple[str, ...], frozenset[str] | None]


class Records:
    """Table API operations on a ``Store`` on behalf of a ``Caller``.

    What a read needs besides the row itself (readable classes, their SQL filter, columns and SELECT) depends
    only on the dictionary, the caller's roles and the requested fields, so it is worked out once and kept;
    records read by ``get`` are kept until the next write.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._schema = store.schema
        self._readable: dict[tuple[str, frozenset[str]], tuple[str, ...]] = {}
        self._filters: dict[_FilterKey, tuple[str, list[SqlValue]]] = {}
        self._plans: dict[tuple[str, tuple[str, ...] | None], _ReadPlan] = {}
        self._recent: dict[
            tuple[str, str, frozenset[str], RenderOptions], tuple[tuple[int, int], Record]
        ] = {}

    def _table(self, table: str) -> None:
        if table not in self._schema:
            raise invalid_table(table)

    def _can(self, caller: Caller, roles: tuple[str, ...]) -> bool:
        return not roles or any(caller.has_role(role) for role in roles)

    def _readable_classes(self, caller: Caller, table: str) -> tuple[str, ...]:
        key = (table, caller.roles)
        found = self._readable.get(key)
        if found is None:
            descendants = self._schema.descendants(table)
            found = tuple(c for c in descendants if self._can(caller, self._schema.read_roles(c)))
            self._readable[key] = found
        return found

    def _class_filter(
        self, table: str, classes: Sequence[str], reader: Caller | None = None
    ) -> tuple[str, list[SqlValue]]:
        """Rows of the readable classes; journal entries only of records ``reader`` may read."""
        key = (table, tuple(classes), reader.roles if reader is not None else None)
        found = self._filters.get(key)
        if found is None:
            found = self._filters[key] = self._build_class_filter(table, classes, reader)
        return found[0], list(found[1])

    def _build_class_filter(
        self, table: str, classes: Sequence[str], reader: Caller | None
    ) -> tuple[str, list[SqlValue]]:
        if table == "sys_journal_field" and reader is not None and not reader.has_role("admin"):
            names = [n for n in self._schema.names() if self._can(reader, self._schema.read_roles(n))]
            return f"t.name IN ({', '.join('?' for _ in names)})", list(names)
        if not self._schema.is_extensible(table):
            return "1", []
        marks = ", ".join("?" for _ in classes)
        return f"t.{quote(CLASS_FIELD.name)} IN ({marks})", list(classes)

    def _compiler(self, caller: Caller, table: str) -> QueryCompiler:
        context = ScriptContext(caller.sys_id, caller.user_name, self._store.clock.now())
        return QueryCompiler(self._schema, table, context)

    def _columns(self, table: str, compiler: QueryCompiler, wanted: tuple[str, ...] | None) -> list[Column]:
        fields = self._schema.fields(table)
        if wanted is None:
            return [Column(name, f, name) for name, f in fields.items() if f.type is not FieldType.PASSWORD]
        columns: list[Column] = []
        for index, name in enumerate(dict.fromkeys(w.strip() for w in wanted if w.strip())):
            direct = fields.get(name)
            if direct is not None and direct.type is not FieldType.PASSWORD:
                columns.append(Column(name, direct, name))
                continue
            if "." in name and (expression := compiler.resolve(name)) is not None:
                columns.append(Column(name, expression.field, f"dw{index}"))
        return columns

    def _select(self, table: str, columns: Sequence[Column], compiler: QueryCompiler) -> str:
        extras = []
        for column in columns:
            if column.alias != column.key:
                expression = compiler.resolve(column.key)
                if expression is not None:
                    extras.append(f"{expression.sql} AS {quote(column.alias)}")
        root = quote(self._schema.root(table))
        return f"SELECT {', '.join(['t.*', *extras])} FROM {root} AS t"  # noqa: S608 (schema identifiers)

    def list(self, caller: Caller, table: str, request: ListRequest, options: RenderOptions) -> Page:
        """A page of the records of ``table`` matching the request that the caller may read."""
        self._table(table)
        classes = self._readable_classes(caller, table)
        if table not in classes:
            raise acl_denied("query")
        try:
            query = parse_query(request.query)
        except QueryError as error:
            raise RecordError(400, "Invalid query", str(error)) from None
        query = _with_name_values(query, request.name_values)
        compiler = self._compiler(caller, table)
        compiled = compiler.compile(query, invalid_returns_no_rows=request.invalid_query_returns_no_rows)
        class_sql, class_params = self._class_filter(table, classes, caller)
        where = f"WHERE {class_sql} AND ({compiled.where})"
        params = [*class_params, *compiled.params]
        columns = self._columns(table, compiler, options.fields)
        order = ", ".join([*compiled.order_by, "t.rowid ASC"])
        select = self._select(table, columns, compiler)
        root = quote(self._schema.root(table))
        with self._store.read() as db:
            total = None
            if request.count:
                count_sql = f"SELECT count(*) FROM {root} AS t {where}"  # noqa: S608 (compiled, parameterised)
                total = int(db.execute(count_sql, params).fetchone()[0])
            page_sql = f"{select} {where} ORDER BY {order} LIMIT ? OFFSET ?"
            rows = db.execute(page_sql, [*params, request.limit, request.offset]).fetchall()
            records = Renderer(self._schema, db, options).render(rows, columns)
        return Page(records, total)

    def _find(
        self,
        db: sqlite3.Connection,
        table: str,
        sys_id: str,
        classes: Sequence[str],
        select: str,
        reader: Caller | None = None,
    ) -> sqlite3.Row | None:
        class_sql, class_params = self._class_filter(table, classes, reader)
        sql = f"{select} WHERE t.sys_id = ? AND {class_sql}"
        row: sqlite3.Row | None = db.execute(sql, [sys_id, *class_params]).fetchone()
        return row

    def get(self, caller: Caller, table: str, sys_id: str, options: RenderOptions) -> Record:
        """One record; 404 when it is missing or the caller may not read it.

        What a record reads as depends only on the database, the caller's roles and the options, so a
        rendered record is kept with the store's version and served again until anything is written. The
        result is shared between requests: read it, never change it.
        """
        self._table(table)
        classes = self._readable_classes(caller, table)
        if table not in classes:
            raise not_found()
        key = (table, sys_id, caller.roles, options)
        with self._store.read():
            version = self._store.version()
            recent = self._recent.get(key)
            if recent is not None and version is not None and recent[0] == version:
                return recent[1]
            record = self._read_back(caller, table, sys_id, options, classes)
            if version is not None:
                if len(self._recent) >= _RECENT_CACHE_SIZE:
                    self._recent.clear()
                self._recent[key] = (version, record)
            return record

    def _read_back(
        self, caller: Caller, table: str, sys_id: str, options: RenderOptions, classes: Sequence[str]
    ) -> Record:
        plan = self._read_plan(caller, table, options.fields)
        with self._store.read() as db:
            row = self._find(db, table, sys_id, classes, plan.select, caller)
            if row is None:
                raise not_found()
            return Renderer(self._schema, db, options).render([row], plan.columns, plan.layout)[0]

    def _read_plan(self, caller: Caller, table: str, wanted: tuple[str, ...] | None) -> _ReadPlan:
        key = (table, wanted)
        plan = self._plans.get(key)
        if plan is None:
            # Dot-walked columns resolve against the dictionary only, never the caller or the clock.
            compiler = self._compiler(caller, table)
            columns = tuple(self._columns(table, compiler, wanted))
            select = self._select(table, columns, compiler)
            with self._store.read() as db:
                names = [d[0] for d in db.execute(f"{select} LIMIT 0").description]
            plan = _ReadPlan(columns, select, column_layout(names, columns))
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def insert(
        self,
        caller: Caller,
        table: str,
        body: Mapping[str, object],
        options: RenderOptions,
        *,
        input_display: bool = False,
    ) -> tuple[str, Record]:
        """Create a record from ``body``; returns its sys_id and the full record as the response shows it."""
        self._table(table)
        if not self._can(caller, self._schema.write_roles(table)):
            raise acl_denied("Insert")
        now = self._store.now()
        with self._store.transaction() as db:
            write = self._write(db, table, body, input_display)
            requested_id = str(body.get("sys_id", "")).lower()
            sys_id = requested_id if _SYS_ID.fullmatch(requested_id) else new_sys_id()
            if self._exists(db, table, sys_id):
                sys_id = new_sys_id()
            values: dict[str, SqlValue] = {
                **{k: v for k, v in self._schema.defaults(table).items() if k in self._stored(table)},
                **write.columns,
                "sys_id": sys_id,
                "sys_created_on": now,
                "sys_created_by": caller.user_name,
                "sys_updated_on": now,
                "sys_updated_by": caller.user_name,
                "sys_mod_count": 0,
            }
            if self._schema.extends(table, "task"):
                number = values.get("number") or self._store.next_number(db, table)
                values.update(number=number, opened_by=values.get("opened_by") or caller.sys_id)
                values.setdefault("opened_at", now)
                values["task_effective_number"] = number
                _apply_state(self._states(table), self._resolvable(table), values, {}, caller, now)
            elif "number" in self._stored(table) and not values.get("number"):
                values["number"] = self._store.next_number(db, table)
            self._store.insert_row(db, table, values)
            for element, text in write.journal:
                add_entry(self._store, db, table, sys_id, element, text, caller.user_name)
        return sys_id, self._read_back(caller, table, sys_id, options, self._readable_classes(caller, table))

    def update(
        self,
        caller: Caller,
        table: str,
        sys_id: str,
        body: Mapping[str, object],
        options: RenderOptions,
        *,
        input_display: bool = False,
    ) -> Record:
        """Change the given fields of a record (PATCH, PUT); ``sys_mod_count`` moves when anything changed."""
        self._table(table)
        if not self._can(caller, self._schema.write_roles(table)):
            raise acl_denied("Update")
        sys_id = sys_id.lower()
        now = self._store.now()
        with self._store.transaction() as db:
            row = self._find(db, table, sys_id, self._schema.descendants(table), self._plain_select(table))
            if row is None:
                raise not_found()
            actual = self._row_class(table, row)
            if not self._can(caller, self._schema.write_roles(actual)):
                raise acl_denied("Update")
            write = self._write(db, actual, body, input_display)
            changes = {k: v for k, v in write.columns.items() if _differs(row[k], v)}
            if self._schema.extends(actual, "task") and "state" in changes:
                _apply_state(self._states(actual), self._resolvable(actual), changes, dict(row), caller, now)
            if changes or write.journal:
                changes.update(
                    sys_updated_on=now,
                    sys_updated_by=caller.user_name,
                    sys_mod_count=int(row["sys_mod_count"] or 0) + 1,
                )
                assignments = ", ".join(f"{quote(name)} = ?" for name in changes)
                root = quote(self._schema.root(table))
                sql = f"UPDATE {root} SET {assignments} WHERE sys_id = ?"  # noqa: S608 (schema identifiers only)
                db.execute(sql, [*changes.values(), sys_id])
            for element, text in write.journal:
                add_entry(self._store, db, actual, sys_id, element, text, caller.user_name)
        return self._read_back(caller, table, sys_id, options, self._schema.descendants(table))

    def delete(self, caller: Caller, table: str, sys_id: str) -> None:
        """Remove a record and its journal entries; 404 when missing, 403 without the write role."""
        self._table(table)
        sys_id = sys_id.lower()
        with self._store.transaction() as db:
            row = self._find(
                db, table, sys_id, self._readable_classes(caller, table), self._plain_select(table)
            )
            if row is None:
                raise not_found()
            if not self._can(caller, self._schema.write_roles(self._row_class(table, row))):
                raise acl_denied("Delete")
            root = quote(self._schema.root(table))
            db.execute(f"DELETE FROM {root} WHERE sys_id = ?", (sys_id,))  # noqa: S608 (schema identifier)
            db.execute("DELETE FROM sys_journal_field WHERE element_id = ?", (sys_id,))

    def _states(self, table: str) -> tuple[str, ...]:
        return self._schema.inactive_states(table)

    def _resolvable(self, table: str) -> bool:
        return "resolved_at" in self._stored(table)

    def _plain_select(self, table: str) -> str:
        return f"SELECT t.* FROM {quote(self._schema.root(table))} AS t"  # noqa: S608 (schema identifier)

    def _row_class(self, table: str, row: sqlite3.Row) -> str:
        return str(row[CLASS_FIELD.name]) if self._schema.is_extensible(table) else table

    def _exists(self, db: sqlite3.Connection, table: str, sys_id: str) -> bool:
        root = quote(self._schema.root(table))
        return db.execute(f"SELECT 1 FROM {root} WHERE sys_id = ?", (sys_id,)).fetchone() is not None  # noqa: S608

    def _stored(self, table: str) -> dict[str, Field]:
        return {name: f for name, f in self._schema.fields(table).items() if f.is_stored}

    def _write(
        self, db: sqlite3.Connection, table: str, body: Mapping[str, object], input_display: bool
    ) -> _Write:
        """Sort a body into typed column values and journal entries; unknown keys are ignored."""
        fields = self._schema.fields(table)
        write = _Write()
        for key, raw in body.items():
            found = fields.get(key)
            if found is None or key in SYSTEM_FIELD_NAMES or key == CLASS_FIELD.name:
                continue
            text = _as_text(raw)
            if text is None:
                continue
            if key in JOURNAL_FIELDS:
                if text.strip():
                    write.journal.append((key, text))
                continue
            if not found.is_stored:
                continue
            try:
                write.columns[key] = self._coerce(db, found, text, input_display)
            except _Unusable:
                continue
        return write

    def _coerce(self, db: sqlite3.Connection, target: Field, text: str, input_display: bool) -> SqlValue:
        if target.type is FieldType.PASSWORD:
            return hash_password(text) if text else ""
        if input_display and target.choices:
            text = target.choice_value(text) or text
        if target.type is FieldType.INTEGER:
            if text == "":
                return None
            try:
                return int(text)
            except ValueError:
                raise _Unusable from None
        if target.type is FieldType.BOOLEAN:
            return {"1": "true", "0": "false", "": "false"}.get(text.lower(), text.lower())
        if target.type is FieldType.REFERENCE and target.reference is not None:
            return self._reference_value(db, target.reference, text, input_display)
        return text

    def _reference_value(self, db: sqlite3.Connection, table: str, text: str, input_display: bool) -> str:
        """A reference given by sys_id, or (with display-value input) by its display value."""
        if not input_display or not text or _SYS_ID.fullmatch(text.lower()):
            return text.lower() if _SYS_ID.fullmatch(text.lower()) else text
        root, display = quote(self._schema.root(table)), quote(self._schema.display_field(table))
        sql = f"SELECT sys_id FROM {root} WHERE {display} = ? COLLATE NOCASE ORDER BY rowid LIMIT 1"  # noqa: S608
        row = db.execute(sql, (text,)).fetchone()
        return str(row[0]) if row is not None else text


class _Unusable(Exception):
    """A body value the field cannot hold; an instance ignores it."""


def _as_text(raw: object) -> str | None:
    """A JSON body value as the string an instance would store (None when it cannot be one)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if raw is None:
        return ""
    if isinstance(raw, int | float | str):
        return str(raw)
    if isinstance(raw, dict) and isinstance(raw.get("value"), str | int):
        return str(raw["value"])
    return None


def _differs(stored: object, new: SqlValue) -> bool:
    if stored is None or stored == "":
        return new not in (None, "")
    return str(stored) != ("" if new is None else str(new))


def _apply_state(
    inactive: tuple[str, ...],
    resolvable: bool,
    changes: dict[str, SqlValue],
    before: Mapping[str, object],
    caller: Caller,
    now: str,
) -> None:
    """Business rules of a task's state: ``active`` follows it; closing and resolving stamp who and when."""
    state = changes.get("state")
    if state is None:
        return
    state_text = str(state)
    changes["active"] = "false" if state_text in inactive else "true"
    if state_text in inactive and not before.get("closed_at"):
        changes.setdefault("closed_at", now)
        changes.setdefault("closed_by", caller.sys_id)
    if state_text == "6" and resolvable and not before.get("resolved_at"):
        changes.setdefault("resolved_at", now)
        changes.setdefault("resolved_by", caller.sys_id)


def _with_name_values(query: EncodedQuery, name_values: Mapping[str, str]) -> EncodedQuery:
    """``&active=true`` style parameters ANDed into every group, matching display values too."""
    if not name_values:
        return query
    extra = tuple(
        AnyOf((Condition(name, Operator.EQ, value, by_display=True),)) for name, value in name_values.items()
    )
    return EncodedQuery(tuple(Group(group.clauses + extra) for group in query.groups), query.orderings)
