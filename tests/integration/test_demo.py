"""``make demo`` runs the whole desktop, narrated, and exits 0 with no OpenFin and no ServiceNow around."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

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

        async def status_from_my_app() -> Any:
            async with RuntimeConnection(address, "demo-crm-app", reconnect=False) as runtime:
                channel = ChannelClient(runtime, "servicenow")
                await channel.connect(timeout=30)
                connected = await channel.dispatch("servicenow.connect", {})
                status = await channel.dispatch("servicenow.status", {})
                await channel.dispatch("servicenow.disconnect", {})
                return connected, status

        connected, status = asyncio.run(status_from_my_app())
        assert connected["currentUser"]["user_name"] == "beth.anglin"
        assert status["connections"][0]["apps"] == 1
        demo.process.terminate()
        assert demo.process.wait(timeout=30) == 0
