"""Apps for the bus fairness and bounds tests: official node-adapter apps (``bus_app.mjs``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conformance.adapter.conftest import CHANNEL
from tests.conformance.node_support import NodeProcess, start_node

SCRIPT = Path(__file__).resolve().parent / "bus_app.mjs"
WAIT = 30.0


@dataclass
class BusApp:
    """One node-adapter app on the adapter's channel."""

    uuid: str
    node: NodeProcess
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def command(self, op: str, *, timeout: float = WAIT * 2, **fields: Any) -> dict[str, Any]:
        """Send one command; its reply ``{id, ok, result | error}``."""
        command_id = next(self._ids)
        self.node.send({"op": op, "id": command_id, **fields})
        while True:
            answer: dict[str, Any] = self.node.wait_for_event("reply", timeout=timeout)
            if answer["id"] == command_id:
                return answer

    def dispatch(self, action: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """``client.dispatch``: the reply ``{ok, result | error}``."""
        return self.command("dispatch", action=action, payload=payload or {})

    def request(self, endpoint: str, method: str = "GET", **payload: Any) -> dict[str, Any]:
        """``servicenow.request``: the reply ``{ok, result | error}``."""
        return self.dispatch("servicenow.request", {"apiEndpoint": endpoint, "httpMethod": method, **payload})

    def events(self, event: str) -> list[Any]:
        """Every ``event`` the app has emitted so far."""
        return [seen.get("data") for seen in list(self.node.events) if seen.get("event") == event]

    def close(self) -> None:
        """Kill the app."""
        self.node.kill()


def start_bus_app(runtime: str, uuid: str, *, hang: bool = False) -> BusApp:
    """Start an app on the channel and wait until it is connected; the caller closes it."""
    node = start_node(SCRIPT, {"address": runtime, "uuid": uuid, "channelName": CHANNEL, "hang": hang})
    app = BusApp(uuid, node)
    try:
        node.wait_for_event("channel", timeout=WAIT)
    except BaseException:
        node.kill()
        raise
    return app
