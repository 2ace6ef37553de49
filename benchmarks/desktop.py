"""A whole desktop to measure: both emulators, the adapter, the reference JavaScript provider and one app.

Every part is a real process, as on a user's machine: ``servicenow-adapter emulate servicenow --auto-login``,
``servicenow-adapter emulate runtime --broker``, ``servicenow-adapter run --authorizer http --log-json``,
``node/js_provider.mjs`` (channel ``js-servicenow``, the same bearer token as the adapter) and
``node/driver.mjs`` (the app that drives the load). The hooks client reads the emulator's counters and
tokens and moves its clock.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.processes import NodeScript, Started, adapter_command, node_script, started

PLATFORM = "benchmark-platform"
ADAPTER_CHANNEL = "servicenow"
JS_CHANNEL = "js-servicenow"
CLIENT_ID = "openfin-demo"
CASE_TABLE = "sn_customerservice_case"


@dataclass
class Desktop:
    """Handles of one running desktop."""

    instance: str
    runtime: str
    adapter: Started
    runtime_pid: int
    """The runtime emulator's process (its CPU time shows what the bus costs)."""
    hooks: httpx.AsyncClient
    driver: NodeScript
    js_provider: NodeScript
    token: str
    case_sys_id: str
    case_number: str

    @property
    def record_endpoint(self) -> str:
        """The record GET every latency path makes: one case by sys_id."""
        return f"/api/now/table/{CASE_TABLE}/{self.case_sys_id}"

    async def stats(self) -> dict[str, int]:
        """Requests the instance has served so far, by ``METHOD path``."""
        requests: dict[str, int] = (await self.hooks.get("/__emulator/stats")).json()["requests"]
        return requests

    async def live_tokens(self) -> dict[str, list[str]]:
        """The instance's live access and refresh tokens, oldest first."""
        tokens: dict[str, list[str]] = (await self.hooks.get("/__emulator/tokens")).json()
        return tokens

    async def advance_clock(self, seconds: float) -> None:
        """Move the instance's clock (expires tokens without sleeping)."""
        (await self.hooks.post("/__emulator/clock", json={"advance": seconds})).raise_for_status()

    def adapter_events(self, event: str) -> list[dict[str, Any]]:
        """The adapter's JSON log lines for ``event`` so far."""
        found: list[dict[str, Any]] = []
        for line in list(self.adapter.stderr_lines):
            if f'"{event}"' not in line:
                continue
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("event") == event:
                    found.append(entry)
        return found


def log_time(entry: dict[str, Any]) -> float:
    """Wall-clock milliseconds of a structlog JSON line's ISO timestamp."""
    return datetime.fromisoformat(str(entry["timestamp"])).timestamp() * 1000.0


def rss_kib(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB from /proc (Linux); ``None`` where /proc is not available."""
    status = Path(f"/proc/{pid}/status")
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_ms(pid: int) -> float | None:
    """CPU time (user + system) ``pid`` has used so far, in ms, from /proc (Linux); else ``None``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime and stime are fields 14 and 15 of stat, counted from the state field (3) after the name.
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def adapter_args(runtime: str, instance: str, *, channel: str, uuid: str, poll_interval: float) -> list[str]:
    """The ``run`` command line of an adapter on this desktop."""
    return adapter_command(
        "run",
        "--runtime-address",
        runtime,
        "--uuid",
        uuid,
        "--channel",
        channel,
        "--broker",
        PLATFORM,
        "--authorizer",
        "http",
        "--instance-url",
        instance,
        "--client-id",
        CLIENT_ID,
        "--poll-interval",
        str(poll_interval),
        "--log-json",
    )


@contextlib.asynccontextmanager
async def desktop(*, poll_interval: float) -> AsyncIterator[Desktop]:
    """Start everything, sign the driver app in through the adapter, and yield the handles."""
    async with contextlib.AsyncExitStack() as stack:
        instance = await stack.enter_async_context(
            started(adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", "beth.anglin"))
        )
        runtime = await stack.enter_async_context(
            started(adapter_command("emulate", "runtime", "--port", "0", "--broker", PLATFORM))
        )
        adapter = await stack.enter_async_context(
            started(
                adapter_args(
                    runtime.target,
                    instance.target,
                    channel=ADAPTER_CHANNEL,
                    uuid="servicenow-adapter",
                    poll_interval=poll_interval,
                )
            )
        )
        hooks = await stack.enter_async_context(httpx.AsyncClient(base_url=instance.target, timeout=30.0))
        admin = httpx.BasicAuth("admin", "admin")
        listing = await hooks.get(
            f"/api/now/table/{CASE_TABLE}",
            params={"sysparm_limit": "1", "sysparm_fields": "sys_id,number"},
            auth=admin,
        )
        listing.raise_for_status()
        case = listing.json()["result"][0]
        # The JS provider starts with a placeholder token: the real one exists once the driver signed in.
        js_provider = await stack.enter_async_context(
            node_script(
                "js_provider.mjs",
                {
                    "address": runtime.target,
                    "uuid": "js-provider",
                    "channelName": JS_CHANNEL,
                    "instanceUrl": instance.target,
                    "token": "",
                },
            )
        )
        driver = await stack.enter_async_context(
            node_script(
                "driver.mjs",
                {
                    "address": runtime.target,
                    "uuid": "benchmark-app",
                    "adapterChannel": ADAPTER_CHANNEL,
                    "jsChannel": JS_CHANNEL,
                    "instanceUrl": instance.target,
                    "token": "",
                },
            )
        )
        handles = Desktop(
            instance=instance.target,
            runtime=runtime.target,
            adapter=adapter,
            runtime_pid=runtime.pid,
            hooks=hooks,
            driver=driver,
            js_provider=js_provider,
            token="",
            case_sys_id=case["sys_id"],
            case_number=case["number"],
        )
        await share_token(handles)
        yield handles


async def share_token(desktop: Desktop) -> None:
    """Give the adapter's current access token to the direct paths and the JS provider ("the same token")."""
    desktop.token = (await desktop.live_tokens())["access"][-1]
    await desktop.js_provider.call("token", token=desktop.token)
    await desktop.driver.call("token", token=desktop.token)
