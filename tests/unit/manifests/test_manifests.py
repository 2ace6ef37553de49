"""Every manifest under manifests/ parses and carries what OpenFin and FDC3 need to run the adapter."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from adapter import __version__
from tests.unit.manifests.support import (
    APP_DIRECTORY,
    LAUNCH_MODULE,
    MANIFESTS,
    NODE,
    PLATFORM_MANIFEST,
    drive,
    load_json,
)

# The intents of docs/channel-api.md and issue 6 (name -> contexts, result type), used where
# adapter.bridge.intents (HANDLED_INTENTS) is not there.
DESIGN_INTENTS = {
    "ViewInteractions": (["fdc3.contact", "fdc3.organization"], "servicenow.caseList"),
    "CreateInteraction": (["fdc3.interaction"], "fdc3.transactionResult"),
    "servicenow.ViewCase": (["servicenow.case"], "servicenow.case"),
    "servicenow.CreateCase": (["servicenow.case"], "servicenow.case"),
}
FDC3_APP_TYPES = {"web", "native", "citrix", "onlineNative", "other"}


def platform() -> dict[str, Any]:
    return load_json(PLATFORM_MANIFEST)


def adapter_asset() -> dict[str, Any]:
    assets = [entry for entry in platform()["appAssets"] if entry["alias"] == "servicenow-adapter"]
    assert len(assets) == 1
    asset: dict[str, Any] = assets[0]
    return asset


def adapter_config() -> dict[str, Any]:
    config: dict[str, Any] = platform()["customSettings"]["servicenowAdapter"]
    return config


def app_record() -> dict[str, Any]:
    records = [
        app for app in load_json(APP_DIRECTORY)["applications"] if app["appId"] == "servicenow-adapter"
    ]
    assert len(records) == 1
    record: dict[str, Any] = records[0]
    return record


def handled_intents() -> dict[str, tuple[list[str], str]]:
    """The intents the adapter registers (name -> sorted contexts, result type), from its own declaration."""
    try:
        module = importlib.import_module("adapter.bridge.intents")
    except ModuleNotFoundError:
        return DESIGN_INTENTS
    return {name: (sorted(spec.contexts), spec.result) for name, spec in module.HANDLED_INTENTS.items()}


def matches(pattern: str, url: str) -> bool:
    """Chromium match-pattern semantics for the ``scheme://host/path*`` patterns the manifest uses."""
    if pattern == "<all_urls>":
        return True
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), url) is not None


@pytest.mark.parametrize("path", sorted(MANIFESTS.rglob("*.json")), ids=lambda path: path.name)
def test_every_json_manifest_parses_to_an_object(path: Path) -> None:
    assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)


def test_runtime_version_is_pinned_to_one_exact_release() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", platform()["runtime"]["version"])


def test_platform_has_a_uuid_and_an_https_provider_page_we_ship() -> None:
    settings = platform()["platform"]
    provider = urlsplit(settings["providerUrl"])

    assert settings["uuid"]
    assert provider.scheme == "https"
    assert provider.path.endswith("/provider/provider.html")
    assert (MANIFESTS / "provider" / "provider.html").is_file()


def test_the_shortcut_icon_is_a_windows_icon_we_ship_beside_the_provider_page() -> None:
    icon = urlsplit(platform()["shortcut"]["icon"])
    provider = urlsplit(platform()["platform"]["providerUrl"])
    assert icon.path.rsplit("/", 1)[0] == provider.path.rsplit("/", 1)[0]
    shipped = MANIFESTS / "provider" / icon.path.rsplit("/", 1)[1]
    header = shipped.read_bytes()[:6]
    assert header[:4] == b"\x00\x00\x01\x00", "an .ico file starts with reserved 0 and type 1"
    assert int.from_bytes(header[4:6], "little") >= 1


def test_platform_survives_its_last_window_closing_so_the_adapter_keeps_running() -> None:
    assert platform()["platform"]["preventQuitOnLastWindowClosed"] is True
    assert "windows" in platform()["snapshot"]


def test_adapter_asset_is_this_version_of_the_adapter_zip() -> None:
    asset = adapter_asset()

    assert asset["version"] == __version__
    assert urlsplit(asset["src"]).scheme == "https"
    assert asset["src"].endswith(f"/servicenow-adapter-{__version__}.zip")
    assert asset["target"] == "servicenow-adapter.exe"
    assert asset["mandatory"] is True
    assert "args" not in asset, "the provider passes the arguments; defaults would carry no token"


