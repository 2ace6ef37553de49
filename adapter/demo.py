"""``servicenow-adapter demo``: the whole desktop on one laptop, narrated.

It starts the ServiceNow emulator (signing the user in by itself), the OpenFin runtime emulator with its
built-in interop broker, and the adapter, each as a real process on a free port. Then a small Python app,
speaking the runtime protocol through ``adapter.openfin``, does what a desktop app does: connects to the
``servicenow`` channel, signs in, lists the user's active cases, creates one, receives the broadcast, raises
the ``ViewInteractions`` intent, and disconnects; then what the Workspace flavour gets: a Home search
(``servicenow.search``) and a case notification. ``--keep-running`` leaves the stack up for your own apps.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

import httpx

from adapter.bridge.contexts import display_of
from adapter.doctor import DOCTOR_UUID
from adapter.lifecycle import StartupError, announce_ready
from adapter.openfin import ChannelClient, InteropClient, RuntimeConnection

PLATFORM = "demo-platform"
CHANNEL = "servicenow"
CLIENT_ID = "openfin-demo"
DEMO_USER = "beth.anglin"
APP = "demo-crm-app"
YOUR_APP = "my-app"
"""The uuid the demo tells people to connect their own app as; its adapter allows it beside ``APP``."""
START_TIMEOUT = 60.0
STEP_TIMEOUT = 30.0


class Narrator:
    """Writes the story of the run for people: numbered steps and indented details."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._step = 0

    def step(self, text: str) -> None:
        """A new step of the story."""
        self._step += 1
        self._out.write(f"\n{self._step}. {text}\n")
        self._out.flush()

    def detail(self, text: str) -> None:
        """A line under the current step."""
        self._out.write(f"   {text}\n")
        self._out.flush()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A plain-text table, columns sized to their content."""
        widths = [
            max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)
        ]
        self.detail("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
        self.detail("  ".join("-" * w for w in widths))
        for row in rows:
            self.detail("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def child_command(*args: str) -> list[str]:
    """``servicenow-adapter ARGS`` as this very program: the bundled executable itself when frozen."""
    if getattr(sys, "frozen", False):
        # In a PyInstaller bundle sys.executable is the adapter's exe, which takes no "-m adapter".
        return [sys.executable, *args]
    return [sys.executable, "-m", "adapter", *args]


async def _start(what: str, *args: str, log_flags: Sequence[str]) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``servicenow-adapter ARGS`` and return it with the target of its READY line."""
    process = await asyncio.create_subprocess_exec(
        *child_command(*args, *log_flags),
        stdout=asyncio.subprocess.PIPE,
        # Its own session: Ctrl-C reaches only the demo, which stops its processes in order.
        start_new_session=sys.platform != "win32",
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while line := (await process.stdout.readline()).decode():
                if line.startswith("READY "):
                    return process, line.removeprefix("READY ").strip()
            code = await process.wait()
    except TimeoutError:
        await _stop(process)
        raise StartupError(f"{what} did not start within {START_TIMEOUT:g} s") from None
    except BaseException:
        # Cancelled (Ctrl-C before the demo was ready): the child goes with us.
        await _stop(process)
        raise
    raise StartupError(f"{what} exited with code {code} before it was ready (its reason is above)")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), 15)
    if process.returncode is None:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def desktop(
    narrator: Narrator, log_flags: Sequence[str] = ("--log-level", "warning")
) -> AsyncIterator[tuple[str, str, Path]]:
    """The three processes of the demo; yields ``(instance URL, runtime address, the instance's CA file)``,
    stops them all after.

    ``log_flags`` (``--log-level``, ``--log-json``) are passed to each process.
    """
    processes: list[asyncio.subprocess.Process] = []
    folder = tempfile.TemporaryDirectory(prefix="servicenow-demo-")
    ca = Path(folder.name) / "instance-ca.pem"
    try:
        narrator.step("Starting a ServiceNow instance (the emulator, on SQLite, with demo data, over https)")
        instance, instance_url = await _start(
            "the ServiceNow emulator",
            "emulate",
            "servicenow",
            "--port",
            "0",
            "--auto-login",
            DEMO_USER,
            "--tls",
            "--tls-ca-out",
            str(ca),
            log_flags=log_flags,
        )
        processes.append(instance)
        narrator.detail(f"instance: {instance_url}  (signs in as {DEMO_USER} by itself)")
        narrator.detail(f"its certificate's CA: {ca}  (trusted by the adapter with --ca-bundle)")

        narrator.step("Starting an OpenFin runtime (the emulator) with the platform's interop broker")
        runtime, address = await _start(
            "the runtime emulator",
            "emulate",
            "runtime",
            "--port",
            "0",
            "--broker",
            PLATFORM,
            log_flags=log_flags,
        )
        processes.append(runtime)
        narrator.detail(f"runtime: {address}  broker: interop-broker-{PLATFORM}")

        narrator.step("Starting the adapter: one shared ServiceNow connection for every app")
        adapter, ready = await _start(
            "the adapter",
            "run",
            "--runtime-address",
            address,
            "--broker",
            PLATFORM,
            "--authorizer",
            "http",
            "--instance-url",
            instance_url,
            "--client-id",
            CLIENT_ID,
            "--poll-interval",
            "2",
            "--allow-app",
            APP,
            "--ca-bundle",
            str(ca),
            "--allow-app",
            YOUR_APP,
            "--allow-app",
            DOCTOR_UUID,
            # The built-in broker does not say who raised an intent: let such raisers read, not write.
            "--intents",
            "read-only",
            "--case-notifications",
            log_flags=log_flags,
        )
        processes.append(adapter)
        narrator.detail(f"adapter: {ready}")
        yield instance_url, address, ca
    finally:
        # The adapter first, so that it never sees its runtime or instance vanish under it.
        for process in reversed(processes):
            await _stop(process)
        folder.cleanup()


