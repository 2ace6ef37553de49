"""``servicenow-adapter doctor``: whether the runtime, the adapter, the broker, the instance and the login are
healthy, each said in a sentence.

It reads the same settings as ``run`` and checks, in order: the runtime answers and lets us in (as
``DOCTOR_UUID``, never the running adapter's identity); an adapter serves the channel and what
its ``servicenow.status`` says (version, runtime, watchers, last error); the platform's interop broker; the
instance answers over HTTP; someone is signed in. A check that depends on one that failed is skipped with the
reason. Exit code 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from adapter.openfin import (
    ChannelClient,
    ChannelConnectionRejected,
    ChannelNotFound,
    InteropClient,
    OpenFinError,
    RuntimeConnection,
)
from adapter.settings import AdapterSettings

DOCTOR_UUID = "servicenow-adapter-doctor"
STEP_TIMEOUT = 10.0

Verdict = Literal["ok", "FAIL", "skip", "warn"]


@dataclass
class Report:
    """The sentences said so far and whether any check failed."""

    out: TextIO
    failed: bool = False
    lines: list[str] = field(default_factory=list)

    def say(self, verdict: Verdict, subject: str, sentence: str) -> None:
        """One line: the verdict, what was checked, and the finding as a sentence."""
        self.failed = self.failed or verdict == "FAIL"
        line = f"{verdict:<4} {subject:<9} {sentence}"
        self.lines.append(line)
        self.out.write(line + "\n")
        self.out.flush()


async def run_doctor(settings: AdapterSettings, *, out: TextIO) -> int:
    """Check everything ``run`` depends on and say how each is; returns 0 when nothing failed, else 1."""
    # Imported here: the demo names DOCTOR_UUID without loading the whole adapter service.
    from adapter.bridge.service import explain_start_failure, runtime_address

    report = Report(out)
    address = await runtime_address(settings, discovery_timeout=STEP_TIMEOUT)
    runtime = RuntimeConnection(address, DOCTOR_UUID, reconnect=False)
    runtime.handshake_timeout = STEP_TIMEOUT
    try:
        await runtime.connect()
    except Exception as error:
        sentence = explain_start_failure(error, address, runtime.uuid)
        report.say(
            "FAIL", "runtime", sentence[0].upper() + sentence[1:] + ("" if sentence[-1] in ".?!" else ".")
        )
        for subject in ("adapter", "broker", "login"):
            report.say("skip", subject, "not checked: it is reached through the runtime.")
        await _check_instance(report, settings.instance_url, settings)
        return 1
    try:
        report.say("ok", "runtime", f"The runtime at {address} answered and let us in.")
        status = await _check_adapter(report, runtime, settings)
        await _check_broker(report, runtime, settings, status)
        instance = settings.instance_url or _first_instance(status)
        await _check_instance(report, instance, settings)
        _check_login(report, status)
    finally:
        await runtime.close()
    return 1 if report.failed else 0


async def _check_adapter(
    report: Report, runtime: RuntimeConnection, settings: AdapterSettings
) -> dict[str, Any] | None:
    channel = ChannelClient(runtime, settings.channel)
    try:
        await channel.connect(timeout=STEP_TIMEOUT)
    except ChannelNotFound:
        report.say(
            "FAIL",
            "adapter",
            f"No adapter serves channel {settings.channel!r} on this runtime: start servicenow-adapter run "
            "(it prints READY channel ...) or check --channel.",
        )
        return None
    except ChannelConnectionRejected as error:
        report.say(
            "warn",
            "adapter",
            f"An adapter serves channel {settings.channel!r} but refused the doctor ({error.reason}); "
            f"add --allow-app {DOCTOR_UUID} to the adapter's settings to see its status.",
        )
        return None
    try:
        status: dict[str, Any] = await channel.dispatch("servicenow.status", {}, timeout=STEP_TIMEOUT)
    except OpenFinError as error:
        report.say(
            "FAIL", "adapter", f"The adapter on channel {settings.channel!r} did not answer status: {error}."
        )
        return None
    finally:
        with contextlib.suppress(OpenFinError):
            await channel.disconnect()
    version = status.get("adapterVersion") or "an unknown version"
    apps = [app for app in status.get("apps") or [] if app != DOCTOR_UUID]
    report.say(
        "ok",
        "adapter",
        f"Adapter {version} serves channel {settings.channel!r} to {len(apps)} app(s)"
        + (f": {', '.join(apps)}." if apps else "."),
    )
    for watcher in status.get("watchers") or []:
        where = f"{watcher.get('table')} on {watcher.get('instanceUrl')}"
        if watcher.get("healthy"):
            polled = watcher.get("lastPollAt") or "not yet"
            report.say("ok", "watcher", f"Changes to {where} are watched (last poll: {polled}).")
        else:
            report.say("FAIL", "watcher", f"Watching {where} fails: {watcher.get('lastError')}.")
    last = status.get("lastError")
    if last:
        report.say(
            "warn", "history", f"Last failure ({last.get('where')}, {last.get('at')}): {last.get('message')}."
        )
    return status


async def _check_broker(
    report: Report, runtime: RuntimeConnection, settings: AdapterSettings, status: dict[str, Any] | None
) -> None:
    broker = settings.broker or ((status or {}).get("broker") or {}).get("platform")
    if not broker:
        report.say("skip", "broker", "No --broker is set: contexts and intents are off, which is allowed.")
        return
    joined = ((status or {}).get("broker") or {}).get("joined")
    if joined is False:
        report.say("FAIL", "broker", f"The adapter is not in platform {broker}'s interop broker.")
        return
    interop = InteropClient(runtime, broker, connect_timeout=STEP_TIMEOUT)
    try:
        await interop.connect()
    except OpenFinError as error:
        report.say("FAIL", "broker", f"Platform {broker}'s interop broker does not answer: {error}")
        return
    finally:
        await interop.close()
    suffix = " and the adapter is in it." if joined else "."
    report.say("ok", "broker", f"Platform {broker}'s interop broker answers{suffix}")


def _first_instance(status: dict[str, Any] | None) -> str | None:
    connections = (status or {}).get("connections") or []
    return str(connections[0]["instanceUrl"]) if connections else None


async def _check_instance(report: Report, instance_url: str | None, settings: AdapterSettings) -> None:
    if not instance_url:
        report.say("skip", "instance", "No --instance-url is set and nobody is signed in: nothing to check.")
        return
    import httpx

    from adapter.servicenow.errors import ApiError
    from adapter.servicenow.transport import Network, TransportRegistry

    # The way the adapter reaches it: the same trust store, extra CA bundle and proxy.
    transports = TransportRegistry(
        network=Network.configured(
            ca_bundle=settings.ca_bundle,
            proxy=settings.proxy.get_secret_value() if settings.proxy else None,
            max_response_body=settings.max_response_body,
        )
    )
    probe = f"{instance_url}/api/now/table/sys_user?sysparm_limit=1"
    try:
        async with httpx.AsyncClient(
            transport=transports.borrow(instance_url), timeout=STEP_TIMEOUT, follow_redirects=False
        ) as http:
            response = await http.get(probe)
    except httpx.HTTPError as error:
        report.say(
            "FAIL",
            "instance",
            f"Cannot reach the instance at {instance_url}: {error or type(error).__name__}.",
        )
        return
    except ApiError as error:  # the system's proxy settings are unusable
        report.say("FAIL", "instance", f"Cannot reach the instance at {instance_url}: {error.message}.")
        return
    finally:
        await transports.aclose()
    if response.status_code in (200, 401):
        report.say("ok", "instance", f"The instance at {instance_url} answers its Table API.")
    else:
        report.say(
            "FAIL",
            "instance",
            f"The instance at {instance_url} answered HTTP {response.status_code} where an instance "
            "answers 401 without a login: is it the instance's address?",
        )


def _check_login(report: Report, status: dict[str, Any] | None) -> None:
    if status is None:
        report.say("skip", "login", "not checked: the adapter's status is not available.")
        return
    connections = status.get("connections") or []
    if not connections:
        report.say("ok", "login", "Nobody is signed in yet: the first app's servicenow.connect signs in.")
    for connection in connections:
        who = connection.get("currentUser") or "an unknown user"
        where = connection.get("instanceUrl")
        state = connection.get("state")
        if state in ("connected", "refreshed"):
            expiry = connection.get("tokenExpiresAt") or "unknown"
            report.say(
                "ok",
                "login",
                f"Signed in to {where} as {who} for {connection.get('apps')} app(s); "
                f"token valid until {expiry}.",
            )
        else:
            report.say(
                "FAIL",
                "login",
                f"The login to {where} is {state}: the next servicenow.connect signs in again.",
            )
