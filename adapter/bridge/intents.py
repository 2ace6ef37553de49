"""FDC3 intents the adapter handles for Workspace apps, answered from the shared ServiceNow connection.

- ``ViewInteractions``: ``fdc3.contact`` (id.email or id.sys_id), ``fdc3.organization`` (id.sys_id or name)
  or ``fdc3.instrument`` (the cases whose short description or description mention one of its identifiers)
  -> those cases as ``servicenow.caseList``, and the same list opened in the instance's UI.
- ``CreateInteraction``: ``fdc3.interaction`` or ``fdc3.contactList`` -> a new case for the first listed
  participant ServiceNow knows, as an ``fdc3.transactionResult`` wrapping the created ``fdc3.interaction``
  (its ``id`` names the case).
- ``servicenow.ViewCase``: ``servicenow.case`` (id.sys_id or id.number) -> the full case, opened in the UI.
- ``servicenow.CreateCase``: ``servicenow.case`` (shortDescription, optional contact) -> an
  ``fdc3.transactionResult`` wrapping the new ``servicenow.case``.

Every intent passes the access decision (``adapter.bridge.access``) before anything else, names its table
itself (a context never chooses one), sends every value it takes from a context through
``adapter.servicenow.query_values``, and goes to the one instance the adapter can name: the live connection
to ``--instance-url`` (and ``--client-id``), or the only live connection; several live ones without a
setting to choose are an error, never a guess.

Why one module: the four handlers share one state (the desktop's logins, the access policy, the user's
browser, the sink told of every write) and the two that create share the contact lookup and the insert; the
context checks they need are a few small functions. Its next split, if it grows, is those pure functions
(context to encoded query, participants, FDC3 times) into a module of their own.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeGuard
from urllib.parse import quote, urlencode

import structlog

from adapter.bridge.access import AccessPolicy, IntentRaise
from adapter.bridge.actions import LiveConnections, OwnWrites, as_action_error
from adapter.bridge.broadcast import WATCH_FIELDS, record_endpoint
from adapter.bridge.contexts import (
    SYS_ID_KEY,
    case_context,
    case_list_context,
    display_of,
    iso_time,
    sys_id_of,
    value_of,
)
from adapter.openfin import Intent, OpenFinError
from adapter.servicenow import query_values
from adapter.servicenow.connection import Connection
from adapter.servicenow.errors import ApiError, ApiRequestError, NotConnectedError, ParameterError
from adapter.servicenow.validation import parse_instance_url

log = structlog.get_logger(__name__)

CASE_TABLE = "sn_customerservice_case"
CONTACT_TABLE = "customer_contact"
CASE_LIST_LIMIT = 50
MAX_PARTICIPANTS = 50
"""The most contacts one CreateInteraction may list: they are looked up in one query, never one by one."""

# An FDC3 time (fdc3.timeRange): ISO 8601 date and time with seconds and a timezone indicator; datetime
# then checks the ranges (no month 13).
_ZONED_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})")

# The standard instrument identifiers of fdc3.instrument, in the order they are searched for.
INSTRUMENT_IDS = ("ticker", "ISIN", "CUSIP", "SEDOL", "RIC", "BBG", "FIGI", "PERMID", "FDS_ID")


@dataclass(frozen=True, slots=True)
class IntentSpec:
    """What an intent accepts and returns (also declared in manifests/appd.json); ``writes`` if it creates."""

    contexts: tuple[str, ...]
    result: str
    writes: bool


HANDLED_INTENTS: Mapping[str, IntentSpec] = {
    "ViewInteractions": IntentSpec(
        ("fdc3.contact", "fdc3.instrument", "fdc3.organization"), "servicenow.caseList", writes=False
    ),
    "CreateInteraction": IntentSpec(
        ("fdc3.contactList", "fdc3.interaction"), "fdc3.transactionResult", writes=True
    ),
    "servicenow.ViewCase": IntentSpec(("servicenow.case",), "servicenow.case", writes=False),
    "servicenow.CreateCase": IntentSpec(("servicenow.case",), "fdc3.transactionResult", writes=True),
}

# fdc3.interaction's interactionType (the standard's four values first) -> the case's contact_type choice.
CONTACT_TYPES = {
    "instant message": "chat",
    "email": "email",
    "call": "phone",
    "meeting": "walk-in",
    "phone": "phone",
    "chat": "chat",
    "im": "chat",
}

Handler = Callable[[Intent], Awaitable[dict[str, Any]]]


class UserBrowser(Protocol):
    """Where intents show the user what they found: the user's browser (``RuntimeCalls`` opens it)."""

    async def open_url_with_browser(self, url: str) -> None:
        """Open ``url`` in the user's default browser (``OpenFinError`` when the runtime cannot)."""


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


