"""The ``servicenow.*`` actions against fakes: access first, errors named as the official package names them,
shares counted per app, own writes reported at once."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from adapter.bridge.access import AccessPolicy
from adapter.bridge.actions import LiveConnections, ServiceNowActions
from adapter.bridge.messages import ConnectPayload, DisconnectPayload, RequestPayload, StatusPayload
from adapter.openfin import ActionError, ChannelProvider, ClientIdentity
from adapter.servicenow.connection import ConnectionKey, ConnectionState
from adapter.servicenow.errors import ApiRequestError, AuthTokenExpiredError
from tests.unit.bridge.fakes import CASES, CLIENT_ID, ORIGIN, WAIT, FakeInstance, FakeLogins, RecordedChanges

KEY = ConnectionKey(ORIGIN, CLIENT_ID)


def client(uuid: str) -> ClientIdentity:
    return ClientIdentity.model_validate({"uuid": uuid, "name": uuid, "endpointId": f"{uuid}-1"})


class Channel:
    """What ``register`` needs of a ``ChannelProvider``: the apps connected now."""

    def __init__(self, *apps: ClientIdentity) -> None:
        self.connections = list(apps)
        self.registered: list[str] = []

    def register(self, action: str, handler: Any, *, payload: Any) -> None:
        self.registered.append(action)

    def app_connected(self, caller: ClientIdentity) -> bool:
        return any((c.uuid, c.name) == (caller.uuid, caller.name) for c in self.connections)


class Report:
    """An ``AdapterReport`` with one field."""

    def adapter_status(self) -> dict[str, Any]:
        return {"adapterVersion": "9.9.9"}


def actions_for(
    logins: FakeLogins, changes: RecordedChanges, *, allowed: tuple[str, ...] = (), **options: Any
) -> ServiceNowActions:
    return ServiceNowActions(logins, AccessPolicy(allowed), changes, **options)


@pytest.fixture
def logins() -> FakeLogins:
    return FakeLogins()


@pytest.fixture
def changes() -> RecordedChanges:
    return RecordedChanges()


async def test_the_first_connect_signs_in_and_the_next_app_shares_the_login(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    actions = actions_for(logins, changes)
    first = await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client("a"))
    second = await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client("b"))
    assert (first.shared, first.apps, second.shared, second.apps) == (False, 1, True, 2)
    assert (second.instanceUrl, second.clientId) == (ORIGIN, CLIENT_ID)
    assert second.currentUser == {"sys_id": "u" * 32, "user_name": "beth.anglin"}
    assert changes.acquired == [KEY, KEY]
    assert [c.key for c in actions.live.signed_in()] == [KEY]


async def test_connect_uses_the_configured_instance_and_client_and_names_what_is_missing(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    configured = actions_for(logins, changes, default_instance_url=ORIGIN, default_client_id=CLIENT_ID)
    assert (await configured.connect(ConnectPayload(), client("a"))).instanceUrl == ORIGIN
    bare = actions_for(logins, changes)
    with pytest.raises(ActionError) as no_instance:
        await bare.connect(ConnectPayload(clientId=CLIENT_ID), client("a"))
    assert no_instance.value.reason == "ParameterError: Invalid instance URL"
    with pytest.raises(ActionError) as no_client:
        await bare.connect(ConnectPayload(instanceUrl=ORIGIN), client("a"))
    assert no_client.value.reason == "ParameterError: Invalid client ID"


async def test_servicenow_errors_reach_the_app_by_their_official_name_with_status_and_detail(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    actions = actions_for(logins, changes)
    with pytest.raises(ActionError) as not_connected:
        await actions.request(RequestPayload(apiEndpoint=f"/api/now/table/{CASES}"), client("a"))
    assert not_connected.value.name == "NotConnectedError"
    assert not_connected.value.reason == "NotConnectedError: Not connected: call servicenow.connect first"

    await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client("a"))
    logins.logins[KEY].connection.fail = ApiRequestError(
        "Record not found", status=404, detail="No such case"
    )
    with pytest.raises(ActionError) as failed:
        await actions.request(RequestPayload(apiEndpoint=f"/api/now/table/{CASES}/x"), client("a"))
    assert (failed.value.name, failed.value.message) == ("ApiRequestError", "Record not found")
    assert failed.value.error_payload() == {"status": 404, "detail": "No such case"}

    logins.refuse = AuthTokenExpiredError()
    with pytest.raises(ActionError) as expired:
        await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client("b"))
    assert expired.value.name == "AuthTokenExpiredError"


async def test_an_app_not_allowed_is_refused_every_action_before_the_login_is_touched(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    actions = actions_for(logins, changes, allowed=("trusted",))
    payloads: list[tuple[Any, Any]] = [
        (actions.connect, ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID)),
        (actions.request, RequestPayload(apiEndpoint=f"/api/now/table/{CASES}")),
        (actions.disconnect, DisconnectPayload()),
        (actions.status, StatusPayload()),
    ]
    for action, payload in payloads:
        with pytest.raises(ActionError) as refused:
            await action(payload, client("stranger"))
        assert refused.value.name == "AccessDeniedError"
    assert logins.logins == {}
    assert changes.acquired == []
    # Positive control: the allowed app's connect does reach the login.
    await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client("trusted"))
    assert list(logins.logins) == [KEY]
    assert changes.acquired == [KEY]


async def test_writes_are_reported_for_broadcast_at_once_and_reads_are_not(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    actions = actions_for(logins, changes)
    await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client("a"))
    instance = logins.logins[KEY].connection
    case = instance.put(CASES, state="1")
    endpoint = f"/api/now/table/{CASES}/{case['sys_id']}"
    read = await actions.request(RequestPayload(apiEndpoint=endpoint), client("a"))
    assert read["data"]["state"] == "1"
    written = await actions.request(
        RequestPayload(apiEndpoint=endpoint, httpMethod="PATCH", data={"state": "2"}), client("a")
    )
    assert written == {
        "status": 200,
        "data": {**case, "state": "2", "sys_mod_count": "1"},
        "type": "application/json",
    }
    assert changes.writes == [("PATCH", endpoint, 200)]


async def test_the_last_app_out_revokes_and_the_login_is_no_longer_watched(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    actions = actions_for(logins, changes)
    for app in ("a", "b"):
        await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client(app))
    first = await actions.disconnect(DisconnectPayload(), client("a"))
    assert (first.apps, first.revoked, changes.released) == (1, False, [])
    assert actions.live.signed_in(), "positive control: the login is live while an app shares it"
    await actions.release_app(client("b"))
    assert changes.released == [KEY]
    assert actions.live.signed_in() == []


async def test_an_app_that_left_during_its_login_gives_its_share_back(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    leaving, staying = client("leaving"), client("staying")
    channel = Channel(leaving, staying)
    actions = actions_for(logins, changes)
    actions.register(cast(ChannelProvider, channel))
    assert channel.registered == [
        "servicenow.connect",
        "servicenow.request",
        "servicenow.disconnect",
        "servicenow.status",
    ]
    logins.sign_in = asyncio.Event()
    payload = ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID)
    async with asyncio.timeout(WAIT):
        connecting = asyncio.ensure_future(actions.connect(payload, leaving))
        await logins.signing_in.wait()
        channel.connections.remove(leaving)
        logins.sign_in.set()
        left = await connecting
    assert (left.apps, changes.released) == (0, [KEY])
    # Positive control: an app still there when its login ends keeps its share.
    stayed = await actions.connect(payload, staying)
    assert (stayed.apps, logins.logins[KEY].apps) == (1, {"staying/staying"})


async def test_status_lists_every_login_and_the_adapters_own_fields(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    actions = actions_for(logins, changes, watching=[CASES], health=Report())
    await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client("a"))
    status = actions.status(StatusPayload(), client("a"))
    assert [(c["instanceUrl"], c["clientId"], c["state"], c["apps"]) for c in status["connections"]] == [
        (ORIGIN, CLIENT_ID, "connected", 1)
    ]
    assert (status["watching"], status["adapterVersion"]) == ([CASES], "9.9.9")


async def test_the_last_app_to_disconnect_stops_the_watch_and_the_login_is_forgotten(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    actions = actions_for(logins, changes)
    for app in ("a", "b"):
        await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client(app))
    await actions.disconnect(DisconnectPayload(), client("a"))
    assert (changes.released, list(actions.live._connections)) == ([], [KEY]), "positive control"
    last = await actions.disconnect(DisconnectPayload(), client("b"))
    assert (last.apps, last.revoked, changes.released) == (0, True, [KEY])
    # Memory: a login no app shares any more is not kept for intents and status to find.
    assert actions.live._connections == {}


async def test_an_app_closing_its_window_last_leaves_no_login_behind(
    logins: FakeLogins, changes: RecordedChanges
) -> None:
    actions = actions_for(logins, changes)
    await actions.connect(ConnectPayload(instanceUrl=ORIGIN, clientId=CLIENT_ID), client("a"))
    await actions.release_app(client("a"))
    assert (changes.released, actions.live._connections) == ([KEY], {})


def test_a_discarded_login_is_no_longer_offered_even_while_still_signed_in() -> None:
    live = LiveConnections()
    instance = FakeInstance()
    live.add(instance.connection)
    assert [c.key for c in live.signed_in()] == [KEY], "positive control"
    live.discard(KEY)
    assert instance.state is ConnectionState.CONNECTED
    assert live.signed_in() == []