def _case_rows(cases: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            display_of(case, "number"),
            display_of(case, "state"),
            display_of(case, "priority"),
            display_of(case, "short_description")[:50],
        ]
        for case in cases
    ]


async def tour(narrator: Narrator, address: str) -> None:
    """What a desktop app does with the adapter, step by step."""
    async with RuntimeConnection(address, APP, reconnect=False) as runtime:
        channel = ChannelClient(runtime, CHANNEL)
        changes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        channel.actions.register(
            "servicenow.recordChanged", lambda payload, _caller: changes.put_nowait(payload)
        )
        channel.actions.register("servicenow.connectionChanged", lambda _payload, _caller: None)
        await channel.connect(timeout=STEP_TIMEOUT)

        narrator.step("An app connects to the 'servicenow' channel and signs in (servicenow.connect)")
        connected = await channel.dispatch("servicenow.connect", {}, timeout=STEP_TIMEOUT)
        user = connected["currentUser"]
        narrator.detail(
            f"signed in as {user.get('name')} <{user.get('email')}>; apps sharing it: {connected['apps']}"
        )

        narrator.step("Listing the user's active cases (servicenow.request, the Table API)")
        query = urlencode(
            {
                "sysparm_query": "assigned_to=javascript:gs.getUserID()^active=true"
                "^ORDERBYDESCsys_updated_on",
                "sysparm_fields": "number,state,priority,short_description",
                "sysparm_display_value": "true",
                "sysparm_limit": "8",
            }
        )
        listed = await channel.dispatch(
            "servicenow.request", {"apiEndpoint": f"/api/now/table/sn_customerservice_case?{query}"}
        )
        narrator.detail(f"HTTP {listed['status']}, {len(listed['data'])} most recently updated:")
        narrator.table(["number", "state", "priority", "short description"], _case_rows(listed["data"]))

        narrator.step("Creating a case (a POST through the adapter)")
        created = await channel.dispatch(
            "servicenow.request",
            {
                "apiEndpoint": "/api/now/table/sn_customerservice_case",
                "httpMethod": "POST",
                "data": {"short_description": "Card blocked while travelling", "priority": "2"},
            },
        )
        number = created["data"]["number"]
        narrator.detail(f"HTTP {created['status']}: created {number}")

        narrator.step("The broadcast every connected app received (servicenow.recordChanged)")
        async with asyncio.timeout(STEP_TIMEOUT):
            while (event := await changes.get())["number"] != number:
                pass
        context = event["context"]
        narrator.detail(f"{event['change']} {event['number']} in {event['table']}")
        narrator.detail(
            f"FDC3 context {context['type']}: {context['name']} ({context['state']}, {context['priority']})"
        )

        narrator.step("A Workspace app raises the FDC3 intent ViewInteractions for a contact")
        interop = InteropClient(runtime, PLATFORM)
        await interop.connect()
        contacts = await channel.dispatch(
            "servicenow.request",
            {"apiEndpoint": "/api/now/table/customer_contact?sysparm_limit=1&sysparm_fields=name,email"},
        )
        contact = contacts["data"][0]
        resolution = await interop.fire_intent(
            "ViewInteractions",
            {"type": "fdc3.contact", "name": contact["name"], "id": {"email": contact["email"]}},
        )
        found = resolution["result"]["cases"]
        narrator.detail(f"{contact['name']} <{contact['email']}> has {len(found)} case(s):")
        narrator.table(
            ["number", "state", "priority", "short description"],
            [[c["id"]["number"], c["state"], c["priority"], c["shortDescription"][:50]] for c in found[:5]],
        )
        await interop.close()

        narrator.step("The app disconnects; as the last app out, the adapter revokes the tokens")
        released = await channel.dispatch("servicenow.disconnect", {})
        narrator.detail(f"apps left: {released['apps']}, tokens revoked: {released['revoked']}")
        await channel.disconnect()


