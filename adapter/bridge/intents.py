"""FDC3 intents the adapter handles for Workspace apps, answered from the shared ServiceNow connection.

- ``ViewInteractions``: ``fdc3.contact`` (by e-mail) or ``fdc3.organization`` (by name) -> that party's
  cases as ``servicenow.caseList``.
- ``CreateInteraction``: ``fdc3.interaction`` -> a new case for its first known participant, as an
  ``fdc3.transactionResult`` carrying the new ``servicenow.case``.
- ``servicenow.ViewCase``: ``servicenow.case`` (sys_id or number) -> the full case, opened in the browser.
- ``servicenow.CreateCase``: ``servicenow.case`` (shortDescription, optional contact) -> the new case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import structlog

from adapter.bridge.actions import as_action_error
from adapter.bridge.broadcast import WATCH_FIELDS, record_endpoint
from adapter.bridge.contexts import case_context, case_list_context, display_of, value_of
from adapter.openfin import Intent
from adapter.servicenow.connection import Connection
from adapter.servicenow.errors import ApiError, ParameterError
from adapter.servicenow.response import ApiResponse

log = structlog.get_logger(__name__)

CASE_TABLE = "sn_customerservice_case"
CASE_LIST_LIMIT = 50


@dataclass(frozen=True, slots=True)
class IntentSpec:
    """What an intent accepts and returns (also declared in manifests/appd.json)."""

    contexts: tuple[str, ...]
    result: str


HANDLED_INTENTS: Mapping[str, IntentSpec] = {
    "ViewInteractions": IntentSpec(("fdc3.contact", "fdc3.organization"), "servicenow.caseList"),
    "CreateInteraction": IntentSpec(("fdc3.interaction",), "fdc3.transactionResult"),
    "servicenow.ViewCase": IntentSpec(("servicenow.case",), "servicenow.case"),
    "servicenow.CreateCase": IntentSpec(("servicenow.case",), "servicenow.case"),
}

# fdc3.interaction's interactionType -> the case's contact_type choice.
_CONTACT_TYPES = {"phone": "phone", "call": "phone", "email": "email", "chat": "chat", "meeting": "walk-in"}

PickConnection = Callable[[], Connection]
WriteObserver = Callable[[Connection, str, str, ApiResponse], None]
OpenInBrowser = Callable[[str], Awaitable[None]]


def _query_value(value: object, what: str) -> str:
    # Encoded queries have no escape for "^": a value containing one would add conditions of its own.
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "^\r\n"):
        raise ParameterError(f"Invalid {what}")
    return value.strip()


def _table_query(table: str, query: str, *, fields: tuple[str, ...], limit: int) -> str:
    params = urlencode(
        {
            "sysparm_query": query,
            "sysparm_display_value": "all",
            "sysparm_fields": ",".join(fields),
            "sysparm_limit": str(limit),
        },
        quote_via=quote,
        safe=",",
    )
    return f"/api/now/table/{table}?{params}"


def _ids(context: Mapping[str, Any]) -> Mapping[str, Any]:
    ids = context.get("id")
    return ids if isinstance(ids, Mapping) else {}


def _reporting(
    handler: Callable[[Intent], Awaitable[dict[str, Any]]],
) -> Callable[[Intent], Awaitable[dict[str, Any]]]:
    async def run(intent: Intent) -> dict[str, Any]:
        try:
            return await handler(intent)
        except ApiError as error:
            raise as_action_error(error) from None

    return run


class IntentHandlers:
    """The four intents, over whichever connection ``pick_connection`` returns."""

    def __init__(
        self,
        pick_connection: PickConnection,
        *,
        observe_write: WriteObserver,
        open_in_browser: OpenInBrowser,
        case_table: str = CASE_TABLE,
    ) -> None:
        self._pick = pick_connection
        self._observe_write = observe_write
        self._open_in_browser = open_in_browser
        self._table = case_table

    @property
    def handlers(self) -> dict[str, Callable[[Intent], Awaitable[dict[str, Any]]]]:
        """Intent name -> handler for the interop broker; errors are named as on the channel."""
        return {
            name: _reporting(handler)
            for name, handler in (
                ("ViewInteractions", self.view_interactions),
                ("CreateInteraction", self.create_interaction),
                ("servicenow.ViewCase", self.view_case),
                ("servicenow.CreateCase", self.create_case),
            )
        }

    async def view_interactions(self, intent: Intent) -> dict[str, Any]:
        """The cases of a contact (by e-mail) or an organization (by name), most recently updated first."""
        context = intent.context
        ids = _ids(context)
        if context.get("type") == "fdc3.contact":
            if ids.get("sys_id"):
                query = f"contact={_query_value(ids['sys_id'], 'contact id')}"
            else:
                query = f"contact.email={_query_value(ids.get('email'), 'contact e-mail (id.email)')}"
        elif context.get("type") == "fdc3.organization":
            if ids.get("sys_id"):
                query = f"account={_query_value(ids['sys_id'], 'organization id')}"
            else:
                query = f"account.name={_query_value(context.get('name'), 'organization name')}"
        else:
            raise ParameterError("ViewInteractions takes an fdc3.contact or an fdc3.organization")
        connection = self._pick()
        endpoint = _table_query(
            self._table, f"{query}^ORDERBYDESCsys_updated_on", fields=WATCH_FIELDS, limit=CASE_LIST_LIMIT
        )
        response = await connection.execute(endpoint)
        records = response.data if isinstance(response.data, list) else []
        origin = connection.key.origin
        return case_list_context(
            [case_context(record, table=self._table, instance_url=origin) for record in records]
        )

    async def create_interaction(self, intent: Intent) -> dict[str, Any]:
        """A new case for the first participant ServiceNow knows, as a transaction result."""
        context = intent.context
        if context.get("type") != "fdc3.interaction":
            raise ParameterError("CreateInteraction takes an fdc3.interaction")
        connection = self._pick()
        contact = await self._first_known_participant(connection, context)
        if contact is None:
            return {
                "type": "fdc3.transactionResult",
                "status": "Failed",
                "message": "No participant of the interaction is a ServiceNow contact",
            }
        interaction_type = str(context.get("interactionType", "")).strip()
        description = str(context.get("description", "")).strip()
        fields: dict[str, str] = {
            "short_description": description or f"{interaction_type or 'Interaction'} with {contact['name']}",
            "description": description,
            "contact": contact["sys_id"],
        }
        if contact["account"]:
            fields["account"] = contact["account"]
        channel = _CONTACT_TYPES.get(interaction_type.lower())
        if channel:
            fields["contact_type"] = channel
        case = await self._create(connection, fields)
        return {
            "type": "fdc3.transactionResult",
            "status": "Created",
            "context": case,
            "message": f"Created {case['id']['number']}",
        }

    async def view_case(self, intent: Intent) -> dict[str, Any]:
        """The full case, opened in the user's browser on the instance."""
        context = intent.context
        if context.get("type") != "servicenow.case":
            raise ParameterError("servicenow.ViewCase takes a servicenow.case")
        ids = _ids(context)
        connection = self._pick()
        table = str(ids.get("table") or self._table)
        _query_value(table, "case table")
        if ids.get("sys_id"):
            sys_id = _query_value(ids["sys_id"], "case id")
            response = await connection.execute(record_endpoint(table, sys_id))
            record = response.data if isinstance(response.data, Mapping) else None
        else:
            number = _query_value(ids.get("number"), "case number (id.sys_id or id.number)")
            response = await connection.execute(
                _table_query(table, f"number={number}", fields=WATCH_FIELDS, limit=1)
            )
            found = response.data if isinstance(response.data, list) else []
            record = found[0] if found else None
        if not record:
            raise ParameterError("No such case")
        case = case_context(record, table=table, instance_url=connection.key.origin)
        case_table = case["id"]["table"]
        target = quote(f"{case_table}.do?sys_id={case['id']['sys_id']}", safe="")
        await self._open_in_browser(f"{connection.key.origin}/nav_to.do?uri={target}")
        return case

    async def create_case(self, intent: Intent) -> dict[str, Any]:
        """A new case from a ``servicenow.case`` context that carries no sys_id yet."""
        context = intent.context
        if context.get("type") != "servicenow.case":
            raise ParameterError("servicenow.CreateCase takes a servicenow.case")
        if _ids(context).get("sys_id"):
            raise ParameterError("servicenow.CreateCase takes a case that does not exist yet (no id.sys_id)")
        summary = context.get("shortDescription") or context.get("name")
        if not isinstance(summary, str) or not summary.strip():
            raise ParameterError("servicenow.CreateCase needs a shortDescription")
        fields: dict[str, str] = {"short_description": summary.strip()}
        for name in ("description", "priority"):
            value = context.get(name)
            if isinstance(value, str) and value.strip():
                fields[name] = value.strip()
        # One connection for the whole case: the contact lookup and the insert must hit the same instance.
        connection = self._pick()
        party = context.get("contact")
        if isinstance(party, Mapping):
            contact = await self._contact_by_email(connection, _ids(party).get("email"))
            if contact is None:
                raise ParameterError("The case's contact is not a ServiceNow contact")
            fields["contact"] = contact["sys_id"]
            if contact["account"]:
                fields["account"] = contact["account"]
        return await self._create(connection, fields)

    async def _first_known_participant(
        self, connection: Connection, interaction: Mapping[str, Any]
    ) -> dict[str, str] | None:
        participants = interaction.get("participants")
        contacts = participants.get("contacts") if isinstance(participants, Mapping) else None
        for party in contacts if isinstance(contacts, list) else []:
            if isinstance(party, Mapping):
                email = _ids(party).get("email")
                if isinstance(email, str) and email:
                    found = await self._contact_by_email(connection, email)
                    if found is not None:
                        return found
        return None

    async def _contact_by_email(self, connection: Connection, email: object) -> dict[str, str] | None:
        address = _query_value(email, "contact e-mail (id.email)")
        response = await connection.execute(
            _table_query(
                "customer_contact", f"email={address}", fields=("sys_id", "name", "account"), limit=1
            )
        )
        found = response.data if isinstance(response.data, list) else []
        if not found:
            return None
        record = found[0]
        return {
            "sys_id": value_of(record, "sys_id"),
            "name": display_of(record, "name"),
            "account": value_of(record, "account"),
        }

    async def _create(self, connection: Connection, fields: dict[str, str]) -> dict[str, Any]:
        endpoint = f"/api/now/table/{self._table}"
        created = await connection.execute(endpoint, "POST", fields)
        self._observe_write(connection, "POST", endpoint, created)
        sys_id = value_of(created.data, "sys_id") if isinstance(created.data, Mapping) else ""
        if not sys_id:
            raise ApiError("ServiceNow did not return the new case")
        response = await connection.execute(record_endpoint(self._table, sys_id))
        record = response.data if isinstance(response.data, Mapping) else {"sys_id": sys_id}
        log.info("intent.case_created", number=value_of(record, "number"))
        return case_context(record, table=self._table, instance_url=connection.key.origin)
