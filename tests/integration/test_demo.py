"""``make demo`` runs the whole desktop, narrated, and exits 0 with no OpenFin and no ServiceNow around."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import socket
import subprocess
from typing import Any

from adapter import __version__
from adapter.openfin import ChannelClient, RuntimeConnection
from tests.support.processes import ROOT, adapter_command, running


def test_the_demo_tells_the_whole_story_and_exits_cleanly() -> None:
    done = subprocess.run(
        adapter_command("demo"), cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    story = done.stdout
    assert "signed in as Beth Anglin <beth.anglin@example.com>" in story
    assert "HTTP 201: created CS" in story
    assert "FDC3 context servicenow.case" in story
    assert "has " in story
    assert "case(s):" in story
    assert "apps left: 0, tokens revoked: True" in story
    assert "Case      10 result(s), first: Case CS" in story
    assert "Incident  Insufficient rights to query records (HTTP 403)" in story
    assert "assigned to you: Wire recall requested by the customer" in story
    assert "Everything is shut down" in story
    assert "Traceback" not in done.stderr


def test_keep_running_leaves_a_stack_your_own_apps_can_use_until_stopped() -> None:
    with running(adapter_command("demo", "--keep-running")) as demo:
        address = demo.target
        assert address.startswith("ws://127.0.0.1:")
        # Do what the demo tells a newcomer: connect with the uuid and to the channel it prints.
        story = "".join(demo.stdout_lines)
        printed_address = re.search(r"runtime address\s+(\S+)", story)
        uuid = re.search(r"connect\(\{uuid: '([^']+)'", story)
        channel_name = re.search(r"Channel\.connect\('([^']+)'\)", story)
        assert printed_address is not None, story
        assert uuid is not None, story
        assert channel_name is not None, story
        assert printed_address.group(1) == address
        assert uuid.group(1) != "demo-crm-app"

        async def status_from_my_app() -> Any:
            async with RuntimeConnection(address, uuid.group(1), reconnect=False) as runtime:
                channel = ChannelClient(runtime, channel_name.group(1))
                await channel.connect(timeout=30)
                connected = await channel.dispatch("servicenow.connect", {})
                status = await channel.dispatch("servicenow.status", {})
                await channel.dispatch("servicenow.disconnect", {})
                return connected, status

        connected, status = asyncio.run(status_from_my_app())
        assert connected["currentUser"]["user_name"] == "beth.anglin"
        assert status["connections"][0]["apps"] == 1
        # What an operator asks first: which adapter, is the runtime and broker there, which apps, any error.
        assert status["adapterVersion"] == __version__
        assert status["runtime"]["state"] == "connected"
        assert status["runtime"]["address"] == address
        assert status["broker"] == {"platform": "demo-platform", "joined": True}
        assert uuid.group(1) in status["apps"]
        [watcher] = status["watchers"]
        assert watcher["table"] == "sn_customerservice_case"
        assert watcher["healthy"] is True
        assert status["lastError"] is None
        demo.process.terminate()
        assert demo.process.wait(timeout=30) == 0


def test_the_doctor_command_the_demo_prints_finds_everything_healthy() -> None:
    with running(adapter_command("demo", "--keep-running")) as demo:
        story = "".join(demo.stdout_lines)
        printed = re.search(r"health check:\s+servicenow-adapter (doctor .*)", story)
        assert printed is not None, story

        async def doctor_while_my_app_is_signed_in() -> subprocess.CompletedProcess[str]:
            async with RuntimeConnection(demo.target, "my-app", reconnect=False) as runtime:
                channel = ChannelClient(runtime, "servicenow")
                await channel.connect(timeout=30)
                await channel.dispatch("servicenow.connect", {})
                done = await asyncio.to_thread(
                    subprocess.run,
                    adapter_command(*shlex.split(printed.group(1))),
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                await channel.dispatch("servicenow.disconnect", {})
                return done

        done = asyncio.run(doctor_while_my_app_is_signed_in())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "to 1 app(s): my-app." in done.stdout
    assert "Signed in to https://127.0.0.1:" in done.stdout
    verdicts = {line.split()[1]: line.split()[0] for line in done.stdout.splitlines()}
    for subject in ("runtime", "adapter", "watcher", "broker", "instance", "login"):
        assert verdicts.get(subject) == "ok", done.stdout
    assert "Traceback" not in done.stderr


def test_the_doctor_says_what_is_wrong_when_no_runtime_answers_positive_control() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        adapter_command("doctor", "--runtime-address", f"ws://127.0.0.1:{port}"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith("FAIL runtime   Nothing is listening at ws://127.0.0.1:")
    assert "Traceback" not in done.stderr


def test_the_demos_log_flags_reach_every_process_it_starts() -> None:
    done = subprocess.run(
        adapter_command("demo", "--log-level", "info", "--log-json"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    loggers = {record.get("logger") for record in records}
    # Info lines, as JSON, from the ServiceNow emulator, the runtime emulator and the adapter.
    assert "adapter.emulators.servicenow.server" in loggers, loggers
    assert any(name and name.startswith("adapter.emulators.runtime") for name in loggers), loggers
    assert "adapter.bridge.service" in loggers, loggers
    assert {record["level"] for record in records} >= {"info"}


def test_the_doctor_says_a_system_proxy_is_unusable_in_a_sentence() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "HTTPS_PROXY": "http://alice:s3cr3t/x@proxy.corp.example:3128"}
    done = subprocess.run(
        adapter_command(
            "doctor", "--runtime-address", f"ws://127.0.0.1:{port}", "--instance-url", "https://acme.example"
        ),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    instance = [line for line in done.stdout.splitlines() if line.split()[1:2] == ["instance"]]
    assert len(instance) == 1, done.stdout + done.stderr
    assert instance[0].startswith("FAIL instance ")
    assert "proxy" in instance[0]
    assert "s3cr3t" not in done.stdout + done.stderr
    assert "unexpected error" not in done.stderr
