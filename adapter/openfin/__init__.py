"""The adapter's client of the OpenFin runtime websocket protocol. It knows nothing about ServiceNow.

Layers, bottom up: ``frames`` (pydantic wire models, pure), ``correlator`` (request ids, replies, timeouts),
``reconnect`` (backoff and the retry decision), ``registry`` (channel actions by name with payload models),
``desktop_events`` and ``routing`` (where each inbound frame goes, pure), ``connection_state``, ``connection``
(the socket around them: handshake, requests, reconnect and replay), then what app code uses:
``ChannelProvider``, ``ChannelClient``, ``InteropClient`` and ``RuntimeCalls``. Errors live in ``errors``.
"""

from adapter.openfin.client import ChannelClient
from adapter.openfin.connection import RuntimeConnection
from adapter.openfin.connection_state import RuntimeConnectionState
from adapter.openfin.context_handlers import HandlerRegistration
from adapter.openfin.delivery import DispatchOutcome
from adapter.openfin.errors import (
    ActionError,
    ActionNotFound,
    AuthorizationRejected,
    ChannelActionError,
    ChannelClosedError,
    ChannelConnectionRejected,
    ChannelNotFound,
    ConnectionLostError,
    DuplicateActionError,
    InvalidContextError,
    OpenFinError,
    PayloadError,
    ProtocolError,
    RequestTimeoutError,
    RuntimeNotConnectedError,
    RuntimeRequestError,
)
from adapter.openfin.frames import ClientIdentity, Identity, ProviderIdentity
from adapter.openfin.interop import ContextGroupInfo, Intent, InteropClient
from adapter.openfin.provider import ChannelProvider
from adapter.openfin.reconnect import Backoff
from adapter.openfin.routing import ConnectionStats
from adapter.openfin.runtime_calls import AppWindow, RuntimeCalls, RuntimeInfo, WindowEvent, WindowOptions
from adapter.openfin.session_groups import SessionContextGroup

__all__ = [
    "ActionError",
    "ActionNotFound",
    "AppWindow",
    "AuthorizationRejected",
    "Backoff",
    "ChannelActionError",
    "ChannelClient",
    "ChannelClosedError",
    "ChannelConnectionRejected",
    "ChannelNotFound",
    "ChannelProvider",
    "ClientIdentity",
    "ConnectionLostError",
    "ConnectionStats",
    "ContextGroupInfo",
    "DispatchOutcome",
    "DuplicateActionError",
    "HandlerRegistration",
    "Identity",
    "Intent",
    "InteropClient",
    "InvalidContextError",
    "OpenFinError",
    "PayloadError",
    "ProtocolError",
    "ProviderIdentity",
    "RequestTimeoutError",
    "RuntimeCalls",
    "RuntimeConnection",
    "RuntimeConnectionState",
    "RuntimeInfo",
    "RuntimeNotConnectedError",
    "RuntimeRequestError",
    "SessionContextGroup",
    "WindowEvent",
    "WindowOptions",
]
