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
