"""The whole desktop for the adapter's conformance tests, every part a real process.

``AdapterStack`` starts the ServiceNow emulator (``--auto-login beth.anglin``), the runtime emulator (with
the built-in broker, or with the stock node-adapter ``InteropBroker`` as a separate node process), and
``servicenow-adapter run --authorizer http`` against both. ``App`` is one node-adapter app on the adapter's
channel (``app.mjs``), driven command by command.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.node_support import NodeProcess, node_executable, start_node
from tests.support.processes import RunningCommand, adapter_command, running
from tests.support.waiting import eventually_blocking

PLATFORM = "adapter-conformance-platform"
CHANNEL = "servicenow"
CLIENT_ID = "openfin-demo"
POLL_INTERVAL = "0.5"
WAIT = 30.0
INSTANCE_TLS_VARIABLE = "SERVICENOW_TEST_INSTANCE_TLS"


_NAMED_REASON = re.compile(r"^[A-Z][A-Za-z]*Error: ")


class AppError(AssertionError):
    """A dispatch the adapter refused: ``error`` is what node-adapter showed the app."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error

    @property
    def reason(self) -> str:
        """The ChannelError message: ``"<ErrorName>: <message>"``."""
        return str(self.error.get("message", ""))

    @property
    def detail(self) -> str:
        """The adapter's own reason when a broker reports its refusal: the deepest message of the cause
        chain reading ``"<ErrorName>: <message>"`` (brokers nest it one or two levels deep), else the
        innermost."""
        error: Any = self.error
        messages = [str(error.get("message", ""))]
        while isinstance(error.get("cause"), dict):
            error = error["cause"]
            messages.append(str(error.get("message", "")))
        named = [message for message in messages if _NAMED_REASON.match(message)]
        return named[-1] if named else messages[-1]

    @property
    def name(self) -> str | None:
        """The adapter's error name, as node-adapter rebuilt it in ``cause``."""
        cause = self.error.get("cause") or {}
        return cause.get("name") if isinstance(cause, dict) else None


@dataclass
class NodeApp:
    """A node-adapter app process driven by numbered commands, each answered by a ``reply`` event."""

    uuid: str
    node: NodeProcess
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def _command(self, op: str, **fields: Any) -> Any:
        command_id = next(self._ids)
        self.node.send({"op": op, "id": command_id, **fields})
        while True:
            answer = self.node.wait_for_event("reply", timeout=WAIT)
            if answer["id"] == command_id:
                if answer["ok"]:
                    return answer["result"]
                raise AppError(answer["error"])

    def browser_urls(self) -> list[str]:
        """Every URL the runtime emulator has been asked to open in the user's browser (``raiser.mjs`` and
        ``app.mjs`` both answer ``browserUrls``)."""
        urls: list[str] = self._command("browserUrls")
        return urls


@dataclass
class App(NodeApp):
    """A node-adapter app connected to the adapter's channel."""

    def dispatch(self, action: str, payload: dict[str, Any] | None = None) -> Any:
        """``client.dispatch(action, payload)``: its result, or ``AppError``."""
        return self._command("dispatch", action=action, payload=payload or {})

    def connect(self, **payload: Any) -> dict[str, Any]:
        """``servicenow.connect`` with the stack's instance and client id unless given."""
        result: dict[str, Any] = self.dispatch("servicenow.connect", payload)
        return result

    def request(self, endpoint: str, method: str = "GET", **payload: Any) -> dict[str, Any]:
        """``servicenow.request``."""
        result: dict[str, Any] = self.dispatch(
            "servicenow.request", {"apiEndpoint": endpoint, "httpMethod": method, **payload}
        )
        return result

    def join_session(self, group: str) -> None:
        """Join a session context group; contexts set on it arrive as ``context`` events."""
        self._command("session", group=group)

    def join_user_channel(self, group: str) -> None:
        """Join a context group (user channel); contexts set on it arrive as ``groupContext`` events."""
        self._command("group", group=group)

    def raise_intent(self, name: str, context: dict[str, Any]) -> Any:
        """``interop.fireIntent({name, context})``: the broker's resolution."""
        return self._command("intent", name=name, context=context)

    def raise_fdc3_intent(self, name: str, context: dict[str, Any]) -> Any:
        """FDC3 2.0 ``raiseIntent(name, context)`` and its ``getResult()``: ``{source, intent, result}``."""
        return self._command("fdc3Intent", name=name, context=context)

    def wait_for(self, event: str, matching: Callable[[Any], bool] = lambda _data: True) -> Any:
        """The first ``event`` (not returned before) whose data satisfies ``matching``."""
        deadline = time.monotonic() + WAIT
        while True:
            for index, seen in enumerate(self.node.events):
                if seen.get("event") == event and matching(seen.get("data")):
                    self.node.events[index] = {"event": "(consumed)"}
                    return seen.get("data")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.uuid}: no {event} matching within {WAIT} s")
            try:
                self.node.wait_for_event(event, timeout=remaining)
            except AssertionError:
                continue

    def close(self) -> None:
        """Kill the app, as a user closing its window does."""
        self.node.kill()


