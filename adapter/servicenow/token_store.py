"""Optional persistence of refresh tokens in the OS credential store (``keyring``), off by default.

With it, a restarted adapter signs in again from the stored refresh token without asking the user, for as
long as the instance accepts that token. Entries are keyed by instance origin and client id; a revoked or
refused token is deleted. ``keyring`` calls block, so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

SERVICE = "openfin-servicenow-adapter"


class TokenStore(Protocol):
    """Where refresh tokens outlive the process."""

    async def load(self, origin: str, client_id: str) -> str | None:
        """The stored refresh token, if any."""
        ...

    async def save(self, origin: str, client_id: str, refresh_token: str | None) -> None:
        """Store ``refresh_token``, or delete the entry when it is None."""
        ...


class KeyringTokenStore:
    """A ``TokenStore`` on the ``keyring`` package (Windows Credential Locker, macOS Keychain...).

    ``backend`` selects a keyring backend explicitly (tests pass an in-memory one); by default the platform's.
    """

    def __init__(self, *, service: str = SERVICE, backend: Any = None) -> None:
        self._service = service
        self._backend = backend

    def _keyring(self) -> Any:
        if self._backend is not None:
            return self._backend
        import keyring  # optional dependency, imported only when persistence is switched on

        return keyring.get_keyring()

    @staticmethod
    def _user(origin: str, client_id: str) -> str:
        return f"{origin} {client_id}"

    async def load(self, origin: str, client_id: str) -> str | None:
        """The stored refresh token, or None (also when the keyring fails)."""
        try:
            value = await asyncio.to_thread(
                self._keyring().get_password, self._service, self._user(origin, client_id)
            )
        except Exception as error:
            log.warning("token_store.load_failed", error=type(error).__name__)
            return None
        return value if isinstance(value, str) and value else None

    async def save(self, origin: str, client_id: str, refresh_token: str | None) -> None:
        """Store or delete; errors propagate to the caller, which logs them."""
        ring = self._keyring()
        user = self._user(origin, client_id)
        if refresh_token is None:
            try:
                await asyncio.to_thread(ring.delete_password, self._service, user)
            except Exception as error:  # nothing stored is fine; keyring raises PasswordDeleteError then
                log.debug("token_store.delete_skipped", error=type(error).__name__)
            return
        await asyncio.to_thread(ring.set_password, self._service, user, refresh_token)
