"""The one access decision every door into the adapter passes through.

The adapter holds one user's ServiceNow session for every app on the desktop, so each way in is checked
here, by ``AccessPolicy.decide``, and nowhere else:

- ``ChannelConnect``: an app connecting to the channel;
- ``ChannelAction``: each ``servicenow.*`` action an app dispatches;
- ``IntentRaise``: each FDC3 intent a broker delivers to one of our intent handlers.

The adapter registers no context handlers: contexts other apps set never reach it, so that door is closed.

A channel caller's identity comes from the runtime and cannot be forged. An intent is different: the broker
dispatches it to us as itself, and the raiser's identity travels only inside the intent, in the FDC3 2.x
``contextMetadata.source`` a platform's broker may add. The stock ``InteropBroker`` passes the raiser's
context through unchanged, so a raiser could write that field itself; it is believed only when the
deployment says its broker sets it (``--trust-intent-source``). A raiser the adapter cannot identify may do
what ``--intents`` says; unset, that is what every app may do on the channel: everything without
``--allow-app``, nothing with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from adapter.openfin import ClientIdentity
from adapter.servicenow.errors import ApiError
from adapter.settings import IntentAccess

log = structlog.get_logger(__name__)


class AccessDeniedError(ApiError):
    """The calling app is not allowed to use the ServiceNow channel."""

    default_message = "This app is not allowed to use the ServiceNow channel"


def app_id(client: ClientIdentity) -> str:
    """The identity a share is counted by: ``uuid/name``, so that two views of one platform are two apps."""
    return f"{client.uuid}/{client.name}"


@dataclass(frozen=True, slots=True)
class ChannelConnect:
    """An app connecting to the channel."""

    client: ClientIdentity


@dataclass(frozen=True, slots=True)
class ChannelAction:
    """An app dispatching ``action`` on the channel."""

    client: ClientIdentity
    action: str


@dataclass(frozen=True, slots=True)
class IntentRaise:
    """Intent ``name`` delivered by the broker; ``raiser`` is the app that raised it, when known."""

    name: str
    writes: bool
    raiser: str | None


AccessRequest = ChannelConnect | ChannelAction | IntentRaise


def claimed_source(context: Mapping[str, Any]) -> str | None:
    """The ``contextMetadata.source.appId`` an intent's context carries, if any (trusted or not)."""
    metadata = context.get("contextMetadata")
    source = metadata.get("source") if isinstance(metadata, Mapping) else None
    app = source.get("appId") if isinstance(source, Mapping) else None
    return app if isinstance(app, str) and app.strip() else None


class AccessPolicy:
    """``--allow-app`` uuids (empty: every app, said once in the log) and what unidentified raisers may do."""

    def __init__(
        self,
        allowed: Iterable[str],
        *,
        intents: IntentAccess | None = None,
        trust_intent_source: bool = False,
    ) -> None:
        self._allowed = frozenset(allowed)
        self._trust_intent_source = trust_intent_source
        self._unidentified: IntentAccess = intents or ("all" if not self._allowed else "off")
        if not self._allowed:
            log.warning("access.open", hint="every app on the desktop may use the channel; set --allow-app")
        log.info(
            "access.intents",
            unidentified_raisers=self._unidentified,
            raiser_from_broker=trust_intent_source,
        )

    @property
    def unidentified_intents(self) -> IntentAccess:
        """What an intent whose raiser is not known may do."""
        return self._unidentified

    def raiser(self, context: Mapping[str, Any]) -> str | None:
        """The app that raised an intent with ``context``, when the broker is trusted to have said so."""
        return claimed_source(context) if self._trust_intent_source else None

    def decide(self, request: AccessRequest) -> None:
        """Raise ``AccessDeniedError`` unless ``request`` is allowed; the single check of every door."""
        if isinstance(request, ChannelConnect | ChannelAction):
            if not self._app_allowed(request.client.uuid):
                door = request.action if isinstance(request, ChannelAction) else "connect"
                log.warning("access.denied", app=request.client.uuid, door=door)
                raise AccessDeniedError(
                    f"App {request.client.uuid!r} is not allowed to use the ServiceNow channel"
                )
            return
        self._decide_intent(request)

    def _decide_intent(self, request: IntentRaise) -> None:
        if request.raiser is not None:
            if self._app_allowed(request.raiser):
                return
            log.warning("access.denied", app=request.raiser, door=f"intent {request.name}")
            raise AccessDeniedError(f"App {request.raiser!r} is not allowed to raise {request.name}")
        access = self._unidentified
        if access == "all" or (access == "read-only" and not request.writes):
            return
        log.warning("access.denied", app=None, door=f"intent {request.name}", unidentified=access)
        what = "no intents" if access == "off" else "only intents that read"
        raise AccessDeniedError(
            f"{request.name} refused: the raiser cannot be identified, and such raisers may use {what} "
            "(--intents)"
        )

    def check(self, client: ClientIdentity, action: str) -> None:
        """``decide`` for channel action ``action`` of ``client``."""
        self.decide(ChannelAction(client, action))

    def _app_allowed(self, app: str) -> bool:
        return not self._allowed or app in self._allowed
