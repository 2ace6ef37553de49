"""The OpenFin RVM: where it is installed, and starting it for one discovery.

OpenFin installs the RVM per user: ``%LOCALAPPDATA%\\OpenFin\\OpenFinRVM.exe`` on Windows and
``~/Applications/OpenFinRVM.app/Contents/MacOS/OpenFinRVM`` on macOS (the paths node-adapter looks at). Other
platforms have no RVM; there an explicit path (``--rvm-path``) is the only way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from adapter.openfin.discovery.errors import RvmLaunchError, RvmNotFoundError


def default_rvm_path(platform: str, environ: Mapping[str, str], home: Path) -> Path | None:
    """Where OpenFin installs the RVM on ``platform`` (a ``sys.platform`` value); ``None``: nowhere."""
    if platform == "win32":
        local = environ.get("LOCALAPPDATA")
        return Path(local) / "OpenFin" / "OpenFinRVM.exe" if local else None
    if platform == "darwin":
        return home / "Applications" / "OpenFinRVM.app" / "Contents" / "MacOS" / "OpenFinRVM"
    return None


def find_rvm(
    explicit: Path | None,
    *,
    platform: str = sys.platform,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Path:
    """The RVM to start: ``explicit`` if given, else OpenFin's install location; ``RvmNotFoundError``."""
    if explicit is not None:
        if not explicit.is_file():
            raise RvmNotFoundError(f"--rvm-path {explicit}: no such file")
        return explicit
    candidate = default_rvm_path(platform, os.environ if environ is None else environ, home or Path.home())
    if candidate is None:
        raise RvmNotFoundError(f"OpenFin has no RVM on {platform}; give --rvm-path to use one")
    if not candidate.is_file():
        raise RvmNotFoundError(f"no RVM at {candidate}")
    return candidate


def launch_rvm(rvm: Path, arguments: list[str]) -> subprocess.Popen[bytes]:
    """Start the RVM with ``arguments``, detached from our console and signals (it serves the whole desktop).

    The RVM hands the launch to a runtime and may outlive us; we keep the process only to notice an early
    failure and to stop it if no runtime ever answers.
    """
    try:
        if sys.platform == "win32":
            return subprocess.Popen(  # noqa: S603 (the RVM path is ours or the user's, arguments are built here)
                [str(rvm), *arguments],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                creationflags=subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP,
            )
        return subprocess.Popen(  # noqa: S603 (the RVM path is ours or the user's, arguments are built here)
            [str(rvm), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as error:
        raise RvmLaunchError(f"cannot start the RVM {rvm}: {error}") from error
