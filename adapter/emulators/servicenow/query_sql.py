"""Compile a parsed encoded query to an SQL ``WHERE`` clause and ``ORDER BY`` terms, always parameterised.

Field names are looked up in the schema and only schema identifiers reach the SQL text; every value from the
query travels as a bound parameter. Unknown fields, operators or ``javascript:`` helpers make their term
invalid: dropped (ServiceNow's default) or, with ``glide.invalid_query.returns_no_rows``, no rows at all.
Strings compare without regard to case, as on a MySQL-backed instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .glide_script import ScriptContext, UnsupportedScript, evaluate, is_script
from .query import AnyOf, Condition, EncodedQuery, Group, InvalidTerm, Operator, Ordering, QueryError
from .schema import Field, FieldType, Schema
from .store import TIMESTAMP_FORMAT, quote

SqlValue = str | int | None
_MAX_DEPTH = 3
_RELATIVE_UNITS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "quarter": timedelta(days=91),
    "year": timedelta(days=365),
}


class InvalidCondition(QueryError):
    """A term the emulator cannot evaluate (unknown field, bad value for its operator, unknown script)."""


@dataclass(frozen=True, slots=True)
class SqlFilter:
    """``WHERE`` text (over alias ``t``), its parameters, ``ORDER BY`` terms and the ignored terms."""

    where: str
    params: tuple[SqlValue, ...]
    order_by: tuple[str, ...]
    ignored: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Expression:
    sql: str
    field: Field

    @property
    def is_text(self) -> bool:
        return self.field.type is not FieldType.INTEGER

    @property
    def compared(self) -> str:
        """The expression as the left side of a comparison (case-insensitive for text)."""
        return f"{self.sql} COLLATE NOCASE" if self.is_text else self.sql


def _like_pattern(value: str, prefix: str, suffix: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{prefix}{escaped}{suffix}"


class QueryCompiler:
    """Compiles queries on one table (alias ``t``) for one caller at one moment."""

    def __init__(self, schema: Schema, table: str, context: ScriptContext) -> None:
        self._schema = schema
        self._table = table
        self._context = context
        self._aliases = 0

    def compile(self, query: EncodedQuery, *, invalid_returns_no_rows: bool = False) -> SqlFilter:
        """The SQL filter for ``query``; see the module docstring for invalid terms."""
        params: list[SqlValue] = []
        ignored: list[str] = [term.text for term in query.invalid_terms]
        groups: list[str] = []
        for group in query.groups:
            groups.append(self._group(group, params, ignored))
        order_by = [sql for ordering in query.orderings if (sql := self._ordering(ordering)) is not None]
        if ignored and invalid_returns_no_rows:
            return SqlFilter("0", (), tuple(order_by), tuple(ignored))
        where = groups[0] if len(groups) == 1 else " OR ".join(f"({g})" for g in groups)
        return SqlFilter(where, tuple(params), tuple(order_by), tuple(ignored))

    def _group(self, group: Group, params: list[SqlValue], ignored: list[str]) -> str:
        clauses = [
            sql for clause in group.clauses if (sql := self._any_of(clause, params, ignored)) is not None
        ]
        return " AND ".join(clauses) if clauses else "1"

    def _any_of(self, clause: AnyOf, params: list[SqlValue], ignored: list[str]) -> str | None:
        parts: list[str] = []
        for term in clause.terms:
            if isinstance(term, InvalidTerm):
                continue
            local: list[SqlValue] = []
            try:
                parts.append(self._condition(term, local))
            except InvalidCondition:
                ignored.append(f"{term.field}{term.operator.value}{term.value}")
                continue
            params.extend(local)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def resolve(self, path: str) -> _Expression | None:
        """The SQL expression of a (possibly dot-walked) field of the table, or None when unknown."""
        return self._resolve(path, self._table, "t", 0)

    def _resolve(self, path: str, table: str, alias: str, depth: int) -> _Expression | None:
        head, _, rest = path.partition(".")
        field = self._schema.fields(table).get(head)
        if field is None or not field.is_stored or field.type is FieldType.PASSWORD:
            return None
        column = f"{alias}.{quote(head)}"
        if not rest:
            return _Expression(column, field)
        if field.type is not FieldType.REFERENCE or field.reference is None or depth >= _MAX_DEPTH:
            return None
        self._aliases += 1
        inner_alias = f"r{self._aliases}"
        inner = self._resolve(rest, field.reference, inner_alias, depth + 1)
        if inner is None:
            return None
        root = quote(self._schema.root(field.reference))
        sql = f"(SELECT {inner.sql} FROM {root} AS {inner_alias} WHERE {inner_alias}.sys_id = {column})"  # noqa: S608
        return _Expression(sql, inner.field)

    def _display_of(self, expression: _Expression) -> str | None:
        """SQL for the display value of a reference expression (used for ordering and display matching)."""
        target = expression.field.reference
        if target is None:
            return None
        self._aliases += 1
        alias = f"r{self._aliases}"
        display = quote(self._schema.display_field(target))
        root = quote(self._schema.root(target))
        where = f"{alias}.sys_id = {expression.sql}"
        return f"(SELECT {alias}.{display} FROM {root} AS {alias} WHERE {where})"  # noqa: S608

    def _ordering(self, ordering: Ordering) -> str | None:
        expression = self.resolve(ordering.field)
        if expression is None:
            return None
        sql = expression.compared
        if expression.field.type is FieldType.REFERENCE:
            sql = f"{self._display_of(expression)} COLLATE NOCASE"
        return f"{sql} {'DESC' if ordering.descending else 'ASC'}"

    def _value(self, raw: str, field: Field) -> SqlValue:
        if is_script(raw):
            try:
                raw = evaluate(raw, self._context)
            except UnsupportedScript as error:
                raise InvalidCondition(str(error)) from None
        if field.type is FieldType.INTEGER:
            try:
                return int(raw)
            except ValueError:
                return raw
        if field.type is FieldType.BOOLEAN:
            return {"1": "true", "0": "false"}.get(raw, raw.lower())
        return raw

    def _condition(self, condition: Condition, params: list[SqlValue]) -> str:
        expression = self.resolve(condition.field)
        if expression is None:
            raise InvalidCondition(f"unknown field {condition.field}")
        op, x, raw = condition.operator, expression.compared, condition.value
        empty = f"({expression.sql} IS NULL OR {expression.sql} = '')"
        not_empty = f"({expression.sql} IS NOT NULL AND {expression.sql} != '')"
        if op in (Operator.ISEMPTY, Operator.EMPTYSTRING):
            return empty
        if op is Operator.ISNOTEMPTY:
            return not_empty
        if op is Operator.ANYTHING:
            return "1"
        if op in (Operator.EQ, Operator.NE) and raw == "":
            return empty if op is Operator.EQ else not_empty
        if op is Operator.EQ:
            params.append(self._value(raw, expression.field))
            if condition.by_display:
                return self._equals_or_display(expression, raw, params)
            return f"{x} = ?"
        if op is Operator.NE:
            params.append(self._value(raw, expression.field))
            return f"({expression.sql} IS NULL OR {x} != ?)"
        if op in (Operator.GT, Operator.GE, Operator.LT, Operator.LE):
            params.append(self._value(raw, expression.field))
            return f"({not_empty} AND {x} {op.value} ?)"
        if op in (Operator.LIKE, Operator.NOT_LIKE, Operator.STARTSWITH, Operator.ENDSWITH):
            prefix = "" if op is Operator.STARTSWITH else "%"
            suffix = "" if op is Operator.ENDSWITH else "%"
            params.append(_like_pattern(raw, prefix, suffix))
            if op is Operator.NOT_LIKE:
                return f"({expression.sql} IS NULL OR {expression.sql} NOT LIKE ? ESCAPE '\\')"
            return f"{expression.sql} LIKE ? ESCAPE '\\'"
        if op in (Operator.IN, Operator.NOT_IN):
            values = [self._value(item, expression.field) for item in raw.split(",")]
            params.extend(values)
            marks = ", ".join("?" for _ in values)
            if op is Operator.IN:
                return f"{x} IN ({marks})"
            return f"({expression.sql} IS NULL OR {x} NOT IN ({marks}))"
        return self._range_condition(condition, expression, params)

    def _equals_or_display(self, expression: _Expression, raw: str, params: list[SqlValue]) -> str:
        """``=`` that also accepts a reference's display value or a choice's label (name=value pairs)."""
        x = expression.compared
        if expression.field.type is FieldType.REFERENCE:
            params.append(raw)
            return f"({x} = ? OR {self._display_of(expression)} = ? COLLATE NOCASE)"
        choice = expression.field.choice_value(raw)
        if choice is not None:
            params.append(self._value(choice, expression.field))
            return f"({x} = ? OR {x} = ?)"
        return f"{x} = ?"

    def _range_condition(self, condition: Condition, expression: _Expression, params: list[SqlValue]) -> str:
        op, x, parts = condition.operator, expression.compared, condition.value.split("@")
        if op in (Operator.SAMEAS, Operator.NSAMEAS):
            other = self.resolve(condition.value)
            if other is None:
                raise InvalidCondition(f"unknown field {condition.value}")
            return f"{x} = {other.sql}" if op is Operator.SAMEAS else f"({x} != {other.sql})"
        if op is Operator.BETWEEN and len(parts) == 2:
            params.extend(self._value(part, expression.field) for part in parts)
            return f"{x} BETWEEN ? AND ?"
        if op in (Operator.ON, Operator.NOTON) and len(parts) == 3:
            params.extend(self._value(part, expression.field) for part in parts[1:])
            return (
                f"{x} BETWEEN ? AND ?" if op is Operator.ON else f"({x} IS NULL OR {x} NOT BETWEEN ? AND ?)"
            )
        if op.value.startswith("RELATIVE") and len(parts) == 4:
            params.append(self._relative(parts[1], parts[2], parts[3]))
            comparison = {"RELATIVEGT": ">", "RELATIVEGE": ">=", "RELATIVELT": "<", "RELATIVELE": "<="}[
                op.value
            ]
            return f"{x} {comparison} ?"
        raise InvalidCondition(f"cannot read the value of {op.value}")

    def _relative(self, unit: str, direction: str, count: str) -> str:
        step = _RELATIVE_UNITS.get(unit)
        if step is None or direction not in ("ago", "ahead") or not count.isdigit() or len(count) > 6:
            raise InvalidCondition(f"bad relative value {unit}@{direction}@{count}")
        now = self._context.now.replace(microsecond=0, tzinfo=None)
        try:
            delta = step * int(count)
            moment = now - delta if direction == "ago" else now + delta
        except OverflowError:
            raise InvalidCondition(f"relative value {count} {unit}s leaves the calendar") from None
        return moment.strftime(TIMESTAMP_FORMAT)
