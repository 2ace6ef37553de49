"""When a failed request may be sent again, and after how long: one pure decision, kept in one place.

Rules: only GET is retried after it may have reached the instance (429, 5xx, a dropped connection); every
method may be retried when the connection was never made (nothing was sent). 429 waits ``Retry-After``;
everything else waits a capped exponential backoff with full jitter. Nothing is retried past the deadline.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_TO_RESEND = frozenset({"GET"})


class Outcome(Enum):
    """What happened to one attempt, as far as retrying is concerned."""

    STATUS = "status"
    NOT_SENT = "not-sent"
    MAYBE_SENT = "maybe-sent"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds on retrying: attempts, total time, backoff and the longest ``Retry-After`` we accept."""

    max_attempts: int = 4
    deadline: float = 30.0
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_retry_after: float = 30.0

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter exponential backoff for the ``attempt``-th retry (1-based), capped at ``max_delay``."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return float(ceiling * rng())

    def delay_before_retry(
        self,
        *,
        method: str,
        outcome: Outcome,
        status: int | None,
        retry_after: str | None,
        attempt: int,
        remaining: float,
        now: datetime | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when the failure must be reported now."""
        if attempt >= self.max_attempts or remaining <= 0:
            return None
        if outcome is Outcome.STATUS:
            if status not in RETRIABLE_STATUSES or method not in SAFE_TO_RESEND:
                return None
            if status == 429:
                wait = parse_retry_after(retry_after, now=now)
                if wait is None:
                    wait = self.backoff(attempt, rng)
                elif wait > self.max_retry_after:
                    return None
            else:
                wait = self.backoff(attempt, rng)
        elif outcome is Outcome.MAYBE_SENT and method not in SAFE_TO_RESEND:
            return None
        else:
            wait = self.backoff(attempt, rng)
        return wait if wait <= remaining else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
