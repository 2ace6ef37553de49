"""launch-adapter.mjs with a fake ``fin`` object: the command line it builds and the errors it reports."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.manifests.support import NODE, PLATFORM_MANIFEST, drive, load_json

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

FORBIDDEN = set('"%$') | {chr(code) for code in range(0x20)} | {"\x7f"}


def split_windows(command_line: str) -> list[str]:
    """Split a command line the way the Windows C runtime builds ``argv`` (the adapter's real parser)."""
    args: list[str] = []
    i, n = 0, len(command_line)
    while True:
        while i < n and command_line[i] in " \t":
            i += 1
        if i >= n:
            return args
        current: list[str] = []
        in_quotes = False
        while i < n:
            char = command_line[i]
            if char == "\\":
                j = i
                while j < n and command_line[j] == "\\":
                    j += 1
                count = j - i
                if j < n and command_line[j] == '"':
                    current.append("\\" * (count // 2))
                    if count % 2:
                        current.append('"')
                        j += 1
                else:
                    current.append("\\" * count)
                i = j
            elif char == '"':
                in_quotes = not in_quotes
                i += 1
            elif char in " \t" and not in_quotes:
                break
            else:
                current.append(char)
                i += 1
        args.append("".join(current))


def launch(fin: dict[str, Any], **options: Any) -> dict[str, Any]:
    return drive({"mode": "launch", "fin": fin, "options": options})


def launched_with(answer: dict[str, Any]) -> dict[str, Any]:
    calls = [call for call in answer["calls"] if call["call"] == "launchExternalProcess"]
    assert len(calls) == 1, answer
    options: dict[str, Any] = calls[0]["options"]
    return options


def test_launch_passes_runtime_address_identity_token_broker_and_channel() -> None:
    answer = launch(
        {"channel": "connect", "port": 9704, "token": "token-123"},
        alias="servicenow-adapter",
        channelName="servicenow",
        brokerUuid="acme-platform",
    )

    assert answer.get("client") == {"channelName": "servicenow"}, answer
    options = launched_with(answer)
    assert options["alias"] == "servicenow-adapter"
    assert options["lifetime"] == "application"
    assert split_windows(options["arguments"]) == [
        "--runtime-address",
        "ws://127.0.0.1:9704",
        "--uuid",
        "servicenow-adapter",
        "--token",
        "token-123",
        "--broker",
        "acme-platform",
        "--channel",
        "servicenow",
    ]


def test_the_one_off_token_is_registered_for_the_adapter_uuid() -> None:
    answer = launch({"channel": "connect"}, alias="servicenow-adapter", uuid="sn-adapter-desk-1")

    registered = [call["uuid"] for call in answer["calls"] if call["call"] == "registerExternalConnection"]
    assert registered == ["sn-adapter-desk-1"]
    assert "--uuid sn-adapter-desk-1" in launched_with(answer)["arguments"]


def test_without_a_token_the_adapter_gets_only_the_address_identity_and_channel() -> None:
    answer = launch({"channel": "connect", "port": 9704}, useToken=False, channelName="servicenow")

    assert not [call for call in answer["calls"] if call["call"] == "registerExternalConnection"]
    assert split_windows(launched_with(answer)["arguments"]) == [
        "--runtime-address",
        "ws://127.0.0.1:9704",
        "--uuid",
        "servicenow-adapter",
        "--channel",
        "servicenow",
    ]


def test_broker_flag_is_left_out_when_no_broker_is_given() -> None:
    answer = launch({"channel": "connect"}, channelName="servicenow")

    assert "--broker" not in split_windows(launched_with(answer)["arguments"])


def test_channel_is_awaited_with_wait_true() -> None:
    answer = launch({"channel": "connect"}, channelName="sn-desk")

    connects = [call for call in answer["calls"] if call["call"] == "Channel.connect"]
    assert connects == [{"call": "Channel.connect", "channelName": "sn-desk", "options": {"wait": True}}]


def test_extra_arguments_follow_the_connection_flags_one_argument_each() -> None:
    extra = ["--instance-url", "https://acme.service-now.com", "--allow-app", "Blotter App --token stolen"]
    answer = launch({"channel": "connect"}, extraArgs=extra)

    args = split_windows(launched_with(answer)["arguments"])
    assert args[-4:] == extra
    assert args.count("--token") == 1


def test_extra_arguments_may_not_override_the_runtime_address_or_token() -> None:
    for extra in (["--token", "other"], ["--runtime-address=ws://10.0.0.1:9696"], ["--uuid", "x"]):
        answer = launch({"channel": "connect"}, extraArgs=extra)

        assert answer["error"]["code"] == "invalid-argument", answer
        assert answer["calls"] == [], "refused before any runtime call"


@pytest.mark.parametrize(
    "extra",
    [["--tok", "other"], ["--runtime-a=ws://10.0.0.1:9696"], ["--uui", "x"], ["--chan", "c"], ["--br", "p"]],
)
def test_abbreviations_of_reserved_flags_are_refused_too(extra: list[str]) -> None:
    answer = launch({"channel": "connect"}, extraArgs=extra)

    assert answer["error"]["code"] == "invalid-argument", answer
    assert "may not set --" in answer["error"]["message"]
    assert answer["calls"] == []


def test_a_setting_flag_that_is_no_abbreviation_of_a_reserved_one_passes_positive_control() -> None:
    answer = launch({"channel": "connect"}, extraArgs=["--poll-interval", "5", "--client-id", "c"])

    assert "error" not in answer, answer


def test_the_launchers_flags_are_flags_of_the_settings_model_that_take_a_value() -> None:
    from adapter.setting_flags import setting_flags

    model = {setting.flag: setting for setting in setting_flags()}
    flags = drive({"mode": "flags"})
    for key, flag in flags["settingFlags"].items():
        assert flag in model, f"SETTING_FLAGS.{key} is {flag}, which servicenow-adapter run does not have"
        # argumentsFromSettings passes a value after every flag but a switch's: the two must agree.
        is_switch = key in flags["switchSettings"]
        assert (model[flag].kind == "switch") == is_switch, f"SETTING_FLAGS.{key}: {flag} switch={is_switch}"
    for flag in flags["reservedFlags"]:
        assert flag in model, f"RESERVED_FLAGS has {flag}, which servicenow-adapter run does not have"


def test_setting_value_the_runtime_would_expand_stops_the_launch_before_any_runtime_call() -> None:
    answer = launch(
        {"channel": "connect"}, extraArgs=["--instance-url", "https://%USERDOMAIN%.service-now.com"]
    )

    assert answer["error"]["code"] == "invalid-argument"
    assert '"%"' in answer["error"]["message"]
    assert answer["calls"] == []


def test_values_the_runtime_would_expand_or_split_are_rejected() -> None:
    answer = drive({"mode": "quote", "values": ["%APPDATA%", "$HOME", 'a"b', "line\nbreak", "tab\there"]})

    for result in answer["results"]:
        assert result["error"]["code"] == "invalid-argument", result
        assert result["error"]["name"] == "AdapterLaunchError"


@settings(max_examples=12, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=16), min_size=1, max_size=40))
def test_every_allowed_value_reaches_the_adapter_as_exactly_one_argument(values: list[str]) -> None:
    allowed = [value for value in values if not FORBIDDEN.intersection(value)]
    answer = drive({"mode": "quote", "values": allowed})

    for value, result in zip(allowed, answer["results"], strict=True):
        assert split_windows(result["quoted"]) == [value]
        if "\\\\" not in value:
            assert shlex.split(result["quoted"]) == [value]


def test_timeout_names_the_alias_channel_and_launched_process() -> None:
    answer = launch({"channel": "never"}, alias="servicenow-adapter", channelName="servicenow", timeoutMs=50)

    error = answer["error"]
    assert error["code"] == "timeout"
    assert "servicenow-adapter did not create channel servicenow within 50 ms" in error["message"]
    assert error["processUuid"] == "process-1"


def test_launch_refused_by_the_runtime_is_reported_with_its_reason() -> None:
    answer = launch({"launch": "reject", "channel": "never"}, timeoutMs=5000)

    error = answer["error"]
    assert error["code"] == "launch-failed"
    assert "Access denied to System.launchExternalProcess" in error["message"]


def test_adapter_exiting_before_its_channel_exists_is_reported_with_the_exit_code() -> None:
    answer = launch({"launch": "exit", "channel": "never"}, timeoutMs=5000)

    error = answer["error"]
    assert error["code"] == "exited"
    assert "exited with code 3" in error["message"]
    assert launched_with(answer) is not None


def test_runtime_without_a_port_is_reported_before_anything_is_launched() -> None:
    answer = launch({"channel": "connect", "port": 0})

    assert answer["error"]["code"] == "runtime-info"
    assert not [call for call in answer["calls"] if call["call"] == "launchExternalProcess"]


def test_refused_registration_is_reported_before_anything_is_launched() -> None:
    answer = launch({"channel": "connect", "register": "reject"})

    assert answer["error"]["code"] == "register-connection"
    assert "registration refused" in answer["error"]["message"]
    assert not [call for call in answer["calls"] if call["call"] == "launchExternalProcess"]


def test_adapter_settings_become_run_flags_with_lists_repeated() -> None:
    answer = drive(
        {
            "mode": "settings",
            "settings": {
                "instanceUrl": "https://acme.service-now.com",
                "clientId": "3f1c",
                "allowedApps": ["blotter", "crm-view"],
                "pollInterval": 5,
            },
        }
    )

    assert answer["args"] == [
        "--instance-url",
        "https://acme.service-now.com",
        "--client-id",
        "3f1c",
        "--allow-app",
        "blotter",
        "--allow-app",
        "crm-view",
        "--poll-interval",
        "5",
    ]


@pytest.mark.parametrize(("trust", "flags"), [(True, ["--trust-intent-source"]), (False, [])])
def test_intent_settings_become_run_flags_and_a_switch_is_the_flag_alone(
    trust: bool, flags: list[str]
) -> None:
    answer = drive({"mode": "settings", "settings": {"intents": "read-only", "trustIntentSource": trust}})

    assert answer["args"] == ["--intents", "read-only", *flags]


def test_a_switch_setting_must_be_a_boolean() -> None:
    answer = drive({"mode": "settings", "settings": {"trustIntentSource": "yes"}})

    assert answer["error"]["code"] == "invalid-argument"
    assert "trustIntentSource must be true or false" in answer["error"]["message"]


def test_unknown_adapter_setting_is_rejected_with_the_known_ones_listed() -> None:
    answer = drive({"mode": "settings", "settings": {"instanceURL": "https://acme.service-now.com"}})

    assert answer["error"]["code"] == "invalid-argument"
    assert "unknown adapter setting instanceURL" in answer["error"]["message"]
    assert "instanceUrl" in answer["error"]["message"]


def run_provider(manifest: dict[str, Any]) -> dict[str, Any]:
    uuid = manifest["platform"]["uuid"]
    return drive(
        {"mode": "provider", "fin": {"channel": "connect"}, "manifest": manifest, "platformUuid": uuid}
    )


def test_provider_starts_the_platform_then_launches_the_manifest_asset_with_its_settings() -> None:
    manifest = load_json(PLATFORM_MANIFEST)
    config = manifest["customSettings"]["servicenowAdapter"]

    answer = run_provider(manifest)

    assert [call["call"] for call in answer["calls"]][:2] == ["Platform.init", "getManifest"]
    options = launched_with(answer)
    args = split_windows(options["arguments"])
    assert options["alias"] == manifest["appAssets"][0]["alias"]
    assert args[args.index("--broker") + 1] == manifest["platform"]["uuid"]
    assert args[args.index("--channel") + 1] == config["channelName"]
    assert args[args.index("--instance-url") + 1] == config["settings"]["instanceUrl"]
    assert args[args.index("--client-id") + 1] == config["settings"]["clientId"]
    assert answer["console"] == [{"level": "info", "message": "servicenow-adapter: channel ready"}]


def test_provider_adds_the_platform_to_the_allowed_apps_so_that_it_can_reach_the_channel() -> None:
    manifest = load_json(PLATFORM_MANIFEST)
    manifest["customSettings"]["servicenowAdapter"]["settings"]["allowedApps"] = ["blotter"]

    args = split_windows(launched_with(run_provider(manifest))["arguments"])

    allowed = [args[i + 1] for i, arg in enumerate(args) if arg == "--allow-app"]
    assert allowed == ["blotter", manifest["platform"]["uuid"]]


def test_provider_reports_a_failed_launch_on_its_console() -> None:
    manifest = load_json(PLATFORM_MANIFEST)

    answer = drive(
        {
            "mode": "provider",
            "fin": {"launch": "reject", "channel": "never"},
            "manifest": manifest,
            "platformUuid": manifest["platform"]["uuid"],
        }
    )

    assert answer["console"] == [
        {
            "level": "error",
            "message": "servicenow-adapter: could not launch app asset servicenow-adapter: "
            "Access denied to System.launchExternalProcess",
        }
    ]
