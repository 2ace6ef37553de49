"""End to end: the platform launches the real adapter (``python -m adapter``) as its app asset.

launch-adapter.mjs runs unchanged under @openfin/node-adapter; the runtime emulator starts the adapter with
the token; a second app logs in to the ServiceNow emulator through the adapter's channel and reads a case;
closing the platform's connection ends the adapter process.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest

from tests.conformance.conftest import NodeScripts
from tests.support.processes import RunningCommand, adapter_command, running
from tests.support.waiting import eventually_blocking

PLATFORM_UUID = "acme-platform"
# The emulator's built-in broker holds the platform uuid, so the provider stand-in connects under its own.
PROVIDER_UUID = "acme-platform-provider"
ALIAS = "servicenow-adapter"
WAIT = 30.0


@pytest.fixture
def instance_url() -> Iterator[str]:
    """A ServiceNow emulator that approves logins at once as beth.anglin."""
    command = adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", "beth.anglin")
    with running(command) as emulator:
        yield emulator.target


def wait_for_log(emulator: RunningCommand, text: str, timeout: float = WAIT) -> None:
    """Wait until the runtime emulator logs ``text`` (it logs every child's exit as ``process.exited``)."""
    eventually_blocking(
        lambda: any(text in line for line in list(emulator.stderr_lines)),
        f"{text!r} in the runtime emulator's log",
        timeout=timeout,
    )


def test_platform_launches_the_adapter_that_serves_a_second_app_until_the_platform_leaves(
    start_runtime_emulator: Callable[..., RunningCommand], node_script: NodeScripts, instance_url: str
) -> None:
    adapter = f'"{sys.executable}" -m adapter'
    emulator = start_runtime_emulator("--broker", PLATFORM_UUID, "--asset", f"{ALIAS}={adapter}")
    platform = node_script.start(
        "launch/platform_hold.mjs",
        {
            "address": emulator.target,
            "providerUuid": PROVIDER_UUID,
            "brokerUuid": PLATFORM_UUID,
            "alias": ALIAS,
            "channelName": "servicenow",
            "extraArgs": ["--authorizer", "http", "--allow-app", PROVIDER_UUID, "--allow-app", "blotter-app"],
            "timeoutMs": 20000,
        },
    )

    launched = platform.wait_for_event("launched", timeout=WAIT)
    served = node_script.run(
        "launch/app_request.mjs",
        {
            "address": emulator.target,
            "uuid": "blotter-app",
            "channelName": "servicenow",
            "instanceUrl": instance_url,
            "clientId": "openfin-demo",
        },
        timeout=WAIT,
    )
    still_running = not any("process.exited" in line for line in list(emulator.stderr_lines))
    platform.send({"leave": True})
    platform.result()
    wait_for_log(emulator, "process.exited")

    assert still_running, "the adapter must live until the platform leaves"
    assert launched["providerIdentity"]["uuid"] == ALIAS
    assert served["connected"]["currentUser"]
    assert served["response"]["status"] == 200
    assert len(served["response"]["data"]) == 1
