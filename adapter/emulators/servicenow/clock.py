"""The emulator's clock: wall time plus an offset that the ``/__emulator/clock`` hook can move forward.

Every time the emulator reads (token expiry, ``sys_updated_on``, ``gs.minutesAgo``, rate-limit windows) comes
from one ``Clock`` so that tests can expire tokens or age records without sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """Monotonic-enough UTC time with a test-controlled offset in seconds."""

    def __init__(self) -> None:
        self._offset = 0.0

    def timestamp(self) -> float:
        """Seconds since the epoch, offset included."""
        return time.time() + self._offset

    def now(self) -> datetime:
        """The current emulated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative value) by ``seconds``."""
        self._offset += seconds

    @property
    def offset(self) -> float:
        """How far the clock has been moved from wall time, in seconds."""
        return self._offset