@dataclass
class AdapterStack:
    """URLs and handles of one running desktop."""

    runtime: str
    instance: str
    adapter: RunningCommand
    apps: list[App] = field(default_factory=list)
    instance_trust: ssl.SSLContext | bool = True
    """How the test's own clients verify the instance (its CA when it serves https)."""

    def app(self, uuid: str) -> App:
        """Start an app and wait until its channel connection is made."""
        node = start_node(
            "adapter/app.mjs",
            {"address": self.runtime, "uuid": uuid, "channelName": CHANNEL, "broker": PLATFORM},
            adapter_peer=True,
        )
        app = App(uuid, node)
        self.apps.append(app)
        node.wait_for_event("channel", timeout=WAIT)
        return app

    def refused_app(self, uuid: str) -> dict[str, Any]:
        """Start an app the adapter should refuse; the error it saw."""
        node = start_node(
            "adapter/app.mjs",
            {"address": self.runtime, "uuid": uuid, "channelName": CHANNEL, "broker": PLATFORM},
            adapter_peer=True,
        )
        self.apps.append(App(uuid, node))
        refused: dict[str, Any] = node.wait_for_event("refused", timeout=WAIT)
        return refused

    def instance_client(self, user: str = "admin") -> httpx.Client:
        """Someone else on the instance: Basic auth as ``user`` (password = user name in the seed)."""
        return httpx.Client(
            base_url=self.instance, auth=(user, user), timeout=10.0, verify=self.instance_trust
        )

    def stats(self) -> dict[str, int]:
        """Requests the instance has served, by ``METHOD path``."""
        with httpx.Client(base_url=self.instance, timeout=10.0, verify=self.instance_trust) as hooks:
            requests: dict[str, int] = hooks.get("/__emulator/stats").json()["requests"]
            return requests

    def live_tokens(self) -> dict[str, list[str]]:
        """The instance's live access and refresh tokens."""
        with httpx.Client(base_url=self.instance, timeout=10.0, verify=self.instance_trust) as hooks:
            tokens: dict[str, list[str]] = hooks.get("/__emulator/tokens").json()
            return tokens

    def close_apps(self) -> None:
        """Kill every app started so far."""
        for app in self.apps:
            app.close()
        self.apps.clear()


@contextlib.contextmanager
def adapter_stack(
    broker: str = "built-in", *adapter_args: str, auto_login: bool = True
) -> Iterator[AdapterStack]:
    """Both emulators and the adapter; ``broker`` is ``built-in``, ``stock`` (node InteropBroker routing by
    dispatch) or ``stock-queued`` (node InteropBroker routing through its own ``setIntentTarget``).

    With ``SERVICENOW_TEST_INSTANCE_TLS=1`` in the environment the instance serves https (its CA made at
    start, given to the adapter with ``--ca-bundle``), as real instances do.

    With ``auto_login`` the instance approves every authorize request as beth.anglin and the adapter follows
    the redirects over plain HTTP; without it the instance shows its login form and the adapter uses its
    default authorizer, an OpenFin window.
    """
    node_executable()
    login = ["--auto-login", "beth.anglin"] if auto_login else []
    authorizer = ["--authorizer", "http"] if auto_login else []
    with contextlib.ExitStack() as stack:
        tls: list[str] = []
        trust: list[str] = []
        if os.environ.get(INSTANCE_TLS_VARIABLE) == "1":
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="conformance-tls-"))
            ca = str(Path(folder) / "instance-ca.pem")
            tls, trust = ["--tls", "--tls-ca-out", ca], ["--ca-bundle", ca]
        instance = stack.enter_context(
            running(adapter_command("emulate", "servicenow", "--port", "0", *login, *tls))
        )
        runtime_args = ["--broker", PLATFORM] if broker == "built-in" else []
        # The runtime's windows trust what Chromium trusts, the OS store: for the emulator, SSL_CERT_FILE.
        runtime_env = {"SSL_CERT_FILE": trust[1]} if trust else None
        runtime = stack.enter_context(
            running(adapter_command("emulate", "runtime", "--port", "0", *runtime_args), env=runtime_env)
        )
        if broker in ("stock", "stock-queued"):
            routing = "setIntentTarget" if broker == "stock-queued" else "dispatch"
            node_broker = start_node(
                "interop/node_broker.mjs",
                {"address": runtime.target, "platformUuid": PLATFORM, "routing": routing},
            )
            stack.callback(node_broker.kill)
            node_broker.wait_for_event("ready", timeout=WAIT)
        adapter = stack.enter_context(
            running(
                adapter_command(
                    "run",
                    "--runtime-address",
                    runtime.target,
                    "--broker",
                    PLATFORM,
                    *authorizer,
                    "--instance-url",
                    instance.target,
                    "--client-id",
                    CLIENT_ID,
                    "--poll-interval",
                    POLL_INTERVAL,
                    # An app that goes away releases its share at once, as these tests assert.
                    "--sign-out-grace",
                    "0",
                    *trust,
                    *adapter_args,
                )
            )
        )
        assert adapter.target == f"channel {CHANNEL}"
        desktop = AdapterStack(runtime=runtime.target, instance=instance.target, adapter=adapter)
        if trust:
            desktop.instance_trust = ssl.create_default_context(cafile=trust[1])
        stack.callback(desktop.close_apps)
        yield desktop


@pytest.fixture(scope="module")
def desktop() -> Iterator[AdapterStack]:
    """One desktop shared by a module's tests (each test uses its own app uuids and closes its apps)."""
    with adapter_stack() as stack:
        yield stack


@pytest.fixture
def apps(desktop: AdapterStack) -> Iterator[AdapterStack]:
    """The module's desktop, with every app a test starts closed when it ends."""
    yield desktop
    desktop.close_apps()
    # Closing an app releases its share through the channel's disconnection; wait until the adapter has.
    eventually_blocking(lambda: not desktop.live_tokens()["access"], "every share released", timeout=WAIT)
