"""Entry script of the bundled executable: the same command line as ``servicenow-adapter``.

The bundle is built windowed, so that launching it from OpenFin opens no console window. A windowed
executable starts without standard streams; ``attach_streams`` gives the adapter somewhere to write.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

LOG_FILE = Path("servicenow-adapter") / "logs" / "adapter.log"


def log_path() -> Path:
    """Where a windowed adapter writes its log: under %LOCALAPPDATA% (the home folder elsewhere)."""
    base = os.environ.get("LOCALAPPDATA") or str(Path.home())
    return Path(base) / LOG_FILE


def attach_streams() -> None:
    """Give a process started without stdout/stderr a null stdout and a log file for stderr."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        # One log per run, line-buffered so that a crash loses nothing; tokens are redacted by the logger.
        sys.stderr = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115


def run() -> int:
    """Run the adapter's command line."""
    attach_streams()
    from adapter.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
