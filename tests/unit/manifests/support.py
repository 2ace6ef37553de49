"""Shared helpers for the manifest and packaging checks: paths and loading the build scripts by path."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "manifests"
PLATFORM_MANIFEST = MANIFESTS / "platform.fin.json"
APP_DIRECTORY = MANIFESTS / "appd.json"
PACKAGE = MANIFESTS / "package"
LAUNCH_MODULE = MANIFESTS / "provider" / "launch-adapter.mjs"
DRIVER = Path(__file__).with_name("launch_driver.mjs")
NODE = shutil.which("node")


def load_json(path: Path) -> dict[str, Any]:
    """Parse one JSON manifest."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_module(path: Path, name: str) -> ModuleType:
    """Import a script that is not part of a package (the build script, the bundle's entry script)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def drive(request: dict[str, Any]) -> dict[str, Any]:
    """Run launch_driver.mjs (launch-adapter.mjs with a fake ``fin``) on one request; return its answer."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(DRIVER), json.dumps(request)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
