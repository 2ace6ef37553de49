"""The channel API's payloads, results and events as pydantic models (wire names in camelCase).

These models are the contract with app developers: docs/channel-api.md, the JSON Schemas in
docs/schemas/ and the TypeScript declarations follow them, and a test fails when the schemas drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
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
    """Every connection the adapter holds, the tables whose changes it broadcasts, and event delivery."""

    connections: list[ConnectionStatus]
    watching: list[str] = Field(default_factory=list, description="tables whose changes are broadcast")
    delivery: DeliveryStatus | None = Field(default=None, description="how the adapter's events fared")


class RecordChangedEvent(_Result):
    """``servicenow.recordChanged``, dispatched to every connected app."""

    instanceUrl: str
    table: str
    sys_id: str
    number: str
    change: ChangeKind
    changedFields: list[str]
    context: dict[str, Any]


class ConnectionChangedEvent(_Result):
    """``servicenow.connectionChanged``, dispatched to every connected app."""

    instanceUrl: str
    clientId: str
    state: ConnectionState


class ErrorInfo(_Result):
    """The ``error`` object of a failed action; ``reason`` is ``"<name>: <message>"``."""

    name: str
    message: str
    status: int | None = None
    detail: Any = None