async def workspace_tour(narrator: Narrator, address: str, instance_url: str, instance_ca: Path) -> None:
    """What the Workspace flavour's Home provider and notifications get from the adapter; the colleague who
    assigns a case talks to the instance (https, trusting ``instance_ca``) directly."""
    async with RuntimeConnection(address, APP, reconnect=False) as runtime:
        channel = ChannelClient(runtime, CHANNEL)
        notices: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        channel.actions.register(
            "servicenow.caseNotification", lambda event, _caller: notices.put_nowait(event)
        )
        for event in ("servicenow.recordChanged", "servicenow.connectionChanged"):
            channel.actions.register(event, lambda _payload, _caller: None)
        await channel.connect(timeout=STEP_TIMEOUT)
        user = (await channel.dispatch("servicenow.connect", {}, timeout=STEP_TIMEOUT))["currentUser"]

        narrator.step("Workspace Home: the user types 'wire' (servicenow.search, every record type at once)")
        found = await channel.dispatch("servicenow.search", {"query": "wire"}, timeout=STEP_TIMEOUT)
        for group in found["groups"]:
            if group["error"]:
                narrator.detail(
                    f"{group['type']:<9} {group['error']['message']} (HTTP {group['error']['status']})"
                )
            elif group["hits"]:
                best = group["hits"][0]
                count = len(group["hits"])
                narrator.detail(
                    f"{group['type']:<9} {count} result(s), first: {best['label']}: {best['title']}"
                )
            else:
                narrator.detail(f"{group['type']:<9} no match")

        narrator.step(
            "Someone else assigns a case to the user: a Workspace notification (servicenow.caseNotification)"
        )
        async with httpx.AsyncClient(
            base_url=instance_url,
            auth=("admin", "admin"),
            timeout=STEP_TIMEOUT,
            verify=ssl.create_default_context(cafile=str(instance_ca)),
        ) as admin:
            response = await admin.post(
                "/api/now/table/sn_customerservice_case",
                json={
                    "short_description": "Wire recall requested by the customer",
                    "assigned_to": user["sys_id"],
                },
            )
            response.raise_for_status()
        async with asyncio.timeout(STEP_TIMEOUT):
            notice = await notices.get()
        narrator.detail(f"{notice['title']}: {notice['body']}")
        narrator.detail(f"[Open case] opens {notice['url']}")
        narrator.detail(
            f"            and puts {notice['context']['type']} on the session context group 'servicenow'"
        )
        await channel.dispatch("servicenow.disconnect", {})
        await channel.disconnect()


def _point_your_apps(narrator: Narrator, instance_url: str, address: str, instance_ca: Path) -> None:
    narrator.step("The stack keeps running; point your own apps at it (Ctrl-C stops everything)")
    narrator.detail(f"runtime address   {address}")
    narrator.detail(f"channel           {CHANNEL}   (fin.InterApplicationBus.Channel.connect('{CHANNEL}'))")
    narrator.detail(f"interop broker    {PLATFORM}   (fin.Interop.connectSync('{PLATFORM}'))")
    narrator.detail(f"instance          {instance_url}   (users admin/admin, {DEMO_USER}/{DEMO_USER})")
    narrator.detail("                  (https: its CA is the file named in step 1, e.g. curl --cacert FILE)")
    narrator.detail(
        f"node-adapter:     const fin = await connect({{uuid: '{YOUR_APP}', address, nonPersistent: true}})"
    )
    narrator.detail(
        f"then:             const client = await fin.InterApplicationBus.Channel.connect('{CHANNEL}')"
    )
    narrator.detail("                  await client.dispatch('servicenow.connect', {})")
    narrator.detail(f"apps allowed      {YOUR_APP}, {APP}   (the adapter refuses any other uuid)")
    narrator.detail(
        f"health check:     servicenow-adapter doctor --runtime-address {address} --broker {PLATFORM} "
        f"--instance-url {instance_url} --ca-bundle {instance_ca}"
    )


async def run_demo(
    stop: asyncio.Event,
    *,
    keep_running: bool,
    log_level: str = "warning",
    log_json: bool = False,
    out: TextIO | None = None,
) -> int:
    """Run the narrated demo; with ``keep_running``, leave the stack up until ``stop`` is set.

    ``log_level`` and ``log_json`` apply to the processes the demo starts, as to the demo itself.
    """
    narrator = Narrator(out or sys.stdout)
    log_flags = ["--log-level", log_level, *(["--log-json"] if log_json else [])]
    async with desktop(narrator, log_flags) as (instance_url, address, instance_ca):
        await tour(narrator, address)
        await workspace_tour(narrator, address, instance_url, instance_ca)
        if keep_running:
            _point_your_apps(narrator, instance_url, address, instance_ca)
            announce_ready(address)
            await stop.wait()
    narrator.step("Everything is shut down. That was the whole desktop, with no OpenFin and no ServiceNow.")
    return 0
