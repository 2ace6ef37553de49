"""Session-wide reporting shared by every suite."""

from __future__ import annotations

import pytest

from tests.support.fdc3_schemas import EMITTED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many emitted FDC3 contexts were checked against the FINOS schemas, by type."""
    if EMITTED:
        counts = ", ".join(f"{kind} {count}" for kind, count in sorted(EMITTED.items()))
        terminalreporter.write_line(f"FDC3 contexts checked against the FINOS schemas: {counts}")
