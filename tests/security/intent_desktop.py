"""A desktop for attacking the adapter's intents, every part a real process.

``intent_desktop()`` starts one or more ServiceNow emulators (``--auto-login beth.anglin``), the runtime
emulator, a broker, and ``servicenow-adapter run --authorizer http``. The broker is the runtime's built-in
one, the stock node-adapter ``InteropBroker`` that routes intents without saying who raised them
(``tests/conformance/interop/node_broker.mjs``), or the stock broker of a platform that stamps the raiser
into ``contextMetadata.source`` (``stamping_broker.mjs``). Channel apps are the conformance ``App``
(``app.mjs``); raisers (``raiser.mjs``) raise intents through the broker without touching the channel,
as an app refused by ``--allow-app`` still can.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from tests.conformance.adapter.conftest import (
    CHANNEL,
    CLIENT_ID,
    PLATFORM,
    AdapterStack,
    App,
    NodeApp,
)
from tests.conformance.node_support import node_executable, start_node
from tests.support.processes import RunningCommand, adapter_command, running

HERE = Path(__file__).resolve().parent
CASES = "/api/now/table/sn_customerservice_case"
CONTACTS = "/api/now/table/customer_contact"
WAIT = 30.0

Broker = Literal["built-in", "stock", "stamping"]


@dataclass
class Raiser(NodeApp):
    """A node-adapter app on the broker only (never on the adapter's channel)."""

    def raise_intent(self, name: str, context: dict[str, Any]) -> Any:
        """``interop.fireIntent({name, context})``: the broker's resolution, or ``AppError``."""
        return self._command("intent", name=name, context=context)

    def result(self, name: str, context: dict[str, Any]) -> Any:
        """The intent's result (the resolution's ``result``)."""
        return self.raise_intent(name, context)["result"]


@dataclass
class Instance:
    """One ServiceNow emulator, reached over HTTP as another process would."""

    url: str

    def _hooks(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=WAIT)

    def stats(self) -> dict[str, int]:
        """Requests served, by ``METHOD path``."""
        with self._hooks() as hooks:
            requests: dict[str, int] = hooks.get("/__emulator/stats").raise_for_status().json()["requests"]
            return requests

    def served(self, method: str, path: str) -> int:
        """How many ``method`` requests to ``path`` the instance has served."""
        return self.stats().get(f"{method} {path}", 0)

    def admin_get(self, path: str, **params: str) -> Any:
        """A Table API read as the admin."""
        with self._hooks() as hooks:
            answer = hooks.get(path, params=params, auth=("admin", "admin")).raise_for_status()
            return answer.json()["result"]

    def admin_post(self, path: str, body: dict[str, Any]) -> Any:
        """A Table API insert as the admin."""
        with self._hooks() as hooks:
            answer = hooks.post(path, json=body, auth=("admin", "admin")).raise_for_status()
            return answer.json()["result"]

    def cases(self, query: str) -> list[dict[str, Any]]:
        """The cases matching an encoded query (sys_id, number, contact e-mail)."""
        found: list[dict[str, Any]] = self.admin_get(
            CASES, sysparm_query=query, sysparm_fields="sys_id,number,contact.email"
        )
        return found


@dataclass
class IntentDesktop:
    """The running desktop."""

    instances: list[Instance]
    runtime: str
    adapter: RunningCommand
    _apps: AdapterStack
    _raisers: list[Raiser] = field(default_factory=list)

    @property
    def instance(self) -> Instance:
        """The first (the configured) instance."""
        return self.instances[0]

    def app(self, uuid: str) -> App:
        """A node-adapter app connected to the adapter's channel."""
        return self._apps.app(uuid)

    def raiser(self, uuid: str) -> Raiser:
        """A node-adapter app that only raises intents through the broker."""
        node = start_node(HERE / "raiser.mjs", {"address": self.runtime, "uuid": uuid, "broker": PLATFORM})
        raiser = Raiser(uuid, node)
        self._raisers.append(raiser)
        node.wait_for_event("ready", timeout=WAIT)
        return raiser

    def close_apps(self) -> None:
        """Kill every app and raiser started so far."""
        self._apps.close_apps()
        for raiser in self._raisers:
            raiser.node.kill()
        self._raisers.clear()


@contextlib.contextmanager
def intent_desktop(
    *adapter_args: str, broker: Broker = "built-in", instances: int = 1, name_instance: bool = True
) -> Iterator[IntentDesktop]:
    """The emulators, a broker and the adapter; ``name_instance`` passes ``--instance-url`` (the first)."""
    node_executable()
    with contextlib.ExitStack() as stack:
        urls = [
            stack.enter_context(
                running(
                    adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", "beth.anglin")
                )
            ).target
            for _ in range(instances)
        ]
        built_in = ["--broker", PLATFORM] if broker == "built-in" else []
        runtime = stack.enter_context(
            running(adapter_command("emulate", "runtime", "--port", "0", *built_in))
        ).target
        if broker != "built-in":
            script = HERE / "stamping_broker.mjs" if broker == "stamping" else "interop/node_broker.mjs"
            node_broker = start_node(script, {"address": runtime, "platformUuid": PLATFORM})
            stack.callback(node_broker.kill)
            node_broker.wait_for_event("ready", timeout=WAIT)
        flags = [
            "run",
            "--runtime-address",
            runtime,
            "--broker",
            PLATFORM,
            "--authorizer",
            "http",
            *(["--instance-url", urls[0]] if name_instance else []),
            "--client-id",
            CLIENT_ID,
            "--poll-interval",
            "0.5",
            "--sign-out-grace",
            "0",
            # Changes are watched on another table, so that every case or contact request the instance
            # serves is one an intent (or an app) made.
            "--watch-table",
            "incident",
            *adapter_args,
        ]
        adapter = stack.enter_context(running(adapter_command(*flags)))
        assert adapter.target == f"channel {CHANNEL}"
        apps = AdapterStack(runtime=runtime, instance=urls[0], adapter=adapter)
        desktop = IntentDesktop([Instance(url) for url in urls], runtime, adapter, apps)
        stack.callback(desktop.close_apps)
        yield desktop
