"""``servicenow.search``: one call looks in every configured record type at once, on the shared login.

Each type is one Table API read (``<field>LIKE<text>`` ORed over its search fields, the administrator's fixed
condition ANDed, newest first), all sent side by side. The text is validated by ``SearchPayload`` before it
gets here, so it can only ever be a LIKE value. A type's read fetches a few more records than it keeps, so
that ranking (whole-field match, then field start, word start, inside; newest first among equals) chooses
which to keep. A newer search from the same app cancels its older one still in flight: a search box sends a
search per keystroke, and only the last one matters.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import structlog

from adapter.bridge.access import AccessPolicy, app_id
from adapter.bridge.actions import reported
from adapter.bridge.contexts import display_of, value_of
from adapter.bridge.messages import (
    ErrorInfo,
    SearchField,
    SearchGroup,
    SearchHit,
    SearchPayload,
    SearchResult,
)
from adapter.openfin import ChannelProvider, ClientIdentity
from adapter.search_types import SearchType
from adapter.servicenow.connection import Connection
from adapter.servicenow.errors import ApiError, ApiRequestError, ParameterError
from adapter.servicenow.manager import ConnectionManager

log = structlog.get_logger(__name__)

SEARCH = "servicenow.search"
# Fetched per type beyond what is kept, so that ranking has something to choose from; bounded.
OVERFETCH = 3
MAX_FETCH = 100


class SearchCancelledError(ApiError):
    """The app started a newer search before this one finished."""

    default_message = "Superseded by a newer search from the same app"


def search_endpoint(search_type: SearchType, text: str, fetch: int) -> str:
    """The Table API read of ``search_type`` for ``text`` (already validated: no ``^``, no control chars)."""
    terms = "^OR".join(f"{field}LIKE{text}" for field in search_type.search_fields)
    query = terms
    if search_type.condition:
        query = f"{search_type.condition}^{terms}"
    query = f"{query}^ORDERBYDESC{search_type.order_by}"
    params = urlencode(
        {
            "sysparm_query": query,
            "sysparm_fields": ",".join(_wanted_fields(search_type)),
            "sysparm_display_value": "all",
            "sysparm_exclude_reference_link": "true",
            "sysparm_limit": str(fetch),
        },
        quote_via=quote,
        safe=",",
    )
    return f"/api/now/table/{search_type.table}?{params}"


def _wanted_fields(search_type: SearchType) -> list[str]:
    names = [
        "sys_id",
        "sys_class_name",
        "sys_updated_on",
        search_type.title_field,
        *(search_type.label_field or "",),
        *search_type.search_fields,
        *(card.field for card in search_type.card_fields),
        *(search_type.phone_field or "",),
        *(search_type.email_field or "",),
    ]
    return list(dict.fromkeys(name for name in names if name))


def match_score(text: str, values: Sequence[str]) -> int:
    """How well ``text`` matches the best of ``values``: 3 whole, 2 start, 1 start of a word, 0 inside."""
    needle = text.casefold()
    best = 0
    for value in values:
        hay = value.casefold()
        if hay == needle:
            return 3
        if hay.startswith(needle):
            best = max(best, 2)
        elif re.search(rf"(?<![^\W_]){re.escape(needle)}", hay):
            best = max(best, 1)
    return best


def rank(text: str, search_type: SearchType, records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``records`` best match first, then newest first (the order the instance gave them in)."""
    scored = [
        (match_score(text, [display_of(record, name) for name in search_type.search_fields]), index, record)
        for index, record in enumerate(records)
    ]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [record for _, _, record in scored]


def _hit(text: str, search_type: SearchType, record: Mapping[str, Any], origin: str) -> SearchHit:
    sys_id = value_of(record, "sys_id")
    table = value_of(record, "sys_class_name") or search_type.table
    title = display_of(record, search_type.title_field) or f"Untitled {search_type.name}"
    label = search_type.name
    if search_type.label_field and (extra := display_of(record, search_type.label_field)):
        label = f"{label} {extra}"
    fields = [
        SearchField(field=card.field, label=card.label, value=shown)
        for card in search_type.card_fields
        if (shown := display_of(record, card.field))
    ]
    return SearchHit(
        sysId=sys_id,
        table=table,
        type=search_type.name,
        title=title,
        label=label,
        score=match_score(text, [display_of(record, name) for name in search_type.search_fields]),
        updatedOn=value_of(record, "sys_updated_on"),
        url=f"{origin}/{table}.do?sys_id={quote(sys_id, safe='')}",
        fields=fields,
        phone=display_of(record, search_type.phone_field) or None if search_type.phone_field else None,
        email=display_of(record, search_type.email_field) or None if search_type.email_field else None,
    )


