"""Build the adapter's Windows app asset, ``dist/servicenow-adapter-<version>.zip``.

    python manifests/package/build.py                 # on Windows, with PyInstaller installed
    python manifests/package/build.py --layout-only   # anywhere: the same zip layout, placeholder executable

The zip holds the PyInstaller one-folder bundle at its root: ``servicenow-adapter.exe`` (windowed, the
manifest's appAssets ``target``), ``servicenow-adapter-console.exe`` (the same program for people at a
console) and their shared ``_internal/`` folder. Entries are sorted and time-stamped 1980-01-01 with fixed
permissions, so the same bundle always gives the same bytes; ``BUILD-INFO.json`` records the toolchain and
the version of every package the bundle holds (the adapter's dependencies with the ``emulators`` and
``keyring`` extras, not whatever else the building venv has), each checked against ``constraints.txt``: a
real build refuses a package whose version differs from its pin. A ``.sha256`` file is written next to the
zip for the hosting checklist.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
DISTRIBUTION = "openfin-servicenow-adapter"
BUNDLED_EXTRAS = frozenset({"emulators", "keyring"})
SPEC = PACKAGE_DIR / "servicenow-adapter.spec"
NAME = "servicenow-adapter"
TARGET = f"{NAME}.exe"
CONSOLE_EXECUTABLE = f"{NAME}-console.exe"
BUILD_INFO = "BUILD-INFO.json"
LAYOUT_ONLY_MARKER = "LAYOUT-ONLY.txt"
# The toolchain the bundle is built and checked with; another version may lay the bundle out differently.
PYINSTALLER_VERSION = "6.22.3"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class BuildError(Exception):
    """The bundle cannot be built here; the message says why and what to do."""


def adapter_version() -> str:
    """The adapter's version, read from ``adapter/__init__.py`` without importing the package."""
    text = (ROOT / "adapter" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if found is None:
        raise BuildError("adapter/__init__.py has no __version__")
    return found.group(1)


def zip_name(version: str, *, layout_only: bool) -> str:
    """The asset's file name; a layout-only zip is named so that nobody ships it by mistake."""
    return f"{NAME}-{version}-layout-only.zip" if layout_only else f"{NAME}-{version}.zip"


def pyinstaller_bundle(work: Path) -> tuple[Path, str]:
    """Build the one-folder bundle with PyInstaller; returns its folder and the PyInstaller version."""
    if sys.platform != "win32":
        raise BuildError(
            "PyInstaller builds for the OS it runs on: build the Windows asset on Windows "
            "(or pass --layout-only to check the zip layout here)"
        )
    try:
        installed = importlib.metadata.version("pyinstaller")
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(
            f"PyInstaller is not installed: pip install pyinstaller=={PYINSTALLER_VERSION}"
        ) from None
    if installed != PYINSTALLER_VERSION:
        print(f"build.py: PyInstaller {installed} (checked with {PYINSTALLER_VERSION})", file=sys.stderr)
    # A fixed hash seed is what PyInstaller needs for byte-identical bytecode archives across builds.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--distpath",
        str(work / "dist"),
        "--workpath",
        str(work / "build"),
        str(SPEC),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603 - our own fixed command
    if done.returncode != 0:
        raise BuildError(f"PyInstaller failed with exit code {done.returncode}")
    return work / "dist" / NAME, installed


def layout_only_bundle(work: Path) -> Path:
    """A folder laid out like the PyInstaller bundle, with a placeholder executable."""
    bundle = work / NAME
    (bundle / "_internal").mkdir(parents=True)
    for executable in (TARGET, CONSOLE_EXECUTABLE):
        (bundle / executable).write_text(
            "placeholder: build on Windows without --layout-only\n", encoding="utf-8"
        )
    (bundle / "_internal" / LAYOUT_ONLY_MARKER).write_text(
        "This zip only checks the app asset's layout. It contains no adapter.\n", encoding="utf-8"
    )
    return bundle


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_versions(constraints: Path = CONSTRAINTS) -> dict[str, str]:
    """``name==version`` lines of ``constraints``, by normalized name."""
    pins = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line)
        if found:
            pins[_normalized(found.group(1))] = found.group(2)
    return pins


def _requirement(text: str, extras: frozenset[str]) -> str | None:
    # "name[extra] (>=1) ; marker": the name, when the requirement applies with ``extras``. A marker other
    # than an extra (a platform) applied if the package is installed at all, which the caller checks.
    name = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
    if name is None:
        return None
    wanted = re.search(r"""extra\s*==\s*["']([^"']+)["']""", text)
    if wanted is not None and wanted.group(1) not in extras:
        return None
    return name.group(1)


