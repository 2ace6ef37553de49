"""The client library's declarations under TypeScript ``strict``: the example app compiles, misuse not."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TSC = ROOT / "tests" / "conformance" / "node_modules" / ".bin" / "tsc"
EXAMPLE = ROOT / "clients" / "js" / "example"


def tsc(project: Path) -> subprocess.CompletedProcess[str]:
    """``tsc --strict --noEmit -p project`` (TypeScript pinned in tests/conformance/package.json)."""
    if not TSC.exists():
        pytest.fail(f"{TSC} is missing: run `make npm`")
    return subprocess.run(
        [str(TSC), "--strict", "--noEmit", "-p", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_example_app_compiles_under_strict() -> None:
    result = tsc(EXAMPLE / "tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuse_of_the_library_does_not_compile(tmp_path: Path) -> None:
    # Positive control: the same compiler and settings refuse code that breaks the declarations.
    shutil.copy(EXAMPLE / "tsconfig.json", tmp_path / "tsconfig.json")
    library = (ROOT / "clients" / "js" / "index.js").as_posix()
    (tmp_path / "app.ts").write_text(
        f"""import {{ connect, type RecordChangedEvent }} from {json.dumps(library)};
export async function main(): Promise<void> {{
  const connection = await connect('https://acme.service-now.com', 'client-id');
  await connection.executeApiRequest(42);
  connection.onRecordChanged((event: RecordChangedEvent) => event.sys_id.toFixed());
  connection.onConnectionChanged((event) => event.state === 'gone');
}}
""",
        encoding="utf-8",
    )
    result = tsc(tmp_path / "tsconfig.json")
    assert result.returncode != 0
    assert "app.ts(4," in result.stdout  # executeApiRequest(42)
    assert "app.ts(5," in result.stdout  # toFixed on a string
    assert "app.ts(6," in result.stdout  # no such state


CHANNEL_API = ROOT / "docs" / "channel-api.md"
OPENFIN_GLOBAL = ROOT / "tests" / "conformance" / "node_modules" / "@openfin" / "core" / "fin.d.ts"
CHANNEL_TYPES = (ROOT / "docs" / "typescript" / "servicenow-adapter.js").as_posix()


def _channel_example() -> str:
    """The docs' example of the raw channel (the ```ts block after "The channel itself")."""
    after = CHANNEL_API.read_text(encoding="utf-8").split("The channel itself, without the library:", 1)[1]
    return after.split("```ts\n", 1)[1].split("```", 1)[0]


def _compile_window_code(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    """``code`` as a module of an OpenFin window (the global ``fin`` of @openfin/core's types)."""
    config = json.loads((EXAMPLE / "tsconfig.json").read_text(encoding="utf-8"))
    config["compilerOptions"]["skipLibCheck"] = True  # @openfin/core's own declarations are not ours to check
    config["compilerOptions"]["noUnusedLocals"] = False  # a snippet's results are for the reader
    (tmp_path / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "package.json").write_text('{"type": "module"}', encoding="utf-8")
    header = (
        f'/// <reference path="{OPENFIN_GLOBAL.as_posix()}" />\n'
        "declare function refreshRow(context: { type: string }): void;\n"
        "declare function showState(state: string): void;\n"
    )
    (tmp_path / "app.ts").write_text(
        header + code.replace("'./servicenow-adapter'", json.dumps(CHANNEL_TYPES)), encoding="utf-8"
    )
    return tsc(tmp_path / "tsconfig.json")


def test_the_docs_channel_example_compiles_under_strict(tmp_path: Path) -> None:
    result = _compile_window_code(tmp_path, _channel_example())
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_handler_typed_in_its_parameter_does_not_compile_under_strict(tmp_path: Path) -> None:
    # Why the docs narrow inside the handler: the runtime's handler type takes `unknown`.
    typed = _channel_example().replace(
        "(payload: unknown) => {\n  refreshRow((payload as RecordChangedEvent).context);",
        "(payload: RecordChangedEvent) => {\n  refreshRow(payload.context);",
    )
    assert typed != _channel_example()
    result = _compile_window_code(tmp_path, typed)
    assert result.returncode != 0
    assert "RecordChangedEvent" in result.stdout
