"""Configuration: flags beat the environment, which beats the TOML file; bad settings say what is wrong."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from adapter.setting_flags import setting_flags
from adapter.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SERVICENOW_ADAPTER_"):
            monkeypatch.delenv(name)


def test_defaults_match_the_documented_command_line() -> None:
    settings = load_settings()
    assert settings.uuid == "servicenow-adapter"
    assert settings.channel == "servicenow"
    assert settings.poll_interval == 15
    assert settings.watch_table == ["sn_customerservice_case"]
    assert settings.allow_app == []
    assert settings.authorizer == "openfin-window"


def test_flags_beat_environment_which_beats_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "adapter.toml"
    config.write_text('channel = "from-file"\npoll_interval = 5\nuuid = "file-uuid"\n', encoding="utf-8")
    monkeypatch.setenv("SERVICENOW_ADAPTER_POLL_INTERVAL", "7")
    monkeypatch.setenv("SERVICENOW_ADAPTER_UUID", "env-uuid")
    settings = load_settings({"uuid": "flag-uuid", "channel": None}, config_file=config)
    assert settings.uuid == "flag-uuid"
    assert settings.poll_interval == 7
    assert settings.channel == "from-file"


def test_lists_come_from_comma_separated_or_json_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICENOW_ADAPTER_ALLOW_APP", "crm-app, blotter")
    monkeypatch.setenv("SERVICENOW_ADAPTER_WATCH_TABLE", '["sn_customerservice_case", "incident"]')
    settings = load_settings()
    assert settings.allow_app == ["crm-app", "blotter"]
    assert settings.watch_table == ["sn_customerservice_case", "incident"]


def test_token_is_kept_secret_in_the_settings_repr() -> None:
    settings = load_settings({"token": "a-one-off-runtime-token"})
    assert "a-one-off-runtime-token" not in repr(settings)
    assert settings.token is not None
    assert settings.token.get_secret_value() == "a-one-off-runtime-token"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"poll_interval": 0}, "poll_interval (--poll-interval / SERVICENOW_ADAPTER_POLL_INTERVAL)"),
        ({"runtime_address": "http://127.0.0.1:9696"}, "ws:// or wss://"),
        ({"authorizer": "carrier-pigeon"}, "authorizer"),
        ({"watch_table": ["cases; drop table"]}, "not a table name"),
        ({"task_table": ["incident\n"]}, "not a table name"),
        ({"token_endpoint": "jwt"}, "token_endpoint (--token-endpoint"),
        ({"instance_url": "https://x.service-now.com/path"}, "instance origin"),
        ({"proxy": "socks5://proxy.corp.example:1080"}, "proxy (--proxy / SERVICENOW_ADAPTER_PROXY)"),
        ({"proxy": "https://proxy.corp.example"}, "give an http:// proxy"),
        ({"allow_path": ["sys_attachment.do"]}, "not a path prefix starting with '/'"),
        ({"allow_path": ["//evil.example/"]}, "not a path prefix"),
        ({"max_response_body": 10}, "max_response_body (--max-response-body"),
        ({"max_request_body": -1}, "max_request_body (--max-request-body"),
    ],
)
def test_bad_values_name_the_setting_and_how_to_set_it(flags: dict[str, object], expected: str) -> None:
    with pytest.raises(SettingsError, match="invalid settings") as raised:
        load_settings(flags)
    assert expected in str(raised.value)


def test_the_proxy_password_is_kept_secret_in_the_settings_repr_and_errors() -> None:
    settings = load_settings({"proxy": "http://alice:pa55word@proxy.corp.example:3128"})
    assert "pa55word" not in repr(settings)
    assert settings.proxy is not None
    assert settings.proxy.get_secret_value().startswith("http://alice:pa55word@")
    with pytest.raises(SettingsError) as refused:
        load_settings({"proxy": "socks5://alice:pa55word@proxy.corp.example:1080"})
    assert "pa55word" not in str(refused.value)


@pytest.mark.parametrize(
    "proxy",
    [
        "http://alice:pa55word/x@proxy.corp.example:3128",
        "http://alice:pa55word#x@proxy.corp.example:3128",
        "http://alice:pa55word?x@proxy.corp.example:3128",
    ],
)
def test_a_password_that_splits_the_proxy_url_is_not_repeated_in_the_error(proxy: str) -> None:
    """An unencoded '/', '#' or '?' ends the authority early, so the password is read as the port."""
    with pytest.raises(SettingsError, match=r"proxy \(--proxy") as refused:
        load_settings({"proxy": proxy})
    assert "pa55word" not in str(refused.value)
    assert "percent-encode" in str(refused.value)


def test_unknown_key_in_the_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "adapter.toml"
    config.write_text('chanel = "typo"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown setting 'chanel'"):
        load_settings(config_file=config)


def test_missing_or_broken_config_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="config file not found"):
        load_settings(config_file=tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("channel = [", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(config_file=broken)


def _documented_rows() -> dict[str, list[str]]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if line.startswith("| `--") and len(cells) == 5:
            rows[cells[0].strip("`")] = cells
    return rows


def test_every_setting_is_documented_with_its_flag_variable_key_and_default() -> None:
    rows = _documented_rows()
    for setting in setting_flags():
        assert setting.flag in rows, f"docs/configuration.md has no row for {setting.flag}"
        _flag, env, key, default, meaning = rows[setting.flag]
        assert env == f"`{setting.env}`"
        assert key == f"`{setting.name}`"
        assert default == setting.default_doc, (
            f"{setting.flag}: docs say {default}, the model {setting.default_doc}"
        )
        assert meaning


def test_the_docs_table_lists_no_setting_the_model_lacks() -> None:
    flags = {setting.flag for setting in setting_flags()}
    assert set(_documented_rows()) <= flags


def test_every_setting_is_a_run_flag_whose_help_shows_its_default() -> None:
    from adapter.cli import build_parser

    parser = build_parser()
    run = next(
        action.choices["run"] for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    helps = {option: action.help for action in run._actions for option in action.option_strings}
    for setting in setting_flags():
        assert setting.flag in helps
        assert "(default: " in (helps[setting.flag] or "")


def test_flags_and_the_environment_give_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapter.cli import build_parser

    args = build_parser().parse_args(
        [
            "run",
            "--poll-interval",
            "5",
            "--allow-app",
            "a",
            "--allow-app",
            "b",
            "--keyring",
            "--browser-port",
            "8",
        ]
    )
    flags = {key: value for key, value in vars(args).items() if key not in ("command", "config")}
    from_flags = load_settings(flags)
    monkeypatch.setenv("SERVICENOW_ADAPTER_POLL_INTERVAL", "5")
    monkeypatch.setenv("SERVICENOW_ADAPTER_ALLOW_APP", "a,b")
    monkeypatch.setenv("SERVICENOW_ADAPTER_KEYRING", "true")
    monkeypatch.setenv("SERVICENOW_ADAPTER_BROWSER_PORT", "8")
    assert load_settings() == from_flags
    assert from_flags.allow_app == ["a", "b"]
    assert from_flags.keyring is True


def test_rvm_path_keeps_its_folder_so_it_is_never_looked_up_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"rvm_path": "./OpenFinRVM"})
    assert settings.rvm_path == tmp_path / "OpenFinRVM"
