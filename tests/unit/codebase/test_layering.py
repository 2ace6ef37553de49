"""The rooms import one way: the bridge joins the OpenFin and ServiceNow rooms, which know nothing of each
other, and nothing in the product depends on the emulators (test tools that stand in for the real peers).

Read from the source (every import, also inside functions and ``TYPE_CHECKING`` blocks), so a lazy import
cannot slip past. The rules are listed in docs/contributing.md.
"""

from __future__ import annotations

import pytest

from tests.unit.codebase.source import Module, adapter_modules, imported_modules, parse, within

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "adapter.openfin": ("adapter.servicenow", "adapter.bridge", "adapter.emulators"),
    "adapter.servicenow": ("adapter.openfin", "adapter.bridge", "adapter.emulators"),
    "adapter.bridge": ("adapter.emulators",),
    "adapter.emulators": ("adapter.bridge",),
}
"""Room -> the packages no module of it may import."""


def violations(module: Module) -> list[str]:
    """``module``'s imports that its room forbids, as readable lines."""
    found: list[str] = []
    for room, forbidden in FORBIDDEN.items():
        if not within(module.name, room):
            continue
        for imported in sorted(imported_modules(module)):
            found.extend(
                f"{module.relative} imports {imported} ({room} may not use {package})"
                for package in forbidden
                if within(imported, package)
            )
    return found


def test_no_room_imports_what_it_may_not() -> None:
    problems = [line for module in adapter_modules() for line in violations(module)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_every_room_has_modules_to_check(room: str) -> None:
    # Positive control: a renamed or moved room would otherwise make its rule pass for nothing.
    assert any(within(module.name, room) for module in adapter_modules())


def test_the_scan_sees_real_imports_across_rooms() -> None:
    # Positive control on the real code: the bridge's service uses both rooms, and the scan sees it.
    service = next(module for module in adapter_modules() if module.name == "adapter.bridge.service")
    imports = imported_modules(service)
    assert any(within(name, "adapter.openfin") for name in imports)
    assert any(within(name, "adapter.servicenow") for name in imports)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("adapter.openfin.example", "from adapter.servicenow.errors import ApiError\n"),
        ("adapter.openfin.example", "import adapter.bridge.messages\n"),
        ("adapter.openfin.example", "def later() -> None:\n    from adapter.bridge import service\n"),
        (
            "adapter.openfin.example",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import adapter.servicenow\n",
        ),
        ("adapter.openfin.example", "from ..servicenow import manager\n"),
        ("adapter.openfin.sub.example", "from ...bridge.messages import ConnectionState\n"),
        ("adapter.servicenow.example", "from adapter.openfin import RuntimeConnection\n"),
        ("adapter.servicenow.example", "from adapter import bridge\n"),
        ("adapter.bridge.example", "from adapter.emulators.runtime.runtime import Runtime\n"),
        ("adapter.emulators.runtime.example", "from adapter.bridge.service import AdapterService\n"),
        ("adapter.emulators.servicenow.example", "from ...bridge import service\n"),
    ],
)
def test_a_forbidden_import_is_caught(name: str, text: str) -> None:
    assert violations(parse(text, name))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("adapter.openfin.example", "from adapter.logging import register_secret\n"),
        ("adapter.openfin.example", "from .frames import Identity\n"),
        ("adapter.servicenow.example", "from adapter import jsoncodec\n"),
        ("adapter.bridge.example", "from adapter.openfin import ChannelProvider\n"),
        (
            "adapter.emulators.runtime.example",
            "from adapter.openfin.interop import broker_channel_name\n",
        ),
        ("adapter.emulators.servicenow.example", "from .schema import Field\n"),
    ],
)
def test_an_allowed_import_passes(name: str, text: str) -> None:
    assert not violations(parse(text, name))
