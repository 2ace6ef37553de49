"""The adapter's configuration: command-line flags > environment (``SERVICENOW_ADAPTER_*``) > a TOML file.

``load_settings`` is the one way to build ``AdapterSettings``; every problem (a bad value, an unknown key in
the file, a missing file) becomes one ``SettingsError`` naming the setting and where it can be set.

``AdapterSettings`` is the one place a setting of ``run`` is defined. Adding one is a field here plus its
line in docs/configuration.md, nothing else:

* the field name ``foo_bar`` gives the flag ``--foo-bar``, the variable ``SERVICENOW_ADAPTER_FOO_BAR`` and the
  TOML key ``foo_bar``; ``adapter.setting_flags`` derives the flag (its type, choices, ``--help`` text with
  the default) from the field's annotation, ``default`` and ``description``, and ``adapter.cli`` adds it;
* the type decides the flag's form: ``bool`` is a switch (``--keyring``), ``list[str]`` a repeatable flag
  (mark it ``Annotated[list[str], NoDecode]`` and split it in ``_lists_from_text``), a ``Literal`` a choice,
  ``int``/``float`` a number, anything else a string;
* ``json_schema_extra`` may give ``metavar`` (what ``--help`` shows for the value; ``PORT`` also makes the
  flag refuse a number outside 0-65535 with one sentence) and ``default_doc`` (the default in words, when the
  value alone would mislead, e.g. ``None`` meaning "port discovery");
* a field added the earlier way (an ``add_argument`` line in ``adapter.cli``) must lose that line: the flag
  now comes from here, and argparse refuses the same flag twice;
* docs/configuration.md needs a table row with the flag, variable, TOML key and the same default text
  (tests/unit/test_settings.py checks every row against ``setting_flags()``), and the launcher's
  ``SETTING_FLAGS`` (manifests/provider/launch-adapter.mjs), when the manifest may set it, is checked too.
"""

from __future__ import annotations

import json
import re
import tomllib
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from adapter.search_types import DEFAULT_SEARCH_TYPES, SearchType
from adapter.servicenow.proxy import DIRECT, parse_proxy_url
from adapter.servicenow.query_values import is_table_name
from adapter.servicenow.trust import ssl_context

ENV_PREFIX = "SERVICENOW_ADAPTER_"
DEFAULT_CHANNEL = "servicenow"
DEFAULT_UUID = "servicenow-adapter"
DEFAULT_WATCH_TABLE = "sn_customerservice_case"
DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024
# Out-of-box tables that extend task: the instance keeps their records in task, with sys_class_name.
DEFAULT_TASK_TABLES = (
    "incident",
    "problem",
    "change_request",
    "change_task",
    "problem_task",
    "incident_task",
    "sc_request",
    "sc_req_item",
    "sc_task",
    "sn_customerservice_case",
)

LogLevel = Literal["debug", "info", "warning", "error"]
LOG_LEVELS: tuple[str, ...] = typing.get_args(LogLevel)
AuthorizerName = Literal["openfin-window", "browser", "http"]
"""How the user consents: the name of a ServiceNow authorizer (``adapter.servicenow.authorizers``)."""
TokenEndpointMode = Literal["standard", "scripted"]
"""``adapter.servicenow.oauth.TokenEndpointMode`` again, not imported: that would load authlib on every start
of the command line, emulators included (tests/unit/codebase/test_names.py ties the two)."""
IntentAccess = Literal["off", "read-only", "all"]
"""What an intent may do: nothing, only the intents that read (and show), or everything."""

MAX_SEARCH_TYPES = 12
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


def _search_types_from_text(value: object) -> object:
    # A flag gives one JSON object per --search-type; the environment a JSON list; TOML a list of tables.
    if isinstance(value, str):
        parsed = json.loads(value)
        value = parsed if isinstance(parsed, list) else [parsed]
    if isinstance(value, list | tuple):
        return [json.loads(item) if isinstance(item, str) else item for item in value]
    return value