def bundled_packages(root: str = DISTRIBUTION, extras: frozenset[str] = BUNDLED_EXTRAS) -> dict[str, str]:
    """The installed distributions the bundle holds: ``root`` with ``extras`` and all their dependencies."""
    found: dict[str, str] = {}
    pending = [(root, extras)]
    while pending:
        name, wanted = pending.pop()
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        key = dist.metadata["Name"]
        if key in found and not wanted:
            continue
        found[key] = dist.version
        for text in dist.requires or []:
            requirement = _requirement(text, wanted)
            if requirement is None:
                continue
            own_extras = re.search(r"\[([^\]]+)\]", text.split(";")[0])
            listed = own_extras.group(1).split(",") if own_extras else []
            nested = frozenset(extra.strip() for extra in listed)
            if _normalized(requirement) != _normalized(root) or nested - wanted:
                pending.append((requirement, nested))
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def constraint_check(packages: dict[str, str], pins: dict[str, str]) -> dict[str, object]:
    """Which bundled packages match their pin in constraints.txt, which differ, and which have none."""
    mismatched = {
        name: {"installed": version, "pinned": pins[_normalized(name)]}
        for name, version in packages.items()
        if _normalized(name) in pins and pins[_normalized(name)] != version
    }
    unpinned = sorted(name for name in packages if _normalized(name) not in pins and name != DISTRIBUTION)
    return {"file": CONSTRAINTS.name, "mismatched": mismatched, "unpinned": unpinned}


def build_info(version: str, *, pyinstaller: str | None, layout_only: bool) -> dict[str, object]:
    """What went into the bundle: the adapter, Python, PyInstaller and each bundled package and its pin."""
    packages = bundled_packages()
    return {
        "name": NAME,
        "version": version,
        "target": TARGET,
        "layoutOnly": layout_only,
        "python": platform.python_version(),
        "pyinstaller": pyinstaller,
        "packages": packages,
        "constraints": constraint_check(packages, pinned_versions()),
    }


def write_zip(bundle: Path, destination: Path) -> None:
    """Zip the bundle's contents at the zip root, deterministically."""
    files = sorted(
        (path for path in bundle.rglob("*") if path.is_file()), key=lambda p: p.relative_to(bundle).as_posix()
    )
    with zipfile.ZipFile(destination, "w") as archive:
        for path in files:
            name = path.relative_to(bundle).as_posix()
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if name.endswith(".exe") else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def build(dist: Path, *, layout_only: bool) -> Path:
    """Build the asset zip into ``dist`` and return its path."""
    version = adapter_version()
    with tempfile.TemporaryDirectory(prefix="servicenow-adapter-build-") as temporary:
        work = Path(temporary)
        if layout_only:
            bundle, pyinstaller = layout_only_bundle(work), None
        else:
            bundle, pyinstaller = pyinstaller_bundle(work)
        missing = [name for name in (TARGET, CONSOLE_EXECUTABLE) if not (bundle / name).is_file()]
        if missing:
            raise BuildError(
                f"the bundle has no {', '.join(missing)}; the manifest's appAssets target needs it"
            )
        info = build_info(version, pyinstaller=pyinstaller, layout_only=layout_only)
        check = info["constraints"]
        assert isinstance(check, dict)
        if check["mismatched"] and not layout_only:
            raise BuildError(
                f"installed versions differ from {CONSTRAINTS.name}: {check['mismatched']}; install with "
                f'pip install -c constraints.txt ".[emulators,keyring]" pyinstaller=={PYINSTALLER_VERSION}'
            )
        (bundle / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        dist.mkdir(parents=True, exist_ok=True)
        destination = dist / zip_name(version, layout_only=layout_only)
        write_zip(bundle, destination)
    digest = hashlib.sha256(destination.read_bytes()).hexdigest()
    destination.with_name(destination.name + ".sha256").write_text(
        f"{digest}  {destination.name}\n", encoding="utf-8"
    )
    return destination


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the build script."""
    parser = argparse.ArgumentParser(description="Build the adapter's Windows app-asset zip.")
    parser.add_argument(
        "--layout-only",
        action="store_true",
        help="no PyInstaller: the zip layout with a placeholder executable",
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    try:
        destination = build(args.dist, layout_only=args.layout_only)
    except BuildError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 1
    print(destination)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
