"""The published channel contract (JSON Schemas, TypeScript) never drifts from the models the adapter runs."""

from __future__ import annotations

import json

import pytest

from adapter.bridge.schemas import (
    CLIENT_TYPESCRIPT_FILE,
    SCHEMA_DIR,
    TYPESCRIPT_FILE,
    json_schemas,
    typescript,
)

REGENERATE = "regenerate with: .venv/bin/python -m adapter.bridge.schemas"


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_each_committed_json_schema_matches_its_model(name: str) -> None:
    committed = SCHEMA_DIR / name
    assert committed.is_file(), f"{committed} is missing; {REGENERATE}"
    assert json.loads(committed.read_text(encoding="utf-8")) == json_schemas()[name], REGENERATE


def test_no_stale_schema_files_are_left_behind() -> None:
    assert {path.name for path in SCHEMA_DIR.glob("*.json")} == set(json_schemas()), REGENERATE


def test_the_typescript_declarations_match_the_models() -> None:
    assert TYPESCRIPT_FILE.read_text(encoding="utf-8") == typescript(), REGENERATE


def test_the_client_library_ships_the_same_declarations() -> None:
    assert CLIENT_TYPESCRIPT_FILE.read_text(encoding="utf-8") == typescript(), REGENERATE


def test_typescript_marks_fields_with_defaults_optional_and_required_ones_not() -> None:
    text = typescript()
    assert "  apiEndpoint: string;" in text
    assert "  httpMethod?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';" in text
    assert "'servicenow.request': { payload: RequestPayload; result: RequestResult };" in text
