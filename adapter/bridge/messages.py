"""The channel API's payloads, results and events as pydantic models (wire names in camelCase).

These models are the contract with app developers: docs/channel-api.md, the JSON Schemas in
docs/schemas/ and the TypeScript declarations follow them, and a test fails when the schemas drift.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from adapter.bridge.contexts import CaseContext


def _upper_case(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


# Any case is accepted, as by the official executeApiRequest; the request always goes out in upper case.
HttpMethod = Annotated[Literal["GET", "POST", "PUT", "PATCH", "DELETE"], BeforeValidator(_upper_case)]
ConnectionState = Literal["connected", "refreshed", "expired", "disconnected"]
ChangeKind = Literal["created", "updated", "deleted"]
T = TypeVar("T")


class _Payload(BaseModel):
    """Payloads apps send: unknown keys are refused so that typos fail loudly instead of being ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


class ConnectPayload(_Payload):
    """``servicenow.connect``: log in to an instance (or join the login every other app shares)."""

    instanceUrl: str | None = Field(default=None, description="instance URL; its origin is used")
    clientId: str | None = Field(
        default=None, description="OAuth client id of the instance's app registry entry"
    )
    scope: list[str] = Field(default_factory=list, description="OAuth scopes, joined with spaces")
    authFlowParams: dict[str, str] = Field(
        default_factory=dict, description="extra authorize-URL parameters, e.g. {prompt: 'login'}"
    )
    interactive: bool = Field(default=True, description="false: fail rather than show a login")

    @field_validator("instanceUrl", "clientId", "scope", "authFlowParams")
    @classmethod
    def _utf8(cls, value: T) -> T:
        # Text read from a lone ``\ud800`` escape is no text a URL can carry: a ParameterError here rather
        # than a UnicodeEncodeError where the authorize URL is built.
        for text in _texts(value):
            text.encode("utf-8")
        return value


class ConnectResult(_Result):
    """The shared connection as the app now sees it."""

    instanceUrl: str
    clientId: str
    currentUser: dict[str, Any]
    scope: list[str]
    shared: bool = Field(
        description="true when the app joined a login that already existed or was in progress"
    )
    apps: int = Field(description="how many apps share the connection now")


class RequestPayload(_Payload):
    """``servicenow.request``: the official ``executeApiRequest`` arguments."""

    instanceUrl: str | None = Field(default=None, description="which connection; optional with only one")
    apiEndpoint: str = Field(min_length=1, description="a path on the instance, e.g. /api/now/table/incident")
    httpMethod: HttpMethod = "GET"
    data: Any = None
    suppressResponseBody: bool = False
    headers: dict[str, str] | None = None


class RequestResult(_Result):
    """The official ``ServiceNowRestApiResponse``: ``data`` and ``type`` are absent when there is no body."""

    status: int
    data: Any = None
    type: str | None = None


class DisconnectPayload(_Payload):
    """``servicenow.disconnect``: release this app's share of a connection."""

    instanceUrl: str | None = None


class DisconnectResult(_Result):
    """What is left after the release; ``revoked`` says whether the last release revoked the tokens."""

    disconnected: Literal[True] = True
    apps: int
    revoked: bool


class StatusPayload(_Payload):
    """``servicenow.status`` takes nothing."""


class ConnectionStatus(_Result):
    """One connection as ``servicenow.status`` shows it: never a token."""

    instanceUrl: str
    clientId: str
    state: ConnectionState
    currentUser: str | None = Field(default=None, description="user_name of the logged-in user")
    apps: int = Field(description="how many apps share the connection")
    tokenExpiresAt: str | None = Field(default=None, description="ISO 8601 expiry of the access token")


class RuntimeStatus(_Result):
    """The adapter's own connection to the OpenFin runtime."""

    state: Literal["connecting", "connected", "reconnecting", "restoring", "closed"]
    address: str
    reconnects: int = Field(description="how many times the connection was restored since start-up")


class BrokerStatus(_Result):
    """The platform's interop broker the adapter was told to join (``--broker``)."""

    platform: str
    joined: bool = Field(description="whether the adapter is in the broker (contexts and intents work)")


class WatcherStatus(_Result):
    """One poller of changes: an instance's table."""

    instanceUrl: str
    table: str
    healthy: bool = Field(description="whether its last request succeeded (true before the first one)")
    lastPollAt: str | None = Field(default=None, description="ISO 8601 time of its last request")
    lastError: str | None = Field(default=None, description="why its last failed request failed")


class AdapterError(_Result):
    """The most recent failure the adapter noticed outside an app's own request."""

    at: str = Field(description="ISO 8601 time")
    where: str = Field(description="what failed: runtime, broker, watcher")
    message: str


class DeliveryCounts(_Result):
    """What became of the events the adapter dispatched (``servicenow.recordChanged`` and the like)."""

    waiting: int = Field(default=0, description="events waiting to be dispatched")
    delivered: int = Field(default=0, description="events the app acknowledged")
    merged: int = Field(
        default=0, description="waiting events replaced by a newer event for the same record or connection"
    )
    dropped: int = Field(default=0, description="waiting events dropped, the oldest first, past the backlog")
    failed: int = Field(default=0, description="events whose dispatch failed or was not acknowledged in time")


