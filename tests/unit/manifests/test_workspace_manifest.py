"""The Workspace flavour's manifest: the plain platform's adapter set-up, plus Home and notifications."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.unit.manifests.support import MANIFESTS, PLATFORM_MANIFEST, load_json

WORKSPACE = MANIFESTS / "workspace"


def workspace() -> dict[str, Any]:
    manifest: dict[str, Any] = load_json(WORKSPACE / "workspace.fin.json")
    return manifest


def test_it_launches_the_same_adapter_asset_with_the_same_launch_rules_as_the_plain_platform() -> None:
    plain, flavour = load_json(PLATFORM_MANIFEST), workspace()
    assert flavour["appAssets"] == plain["appAssets"]
    assert flavour["runtime"] == plain["runtime"]
    launch = flavour["platform"]["permissions"]["System"]["launchExternalProcess"]
    assert launch == plain["platform"]["permissions"]["System"]["launchExternalProcess"]


def test_its_provider_page_is_one_we_ship_and_allows_itself_onto_the_channel() -> None:
    settings = workspace()["platform"]
    assert urlsplit(settings["providerUrl"]).path.endswith("/workspace/provider.html")
    assert (WORKSPACE / "provider.html").is_file()
    assert (WORKSPACE / "provider.mjs").is_file()
    config = workspace()["customSettings"]["servicenowAdapter"]
    assert settings["uuid"] in config["settings"]["allowedApps"]


def test_call_and_email_may_open_only_tel_and_mailto() -> None:
    opening = workspace()["platform"]["permissions"]["System"]["openUrlWithBrowser"]
    assert opening == {"enabled": True, "protocols": ["mailto", "tel"]}


def test_case_notifications_are_on_by_default() -> None:
    assert workspace()["customSettings"]["servicenowAdapter"]["caseNotifications"] is True
