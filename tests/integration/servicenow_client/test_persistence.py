"""Refresh-token persistence in a keyring: a restarted adapter signs in again without asking the user."""

from __future__ import annotations

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from adapter.servicenow.errors import NotConnectedError
from adapter.servicenow.token_store import KeyringTokenStore
from tests.integration.servicenow_client.conftest import CLIENT_ID, ManagerFactory
from tests.support.servicenow_emulator import ServiceNowEmulator


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict, standing in for the OS credential store."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


async def test_a_restarted_adapter_resumes_from_the_stored_refresh_token(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    ring = MemoryKeyring()
    first = make_manager(token_store=KeyringTokenStore(backend=ring))
    await first.acquire("app-1", emulator.url, CLIENT_ID)
    assert list(ring.entries.values()) == [(await emulator.tokens())["refresh"][0]]
    await first.aclose(revoke=False)

    restarted = make_manager(token_store=KeyringTokenStore(backend=ring))
    acquired = await restarted.acquire("app-1", emulator.url, CLIENT_ID, interactive=False)
    assert acquired.connection.current_user["user_name"] == "beth.anglin"
    assert (await emulator.stats())["GET /oauth_auth.do"] == 1


async def test_the_stored_token_is_deleted_when_the_last_app_disconnects(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    ring = MemoryKeyring()
    manager = make_manager(token_store=KeyringTokenStore(backend=ring))
    acquired = await manager.acquire("app-1", emulator.url, CLIENT_ID)
    await manager.release("app-1", acquired.connection.key)
    assert ring.entries == {}


async def test_a_refused_stored_token_is_forgotten_and_a_new_login_stores_the_next(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    ring = MemoryKeyring()
    ring.set_password("openfin-servicenow-adapter", f"{emulator.url} {CLIENT_ID}", "revoked-or-expired-token")
    manager = make_manager(token_store=KeyringTokenStore(backend=ring))
    with pytest.raises(NotConnectedError):
        await manager.acquire("app-1", emulator.url, CLIENT_ID, interactive=False)
    assert ring.entries == {}
    acquired = await manager.acquire("app-1", emulator.url, CLIENT_ID)
    assert acquired.connection.current_user["user_name"] == "beth.anglin"
    assert list(ring.entries.values()) == [(await emulator.tokens())["refresh"][0]]