class RecordSearch:
    """The ``servicenow.search`` action over the shared ``ConnectionManager``."""

    def __init__(self, manager: ConnectionManager, policy: AccessPolicy, types: Sequence[SearchType]) -> None:
        self._manager = manager
        self._policy = policy
        self._types = {search_type.name: search_type for search_type in types}
        self._running: dict[str, asyncio.Task[SearchResult]] = {}
        self._superseded: set[asyncio.Task[SearchResult]] = set()

    @property
    def types(self) -> list[SearchType]:
        """The configured types, in the order results come back."""
        return list(self._types.values())

    def register(self, provider: ChannelProvider) -> None:
        """Register ``servicenow.search`` on ``provider``."""
        provider.register(SEARCH, self.search, payload=SearchPayload)

    @reported
    async def search(self, payload: SearchPayload, caller: ClientIdentity) -> SearchResult:
        """``servicenow.search``: every requested type at once; an older search of the caller is cancelled."""
        self._policy.check(caller, SEARCH)
        chosen = self._chosen(payload.types)
        connection = self._manager.connection(app_id(caller), payload.instanceUrl)
        app = app_id(caller)
        task = asyncio.create_task(self._run(connection, payload, chosen), name=f"search {app}")
        previous = self._running.get(app)
        if previous is not None and not previous.done():
            self._superseded.add(previous)
            previous.cancel()
        self._running[app] = task
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task in self._superseded:
                raise SearchCancelledError() from None
            task.cancel()  # our caller went away: stop its requests too
            raise
        finally:
            self._superseded.discard(task)
            if self._running.get(app) is task:
                del self._running[app]

    def _chosen(self, names: list[str] | None) -> list[SearchType]:
        if names is None:
            return self.types
        unknown = [name for name in names if name not in self._types]
        if unknown:
            known = ", ".join(self._types)
            raise ParameterError(f"Unknown search type {unknown[0]!r}; known: {known}")
        return [search_type for search_type in self.types if search_type.name in names]

    async def _run(
        self, connection: Connection, payload: SearchPayload, chosen: list[SearchType]
    ) -> SearchResult:
        origin = connection.key.origin
        reads = [asyncio.create_task(self._one_type(connection, payload, t)) for t in chosen]
        try:
            groups = await asyncio.gather(*reads)
        except BaseException:
            # An expired login (or a cancellation) ends the search: the other types' reads end with it.
            for read in reads:
                read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
            raise
        log.debug("search.done", types=len(chosen), hits=sum(len(group.hits) for group in groups))
        return SearchResult(query=payload.query, instanceUrl=origin, groups=list(groups))

    async def _one_type(
        self, connection: Connection, payload: SearchPayload, search_type: SearchType
    ) -> SearchGroup:
        keep = min(payload.limit or search_type.limit, search_type.limit)
        fetch = min(keep * OVERFETCH, MAX_FETCH)
        try:
            response = await connection.execute(search_endpoint(search_type, payload.query, fetch))
        except ApiRequestError as error:
            # One type the user may not read (a 403) or that failed must not hide the others' results;
            # an expired or closed login is raised, so that the app signs in again.
            log.info("search.type_failed", type=search_type.name, error=error.reason)
            return SearchGroup(
                type=search_type.name, table=search_type.table, hits=[], error=ErrorInfo(**error.to_dict())
            )
        records = (
            [record for record in response.data if isinstance(record, Mapping)]
            if isinstance(response.data, list)
            else []
        )
        origin = connection.key.origin
        hits = [
            _hit(payload.query, search_type, record, origin)
            for record in rank(payload.query, search_type, records)
        ]
        return SearchGroup(type=search_type.name, table=search_type.table, hits=hits[:keep])
