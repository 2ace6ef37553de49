"""The channel's client table: clients by endpoint in connection order, and whether an app is still here."""

from __future__ import annotations

from adapter.openfin.channel_clients import ChannelClients, client_key
from adapter.openfin.frames import ClientIdentity, Identity

FIRST = ClientIdentity(uuid="crm", name="crm", endpointId="e-1")
SECOND = ClientIdentity(uuid="crm", name="crm", endpointId="e-2")
OTHER = ClientIdentity(uuid="blotter", name="blotter", endpointId="e-3")
CRM = Identity(uuid="crm", name="crm")


def test_an_app_stays_connected_until_its_last_endpoint_leaves() -> None:
    clients = ChannelClients()
    clients.add(FIRST)
    clients.add(SECOND)
    clients.add(OTHER)
    assert list(clients) == [FIRST, SECOND, OTHER]
    assert clients.remove(client_key(FIRST)) == FIRST
    assert clients.app_connected(CRM)  # its second endpoint is still here
    assert clients.remove(client_key(SECOND)) == SECOND
    assert not clients.app_connected(CRM)
    assert clients.app_connected(OTHER)  # positive control: the same question about an app still here


def test_the_same_endpoint_connecting_again_replaces_its_entry() -> None:
    clients = ChannelClients()
    clients.add(FIRST)
    clients.add(FIRST)
    assert len(clients) == 1
    assert clients.remove(client_key(FIRST)) == FIRST
    assert not clients.app_connected(CRM)
    assert clients.remove(client_key(FIRST)) is None


def test_a_legacy_client_without_an_endpoint_is_known_by_uuid_and_name() -> None:
    legacy = ClientIdentity(uuid="old", name="old-window")
    clients = ChannelClients()
    clients.add(legacy)
    assert client_key(legacy) == "old/old-window"
    assert "old/old-window" in clients
    assert clients.get("old/old-window") == legacy


def test_clearing_forgets_every_client_and_app() -> None:
    clients = ChannelClients()
    clients.add(FIRST)
    clients.add(OTHER)
    assert clients.app_connected(CRM)
    clients.clear()
    assert len(clients) == 0
    assert not clients.app_connected(CRM)
    assert not clients.app_connected(OTHER)


def test_the_sorted_uuids_follow_clients_coming_and_going() -> None:
    clients = ChannelClients()
    assert clients.uuids() == []
    clients.add(FIRST)
    clients.add(OTHER)
    clients.add(SECOND)
    assert clients.uuids() == ["blotter", "crm"]
    clients.remove(client_key(FIRST))
    assert clients.uuids() == ["blotter", "crm"]  # crm's second endpoint is still here
    clients.remove(client_key(SECOND))
    assert clients.uuids() == ["blotter"]
    # A caller's copy is its own: changing it changes nothing here.
    clients.uuids().append("intruder")
    assert clients.uuids() == ["blotter"]
    legacy = ClientIdentity(uuid="alpha", name="alpha-window")
    clients.add(legacy)
    clients.add(legacy)
    assert clients.uuids() == ["alpha", "blotter"]
    clients.clear()
    assert clients.uuids() == []
    clients.add(OTHER)
    assert clients.uuids() == ["blotter"]
