"""Fixtures shared by the openfin integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.openfin.fake_runtime import FakeRuntime


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[FakeRuntime]:
    """A scripted runtime on a free port, started for the test and stopped after it."""
    fake = FakeRuntime(tmp_path)
    await fake.start()
    yield fake
    await fake.stop()