class DeliveryStatus(_Result):
    """Event delivery: each app has its own queue, so a slow app falls behind alone (docs/channel-api.md)."""

    backlog: int = Field(description="events that may wait per app before the oldest is dropped")
    app: DeliveryCounts = Field(description="the calling app's events, over its channel connections")
    total: DeliveryCounts = Field(description="every app's events since the channel was made")


class StatusResult(_Result):
    """Every connection the adapter holds, the tables it broadcasts, and the adapter's own health."""

    connections: list[ConnectionStatus]
    watching: list[str] = Field(default_factory=list, description="tables whose changes are broadcast")
    adapterVersion: str | None = Field(default=None, description="the adapter's version")
    runtime: RuntimeStatus | None = None
    broker: BrokerStatus | None = Field(default=None, description="absent when no --broker was given")
    watchers: list[WatcherStatus] = Field(default_factory=list)
    apps: list[str] = Field(default_factory=list, description="uuids of the apps connected to the channel")
    lastError: AdapterError | None = None
    delivery: DeliveryStatus | None = Field(default=None, description="how the adapter's events fared")


class ErrorInfo(_Result):
    """The ``error`` object of a failed action; ``reason`` is ``"<name>: <message>"``."""

    name: str
    message: str
    status: int | None = None
    detail: Any = Field(default=None, description="the instance's error.detail")
    data: Any = Field(default=None, description="the instance's whole JSON error body (official error.data)")


MAX_SEARCH_TEXT = 100


class SearchPayload(_Payload):
    """``servicenow.search``: look for ``query`` in the configured record types at once.

    ``query`` is app input that ends up inside an encoded query: ``^`` (which would add conditions), control
    characters (newlines included) and ``javascript:`` (which the instance would run) are refused.
    """

    query: str = Field(
        min_length=1,
        max_length=MAX_SEARCH_TEXT,
        description="the text to look for (LIKE on each type's fields)",
    )
    types: list[str] | None = Field(
        default=None, min_length=1, max_length=12, description="type names to search; default: every type"
    )
    limit: int | None = Field(
        default=None, ge=1, le=50, description="at most this many results per type (never above the type's)"
    )
    instanceUrl: str | None = Field(default=None, description="which connection; optional with only one")

    @field_validator("query")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError("the search text is empty")
        if "^" in text:
            raise ValueError("the search text must not contain ^")
        if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in text):
            raise ValueError("the search text must not contain control characters or line breaks")
        if "javascript:" in "".join(text.split()).lower():
            raise ValueError("the search text must not contain javascript:")
        return text


class SearchField(_Result):
    """One line of a result's card."""

    field: str
    label: str
    value: str = Field(description="the display value")


class SearchHit(_Result):
    """One record found, with what a card shows and what its buttons need."""

    sysId: str
    table: str = Field(description="the record's own table (its class)")
    type: str = Field(description="the search type that found it")
    title: str
    label: str = Field(description="type name and, when configured, e.g. the number: 'Case CS0001001'")
    score: int = Field(description="match quality: 3 whole field, 2 field start, 1 word start, 0 inside")
    updatedOn: str = Field(description="sys_updated_on")
    url: str = Field(description="the record's page on the instance")
    fields: list[SearchField]
    phone: str | None = None
    email: str | None = None


class SearchGroup(_Result):
    """The results of one type; ``error`` instead when that type's request failed (e.g. 403)."""

    type: str
    table: str
    hits: list[SearchHit]
    error: ErrorInfo | None = None


class SearchResult(_Result):
    """Every searched type in the configured order, each ranked (best match, then newest) and capped."""

    query: str
    instanceUrl: str
    groups: list[SearchGroup]


class RecordChangedEvent(_Result):
    """``servicenow.recordChanged``, dispatched to every connected app."""

    instanceUrl: str
    table: str
    sys_id: str
    number: str
    change: ChangeKind
    changedFields: list[str]
    context: CaseContext = Field(
        description="the record as a servicenow.case context (of a deleted record: ids and number only)"
    )


class ConnectionChangedEvent(_Result):
    """``servicenow.connectionChanged``, dispatched to every connected app."""

    instanceUrl: str
    clientId: str
    state: ConnectionState


NotificationKind = Literal["assigned", "customerComment"]


class CaseNotificationEvent(_Result):
    """``servicenow.caseNotification`` (``--case-notifications``): something the signed-in user should see.

    ``assigned``: a case was assigned to the user by someone else; ``customerComment``: the case's contact
    added a comment to one of the user's cases.
    """

    kind: NotificationKind
    instanceUrl: str
    table: str
    sys_id: str
    number: str
    title: str = Field(description="one line for the notification's title")
    body: str = Field(description="the notification's text")
    author: str | None = Field(default=None, description="who assigned it, or the customer who commented")
    url: str = Field(description="the case's page on the instance")
    context: dict[str, Any] = Field(description="the servicenow.case context of the case")
