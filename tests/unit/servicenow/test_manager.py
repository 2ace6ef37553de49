"""ConnectionManager sharing rules with in-memory instances (no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from adapter.servicenow.authorizers.base import AuthorizationAttempt, Authorizer, FixedRedirectAttempt
from adapter.servicenow.errors import AuthorizationError, NotConnectedError, ParameterError
from adapter.servicenow.manager import ConnectionManager
from adapter.servicenow.transport import TransportRegistry
from tests.support.waiting import eventually
from tests.unit.servicenow.fakes import ApprovingAuthorizer, FakeInstance

ACME = "https://acme.service-now.com"
GLOBEX = "https://globex.service-now.com"


def manager(authorizer: Authorizer | None = None) -> tuple[ConnectionManager, FakeInstance]:
    instance = FakeInstance()
    registry = TransportRegistry(factory=instance.transport)
    return ConnectionManager(authorizer or ApprovingAuthorizer(), transports=registry), instance


class SlowRefusal:
    """The user refuses, but only once the test sets ``refuse``."""

    def __init__(self) -> None:
        self.attempts = 0
        self.refuse = asyncio.Event()

    @asynccontextmanager
    async def attempt(
        self, instance_redirect_uri: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[AuthorizationAttempt]:
        self.attempts += 1
        yield _Refuse(instance_redirect_uri, self.refuse)


class _Refuse(FixedRedirectAttempt):
    def __init__(self, redirect_uri: str, refuse: asyncio.Event) -> None:
        super().__init__(redirect_uri)
        self._refuse = refuse

    async def complete(self, authorize_url: str, state: str) -> str:
        await self._refuse.wait()
        raise AuthorizationError("Authorization error")


async def test_a_failed_login_fails_every_app_that_joined_it_and_the_next_connect_tries_again() -> None:
    refusing = SlowRefusal()
    connections, _ = manager(refusing)
    joined = asyncio.gather(
        *(connections.acquire(f"app-{n}", ACME, "openfin-demo") for n in range(3)), return_exceptions=True
    )
    key = connections.key_for(ACME, "openfin-demo")
    await eventually(
        lambda: key in connections._logins and connections._logins[key].waiters == 3,
        "three apps on one login",
    )
    refusing.refuse.set()
    results = await joined
    assert [type(result) for result in results] == [AuthorizationError] * 3
    assert refusing.attempts == 1
    with pytest.raises(AuthorizationError):
        await connections.acquire("app-1", ACME, "openfin-demo")
    assert refusing.attempts == 2
    assert connections.status() == []


async def test_instance_urls_with_the_same_origin_share_and_other_client_ids_do_not() -> None:
    approving = ApprovingAuthorizer()
    connections, _ = manager(approving)
    first = await connections.acquire("app-1", ACME + "/now/nav/ui", "openfin-demo")
    same = await connections.acquire("app-2", "https://ACME.service-now.com:443/", "openfin-demo")
    other = await connections.acquire("app-2", ACME, "another-client")
    assert same.connection is first.connection
    assert other.connection is not first.connection
    assert len(approving.urls) == 2
    assert len(connections.connections()) == 2


async def test_release_needs_a_share_and_release_app_drops_all_of_them() -> None:
    connections, _ = manager()
    acme = await connections.acquire("app-1", ACME, "openfin-demo")
    await connections.acquire("app-1", GLOBEX, "openfin-demo")
    with pytest.raises(NotConnectedError):
        await connections.release("app-2", acme.connection.key)
    released = await connections.release_app("app-1")
    assert sorted(key.origin for key in released) == [ACME, GLOBEX]
    assert all(result.apps == 0 and result.revoked for result in released.values())
    assert connections.status() == []


async def test_an_app_finds_its_connection_with_or_without_the_instance_url() -> None:
    connections, _ = manager()
    acme = await connections.acquire("app-1", ACME, "openfin-demo")
    assert connections.connection("app-1") is acme.connection
    await connections.acquire("app-1", GLOBEX, "openfin-demo")
    with pytest.raises(ParameterError):
        connections.connection("app-1")
    assert connections.connection("app-1", ACME + "/x") is acme.connection
    with pytest.raises(NotConnectedError):
        connections.connection("app-2")


async def test_without_interaction_and_without_a_stored_token_nothing_is_asked() -> None:
    approving = ApprovingAuthorizer()
    connections, instance = manager(approving)
    with pytest.raises(NotConnectedError):
        await connections.acquire("app-1", ACME, "openfin-demo", interactive=False)
    assert approving.urls == []
    assert instance.requests == []


async def test_bad_arguments_are_parameter_errors_before_any_login() -> None:
    approving = ApprovingAuthorizer()
    connections, _ = manager(approving)
    for url, client in (("not a url", "openfin-demo"), (ACME, ""), ("ftp://x", "c")):
        with pytest.raises(ParameterError):
            await connections.acquire("app-1", url, client)
    with pytest.raises(ParameterError):
        await connections.acquire("", ACME, "openfin-demo")
    assert approving.urls == []


async def test_status_shows_user_apps_and_expiry_but_no_token() -> None:
    connections, _ = manager()
    await connections.acquire("app-1", ACME, "openfin-demo")
    [status] = connections.status()
    text = status.model_dump_json()
    assert status.user["user_name"] == "admin"
    assert status.token_expires_at is not None
    assert "access-token" not in text
    assert "refresh-token" not in text


class CountingPool(httpx.MockTransport):
    """A pooled transport that counts how often it is closed."""

    closed = 0

    async def aclose(self) -> None:
        CountingPool.closed += 1


async def test_the_instance_pool_is_closed_when_its_last_connection_goes() -> None:
    instance = FakeInstance()
    CountingPool.closed = 0
    connections = ConnectionManager(
        ApprovingAuthorizer(), transports=TransportRegistry(factory=lambda: CountingPool(instance.handle))
    )
    first = await connections.acquire("app-1", ACME, "openfin-demo")
    await connections.acquire("app-1", ACME, "other-client")
    await connections.release("app-1", first.connection.key)
    assert CountingPool.closed == 0
    await connections.release_app("app-1")
    assert CountingPool.closed == 1


class WaitingUser:
    """Consent that only comes when the test says so; records whether the attempt was abandoned."""

    def __init__(self) -> None:
        self.consent = asyncio.Event()
        self.started = asyncio.Event()
        self.abandoned = False

    @asynccontextmanager
    async def attempt(
        self, instance_redirect_uri: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[AuthorizationAttempt]:
        yield _Wait(instance_redirect_uri, self)


class _Wait(FixedRedirectAttempt):
    def __init__(self, redirect_uri: str, user: WaitingUser) -> None:
        super().__init__(redirect_uri)
        self._user = user

    async def complete(self, authorize_url: str, state: str) -> str:
        self._user.started.set()
        try:
            await self._user.consent.wait()
        except asyncio.CancelledError:
            self._user.abandoned = True
            raise
        return "authorization-code-1"


async def test_a_login_every_waiting_app_gave_up_on_is_abandoned() -> None:
    user = WaitingUser()
    connections, _ = manager(user)
    acquire = asyncio.create_task(connections.acquire("app-1", ACME, "openfin-demo"))
    async with asyncio.timeout(5):
        await user.started.wait()
    acquire.cancel()
    with pytest.raises(asyncio.CancelledError):
        await acquire
    await eventually(lambda: user.abandoned, "the login abandoned")
    assert connections.status() == []


async def test_a_login_goes_on_for_the_apps_still_waiting() -> None:
    user = WaitingUser()
    connections, _ = manager(user)
    leaving = asyncio.create_task(connections.acquire("app-1", ACME, "openfin-demo"))
    staying = asyncio.create_task(connections.acquire("app-2", ACME, "openfin-demo"))
    async with asyncio.timeout(5):
        await user.started.wait()
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving  # its leaving is fully handled before the user consents
    user.consent.set()
    async with asyncio.timeout(5):
        acquired = await staying
    assert acquired.apps == 1
    # The login ran to its end (``staying`` holds its connection), so it can no longer be abandoned; the test
    # above is the control that the same departure, by the last app waiting, does abandon it.
    assert not user.abandoned


def lingering_manager(linger: float) -> tuple[ConnectionManager, FakeInstance, ApprovingAuthorizer]:
    instance = FakeInstance()
    approving = ApprovingAuthorizer()
    registry = TransportRegistry(factory=instance.transport)
    return ConnectionManager(approving, transports=registry, linger=linger), instance, approving


def revocations(instance: FakeInstance) -> int:
    return sum(1 for request in instance.requests if request.url.path == "/oauth_revoke_token.do")


async def test_an_app_that_went_away_and_comes_back_within_the_linger_finds_the_user_signed_in() -> None:
    connections, instance, approving = lingering_manager(linger=0.2)
    first = await connections.acquire("app-1", ACME, "openfin-demo")
    released = await connections.release_app("app-1")  # e.g. the runtime restarted under every app
    assert [(r.apps, r.revoked) for r in released.values()] == [(0, False)]
    assert revocations(instance) == 0
    assert [s.apps for s in connections.status()] == [0]
    pending = set(connections._closings)
    assert len(pending) == 1
    again = await connections.acquire("app-1", ACME, "openfin-demo")
    assert again.connection is first.connection
    assert len(approving.urls) == 1  # no second login
    # Coming back cancelled the pending sign-out: once that task has ended it can revoke nothing any more.
    await asyncio.wait(pending, timeout=5)
    assert all(task.cancelled() for task in pending)
    assert revocations(instance) == 0
    await connections.release_app("app-1")  # leaving again starts a whole new linger
    assert revocations(instance) == 0
    # The control: the same linger, not cancelled, does end in a sign-out.
    await eventually(lambda: revocations(instance) == 2, "both tokens revoked when the new linger ended")
    assert connections.status() == []
    await connections.aclose()


async def test_a_connection_nobody_came_back_to_is_revoked_when_the_linger_ends() -> None:
    connections, instance, _ = lingering_manager(linger=0.05)
    first = await connections.acquire("app-1", ACME, "openfin-demo")
    await connections.release_app("app-1")
    await eventually(lambda: revocations(instance) == 2, "access and refresh token revoked")
    assert connections.status() == []
    assert first.connection.state.value == "disconnected"
    again = await connections.acquire("app-1", ACME, "openfin-demo")
    assert again.connection is not first.connection
    await connections.aclose()


async def test_an_explicit_disconnect_revokes_at_once_even_with_a_linger() -> None:
    connections, instance, _ = lingering_manager(linger=30.0)
    acquired = await connections.acquire("app-1", ACME, "openfin-demo")
    released = await connections.release("app-1", acquired.connection.key)
    assert (released.apps, released.revoked) == (0, True)
    assert revocations(instance) == 2
    assert connections.status() == []


async def test_shutting_down_revokes_a_lingering_connection() -> None:
    connections, instance, _ = lingering_manager(linger=30.0)
    await connections.acquire("app-1", ACME, "openfin-demo")
    await connections.release_app("app-1")
    await connections.aclose()
    assert revocations(instance) == 2
    assert [task for task in asyncio.all_tasks() if "_close_later" in repr(task.get_coro())] == []