def _expect(context: Mapping[str, Any], intent: str) -> str:
    context_type = context.get("type")
    accepted = HANDLED_INTENTS[intent].contexts
    if context_type not in accepted:
        raise ParameterError(f"{intent} takes {' or '.join(accepted)}, not {context_type!r}")
    return str(context_type)


def contact_query(context: Mapping[str, Any]) -> str:
    """The case condition for an ``fdc3.contact``: by id.sys_id, else by id.email."""
    ids = _ids(context)
    if (sys_id := sys_id_of(ids)) is not None:
        return f"contact={query_values.sys_id(sys_id, 'contact id (id.sys_id)')}"
    return f"contact.email={query_values.email(ids.get('email'), 'contact e-mail (id.email)')}"


def organization_query(context: Mapping[str, Any]) -> str:
    """The case condition for an ``fdc3.organization``: by id.sys_id, else by its name."""
    ids = _ids(context)
    if (sys_id := sys_id_of(ids)) is not None:
        return f"account={query_values.sys_id(sys_id, 'organization id (id.sys_id)')}"
    return f"account.name={query_values.name(context.get('name'), 'organization name')}"


def instrument_query(context: Mapping[str, Any]) -> str:
    """The case condition for an ``fdc3.instrument``: short description or description mentions any of its
    standard identifiers (ticker, ISIN, CUSIP, ...)."""
    ids = _ids(context)
    terms = [
        f"{field}LIKE{query_values.identifier(ids[key], f'instrument identifier (id.{key})')}"
        for key in INSTRUMENT_IDS
        if ids.get(key) is not None
        for field in ("short_description", "description")
    ]
    if not terms:
        raise ParameterError(f"An fdc3.instrument needs one of id.{', id.'.join(INSTRUMENT_IDS)}")
    return "^OR".join(terms)


@dataclass(frozen=True, slots=True)
class Participant:
    """A contact listed in an interaction, by the key it is looked up with."""

    email: str | None
    sys_id: str | None


def participants_of(contacts: object) -> list[Participant]:
    """The listed contacts that name an e-mail or sys_id, checked and capped at ``MAX_PARTICIPANTS``."""
    if not isinstance(contacts, list):
        raise ParameterError("The interaction's participants need a contacts list")
    if len(contacts) > MAX_PARTICIPANTS:
        raise ParameterError(
            f"An interaction may list at most {MAX_PARTICIPANTS} contacts, not {len(contacts)}"
        )
    found: list[Participant] = []
    for position, party in enumerate(contacts, start=1):
        ids = _ids(party) if isinstance(party, Mapping) else {}
        if (sys_id := sys_id_of(ids)) is not None:
            found.append(Participant(None, query_values.sys_id(sys_id, f"contact {position} id")))
        elif ids.get("email") is not None:
            found.append(Participant(query_values.email(ids["email"], f"contact {position} e-mail"), None))
    return found


def participant_query(participants: list[Participant]) -> str:
    """One condition finding every listed contact: ``emailIN...^ORsys_idIN...``."""
    emails = [p.email for p in participants if p.email is not None]
    sys_ids = [p.sys_id for p in participants if p.sys_id is not None]
    terms = [f"emailIN{query_values.in_list(emails)}"] if emails else []
    if sys_ids:
        terms.append(f"sys_idIN{query_values.in_list(sys_ids)}")
    return "^OR".join(terms)


