"""JSON Schemas and TypeScript declarations of the channel API, generated from the pydantic models.

``python -m adapter.bridge.schemas`` rewrites ``docs/schemas/*.json``,
``docs/typescript/servicenow-adapter.d.ts`` and its copy in the client library (``clients/js/``); a test fails
when the committed files drift from the models.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from adapter.bridge import contexts, messages
from adapter.bridge.intents import HANDLED_INTENTS

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMA_DIR = DOCS / "schemas"
TYPESCRIPT_FILE = DOCS / "typescript" / "servicenow-adapter.d.ts"
CLIENT_TYPESCRIPT_FILE = DOCS.parent / "clients" / "js" / "servicenow-adapter.d.ts"

# Every model of the channel API, by the action or event it belongs to.
MODELS: Mapping[str, type[BaseModel]] = {
    "servicenow.connect.payload": messages.ConnectPayload,
    "servicenow.connect.result": messages.ConnectResult,
    "servicenow.request.payload": messages.RequestPayload,
    "servicenow.request.result": messages.RequestResult,
    "servicenow.disconnect.payload": messages.DisconnectPayload,
    "servicenow.disconnect.result": messages.DisconnectResult,
    "servicenow.status.payload": messages.StatusPayload,
    "servicenow.status.result": messages.StatusResult,
    "servicenow.search.payload": messages.SearchPayload,
    "servicenow.search.result": messages.SearchResult,
    "servicenow.recordChanged.event": messages.RecordChangedEvent,
    "servicenow.connectionChanged.event": messages.ConnectionChangedEvent,
    "servicenow.caseNotification.event": messages.CaseNotificationEvent,
    "error": messages.ErrorInfo,
}

# Every FDC3 context the adapter emits (broadcast, or returned as an intent's result), by context type.
CONTEXTS: Mapping[str, Any] = {
    contexts.CASE_CONTEXT: contexts.CaseContext,
    contexts.CASE_LIST_CONTEXT: contexts.CaseListContext,
    "fdc3.transactionResult": contexts.TransactionResultContext,
}

_TS_HEADER = """\
// Generated from adapter/bridge/messages.py by `python -m adapter.bridge.schemas`: do not edit by hand.
// Types of the `servicenow` channel served by openfin-servicenow-adapter (see docs/channel-api.md).

"""

_TS_FOOTER = """\
/** Actions apps dispatch on the channel, with their payloads and results. */
export interface ServiceNowChannelActions {
  'servicenow.connect': { payload: ConnectPayload; result: ConnectResult };
  'servicenow.request': { payload: RequestPayload; result: RequestResult };
  'servicenow.disconnect': { payload: DisconnectPayload; result: DisconnectResult };
  'servicenow.status': { payload: StatusPayload; result: StatusResult };
  'servicenow.search': { payload: SearchPayload; result: SearchResult };
}

/** Events the adapter dispatches to connected apps (register them with `client.register`). */
export interface ServiceNowChannelEvents {
  'servicenow.recordChanged': RecordChangedEvent;
  'servicenow.connectionChanged': ConnectionChangedEvent;
  'servicenow.caseNotification': CaseNotificationEvent;
}
"""


def _schema_of(shape: Any) -> dict[str, Any]:
    return TypeAdapter(shape).json_schema()


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for every model of the channel API and every context emitted."""
    schemas = {f"{name}.schema.json": model.model_json_schema() for name, model in MODELS.items()}
    for context_type, shape in CONTEXTS.items():
        schemas[f"{context_type}.context.schema.json"] = _schema_of(shape)
    return schemas


def _ts_type(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(dict.fromkeys(_ts_type(option) for option in schema["anyOf"]))
    if "enum" in schema:
        return " | ".join(json.dumps(value).replace('"', "'") for value in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type")
    if kind == "array":
        item = _ts_type(schema.get("items", {}))
        return f"({item})[]" if "|" in item else f"{item}[]"
    if kind == "object":
        values = schema.get("additionalProperties")
        return (
            f"Record<string, {_ts_type(values)}>"
            if isinstance(values, Mapping)
            else "Record<string, unknown>"
        )
    return {
        "string": "string",
        "integer": "number",
        "number": "number",
        "boolean": "boolean",
        "null": "null",
    }.get(str(kind), "unknown")


def _ts_interface(name: str, schema: Mapping[str, Any]) -> str:
    lines = []
    if schema.get("description"):
        lines.append(f"/** {' '.join(str(schema['description']).split())} */")
    lines.append(f"export interface {name} {{")
    required = set(schema.get("required", []))
    for field, spec in schema.get("properties", {}).items():
        if spec.get("description"):
            lines.append(f"  /** {spec['description']} */")
        optional = "" if field in required else "?"
        key = field if field.isidentifier() else f"'{field}'"
        lines.append(f"  {key}{optional}: {_ts_type(spec)};")
    lines.append("}")
    return "\n".join(lines)


def typescript() -> str:
    """The TypeScript declaration file of the channel API."""
    interfaces: dict[str, Mapping[str, Any]] = {}
    shapes: list[tuple[str, dict[str, Any]]] = [(m.__name__, m.model_json_schema()) for m in MODELS.values()]
    shapes += [(shape.__name__, _schema_of(shape)) for shape in CONTEXTS.values()]
    for shape_name, schema in shapes:
        for name, nested in schema.get("$defs", {}).items():
            interfaces.setdefault(name, nested)
        interfaces[shape_name] = schema
    body = "\n\n".join(_ts_interface(name, schema) for name, schema in interfaces.items())
    return f"{_TS_HEADER}{body}\n\n{_TS_FOOTER}\n{_ts_intents()}"


def _ts_intents() -> str:
    """The intents the adapter handles: the context types each takes and the interface of its result."""
    lines = [
        "/** FDC3 intents the adapter handles: the context types each takes and what its result is. */",
        "export interface ServiceNowIntents {",
    ]
    for name, spec in HANDLED_INTENTS.items():
        taken = " | ".join(f"'{context_type}'" for context_type in spec.contexts)
        result = CONTEXTS[spec.result].__name__
        lines.append(f"  '{name}': {{ contexts: {taken}; result: {result} }};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write() -> list[Path]:
    """Rewrite the generated files; returns their paths."""
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = SCHEMA_DIR / name
        path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    for target in (TYPESCRIPT_FILE, CLIENT_TYPESCRIPT_FILE):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(typescript(), encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write():
        sys.stdout.write(f"wrote {path}\n")
