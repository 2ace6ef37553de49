"""The Workspace flavour (manifests/workspace): type-checked against the pinned Workspace typings, and run
in Node against the real adapter, runtime emulator and ServiceNow emulator, with the Workspace API surface
replaced by recording doubles (Home provider, notifications, platform)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.conformance.adapter.conftest import CHANNEL, PLATFORM, AdapterStack, adapter_stack
from tests.conformance.node_support import CONFORMANCE_DIR, node_executable, run_node

TSC = CONFORMANCE_DIR / "node_modules" / "typescript" / "bin" / "tsc"


@pytest.fixture(scope="module")
def workspace_desktop() -> Iterator[AdapterStack]:
    with adapter_stack("built-in", "--case-notifications") as stack:
        yield stack


def _tsc(project: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node_executable(), str(TSC), "-p", project],
        cwd=CONFORMANCE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_workspace_provider_type_checks_against_the_pinned_typings() -> None:
    checked = _tsc("workspace/tsconfig.json")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_type_check_catches_a_result_home_cannot_show() -> None:
    # Positive control: the same project with a template Home does not know fails.
    checked = _tsc("workspace/tsconfig.broken.json")
    assert checked.returncode != 0
    assert "is not assignable to type 'CLITemplate'" in checked.stdout


def test_home_search_cards_and_notifications_through_the_adapter(workspace_desktop: AdapterStack) -> None:
    summary = run_node(
        "workspace/home_flow.mjs",
        {
            "address": workspace_desktop.runtime,
            "broker": PLATFORM,
            "channelName": CHANNEL,
            "instance": workspace_desktop.instance,
        },
        timeout=120,
    )
    instance = workspace_desktop.instance
    assert summary["results"] > 0
    assert all(url.startswith(f"{instance}/") for url in summary["launched"])
    assert [url.split(":", 1)[0] for url in summary["opened"]] == ["tel", "mailto"]
    assert summary["notification"]["title"].endswith("assigned to you")
    assert summary["contexts"] >= 2
