"""Every FDC3 context the adapter emits in the tests, checked against the official FINOS JSON Schemas.

The schemas come from npm (``@finos/fdc3`` 2.2, pinned in tests/conformance/package.json, its
``@finos/fdc3-context`` package), never from a copy of ours. A context is checked against:

- the FINOS schema of its type when FDC3 defines one (``fdc3.contact``, ``fdc3.transactionResult`` ...),
  or the FINOS base ``context.schema.json`` for our own types (``servicenow.case``);
- every context nested in it (a case's ``contact`` and ``account``, a list's cases, a transaction's
  ``context``), each against its own type's FINOS schema;
- our published schema of its type in docs/schemas (``<type>.context.schema.json``) when there is one, so
  the docs are shown to describe exactly what is emitted.

The schemas say draft-07 but use ``unevaluatedProperties`` (every ``id`` value a string); they are applied
with a 2020-12 validator so that rule is enforced rather than silently skipped.

``EMITTED`` counts what the session checked; ``check_emitted`` is what harnesses call on everything the
adapter sent them.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / "tests" / "conformance"
FINOS_CONTEXT_SCHEMAS = CONFORMANCE / "node_modules/@finos/fdc3-context/dist/schemas/context"
OUR_SCHEMAS = ROOT / "docs" / "schemas"
BASE_CONTEXT = "context.schema.json"

FORMATS = FormatChecker(["email"])
"""``email`` as jsonschema checks it, and ``date-time`` as FDC3 wants times: ISO 8601 with a timezone."""


def _iso_8601_with_zone(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return datetime.fromisoformat(value).tzinfo is not None


FORMATS.checks("date-time", raises=ValueError)(_iso_8601_with_zone)


EMITTED: Counter[str] = Counter()
"""How many contexts of each type were checked in this test session."""


class Fdc3SchemaError(Exception):
    """A context the adapter emitted breaks a FINOS schema (or our published one).

    Not an ``AssertionError``: harnesses that retry on assertion errors (waiting for an event) must not
    swallow it.
    """


@functools.cache
def _finos() -> tuple[Registry[Any], dict[str, str]]:
    """The FINOS context schemas as a registry by ``$id``, and FDC3 context type -> schema ``$id``."""
    if not (FINOS_CONTEXT_SCHEMAS / BASE_CONTEXT).is_file():
        raise Fdc3SchemaError(
            f"the FINOS schemas are missing: run `npm ci` in {CONFORMANCE} (make test does)"
        )
    registry: Registry[Any] = Registry()
    by_type: dict[str, str] = {}
    for path in sorted(FINOS_CONTEXT_SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema, DRAFT202012))
        context_type = _declared_type(schema)
        if context_type is not None:
            by_type[context_type] = schema["$id"]
    return registry.crawl(), by_type


def _declared_type(schema: dict[str, Any]) -> str | None:
    for part in schema.get("allOf", []):
        declared = part.get("properties", {}).get("type", {}).get("const")
        if isinstance(declared, str):
            return declared
    return None


def finos_types() -> frozenset[str]:
    """The context types FDC3 2.2 defines a schema for."""
    return frozenset(_finos()[1])


@functools.cache
def _validator(schema_id: str) -> Draft202012Validator:
    registry, _ = _finos()
    schema = registry.contents(schema_id)
    return Draft202012Validator(schema, registry=registry, format_checker=FORMATS)


@functools.cache
def _ours(context_type: str) -> Draft202012Validator | None:
    path = OUR_SCHEMAS / f"{context_type}.context.schema.json"
    if not path.is_file():
        return None
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")), format_checker=FORMATS)


def _base_id() -> str:
    registry, _ = _finos()
    return next(uri for uri in _all_ids(registry) if uri.endswith(f"/{BASE_CONTEXT}"))


def _all_ids(registry: Registry[Any]) -> Iterator[str]:
    yield from (str(uri) for uri in registry)


def _nested(context: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every typed object inside ``context`` (not the context itself), with its path."""
    for key, value in context.items():
        where = f"{path}.{key}"
        if isinstance(value, dict):
            if isinstance(value.get("type"), str) and key != "id":
                yield where, value
            yield from _nested(value, where)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    item_where = f"{where}[{index}]"
                    if isinstance(item.get("type"), str):
                        yield item_where, item
                    yield from _nested(item, item_where)


def problems(context: Any) -> list[str]:
    """Everything wrong with ``context`` as an FDC3 context, by the FINOS schemas and ours; [] when valid."""
    if not isinstance(context, dict):
        return [f"a context must be an object, not {type(context).__name__}"]
    found: list[str] = []
    _, by_type = _finos()
    for where, value in [("$", context), *_nested(context, "$")]:
        context_type = value.get("type")
        schema_id = by_type.get(context_type) if isinstance(context_type, str) else None
        validators = [_validator(schema_id or _base_id())]
        ours = _ours(context_type) if isinstance(context_type, str) else None
        if ours is not None and where == "$":
            validators.append(ours)
        for validator in validators:
            origin = "docs/schemas" if validator is ours else "FINOS"
            for error in validator.iter_errors(value):
                location = "".join(f"[{p!r}]" for p in error.absolute_path)
                found.append(f"{where}{location} ({context_type}, {origin}): {error.message}")
    return found


def check_context(context: Any) -> None:
    """Raise `Fdc3SchemaError` unless ``context`` is a valid FDC3 context; count it when it is."""
    found = problems(context)
    if found:
        raise Fdc3SchemaError(
            "an emitted FDC3 context breaks the schemas:\n  "
            + "\n  ".join(found)
            + f"\ncontext: {json.dumps(context)[:2000]}"
        )
    EMITTED[str(context["type"])] += 1


def contexts_in(value: Any) -> Iterator[dict[str, Any]]:
    """The outermost FDC3 contexts in a JSON value: objects whose ``type`` is in our or FDC3's namespace."""
    if isinstance(value, dict):
        context_type = value.get("type")
        if isinstance(context_type, str) and context_type.startswith(("fdc3.", "servicenow.")):
            yield value
            return
        for item in value.values():
            yield from contexts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from contexts_in(item)


def check_emitted(value: Any) -> Any:
    """Check every context in ``value`` (an event, an intent resolution ...) the adapter sent; returns it."""
    for context in contexts_in(value):
        check_context(context)
    return value
