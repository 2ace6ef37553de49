"""The Windows app-asset build: what can be checked without Windows and PyInstaller."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from adapter import __version__
from tests.unit.manifests.support import PACKAGE, PLATFORM_MANIFEST, ROOT, load_json, load_module

BUILD_SCRIPT = PACKAGE / "build.py"
ENTRY_SCRIPT = PACKAGE / "entry.py"
SPEC = PACKAGE / "servicenow-adapter.spec"


def build_layout_only(dist: Path) -> Path:
    done = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--layout-only", "--dist", str(dist)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def asset() -> dict[str, str]:
    assets = load_json(PLATFORM_MANIFEST)["appAssets"]
    entry: dict[str, str] = assets[0]
    return entry


def spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def spec_excludes() -> list[str]:
    for node in spec_tree().body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "EXCLUDES" for target in node.targets
        ):
            excludes: list[str] = ast.literal_eval(node.value)
            return excludes
    raise AssertionError("the spec has no EXCLUDES list")


def test_asset_zip_has_the_manifest_target_at_its_root(tmp_path: Path) -> None:
    built = build_layout_only(tmp_path)

    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        info = json.loads(archive.read("BUILD-INFO.json"))
    assert asset()["target"] in names
    assert info["target"] == asset()["target"]
    assert info["version"] == asset()["version"] == __version__


def test_asset_zip_is_byte_identical_when_built_twice(tmp_path: Path) -> None:
    first = build_layout_only(tmp_path / "one").read_bytes()
    second = build_layout_only(tmp_path / "two").read_bytes()

    assert first == second


def test_asset_zip_comes_with_its_sha256(tmp_path: Path) -> None:
    built = build_layout_only(tmp_path)

    digest = hashlib.sha256(built.read_bytes()).hexdigest()
    assert built.with_name(built.name + ".sha256").read_text() == f"{digest}  {built.name}\n"


def test_layout_only_zip_is_named_so_that_it_cannot_be_taken_for_the_asset(tmp_path: Path) -> None:
    built = build_layout_only(tmp_path)

    with zipfile.ZipFile(built) as archive:
        assert "_internal/LAYOUT-ONLY.txt" in archive.namelist()
    assert not asset()["src"].endswith("/" + built.name)


def test_real_build_zip_name_is_the_one_the_manifest_downloads() -> None:
    build = load_module(BUILD_SCRIPT, "servicenow_adapter_build")

    assert asset()["src"].endswith("/" + build.zip_name(__version__, layout_only=False))


@pytest.mark.skipif(sys.platform == "win32", reason="the real build runs on Windows")
def test_real_build_off_windows_stops_with_a_clear_reason(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--dist", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert "build the Windows asset on Windows" in done.stderr
    assert not list(tmp_path.iterdir())


def test_bundle_entry_script_runs_the_adapter_command_line() -> None:
    done = subprocess.run(
        [sys.executable, str(ENTRY_SCRIPT), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"servicenow-adapter {__version__}"


def test_spec_bundles_a_windowed_target_and_a_console_twin_from_the_entry_script() -> None:
    text = SPEC.read_text(encoding="utf-8")
    calls = [
        node
        for node in ast.walk(spec_tree())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    ]
    called = {node.func.id for node in calls if isinstance(node.func, ast.Name)}

    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= called
    assert 'ENTRY = str(Path(SPECPATH) / "entry.py")' in text
    assert "windowed = executable(NAME, console=False)" in text
    assert 'console = executable(NAME + "-console", console=True)' in text
    assert 'NAME = "servicenow-adapter"' in text


def test_layout_has_both_executables_beside_the_shared_internal_folder(tmp_path: Path) -> None:
    built = build_layout_only(tmp_path)

    with zipfile.ZipFile(built) as archive:
        top_level = {name.split("/", 1)[0] for name in archive.namelist()}
    assert top_level == {
        "servicenow-adapter.exe",
        "servicenow-adapter-console.exe",
        "_internal",
        "BUILD-INFO.json",
    }


def test_adapter_code_imports_nothing_the_bundle_leaves_out() -> None:
    excluded = spec_excludes()
    offending: list[str] = []
    for path in (ROOT / "adapter").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offending += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if any(name == item or name.startswith(item + ".") for item in excluded)
            ]

    assert offending == []


def test_windowed_bundle_logs_to_a_file_under_localappdata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = load_module(ENTRY_SCRIPT, "servicenow_adapter_entry")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)

    entry.attach_streams()
    stderr, stdout = sys.stderr, sys.stdout
    assert isinstance(stderr, io.TextIOWrapper)
    assert isinstance(stdout, io.TextIOWrapper)
    stderr.write("log line\n")
    stderr.close()
    stdout.close()

    assert (tmp_path / "servicenow-adapter" / "logs" / "adapter.log").read_text() == "log line\n"


def test_build_info_lists_the_bundled_packages_against_their_pins(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_layout_only(tmp_path)) as archive:
        info = json.loads(archive.read("BUILD-INFO.json"))
    names = {name.lower() for name in info["packages"]}
    # What the bundle holds: the adapter's dependencies with the emulators and keyring extras...
    assert {"websockets", "httpx", "pydantic", "starlette", "uvicorn", "keyring"} <= names
    # ...not the developer tools of the venv that built it.
    assert not names & {"pytest", "mypy", "ruff", "matplotlib", "hypothesis", "pip"}
    assert info["constraints"] == {"file": "constraints.txt", "mismatched": {}, "unpinned": []}


def test_a_package_that_differs_from_its_pin_is_reported(tmp_path: Path) -> None:
    build = load_module(BUILD_SCRIPT, "build_script")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# pins\nwebsockets==1.0\nHTTPX==0.28.1\n", encoding="utf-8")
    pins = build.pinned_versions(constraints)

    check = build.constraint_check({"websockets": "17.4", "httpx": "0.28.1", "extra-thing": "2"}, pins)

    assert check["mismatched"] == {"websockets": {"installed": "17.4", "pinned": "1.0"}}
    assert check["unpinned"] == ["extra-thing"]


def test_the_bundled_demo_starts_its_processes_through_the_bundle_executable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adapter.demo import child_command

    # Not frozen: the interpreter runs the package.
    assert child_command("emulate", "runtime") == [sys.executable, "-m", "adapter", "emulate", "runtime"]
    # In a PyInstaller bundle sys.executable is servicenow-adapter(-console).exe: it takes the command itself.
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert child_command("emulate", "runtime") == [sys.executable, "emulate", "runtime"]