class AdapterSettings(BaseSettings):
    """Everything ``servicenow-adapter run`` can be told; field names match the flags."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    runtime_address: str | None = Field(
        default=None,
        description="the runtime's websocket address, e.g. ws://127.0.0.1:9696; the launcher passes it",
        json_schema_extra={
            "metavar": "WS_URL",
            "default_doc": "port discovery, else `ws://127.0.0.1:9696`, with a warning",
        },
    )
    runtime_version: str | None = Field(
        default=None,
        pattern=r"^\S+$",
        description="the platform's pinned runtime version, which port discovery asks the RVM for",
        json_schema_extra={"metavar": "VERSION"},
    )
    security_realm: str | None = Field(
        default=None,
        pattern=r"^\S+$",
        description="the platform's security realm, if it runs in one",
        json_schema_extra={"metavar": "REALM"},
    )
    rvm_path: Path | None = Field(
        default=None,
        description="the OpenFin RVM for port discovery",
        json_schema_extra={"metavar": "PATH", "default_doc": "where OpenFin installs it"},
    )
    uuid: str = Field(default=DEFAULT_UUID, min_length=1, description="our identity on the runtime")
    token: SecretStr | None = Field(default=None, description="one-off token from registerExternalConnection")
    broker: str | None = Field(
        default=None,
        description="platform uuid whose interop broker we join",
        json_schema_extra={"metavar": "PLATFORM_UUID"},
    )
    channel: str = Field(default=DEFAULT_CHANNEL, min_length=1, description="the channel apps connect to")
    authorizer: AuthorizerName = Field(default="openfin-window", description="how the user consents")
    browser_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="loopback redirect port for --authorizer browser",
        json_schema_extra={"metavar": "PORT", "default_doc": "`0` (any free port)"},
    )
    token_endpoint: TokenEndpointMode = Field(
        default="standard", description="standard /oauth_token.do or the x_opfi_openfin scripted API"
    )
    instance_url: str | None = Field(
        default=None, description="instance used when an app names none", json_schema_extra={"metavar": "URL"}
    )
    client_id: str | None = Field(
        default=None,
        description="OAuth client id used when an app names none",
        json_schema_extra={"metavar": "ID"},
    )
    allow_app: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="app uuid allowed on the channel (repeatable)",
        json_schema_extra={"metavar": "UUID", "default_doc": "every app, with a warning"},
    )
    poll_interval: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="seconds between change polls",
        json_schema_extra={"metavar": "SECONDS"},
    )
    intents: IntentAccess | None = Field(
        default=None,
        description=("what intents whose raiser cannot be identified may do: off, read-only or all"),
        json_schema_extra={"default_doc": "`all` without `--allow-app`, `off` with it"},
    )
    trust_intent_source: bool = Field(
        default=False,
        description=(
            "the platform's broker sets each intent's contextMetadata.source to the raiser, so "
            "--allow-app applies to intents by source.appId"
        ),
    )
    watch_table: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [DEFAULT_WATCH_TABLE],
        description="table whose changes are broadcast (repeatable)",
        json_schema_extra={"metavar": "TABLE"},
    )
    task_table: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_TASK_TABLES),
        description=(
            "table known to extend task (repeatable): two or more of them watched are polled as one query "
            "on task"
        ),
        json_schema_extra={"metavar": "TABLE"},
    )
    context_group: str | None = Field(
        default=None,
        description="user channel that also gets case contexts",
        json_schema_extra={"metavar": "ID"},
    )
    keyring: bool = Field(default=False, description="keep the refresh token in the OS keyring")
    request_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="seconds per ServiceNow request",
        json_schema_extra={"metavar": "SECONDS"},
    )
    reconnect_grace: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description="seconds to wait for a runtime that went away before exiting",
        json_schema_extra={"metavar": "SECONDS"},
    )
    sign_out_grace: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description=(
            "seconds a sign-in outlives its last app when the apps went away without disconnecting "
            "(windows closed, the runtime restarted); 0 signs out at once"
        ),
        json_schema_extra={"metavar": "SECONDS"},
    )
    search_type: Annotated[tuple[SearchType, ...], NoDecode] = Field(
        default=DEFAULT_SEARCH_TYPES,
        max_length=MAX_SEARCH_TYPES,
        description="a record type servicenow.search looks in, as JSON (repeatable)",
        json_schema_extra={
            "metavar": "JSON",
            "default_doc": "Contact, Account, Case, Task, Incident (below)",
        },
    )
    case_notifications: bool = Field(
        default=False,
        description="dispatch servicenow.caseNotification when a case is assigned to the signed-in user "
        "or its customer comments on it",
        json_schema_extra={"default_doc": "off (the Workspace flavour turns it on)"},
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM file of CAs trusted besides the OS trust store (e.g. a TLS-inspecting proxy's CA)",
        json_schema_extra={"metavar": "PEM", "default_doc": "— (the OS trust store alone)"},
    )
    proxy: SecretStr | None = Field(
        default=None,
        description=(
            "http://[user:password@]host:port of the forward proxy, or 'direct'; unset: HTTPS_PROXY / "
            "HTTP_PROXY / NO_PROXY, else the system's proxy settings (loopback is never proxied)"
        ),
        json_schema_extra={"metavar": "URL", "default_doc": "the system's settings"},
    )
    allow_path: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="path prefixes servicenow.request may reach besides /api/ (e.g. /sys_attachment.do)",
        json_schema_extra={"metavar": "PREFIX", "default_doc": "— (only `/api/`)"},
    )
    max_request_body: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        le=1024**3,
        description="largest request body sent, in bytes",
        json_schema_extra={
            "metavar": "BYTES",
            "default_doc": "`10485760` (10 MiB, the instance's own default cap)",
        },
    )
    max_response_body: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        le=1024**3,
        description="largest response body accepted after decompression, in bytes (stops reading there)",
        json_schema_extra={"metavar": "BYTES", "default_doc": "`33554432` (32 MiB)"},
    )
    app_event_backlog: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description=(
            "events that may wait per app; an app that falls behind gets each record's latest change, "
            "and past this many the oldest waiting event is dropped"
        ),
        json_schema_extra={"metavar": "EVENTS"},
    )
    app_requests_in_flight: int = Field(
        default=16,
        ge=1,
        le=1000,
        description="servicenow.request calls of one app running at once",
        json_schema_extra={"metavar": "REQUESTS"},
    )
    app_request_backlog: int = Field(
        default=1000,
        ge=0,
        le=100_000,
        description="requests of one app waiting for a turn; more are refused with TooManyRequestsError",
        json_schema_extra={"metavar": "REQUESTS"},
    )
    change_read_window: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description=(
            "seconds after a change is broadcast in which identical reads of the changed record share one "
            "answer fetched after the change; 0 shares only reads in flight together"
        ),
        json_schema_extra={"metavar": "SECONDS"},
    )
    max_frame_bytes: int = Field(
        default=DEFAULT_MAX_FRAME_BYTES,
        ge=64 * 1024,
        le=1024 * 1024 * 1024,
        description=(
            "largest frame the adapter sends to the runtime and largest message it handles, in bytes; "
            "a larger reply is a ReplyTooLargeError telling the app to page"
        ),
        json_schema_extra={"metavar": "BYTES", "default_doc": "`8388608` (8 MiB)"},
    )
    max_json_depth: int = Field(
        default=64,
        ge=8,
        le=250,
        description="deepest JSON nesting of a frame the adapter handles (the frame's own object is level 1)",
        json_schema_extra={"metavar": "LEVELS"},
    )
    log_level: LogLevel = Field(default="info", description="how much to log")
    log_json: bool = Field(default=False, description="log JSON lines instead of console text")

    @field_validator("allow_app", "watch_table", "task_table", "allow_path", mode="before")
    @classmethod
    def _lists_from_text(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("search_type", mode="before")
    @classmethod
    def _search_types(cls, value: object) -> object:
        try:
            return _search_types_from_text(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"each search type must be a JSON object: {exc}") from None

    @field_validator("search_type")
    @classmethod
    def _unique_types(cls, value: tuple[SearchType, ...]) -> tuple[SearchType, ...]:
        names = [item.name for item in value]
        if len(set(names)) != len(names):
            raise ValueError("search type names must be unique")
        return value

    @field_validator("runtime_address")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^wss?://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be a ws:// or wss:// address such as ws://127.0.0.1:9696")
        if value is not None:
            try:
                urlsplit(value).port  # noqa: B018 - raises for a port out of range or not a number
            except ValueError:
                raise ValueError("the port must be a number from 1 to 65535") from None
        return value

    @field_validator("rvm_path")
    @classmethod
    def _absolute_path(cls, value: Path | None) -> Path | None:
        # Path("./rvm") is "rvm", which starting a process would look up on PATH: anchor it to this folder.
        return value.expanduser().absolute() if value is not None else None

    @field_validator("instance_url")
    @classmethod
    def _https_origin(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s?#@]+/?$", value):
            raise ValueError("must be an instance origin such as https://example.service-now.com")
        return value.rstrip("/") if value else value

    @field_validator("watch_table", "task_table")
    @classmethod
    def _table_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not is_table_name(name)]
        if bad:
            raise ValueError(f"not a table name: {', '.join(bad)}")
        return value

    @field_validator("allow_path")
    @classmethod
    def _path_prefixes(cls, value: list[str]) -> list[str]:
        bad = [
            item for item in value if not re.match(r"^/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$", item) or "//" in item
        ]
        if bad:
            raise ValueError(f"not a path prefix starting with '/': {', '.join(bad)}")
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Secret: the URL may carry the proxy password. A ProxySettingError is a ValueError, reported as
        # this setting's problem (its message never repeats the URL).
        if value is not None and value.get_secret_value().strip().lower() != DIRECT:
            parse_proxy_url(value.get_secret_value())
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _readable_bundle(cls, value: Path | None) -> Path | None:
        if value is not None:
            if not value.is_file():
                raise ValueError(f"no such file: {value}")
            ssl_context(value)  # TrustSettingError (a ValueError) when it holds no usable certificate
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
