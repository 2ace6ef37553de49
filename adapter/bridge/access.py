"""Which apps may use the channel: ``--allow-app`` uuids, checked at connection and on every action."""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from adapter.openfin import ClientIdentity
from adapter.servicenow.errors import ApiError

log = structlog.get_logger(__name__)


class AccessDeniedError(ApiError):
    """The calling app is not allowed to use the ServiceNow channel."""

    default_message = "This app is not allowed to use the ServiceNow channel"


def app_id(client: ClientIdentity) -> str:
    """The identity a share is counted by: ``uuid/name``, so that two views of one platform are two apps."""
    return f"{client.uuid}/{client.name}"


class AccessPolicy:
    """An allow-list of app uuids; an empty list lets every app in (and says so once in the log)."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self._allowed = frozenset(allowed)
        if not self._allowed:
            log.warning("access.open", hint="every app on the desktop may use the channel; set --allow-app")

    @property
    def allowed(self) -> frozenset[str]:
        """The allowed uuids (empty: everyone)."""
        return self._allowed

    def permits(self, client: ClientIdentity) -> bool:
        """Whether ``client`` may connect and act."""
        return not self._allowed or client.uuid in self._allowed

    def check(self, client: ClientIdentity) -> None:
        """Raise ``AccessDeniedError`` unless ``client`` is allowed."""
        if not self.permits(client):
            log.warning("access.denied", app=client.uuid)
            raise AccessDeniedError(f"App {client.uuid!r} is not allowed to use the ServiceNow channel")
