"""Every setting of ``run`` as a command-line flag, derived from the fields of ``AdapterSettings``.

The field's annotation gives the flag's form (a ``bool`` is a switch, a ``list`` repeatable, a ``Literal`` a
choice, ``int``/``float`` a number), its ``description`` and default the ``--help`` line, and
``json_schema_extra`` the ``metavar`` and the default as the docs word it. ``adapter.cli`` adds the flags;
tests/unit/test_settings.py checks docs/configuration.md against them.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Literal

from adapter.settings import ENV_PREFIX, AdapterSettings

FlagKind = Literal["switch", "list", "choice", "number", "text"]
"""How a flag takes its value: a switch, repeated, one of a few, a number, or text."""


@dataclass(frozen=True)
class SettingFlag:
    """How one field of ``AdapterSettings`` is given on the command line, in the environment and in TOML."""

    name: str
    """The field name, which is also the TOML key."""
    flag: str
    env: str
    kind: FlagKind
    value_type: type[int] | type[float] | type[str]
    choices: tuple[str, ...]
    metavar: str | None
    description: str
    default_doc: str
    """The default as docs/configuration.md states it (Markdown)."""

    @property
    def help(self) -> str:
        """The ``--help`` line: the description and the default."""
        default = "not set" if self.default_doc == "—" else self.default_doc.replace("`", "")
        return f"{self.description} (default: {default})"


def _default_doc(default: object) -> str:
    if default is None:
        return "—"
    if default is False:
        return "off"
    if isinstance(default, list):
        return ", ".join(f"`{item}`" for item in default) or "—"
    if isinstance(default, float) and default.is_integer():
        return f"`{int(default)}`"
    return f"`{default}`"


def _flag_form(annotation: object) -> tuple[FlagKind, type[int] | type[float] | type[str], tuple[str, ...]]:
    # Optional[X] is X as a flag: leaving the flag out is what gives None.
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return "switch", str, ()
    if origin in (list, tuple):
        return "list", str, ()
    if origin is Literal:
        return "choice", str, tuple(str(arg) for arg in typing.get_args(annotation))
    if annotation is int:
        return "number", int, ()
    if annotation is float:
        return "number", float, ()
    return "text", str, ()


def setting_flags() -> list[SettingFlag]:
    """Every setting of ``run`` as a flag, in the model's order; the CLI and the docs test use it."""
    flags = []
    for name, field in AdapterSettings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        kind, value_type, choices = _flag_form(field.annotation)
        default = field.get_default(call_default_factory=True)
        metavar = extra.get("metavar")
        default_doc = extra.get("default_doc")
        flags.append(
            SettingFlag(
                name=name,
                flag="--" + name.replace("_", "-"),
                env=ENV_PREFIX + name.upper(),
                kind=kind,
                value_type=value_type,
                choices=choices,
                metavar=metavar if isinstance(metavar, str) else None,
                description=field.description or name.replace("_", " "),
                default_doc=default_doc if isinstance(default_doc, str) else _default_doc(default),
            )
        )
    return flags
