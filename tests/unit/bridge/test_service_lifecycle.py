"""``AdapterService``'s life without a runtime: the one sentence each start failure ends in, what ``serve``
returns, joining the broker (now or later), where the runtime is looked for, and a shutdown that leaves
nothing behind (docs/deployment.md, docs/configuration.md)."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.http11 import Response

from adapter.bridge import service as service_module
from adapter.bridge.intents import HANDLED_INTENTS
from adapter.bridge.service import (
    DEFAULT_RUNTIME_ADDRESS,
    AdapterService,
    explain_start_failure,
    runtime_address,
)
from adapter.lifecycle import StartupError
from adapter.openfin import AuthorizationRejected, OpenFinError, ProtocolError, RuntimeConnectionState
from adapter.openfin.discovery import PortDiscoveryError
from adapter.servicenow.authorizers import BrowserAuthorizer, HttpAuthorizer, WindowAuthorizer
from adapter.servicenow.token_store import KeyringTokenStore
from adapter.settings import load_settings
from tests.unit.bridge.fakes import WAIT, until

ADDRESS = "ws://127.0.0.1:9700"


def service(**flags: Any) -> AdapterService:
    return AdapterService(load_settings({"authorizer": "http", "keyring": False, **flags}))


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        (StartupError("--browser-port 5000 is not free"), "--browser-port 5000 is not free"),
        (
            InvalidStatus(Response(403, "Forbidden", Headers())),
            f"{ADDRESS} answered HTTP 403 instead of opening a websocket: "
            "it is not an OpenFin runtime's port (check --runtime-address)",
        ),
        (
            InvalidURI("ws:x", "bad"),
            f"{ADDRESS} is not a usable websocket address: ws:x isn't a valid URI: bad",
        ),
        (
            InvalidHandshake("no upgrade"),
            f"{ADDRESS} did not open a websocket (no upgrade): it is not an OpenFin runtime's port",
        ),
        (
            AuthorizationRejected("bad token"),
            f"the runtime at {ADDRESS} refused to let us in as 'servicenow-adapter': bad token",
        ),
        (
            ProtocolError("no data"),
            f"the runtime at {ADDRESS} answered the start-up handshake with what we cannot use: no data",
        ),
        (
            TimeoutError(),
            f"the runtime at {ADDRESS} did not answer in time; is it an OpenFin runtime, and is it busy?",
        ),
        (
            ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
            f"nothing is listening at {ADDRESS}: is the OpenFin runtime running, and is that its port?",
        ),
        (
            OSError(errno.EHOSTUNREACH, "No route to host"),
            f"cannot reach the runtime at {ADDRESS}: No route to host",
        ),
        (OSError("socket closed"), f"cannot reach the runtime at {ADDRESS}: socket closed"),
        (
            OpenFinError("channel name taken"),
            f"the runtime at {ADDRESS} refused to start the adapter: channel name taken",
        ),
        (ValueError("odd"), f"could not start against the runtime at {ADDRESS}: ValueError: odd"),
    ],
)
def test_every_start_failure_is_one_sentence_naming_the_address(error: Exception, sentence: str) -> None:
    assert explain_start_failure(error, ADDRESS, "servicenow-adapter") == sentence


class Recorder:
    """Stands in for the parts ``start`` and ``aclose`` drive, keeping the order they were called in."""

    def __init__(self, adapter: AdapterService, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        self.provider_open = True
        for target, name, call in (
            (adapter.runtime, "connect", "runtime.connect"),
            (adapter.runtime, "close", "runtime.close"),
            (adapter.provider, "create", "provider.create"),
            (adapter.provider, "destroy", "provider.destroy"),
            (adapter.broadcaster, "aclose", "broadcaster.aclose"),
            (adapter.events, "aclose", "events.aclose"),
        ):
            monkeypatch.setattr(target, name, self._recording(call))

        async def manager_aclose(*, revoke: bool = True) -> None:
            self.calls.append(f"manager.aclose(revoke={revoke})")

        monkeypatch.setattr(adapter.manager, "aclose", manager_aclose)
        monkeypatch.setattr(type(adapter.provider), "is_open", property(lambda _: self.provider_open))

    def _recording(self, name: str) -> Callable[..., Any]:
        async def record(*_args: Any, **_kwargs: Any) -> None:
            self.calls.append(name)

        return record


SHUTDOWN = [
    "broadcaster.aclose",
    "events.aclose",
    "provider.destroy",
    "manager.aclose(revoke=True)",
    "runtime.close",
]


async def test_a_start_failure_closes_what_started_and_is_raised_as_its_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = service(runtime_address=ADDRESS)
    calls = Recorder(adapter, monkeypatch)

    async def refused() -> None:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    monkeypatch.setattr(adapter.runtime, "connect", refused)
    with pytest.raises(StartupError) as failed:
        await adapter.serve(asyncio.Event())
    assert (
        str(failed.value)
        == f"nothing is listening at {ADDRESS}: is the OpenFin runtime running, and is that its port?"
    )
    assert isinstance(failed.value.__cause__, ConnectionRefusedError)
    assert calls.calls == SHUTDOWN


async def test_a_stop_before_ready_closes_what_started_and_stays_a_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = service(runtime_address=ADDRESS)
    calls = Recorder(adapter, monkeypatch)
    connecting = asyncio.Event()

    async def never_answers() -> None:
        connecting.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(adapter.runtime, "connect", never_answers)
    serving = asyncio.create_task(adapter.serve(asyncio.Event()))
    await connecting.wait()
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving
    assert calls.calls == SHUTDOWN


async def test_a_stop_ends_serve_with_0_after_ready_and_a_full_shutdown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    adapter = service(runtime_address=ADDRESS, channel="svc")
    calls = Recorder(adapter, monkeypatch)
    monkeypatch.setattr(adapter.runtime, "states", _states(RuntimeConnectionState.CONNECTED))
    stop = asyncio.Event()
    serving = asyncio.create_task(adapter.serve(stop))
    await until(lambda: "provider.create" in calls.calls)
    stop.set()
    with capture_logs() as logs:
        assert await serving == 0
    assert [line for line in capsys.readouterr().out.splitlines() if line.startswith("READY")] == [
        "READY channel svc"
    ]
    assert calls.calls == ["runtime.connect", "provider.create", *SHUTDOWN]
    assert [log for log in logs if log["event"] == "adapter.runtime_gone"] == []


async def test_a_runtime_gone_for_good_ends_serve_with_2_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    adapter = service(runtime_address=ADDRESS, reconnect_grace=30)
    calls = Recorder(adapter, monkeypatch)
    monkeypatch.setattr(adapter.runtime, "states", _states(RuntimeConnectionState.CLOSED))
    with capture_logs() as logs:
        assert await adapter.serve(asyncio.Event()) == 2
    assert "READY channel servicenow" in capsys.readouterr().out.splitlines()
    assert {"event": "adapter.runtime_gone", "grace": 30.0, "log_level": "warning"} in logs
    assert calls.calls[-len(SHUTDOWN) :] == SHUTDOWN


def _states(
    *scripted: RuntimeConnectionState, done: asyncio.Event | None = None
) -> Callable[[], AsyncIterator[RuntimeConnectionState]]:
    """``RuntimeConnection.states`` over one shared script: every iterator continues where the last left off;
    once the script is done (``done`` is set), the state stays as it is."""
    script = iter(scripted)

    async def states() -> AsyncIterator[RuntimeConnectionState]:
        for state in script:
            yield state
        if done is not None:
            done.set()
        await asyncio.Event().wait()

    return states


async def test_a_runtime_back_within_the_grace_is_not_gone_and_the_loss_is_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = service()
    monkeypatch.setattr(
        adapter.runtime,
        "states",
        _states(
            RuntimeConnectionState.CONNECTED,
            RuntimeConnectionState.RECONNECTING,
            RuntimeConnectionState.RESTORING,
            RuntimeConnectionState.CONNECTED,
            RuntimeConnectionState.RECONNECTING,
            RuntimeConnectionState.CONNECTED,
            RuntimeConnectionState.CLOSED,
        ),
    )
    await adapter._runtime_gone_for_good()
    last = adapter.health.last_error_fields()
    assert last is not None
    assert (last["where"], last["message"]) == ("runtime", "connection lost: the runtime closed it")


async def test_a_runtime_that_stays_away_past_the_grace_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Time passing is the subject: the grace, the shortest the setting allows in practice.
    adapter = service(reconnect_grace=0.01)
    adapter.runtime.last_error = OSError("reset by peer")
    monkeypatch.setattr(adapter.runtime, "states", _states(RuntimeConnectionState.RECONNECTING))
    await adapter._runtime_gone_for_good()
    last = adapter.health.last_error_fields()
    assert last is not None
    assert last["message"] == "connection lost: reset by peer"


async def test_shutdown_leaves_the_broker_stops_a_pending_join_and_revokes_every_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = service()
    calls = Recorder(adapter, monkeypatch)
    broker = FakeInterop(adapter.runtime, "platform")
    adapter.interop = broker  # type: ignore[assignment]
    pending = asyncio.create_task(_forever())
    adapter._joining = pending
    await adapter.aclose()
    assert pending.cancelled()
    assert broker.closed
    assert calls.calls == SHUTDOWN


async def test_shutdown_of_a_channel_never_created_destroys_nothing_and_a_failed_destroy_is_no_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = service()
    calls = Recorder(adapter, monkeypatch)
    calls.provider_open = False
    await adapter.aclose()
    assert "provider.destroy" not in calls.calls
    # Positive control: an open channel is destroyed, and a runtime refusing that does not stop the rest.
    calls.calls.clear()
    calls.provider_open = True

    async def refuse() -> None:
        calls.calls.append("provider.destroy")
        raise OpenFinError("runtime gone")

    monkeypatch.setattr(adapter.provider, "destroy", refuse)
    await adapter.aclose()
    assert calls.calls == SHUTDOWN


async def _forever() -> None:
    await asyncio.Event().wait()


class FakeInterop:
    """An ``InteropClient`` whose broker answers as the test says; every client made is kept."""

    made: list[FakeInterop] = []
    fail: list[OpenFinError | None] = []

    def __init__(self, _runtime: object, platform: str, *, context_group: str | None = None) -> None:
        self.platform = platform
        self.registered: dict[str, tuple[str, ...] | None] = {}
        self.closed = False
        FakeInterop.made.append(self)

    async def connect(self) -> None:
        error = FakeInterop.fail.pop(0) if FakeInterop.fail else None
        if error is not None:
            raise error

    async def join_session_context_group(self, name: str) -> str:
        return f"session:{name}"

    async def register_intent_handler(
        self, name: str, _handler: object, *, contexts: tuple[str, ...] | None = None
    ) -> None:
        self.registered[name] = contexts

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def interop(monkeypatch: pytest.MonkeyPatch) -> type[FakeInterop]:
    FakeInterop.made, FakeInterop.fail = [], []
    monkeypatch.setattr(service_module, "InteropClient", FakeInterop)
    return FakeInterop


async def test_start_joins_the_broker_with_the_four_intents_and_their_contexts(
    monkeypatch: pytest.MonkeyPatch, interop: type[FakeInterop]
) -> None:
    adapter = service(broker="platform")
    Recorder(adapter, monkeypatch)
    joined: list[tuple[object, object]] = []
    monkeypatch.setattr(adapter.events, "joined", lambda broker, session: joined.append((broker, session)))
    with capture_logs() as logs:
        await adapter.start()
    (broker,) = interop.made
    assert broker.registered == {name: spec.contexts for name, spec in HANDLED_INTENTS.items()}
    assert (adapter.interop, adapter.session, adapter._joining) == (broker, "session:servicenow", None)  # type: ignore[comparison-overlap]
    assert joined == [(broker, "session:servicenow")]
    assert adapter.adapter_status()["broker"] == {"platform": "platform", "joined": True}
    assert {
        "event": "interop.joined",
        "platform": "platform",
        "intents": list(HANDLED_INTENTS),
        "log_level": "info",
    } in logs


async def test_a_broker_not_there_at_start_is_joined_later_and_meanwhile_the_error_is_reported(
    monkeypatch: pytest.MonkeyPatch, interop: type[FakeInterop]
) -> None:
    adapter = service(broker="platform")
    Recorder(adapter, monkeypatch)
    monkeypatch.setattr(service_module, "BROKER_RETRY", Immediate())
    interop.fail = [OpenFinError("no broker"), OpenFinError("no broker yet")]
    with capture_logs() as logs:
        await adapter.start()
        assert adapter.interop is None
        await until(lambda: adapter.interop is not None)
    first, second, third = interop.made
    assert (first.closed, second.closed, third.closed) == (True, True, False)
    assert adapter.interop is third
    assert adapter.adapter_status()["broker"] == {"platform": "platform", "joined": True}
    last = adapter.health.last_error_fields()
    assert last is not None
    assert (last["where"], last["message"]) == ("broker", "could not join platform's broker: no broker yet")
    failed = [log for log in logs if log["event"] == "interop.unavailable"]
    assert failed == [
        {
            "event": "interop.unavailable",
            "platform": "platform",
            "error": error,
            "retrying": True,
            "log_level": "error",
        }
        for error in ("no broker", "no broker yet")
    ]
    assert adapter._joining is not None
    await adapter._joining


async def test_without_a_broker_setting_no_broker_is_joined(
    monkeypatch: pytest.MonkeyPatch, interop: type[FakeInterop]
) -> None:
    adapter = service()
    calls = Recorder(adapter, monkeypatch)
    await adapter.start()
    assert interop.made == []
    assert (adapter.interop, adapter._joining) == (None, None)
    assert calls.calls == ["runtime.connect", "provider.create"]


class Immediate:
    """``BROKER_RETRY`` without the wait."""

    def delays(self) -> Iterator[float]:
        while True:
            yield 0.0


@pytest.mark.parametrize(
    ("name", "kind"),
    [("http", HttpAuthorizer), ("browser", BrowserAuthorizer), ("openfin-window", WindowAuthorizer)],
)
def test_the_authorizer_setting_chooses_how_the_user_consents(name: str, kind: type) -> None:
    assert isinstance(service(authorizer=name).manager._authorizer, kind)


def test_a_browser_port_already_taken_is_a_start_failure_sentence() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(StartupError, match=f"--browser-port {taken} is not free on 127.0.0.1"):
            service(authorizer="browser", browser_port=taken)._check_browser_port()
        # Only the browser authorizer listens on that port.
        service(authorizer="http", browser_port=taken)._check_browser_port()
    # Positive control: once free, the same port passes.
    service(authorizer="browser", browser_port=taken)._check_browser_port()


async def test_without_a_runtime_version_discovery_is_skipped_and_the_log_says_so() -> None:
    with capture_logs() as logs:
        assert await runtime_address(load_settings({})) == DEFAULT_RUNTIME_ADDRESS
    (defaulted,) = [log for log in logs if log["event"] == "runtime.address_defaulted"]
    assert defaulted["tried"] == [
        "--runtime-address: not set",
        "port discovery: skipped, no --runtime-version",
        f"{DEFAULT_RUNTIME_ADDRESS}: used, the last resort",
    ]
    assert defaulted["log_level"] == "warning"


class Reported:
    port = 9701
    version = "38.126.83.79"


@pytest.mark.parametrize(("version", "shown"), [("38.126.83.79", "38.126.83.79"), ("", "?")])
async def test_the_port_the_runtime_reports_is_used_and_logged(
    monkeypatch: pytest.MonkeyPatch, version: str, shown: str
) -> None:
    reported = Reported()
    reported.version = version

    async def discover(*_args: Any, **_kwargs: Any) -> Reported:
        return reported

    monkeypatch.setattr(service_module, "find_rvm", lambda _path: "/opt/rvm")
    monkeypatch.setattr(service_module, "discover_runtime", discover)
    with capture_logs() as logs:
        address = await runtime_address(load_settings({"runtime_version": "38.126.83.79"}))
    assert address == "ws://127.0.0.1:9701"
    assert {
        "event": "runtime.address_discovered",
        "address": address,
        "tried": [
            "--runtime-address: not set",
            f"port discovery with /opt/rvm: runtime {shown} reported {address}",
        ],
        "log_level": "info",
    } in logs


async def test_discovery_that_finds_no_runtime_falls_back_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def silent(*_args: Any, **_kwargs: Any) -> Reported:
        raise PortDiscoveryError("no runtime reported its port within 20 s")

    monkeypatch.setattr(service_module, "find_rvm", lambda _path: "/opt/rvm")
    monkeypatch.setattr(service_module, "discover_runtime", silent)
    with capture_logs() as logs:
        assert await runtime_address(load_settings({"runtime_version": "stable"})) == DEFAULT_RUNTIME_ADDRESS
    (defaulted,) = [log for log in logs if log["event"] == "runtime.address_defaulted"]
    assert defaulted["tried"][1] == "port discovery with /opt/rvm: no runtime reported its port within 20 s"


async def test_without_an_rvm_discovery_falls_back_and_says_why(tmp_path: Any) -> None:
    missing = tmp_path / "OpenFinRVM.exe"
    with capture_logs() as logs:
        settings = load_settings({"runtime_version": "stable", "rvm_path": str(missing)})
        assert await runtime_address(settings) == DEFAULT_RUNTIME_ADDRESS
    (defaulted,) = [log for log in logs if log["event"] == "runtime.address_defaulted"]
    assert defaulted["tried"][1].startswith("port discovery: ")


async def test_a_runtime_back_within_the_grace_keeps_the_adapter_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Time passing is the subject: the same grace, started later, ends the control, whose runtime stays away.
    back, away = service(reconnect_grace=0.05), service(reconnect_grace=0.05)
    seen = asyncio.Event()
    monkeypatch.setattr(
        back.runtime,
        "states",
        _states(RuntimeConnectionState.RECONNECTING, RuntimeConnectionState.CONNECTED, done=seen),
    )
    monkeypatch.setattr(away.runtime, "states", _states(RuntimeConnectionState.RECONNECTING))
    kept = asyncio.create_task(back._runtime_gone_for_good())
    await seen.wait()
    await away._runtime_gone_for_good()
    assert not kept.done()
    kept.cancel()
    with pytest.raises(asyncio.CancelledError):
        await kept


def test_the_channel_serves_every_action_and_login_changes_reach_the_apps() -> None:
    adapter = service()
    assert sorted(adapter.provider.actions.names) == [
        "servicenow.connect",
        "servicenow.disconnect",
        "servicenow.request",
        "servicenow.search",
        "servicenow.status",
    ]
    assert adapter.manager._listeners == [adapter.events.connection_changed]


def test_logins_are_kept_in_the_keyring_only_when_asked() -> None:
    assert isinstance(service(keyring=True).manager._token_store, KeyringTokenStore)
    assert service(keyring=False).manager._token_store is None


def test_a_plain_http_instance_is_warned_about_at_start() -> None:
    with capture_logs() as logs:
        service(instance_url="http://acme.example.com")
        service(instance_url="https://acme.service-now.com")
    assert [log["instance"] for log in logs if log["event"] == "instance.plain_http"] == [
        "http://acme.example.com"
    ]


async def test_serve_checks_the_browser_port_before_it_joins_the_runtime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        adapter = service(authorizer="browser", browser_port=taken, runtime_address=ADDRESS)
        calls = Recorder(adapter, monkeypatch)
        with pytest.raises(StartupError, match=f"--browser-port {taken} is not free"):
            await adapter.serve(asyncio.Event())
    assert "runtime.connect" not in calls.calls
    assert calls.calls == SHUTDOWN


async def test_serve_stops_watching_the_runtime_when_told_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = service(runtime_address=ADDRESS)
    Recorder(adapter, monkeypatch)
    watching, cancelled = asyncio.Event(), asyncio.Event()

    async def watch() -> None:
        watching.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    monkeypatch.setattr(adapter, "_runtime_gone_for_good", watch)
    stop = asyncio.Event()
    serving = asyncio.create_task(adapter.serve(stop))
    await watching.wait()
    stop.set()
    assert await serving == 0
    async with asyncio.timeout(WAIT):
        await cancelled.wait()