class IntentHandlers:
    """The four intents, each behind the access decision and on the one instance intents go to."""

    def __init__(
        self,
        live: LiveConnections,
        policy: AccessPolicy,
        *,
        writes: OwnWrites,
        browser: UserBrowser,
        instance_url: str | None = None,
        client_id: str | None = None,
        case_table: str = CASE_TABLE,
    ) -> None:
        """``live``: the desktop's shared logins; ``writes`` hears of every case an intent creates;
        ``browser`` shows the user what an intent found."""
        self._live = live
        self._policy = policy
        self._writes = writes
        self._browser = browser
        self._origin = parse_instance_url(instance_url).origin if instance_url else None
        self._client_id = client_id
        self._table = query_values.table_name(case_table, "case table")

    @property
    def handlers(self) -> dict[str, Handler]:
        """Intent name -> handler for the interop broker; each decides access first, errors named as on
        the channel."""
        return {
            name: self._guarded(name, handler)
            for name, handler in (
                ("ViewInteractions", self.view_interactions),
                ("CreateInteraction", self.create_interaction),
                ("servicenow.ViewCase", self.view_case),
                ("servicenow.CreateCase", self.create_case),
            )
        }

    def _guarded(self, name: str, handler: Handler) -> Handler:
        writes = HANDLED_INTENTS[name].writes

        async def run(intent: Intent) -> dict[str, Any]:
            try:
                self._policy.decide(IntentRaise(name, writes, self._policy.raiser(intent.context)))
                return await handler(intent)
            except ApiError as error:
                raise as_action_error(error) from None

        return run

    def connection(self) -> Connection:
        """The connection intents use: to ``--instance-url`` when set, else the only live one."""
        live = [
            c
            for c in self._live.signed_in()
            if (self._origin is None or c.key.origin == self._origin)
            and (self._client_id is None or c.client_id == self._client_id)
        ]
        if not live:
            where = f" to {self._origin}" if self._origin else ""
            raise NotConnectedError(
                f"No ServiceNow connection{where}: an app must call servicenow.connect first"
            )
        if len(live) > 1:
            origins = sorted({c.key.origin for c in live})
            raise ParameterError(
                f"Intents cannot choose between {len(live)} ServiceNow connections ({', '.join(origins)}): "
                "set --instance-url (and --client-id) to name the instance intents use"
            )
        return live[0]

    async def _show(self, connection: Connection, uri: str) -> None:
        """Open ``uri`` (a page of the instance) in the user's browser; the intent's data is returned even
        when the runtime cannot show it."""
        url = f"{connection.key.origin}/nav_to.do?uri={quote(uri, safe='')}"
        try:
            await self._browser.open_url_with_browser(url)
        except OpenFinError as error:
            log.warning("intent.not_shown", error=str(error))

    async def view_interactions(self, intent: Intent) -> dict[str, Any]:
        """The cases of a contact, an organization or an instrument, most recently updated first, also
        shown to the user as a list in the instance's UI."""
        context = intent.context
        context_type = _expect(context, "ViewInteractions")
        if context_type == "fdc3.contact":
            query = contact_query(context)
        elif context_type == "fdc3.organization":
            query = organization_query(context)
        else:
            query = instrument_query(context)
        connection = self.connection()
        ordered = f"{query}^ORDERBYDESCsys_updated_on"
        endpoint = _table_query(self._table, ordered, fields=WATCH_FIELDS, limit=CASE_LIST_LIMIT)
        response = await connection.execute(endpoint)
        records = response.data if isinstance(response.data, list) else []
        origin = connection.key.origin
        await self._show(connection, f"{self._table}_list.do?sysparm_query={quote(ordered, safe='')}")
        return case_list_context(
            [case_context(record, table=self._table, instance_url=origin) for record in records]
        )

    async def create_interaction(self, intent: Intent) -> dict[str, Any]:
        """A new case for the first listed participant ServiceNow knows, as a transaction result wrapping
        the created interaction."""
        context = intent.context
        if _expect(context, "CreateInteraction") == "fdc3.contactList":
            contacts = context.get("contacts")
        else:
            participants = context.get("participants")
            contacts = participants.get("contacts") if isinstance(participants, Mapping) else None
        listed = participants_of(contacts)
        connection = self.connection()
        contact = await self._first_known(connection, listed)
        if contact is None:
            return {
                "type": "fdc3.transactionResult",
                "status": "Failed",
                "message": "No participant of the interaction is a ServiceNow contact",
            }
        interaction_type = context.get("interactionType")
        kind = interaction_type.strip() if isinstance(interaction_type, str) else ""
        description = context.get("description")
        summary = description.strip() if isinstance(description, str) else ""
        fields: dict[str, str] = {
            "short_description": summary or f"{kind or 'Interaction'} with {contact['name']}",
            "description": summary,
            "contact": contact["sys_id"],
        }
        if contact["account"]:
            fields["account"] = contact["account"]
        channel = CONTACT_TYPES.get(kind.lower())
        if channel:
            fields["contact_type"] = channel
        record = await self._create(connection, fields)
        case = case_context(record, table=self._table, instance_url=connection.key.origin)
        created = self._interaction(context, case, contact, kind, record)
        return {
            "type": "fdc3.transactionResult",
            "status": "Created",
            "context": created,
            "message": f"Created {case['id']['number']}",
        }

    def _interaction(
        self,
        asked: Mapping[str, Any],
        case: Mapping[str, Any],
        contact: Mapping[str, str],
        kind: str,
        record: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The ``fdc3.interaction`` the new case records, its ``id`` naming the case."""
        ids = case["id"]
        page = quote(f"{ids['table']}.do?sys_id={ids['sys_id']}", safe="")
        person: dict[str, Any] = {"type": "fdc3.contact", "name": contact["name"], "id": {}}
        if contact["email"]:
            person["id"]["email"] = contact["email"]
        person["id"][SYS_ID_KEY] = contact["sys_id"]
        person["id"]["sys_id"] = contact["sys_id"]
        interaction: dict[str, Any] = {
            "type": "fdc3.interaction",
            "id": {
                "URI": f"{ids['instance']}/nav_to.do?uri={page}",
                "SERVICENOW": ids["number"],
            },
            "participants": {"type": "fdc3.contactList", "contacts": [person]},
            "timeRange": self._time_range(asked, record),
            "interactionType": kind or "Other",
            "description": case["shortDescription"],
        }
        origin = asked.get("origin")
        if isinstance(origin, str) and 0 < len(origin) <= query_values.MAX_NAME_LENGTH:
            interaction["origin"] = origin
        return interaction

    @staticmethod
    def _time_range(asked: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, str]:
        """The raiser's time range when it is one (its times FDC3 date-times), else the moment the case was
        opened."""
        given = asked.get("timeRange")
        if isinstance(given, Mapping) and given.get("type") == "fdc3.timeRange":
            times = {
                key: value for key in ("startTime", "endTime") if _is_zoned_time(value := given.get(key))
            }
            if times:
                return {"type": "fdc3.timeRange", **times}
        opened = value_of(record, "sys_created_on")
        return {"type": "fdc3.timeRange", "startTime": iso_time(opened)}

    async def view_case(self, intent: Intent) -> dict[str, Any]:
        """The full case, opened in the instance's UI. The table is always the case table: a context's
        ``id.table`` is informational and never chooses where to look."""
        context = intent.context
        _expect(context, "servicenow.ViewCase")
        ids = _ids(context)
        if ids.get("sys_id") is not None:
            sys_id = query_values.sys_id(ids["sys_id"], "case id (id.sys_id)")
            connection = self.connection()
            try:
                response = await connection.execute(record_endpoint(self._table, sys_id))
            except ApiRequestError as error:
                if error.status != 404:
                    raise
                raise ParameterError("No such case") from None
            record = response.data if isinstance(response.data, Mapping) else None
        else:
            number = query_values.case_number(ids.get("number"), "case number (id.sys_id or id.number)")
            connection = self.connection()
            response = await connection.execute(
                _table_query(self._table, f"number={number}", fields=WATCH_FIELDS, limit=1)
            )
            found = response.data if isinstance(response.data, list) else []
            record = found[0] if found else None
        if not record:
            raise ParameterError("No such case")
        case = case_context(record, table=self._table, instance_url=connection.key.origin)
        shown = case["id"]["table"]
        table = shown if isinstance(shown, str) and _is_table(shown) else self._table
        sys_id = query_values.sys_id(case["id"]["sys_id"], "case id")
        await self._show(connection, f"{table}.do?sys_id={sys_id}")
        return case

    async def create_case(self, intent: Intent) -> dict[str, Any]:
        """A new case from a ``servicenow.case`` context without a sys_id, as a transaction result."""
        context = intent.context
        _expect(context, "servicenow.CreateCase")
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
        party = context.get("contact")
        listed = participants_of([party]) if isinstance(party, Mapping) else []
        if isinstance(party, Mapping) and not listed:
            raise ParameterError("The case's contact needs id.email or id.sys_id")
        # One connection for the whole case: the contact lookup and the insert must hit the same instance.
        connection = self.connection()
        if listed:
            contact = await self._first_known(connection, listed)
            if contact is None:
                raise ParameterError("The case's contact is not a ServiceNow contact")
            fields["contact"] = contact["sys_id"]
            if contact["account"]:
                fields["account"] = contact["account"]
        record = await self._create(connection, fields)
        case = case_context(record, table=self._table, instance_url=connection.key.origin)
        return {
            "type": "fdc3.transactionResult",
            "status": "Created",
            "context": case,
            "message": f"Created {case['id']['number']}",
        }

    async def _first_known(self, connection: Connection, listed: list[Participant]) -> dict[str, str] | None:
        """The first of ``listed`` ServiceNow knows as a contact, all of them looked up in one request."""
        if not listed:
            return None
        response = await connection.execute(
            _table_query(
                CONTACT_TABLE,
                participant_query(listed),
                fields=("sys_id", "name", "email", "account"),
                limit=len(listed),
            )
        )
        rows = response.data if isinstance(response.data, list) else []
        known = [row for row in rows if isinstance(row, Mapping)]
        for party in listed:
            for row in known:
                if (party.sys_id is not None and value_of(row, "sys_id") == party.sys_id) or (
                    party.email is not None and value_of(row, "email").lower() == party.email.lower()
                ):
                    return {
                        "sys_id": value_of(row, "sys_id"),
                        "name": display_of(row, "name"),
                        "email": value_of(row, "email"),
                        "account": value_of(row, "account"),
                    }
        return None

    async def _create(self, connection: Connection, fields: dict[str, str]) -> Mapping[str, Any]:
        endpoint = f"/api/now/table/{self._table}"
        created = await connection.execute(endpoint, "POST", fields)
        self._writes.own_write(connection, "POST", endpoint, created)
        sys_id = value_of(created.data, "sys_id") if isinstance(created.data, Mapping) else ""
        if not sys_id:
            raise ApiError("ServiceNow did not return the new case")
        new_id = query_values.sys_id(sys_id, "new case id")
        response = await connection.execute(record_endpoint(self._table, new_id))
        record = response.data if isinstance(response.data, Mapping) else {"sys_id": sys_id}
        log.info("intent.case_created", number=value_of(record, "number"))
        return record


def _is_zoned_time(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a date-time as FDC3 writes times: ISO 8601 (RFC 3339) with its timezone."""
    if not isinstance(value, str) or _ZONED_TIME.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_table(name: str) -> bool:
    try:
        query_values.table_name(name, "table")
    except ParameterError:
        return False
    return True
