"""The record types ``servicenow.search`` looks in: ``SearchType``, its result card's lines, the defaults.

An administrator sets them with ``--search-type`` (``AdapterSettings.search_type``); apps only choose among
them by name. Every table and field name is checked here, and a fixed ``condition`` may not run script, so a
search type cannot make the adapter query anything but what it names.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapter.servicenow.query_values import is_table_name

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}(\.[a-z][a-z0-9_]{0,79}){0,2}$")
MAX_SEARCH_LIMIT = 50


def _field_name(value: str) -> str:
    if not _FIELD_NAME.match(value):
        raise ValueError(f"not a field name: {value!r}")
    return value


class CardField(BaseModel):
    """One line of a search result's card: the record's ``field`` shown under ``label``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="field name (dot-walking allowed, e.g. account.name)")
    label: str = Field(min_length=1, max_length=60, description="what the card calls it")

    @field_validator("field")
    @classmethod
    def _name(cls, value: str) -> str:
        return _field_name(value)


class SearchType(BaseModel):
    """One record type ``servicenow.search`` looks in: which table, matched on which fields, shown how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9 _-]{0,39}$", description="type name apps filter on")
    table: str = Field(description="the table searched")
    search_fields: tuple[str, ...] = Field(min_length=1, max_length=8, description="fields matched (LIKE)")
    title_field: str = Field(description="the result's title")
    label_field: str | None = Field(default=None, description="shown after the type name, e.g. the number")
    card_fields: tuple[CardField, ...] = Field(default=(), max_length=16, description="the card's lines")
    phone_field: str | None = Field(default=None, description="a phone number the card can call")
    email_field: str | None = Field(default=None, description="an e-mail address the card can write to")
    condition: str = Field(
        default="",
        max_length=400,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="a fixed encoded query ANDed to the search (set by the administrator, never by apps)",
    )
    order_by: str = Field(default="sys_updated_on", description="newest first by this field")
    limit: int = Field(default=10, ge=1, le=MAX_SEARCH_LIMIT, description="results kept per search")

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        if not is_table_name(value):
            raise ValueError(f"not a table name: {value!r}")
        return value

    @field_validator("search_fields")
    @classmethod
    def _search_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_field_name(item) for item in value)

    @field_validator("title_field", "label_field", "phone_field", "email_field", "order_by")
    @classmethod
    def _optional_field(cls, value: str | None) -> str | None:
        return None if value is None else _field_name(value)

    @field_validator("condition")
    @classmethod
    def _no_script(cls, value: str) -> str:
        if "javascript:" in "".join(value.split()).lower():
            raise ValueError("a search condition must not run script")
        return value


def _card(*pairs: tuple[str, str]) -> tuple[CardField, ...]:
    return tuple(CardField(field=field, label=label) for field, label in pairs)


_TASK_CARD = _card(
    ("assigned_to", "Assigned To"),
    ("short_description", "Description"),
    ("state", "State"),
    ("priority", "Priority"),
    ("approval", "Approval"),
    ("sys_updated_on", "Updated On"),
)

# The five types of OpenFin's Workspace how-to (integrate-with-servicenow), newest first, 10 each.
DEFAULT_SEARCH_TYPES: tuple[SearchType, ...] = (
    SearchType(
        name="Contact",
        table="customer_contact",
        search_fields=("name",),
        title_field="name",
        card_fields=_card(
            ("company", "Company"),
            ("title", "Title"),
            ("department", "Department"),
            ("phone", "Phone"),
            ("email", "E-mail"),
        ),
        phone_field="phone",
        email_field="email",
    ),
    SearchType(
        name="Account",
        table="customer_account",
        search_fields=("name",),
        title_field="name",
        card_fields=_card(
            ("street", "Street"),
            ("city", "City"),
            ("zip", "Zip"),
            ("country", "Country"),
            ("phone", "Phone"),
            ("website", "Website"),
        ),
        phone_field="phone",
    ),
    SearchType(
        name="Case",
        table="sn_customerservice_case",
        search_fields=("number", "short_description"),
        title_field="short_description",
        label_field="number",
        card_fields=(*_TASK_CARD[:1], CardField(field="account", label="Account"), *_TASK_CARD[1:]),
    ),
    SearchType(
        name="Task",
        table="task",
        search_fields=("number", "short_description"),
        title_field="short_description",
        label_field="number",
        card_fields=_TASK_CARD,
        # Cases and incidents are tasks too (table per hierarchy): they have their own types.
        condition="sys_class_name=task",
    ),
    SearchType(
        name="Incident",
        table="incident",
        search_fields=("number", "short_description"),
        title_field="short_description",
        label_field="number",
        card_fields=_TASK_CARD,
    ),
)
