"""ServiceNow records to FDC3 contexts, and FDC3 contexts back to ServiceNow queries.

Records arrive in the Table API's ``sysparm_display_value=all`` shape (each field ``{value, display_value}``),
so a context can carry both the stable ids and the labels people read. The plain shape (strings) is accepted
too. FDC3 rules applied: every ``id`` value is a string, nested parties are typed contexts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CASE_CONTEXT = "servicenow.case"
CASE_LIST_CONTEXT = "servicenow.caseList"

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


def _contact(record: Mapping[str, Any]) -> dict[str, Any] | None:
    sys_id = value_of(record, "contact")
    if not sys_id:
        return None
    ids: dict[str, str] = {"sys_id": sys_id}
    email = value_of(record, "contact.email")
    if email:
        ids["email"] = email
    name = display_of(record, "contact.name") or display_of(record, "contact")
    return {"type": "fdc3.contact", "name": name, "id": ids}


def _account(record: Mapping[str, Any]) -> dict[str, Any] | None:
    sys_id = value_of(record, "account")
    if not sys_id:
        return None
    name = display_of(record, "account.name") or display_of(record, "account")
    return {"type": "fdc3.organization", "name": name, "id": {"sys_id": sys_id}}


def case_context(record: Mapping[str, Any], *, table: str, instance_url: str) -> dict[str, Any]:
    """The ``servicenow.case`` context of a case record."""
    number = value_of(record, "number")
    summary = display_of(record, "short_description")
    context: dict[str, Any] = {
        "type": CASE_CONTEXT,
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
        "updatedOn": value_of(record, "sys_updated_on"),
    }
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
    """The ``servicenow.caseList`` result of ``ViewInteractions``."""
    return {"type": CASE_LIST_CONTEXT, "cases": contexts}