def test_provider_launches_the_alias_the_manifest_declares() -> None:
    source = LAUNCH_MODULE.read_text(encoding="utf-8")
    default_alias = re.search(r'export const DEFAULT_ALIAS = "([^"]+)";', source)

    assert default_alias is not None
    assert adapter_config()["alias"] == default_alias.group(1) == adapter_asset()["alias"]


def test_launch_external_process_is_limited_to_the_adapter_asset_source() -> None:
    system = platform()["platform"]["permissions"]["System"]
    launch = system["launchExternalProcess"]
    rules = launch["assets"]["srcRules"]
    src = adapter_asset()["src"]

    assert launch["enabled"] is True
    assert launch["assets"]["enabled"] is True
    assert launch["downloads"] == {"enabled": False}
    assert launch["executables"] == {"enabled": False}
    allowed = [pattern for rule in rules if rule["behavior"] == "allow" for pattern in rule["match"]]
    assert allowed
    assert all(matches(pattern, src) for pattern in allowed)
    for pattern in allowed:
        parts = urlsplit(pattern)
        assert parts.scheme == "https"
        assert parts.netloc == urlsplit(src).netloc
        assert parts.path.rstrip("*").rstrip("/"), "an allow rule must name a folder, not a whole host"
    assert rules[-1] == {"match": ["<all_urls>"], "behavior": "block"}


def test_download_asset_is_not_granted_because_it_cannot_be_limited_to_one_source() -> None:
    assert platform()["platform"]["permissions"]["System"].get("downloadAsset", False) is False


def test_custom_settings_carry_instance_client_channel_and_allowed_apps() -> None:
    config = adapter_config()

    assert config["channelName"] == "servicenow"
    assert {"instanceUrl", "clientId", "allowedApps"} <= config["settings"].keys()
    assert urlsplit(config["settings"]["instanceUrl"]).scheme == "https"
    assert platform()["platform"]["uuid"] in config["settings"]["allowedApps"]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_custom_settings_are_all_settings_the_launcher_knows() -> None:
    answer = drive({"mode": "settings", "settings": adapter_config()["settings"]})

    assert "error" not in answer, answer
    assert "--instance-url" in answer["args"]


def test_app_record_has_the_fields_app_directory_v2_requires() -> None:
    record = app_record()

    assert {"appId", "title", "type", "details"} <= record.keys()
    assert record["type"] in FDC3_APP_TYPES
    assert record["version"] == __version__
    assert "name" not in record, "deprecated in App Directory 2.1 in favour of appId and title"


def test_app_record_listens_for_exactly_the_intents_the_adapter_handles() -> None:
    listens_for = app_record()["interop"]["intents"]["listensFor"]

    assert set(listens_for) == set(handled_intents())


def test_app_record_declares_each_intent_with_the_contexts_and_result_type_the_adapter_uses() -> None:
    listens_for = app_record()["interop"]["intents"]["listensFor"]

    declared = {
        name: (sorted(intent["contexts"]), intent["resultType"]) for name, intent in listens_for.items()
    }
    assert declared == handled_intents()


def test_app_record_names_the_session_context_group_it_broadcasts_cases_on() -> None:
    channels = app_record()["interop"]["appChannels"]

    assert [(channel["id"], channel["broadcasts"]) for channel in channels] == [
        ("servicenow", ["servicenow.case"])
    ]


def test_app_record_points_to_the_platform_that_launches_the_adapter() -> None:
    openfin = app_record()["hostManifests"]["OpenFin"]

    assert openfin["platformUuid"] == platform()["platform"]["uuid"]
    assert openfin["appAsset"] == adapter_asset()["alias"]
    assert openfin["channelName"] == adapter_config()["channelName"]


def test_desktop_owner_example_allows_exactly_what_the_manifest_declares_for_its_url() -> None:
    settings = load_json(MANIFESTS / "desktop-owner-settings.example.json")["applicationSettings"]
    manifest_url = app_record()["hostManifests"]["OpenFin"]["manifestUrl"]

    assert list(settings) == [manifest_url]
    granted = settings[manifest_url]["permissions"]["System"]
    assert granted == {
        "launchExternalProcess": platform()["platform"]["permissions"]["System"]["launchExternalProcess"]
    }
