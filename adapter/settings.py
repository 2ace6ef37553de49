"""The adapter's configuration: command-line flags > environment (``SERVICENOW_ADAPTER_*``) > a TOML file.

``load_settings`` is the one way to build ``AdapterSettings``; every problem (a bad value, an unknown key in
the file, a missing file) becomes one ``SettingsError`` naming the setting and where it can be set.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "SERVICENOW_ADAPTER_"
DEFAULT_CHANNEL = "servicenow"
DEFAULT_UUID = "servicenow-adapter"
DEFAULT_WATCH_TABLE = "sn_customerservice_case"
DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024

Authorizer = Literal["openfin-window", "browser", "http"]
TokenEndpoint = Literal["standard", "scripted"]

_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("servicenow_adapter_config_file", default=None)


class SettingsError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


def _split_list(value: object) -> object:
    # Environment variables carry lists as "a,b" (or JSON); flags and TOML already give lists.
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return tomllib.loads(f"v = {text}")["v"]
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class AdapterSettings(BaseSettings):
    """Everything ``servicenow-adapter run`` can be told; field names match the flags."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    runtime_address: str | None = Field(
        default=None, description="the runtime's websocket address, e.g. ws://127.0.0.1:9696"
    )
    runtime_version: str | None = Field(
        default=None,
        pattern=r"^\S+$",
        description="the platform's pinned runtime version, which port discovery asks the RVM for",
    )
    security_realm: str | None = Field(
        default=None, pattern=r"^\S+$", description="the platform's security realm, if it runs in one"
    )
    rvm_path: Path | None = Field(
        default=None, description="the OpenFin RVM for port discovery (default: where OpenFin installs it)"
    )
    uuid: str = Field(default=DEFAULT_UUID, min_length=1, description="our identity on the runtime")
    token: SecretStr | None = Field(default=None, description="one-off token from registerExternalConnection")
    broker: str | None = Field(default=None, description="platform uuid whose interop broker we join")
    channel: str = Field(default=DEFAULT_CHANNEL, min_length=1, description="the channel apps connect to")
    authorizer: Authorizer = Field(default="openfin-window", description="how the user consents")
    browser_port: int = Field(
        default=0, ge=0, le=65535, description="loopback redirect port for --authorizer browser (0: any free)"
    )
    token_endpoint: TokenEndpoint = Field(
        default="standard", description="standard /oauth_token.do or the x_opfi_openfin scripted API"
    )
    instance_url: str | None = Field(default=None, description="instance used when an app names none")
    client_id: str | None = Field(default=None, description="OAuth client id used when an app names none")
    allow_app: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="app uuids allowed on the channel (empty: every app)"
    )
    poll_interval: float = Field(default=15.0, gt=0, le=3600, description="seconds between change polls")
    watch_table: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [DEFAULT_WATCH_TABLE], description="tables whose changes are broadcast"
    )
    context_group: str | None = Field(default=None, description="user channel that also gets case contexts")
    keyring: bool = Field(default=False, description="keep the refresh token in the OS keyring")
    request_timeout: float = Field(default=30.0, gt=0, le=600, description="seconds per ServiceNow request")
    reconnect_grace: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description="seconds to wait for a runtime that went away before exiting",
    )
    sign_out_grace: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description=(
            "seconds a sign-in outlives its last app when the apps went away without disconnecting "
            "(windows closed, the runtime restarted); 0 signs out at once"
        ),
    )
    app_event_backlog: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description=(
            "events that may wait per app; an app that falls behind gets each record's latest change, "
            "and past this many the oldest waiting event is dropped"
        ),
    )
    app_requests_in_flight: int = Field(
        default=16, ge=1, le=1000, description="servicenow.request calls of one app running at once"
    )
    app_request_backlog: int = Field(
        default=1000,
        ge=0,
        le=100_000,
        description="requests of one app waiting for a turn; more are refused with TooManyRequestsError",
    )
    max_frame_bytes: int = Field(
        default=DEFAULT_MAX_FRAME_BYTES,
        ge=64 * 1024,
        le=1024 * 1024 * 1024,
        description=(
            "largest frame the adapter sends to the runtime and largest message it handles, in bytes; "
            "a larger reply is a ReplyTooLargeError telling the app to page"
        ),
    )
    max_json_depth: int = Field(
        default=64,
        ge=8,
        le=250,
        description="deepest JSON nesting of a frame the adapter handles (the frame's own object is level 1)",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = False

    @field_validator("allow_app", "watch_table", mode="before")
    @classmethod
    def _lists_from_text(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("runtime_address")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^wss?://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be a ws:// or wss:// address such as ws://127.0.0.1:9696")
        return value

    @field_validator("instance_url")
    @classmethod
    def _https_origin(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s?#@]+/?$", value):
            raise ValueError("must be an instance origin such as https://example.service-now.com")
        return value.rstrip("/") if value else value

    @field_validator("watch_table")
    @classmethod
    def _table_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _TABLE_NAME.match(name)]
        if bad:
            raise ValueError(f"not a table name: {', '.join(bad)}")
        return value

    @field_validator("allow_app")
    @classmethod
    def _app_ids(cls, value: list[str]) -> list[str]:
        if any(not item.strip() for item in value):
            raise ValueError("app uuids must not be empty")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (passed as init values) win over the environment, which wins over the TOML file."""
        config_file = _CONFIG_FILE.get()
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if config_file is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=config_file),)
        return sources


def _describe(error: Mapping[str, Any]) -> str:
    field = ".".join(str(part) for part in error.get("loc", ())) or "settings"
    flag = "--" + field.split(".")[0].replace("_", "-")
    env = ENV_PREFIX + field.split(".")[0].upper()
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        return f"unknown setting {field!r}"
    return f"{field} ({flag} / {env}): {message}"


def load_settings(flags: Mapping[str, Any] | None = None, config_file: Path | None = None) -> AdapterSettings:
    """Build the settings from flags (``None`` values are ignored), the environment and ``config_file``."""
    if config_file is not None:
        if not config_file.is_file():
            raise SettingsError(f"config file not found: {config_file}")
        try:
            tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"config file {config_file} is not valid TOML: {exc}") from exc
    given = {key: value for key, value in (flags or {}).items() if value is not None}
    token = _CONFIG_FILE.set(config_file)
    try:
        return AdapterSettings(**given)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from None
    finally:
        _CONFIG_FILE.reset(token)
