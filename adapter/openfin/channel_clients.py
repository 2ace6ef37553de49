"""``ChannelClients``: the clients connected to a channel we provide, by endpoint, and the apps they are.

A client is known by its ``endpointId`` (a legacy client without one by ``uuid/name``); one app
(``uuid/name``) may hold several connections at once. Whether an app is still here is asked on every
request and every departure, so each app's connection count is kept in step with the table instead of
walking it; so is the sorted list of the clients' uuids, which every status answer shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import ItemsView, Iterator

from adapter.openfin.frames import ClientIdentity, Identity


def client_key(client: ClientIdentity) -> str:
    """The key a client is known by: its endpointId, else (a legacy client) its uuid/name."""
    return client.endpoint_id or app_key(client)


def app_key(identity: Identity) -> str:
    """The app an identity belongs to: its uuid and name."""
    return f"{identity.uuid}/{identity.name}"


class ChannelClients:
    """The connected clients in connection order, with each app's count of connections."""

    def __init__(self) -> None:
        self._clients: dict[str, ClientIdentity] = {}
        self._apps: Counter[str] = Counter()
        self._uuids: Counter[str] = Counter()
        self._sorted_uuids: list[str] | None = []

    def add(self, client: ClientIdentity) -> None:
        """``client`` connected; a client connecting again on the same endpoint replaces its old entry."""
        key = client_key(client)
        self.remove(key)
        self._clients[key] = client
        self._apps[app_key(client)] += 1
        self._uuids[client.uuid] += 1
        if self._uuids[client.uuid] == 1:
            self._sorted_uuids = None

    def remove(self, key: str) -> ClientIdentity | None:
        """The client known by ``key`` left: returned, or ``None`` when it was not connected."""
        client = self._clients.pop(key, None)
        if client is not None:
            app = app_key(client)
            self._apps[app] -= 1
            if self._apps[app] <= 0:
                del self._apps[app]
            self._uuids[client.uuid] -= 1
            if self._uuids[client.uuid] <= 0:
                del self._uuids[client.uuid]
                self._sorted_uuids = None
        return client

    def clear(self) -> None:
        """Every client is gone (the runtime went away, the channel was destroyed)."""
        self._clients.clear()
        self._apps.clear()
        self._uuids.clear()
        self._sorted_uuids = []

    def uuids(self) -> list[str]:
        """The distinct uuids of the connected clients, sorted (a new list each call)."""
        if self._sorted_uuids is None:
            self._sorted_uuids = sorted(self._uuids)
        return list(self._sorted_uuids)

    def app_connected(self, identity: Identity) -> bool:
        """Whether the app ``identity`` belongs to has any connection now."""
        return self._apps[app_key(identity)] > 0

    def get(self, key: str) -> ClientIdentity | None:
        """The client known by ``key``, if connected."""
        return self._clients.get(key)

    def items(self) -> ItemsView[str, ClientIdentity]:
        """``(key, client)`` pairs in connection order."""
        return self._clients.items()

    def __contains__(self, key: object) -> bool:
        return key in self._clients

    def __iter__(self) -> Iterator[ClientIdentity]:
        return iter(self._clients.values())

    def __len__(self) -> int:
        return len(self._clients)
