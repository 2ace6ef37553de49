"""One name per concept: no module renames an adapter name on import, and the wire's names agree with the
rooms' where they are the same concept.

A name imported ``as`` something else means two concepts share a name somewhere (or one concept has two): the
fix is a better name at the definition, not an alias at each use. Aliases of standard-library and third-party
names stay allowed: they rename a foreign name where it would shadow our own vocabulary (``uuid`` is a
parameter throughout the OpenFin protocol, the runtime emulator has its own ``Frame`` and ``serve``), and a
foreign name cannot be changed where it is defined. The rules are listed in docs/contributing.md.
"""

from __future__ import annotations

import ast
from typing import get_args

import pytest

from adapter import settings
from adapter.bridge import messages
from adapter.servicenow import connection, oauth
from tests.unit.codebase.source import Module, adapter_modules, parse, within


def _adapter_aliases(module: Module) -> list[tuple[str, str, ast.alias]]:
    """``(imported from, original name, alias node)`` for every aliased import of an adapter name."""
    found: list[tuple[str, str, ast.alias]] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found.extend(
                (alias.name, alias.name, alias)
                for alias in node.names
                if alias.asname and within(alias.name, "adapter")
            )
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level or within(source, "adapter"):
                found.extend((source, alias.name, alias) for alias in node.names if alias.asname)
    return found


def alias_problems(module: Module) -> list[str]:
    """Aliased adapter names in ``module``."""
    return [
        f"{module.relative}:{alias.lineno} imports {original} from {source} as {alias.asname}"
        for source, original, alias in _adapter_aliases(module)
    ]


def test_no_adapter_name_is_imported_under_another_name() -> None:
    problems = [line for module in adapter_modules() for line in alias_problems(module)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "text",
    [
        "from adapter.servicenow.connection import ConnectionState as ServiceNowState\n",
        "import adapter.bridge.messages as wire\n",
        "from adapter.emulators.runtime import server as runtime_server\n",
        "from .frames import Frame as RuntimeFrame\n",
        "def later() -> None:\n    from adapter.openfin.delivery import DeliveryCounts as Counts\n",
    ],
)
def test_an_aliased_adapter_name_is_caught(text: str) -> None:
    assert alias_problems(parse(text, "adapter.bridge.example"))


@pytest.mark.parametrize(
    "text",
    [
        "import uuid as uuidlib\n",
        "from websockets.frames import Frame as WebSocketFrame\n",
        "from adapter.openfin import delivery\n",
        "import adapter.openfin.frames\n",
    ],
)
def test_foreign_aliases_and_plain_imports_pass(text: str) -> None:
    assert not alias_problems(parse(text, "adapter.bridge.example"))


def test_the_wire_connection_states_are_the_servicenow_rooms() -> None:
    # Same concept, same name: the Literal apps see on the wire and the enum the ServiceNow room keeps.
    wire = get_args(messages.ConnectionState)
    assert wire  # positive control: the Literal has values to compare
    assert sorted(wire) == sorted(state.value for state in connection.ConnectionState)


def test_the_settings_token_endpoint_modes_are_the_oauth_clients() -> None:
    # One concept, one name, defined twice only to keep authlib out of the command line's start.
    modes = get_args(settings.TokenEndpointMode)
    assert modes  # positive control
    assert modes == get_args(oauth.TokenEndpointMode)
