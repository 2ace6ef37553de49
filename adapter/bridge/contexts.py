"""ServiceNow records to FDC3 contexts, and FDC3 contexts back to ServiceNow queries.

Records arrive in the Table API's ``sysparm_display_value=all`` shape (each field ``{value, display_value}``),
so a context can carry both the stable ids and the labels people read. The plain shape (strings) is accepted
too. FDC3 rules applied: every ``id`` value is a string, nested parties are typed contexts, times are ISO 8601
with a timezone (``2026-11-29T09:15:02Z``: the Table API's stored values are UTC).

Identifiers: a ``servicenow.case`` is our own type, so its ``id`` keys (``sys_id``, ``number``,
``table``, ``instance``) are already in our namespace. Inside the standard ``fdc3.contact`` and
``fdc3.organization`` a bare ``sys_id`` would be a proprietary key among standard ones (``email``, ``LEI``),
so the record's sys_id is given as ``servicenow.sys_id``; the bare ``sys_id`` is still sent beside it for
readers of the first releases (see docs/channel-api.md, "Identifier migration").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired, cast

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from adapter.servicenow.watcher import parse_glide_time

CASE_CONTEXT = "servicenow.case"
CASE_LIST_CONTEXT = "servicenow.caseList"

SYS_ID_KEY = "servicenow.sys_id"
"""The namespaced key of a record's sys_id in the ``id`` of a standard FDC3 context (contact, account)."""
LEGACY_SYS_ID_KEY = "sys_id"
"""The bare key the first releases used there; still emitted beside ``SYS_ID_KEY`` and still read."""

# What a case context needs, asked for in one request (dot-walked fields give the parties' details).
CASE_FIELDS = (
    "sys_id",
    "number",
    "short_description",
    "state",
    "priority",
    "active",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
    "sys_class_name",
    "assigned_to",
    "contact",
    "contact.email",
    "contact.name",
    # With sys_updated_by, tells a customer's own update (a portal comment) from an agent's.
    "contact.user_name",
    "account",
    "account.name",
)


# The shapes emitted, as typed dicts: mypy holds the builders below to them, and docs/schemas and
# docs/typescript are generated from them (adapter/bridge/schemas.py).

# Exactly these keys: the published schemas refuse any other, so a key added here must be documented.
_EXACT = ConfigDict(extra="forbid")

# The functional form because of the dotted key; with_config cannot wrap it without losing the type for mypy.
PartyIds = TypedDict(
    "PartyIds",
    {
        "servicenow.sys_id": Annotated[str, Field(description="the record's sys_id (namespaced key)")],
        "sys_id": Annotated[str, Field(description="the same sys_id under its legacy key (deprecated)")],
    },
)
PartyIds.__pydantic_config__ = _EXACT  # type: ignore[attr-defined]


@with_config(_EXACT)
class ContactIds(PartyIds):
    """Identifiers of a case's contact: its sys_id, and its e-mail when it has one."""

    email: NotRequired[str]


@with_config(_EXACT)
class ContactContext(TypedDict):
    """The case's contact, an ``fdc3.contact``."""

    type: Literal["fdc3.contact"]
    name: str
    id: ContactIds


@with_config(_EXACT)
class OrganizationContext(TypedDict):
    """The case's account, an ``fdc3.organization``."""

    type: Literal["fdc3.organization"]
    name: str
    id: PartyIds


@with_config(_EXACT)
class CaseIds(TypedDict):
    """Identifiers of a case (our own type, so plain keys)."""

    sys_id: str
    number: str
    table: Annotated[str, Field(description="the record's own table (a subclass of the case table)")]
    instance: Annotated[str, Field(description="origin of the instance the case lives on")]


@with_config(_EXACT)
class CaseContext(TypedDict):
    """A ServiceNow case as the FDC3 context ``servicenow.case``."""

    type: Literal["servicenow.case"]
    name: Annotated[str, Field(description="'<number>: <short description>', or the number")]
    id: CaseIds
    shortDescription: str
    state: Annotated[str, Field(description="the state's label, e.g. 'Open'")]
    priority: Annotated[str, Field(description="the priority's label, e.g. '2 - High'")]
    active: bool
    updatedOn: NotRequired[
        Annotated[
            str,
            Field(
                description="last update, ISO 8601 in UTC with its zone, e.g. '2026-11-29T09:15:02Z'",
                json_schema_extra={"format": "date-time"},
            ),
        ]
    ]
    assignedTo: NotRequired[Annotated[str, Field(description="the assignee's name")]]
    contact: NotRequired[ContactContext]
    account: NotRequired[OrganizationContext]


@with_config(_EXACT)
class CaseListContext(TypedDict):
    """Cases as the FDC3 context ``servicenow.caseList`` (the result of ``ViewInteractions``)."""

    type: Literal["servicenow.caseList"]
    cases: list[CaseContext]


@with_config(_EXACT)
class TransactionResultContext(TypedDict):
    """An ``fdc3.transactionResult``: what a create or update intent did."""

    type: Literal["fdc3.transactionResult"]
    status: Literal["Created", "Deleted", "Updated", "Failed"]
    context: NotRequired[
        Annotated[
            dict[str, Any],
            Field(description="the context of the record the transaction created or changed"),
        ]
    ]
    message: NotRequired[Annotated[str, Field(description="what happened, for people")]]


def value_of(record: Mapping[str, Any], field: str) -> str:
    """The stored value of ``field`` (a sys_id for references), whatever display shape the record has."""
    raw = record.get(field, "")
    if isinstance(raw, Mapping):
        return str(raw.get("value", "") or "")
    return "" if raw is None else str(raw)


def display_of(record: Mapping[str, Any], field: str) -> str:
    """The label people read for ``field``, falling back to its value."""
    raw = record.get(field, "")
    if isinstance(raw, Mapping):
        shown = raw.get("display_value")
        return str(shown) if shown not in (None, "") else str(raw.get("value", "") or "")
    return "" if raw is None else str(raw)


def iso_time(glide_time: str) -> str:
    """A Table API date-time (``YYYY-MM-DD HH:MM:SS``, UTC) as ISO 8601 with its timezone (``...T...Z``).

    A value already in ISO 8601 with an offset is kept; anything else (empty, unparseable) becomes ``""``
    rather than a time without a zone.
    """
    parsed = parse_glide_time(glide_time)
    if parsed is not None:
        return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        aware = datetime.fromisoformat(glide_time)
    except ValueError:
        return ""
    return aware.isoformat() if aware.tzinfo is not None else ""


def sys_id_of(ids: Mapping[str, Any]) -> object:
    """The sys_id in a standard context's ``id``: the namespaced key first, then the legacy bare key."""
    value = ids.get(SYS_ID_KEY)
    return value if value not in (None, "") else ids.get(LEGACY_SYS_ID_KEY)


def _party_ids(sys_id: str) -> PartyIds:
    return {"servicenow.sys_id": sys_id, "sys_id": sys_id}


def _contact(record: Mapping[str, Any]) -> ContactContext | None:
    sys_id = value_of(record, "contact")
    if not sys_id:
        return None
    ids: ContactIds = {"servicenow.sys_id": sys_id, "sys_id": sys_id}
    email = value_of(record, "contact.email")
    if email:
        ids["email"] = email
    name = display_of(record, "contact.name") or display_of(record, "contact")
    return {"type": "fdc3.contact", "name": name, "id": ids}


def _account(record: Mapping[str, Any]) -> OrganizationContext | None:
    sys_id = value_of(record, "account")
    if not sys_id:
        return None
    name = display_of(record, "account.name") or display_of(record, "account")
    return {"type": "fdc3.organization", "name": name, "id": _party_ids(sys_id)}


def case_context(record: Mapping[str, Any], *, table: str, instance_url: str) -> dict[str, Any]:
    """The ``servicenow.case`` context of a case record (a `CaseContext`, typed loosely for its callers)."""
    return cast("dict[str, Any]", typed_case_context(record, table=table, instance_url=instance_url))


def typed_case_context(record: Mapping[str, Any], *, table: str, instance_url: str) -> CaseContext:
    """The ``servicenow.case`` context of a case record."""
    number = value_of(record, "number")
    summary = display_of(record, "short_description")
    context: CaseContext = {
        "type": "servicenow.case",
        "name": f"{number}: {summary}" if summary else number,
        "id": {
            "sys_id": value_of(record, "sys_id"),
            "number": number,
            "table": value_of(record, "sys_class_name") or table,
            "instance": instance_url,
        },
        "shortDescription": summary,
        "state": display_of(record, "state"),
        "priority": display_of(record, "priority"),
        "active": value_of(record, "active") == "true",
    }
    updated_on = iso_time(value_of(record, "sys_updated_on"))
    if updated_on:
        context["updatedOn"] = updated_on
    assignee = display_of(record, "assigned_to")
    if assignee:
        context["assignedTo"] = assignee
    contact = _contact(record)
    if contact is not None:
        context["contact"] = contact
    account = _account(record)
    if account is not None:
        context["account"] = account
    return context


def case_list_context(contexts: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``servicenow.caseList`` result of ``ViewInteractions`` (a `CaseListContext`)."""
    return {"type": CASE_LIST_CONTEXT, "cases": contexts}
