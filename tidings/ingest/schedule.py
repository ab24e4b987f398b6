"""When to read a source next: its normal interval while healthy, exponential backoff with jitter after failures,
whatever a server's Retry-After asks for, and never again after 410 Gone.

Pure functions of the source's state and the read's outcome, so the policy is tested without a clock or a server.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tidings.config import Settings
from tidings.model import FetchResult, Polling, Source

# A healthy source is due again a little before its interval ends, so that a loop waking every interval finds it
# due; sources added together drift apart instead of being read in the same second forever.
HEALTHY_JITTER = (0.85, 0.97)
# After failures the wait grows as interval x 2^(errors-1), and varies by this much either way, so that many sources
# failing together (a host going down) do not all come back at the same moment.
BACKOFF_JITTER = 0.2


def interval_of(source: Source, settings: Settings, every: float | None = None) -> float:
    """Seconds between reads of a healthy source: the loop's period when one runs, else the source's own or the
    configured default."""
    return every or source.check_interval or settings.poll_interval_minutes * 60


def after_read(source: Source, result: FetchResult, now: datetime, settings: Settings, every: float | None = None,
               rng: random.Random | None = None) -> Polling:
    """The source's state after a read with this outcome."""
    rng = rng or random.Random()
    interval = interval_of(source, settings, every)
    if result.status != "error":
        wait = interval * rng.uniform(*HEALTHY_JITTER)
        return Polling(result.status, result.error, now + timedelta(seconds=wait), interval, 0, True)
    errors = source.consecutive_errors + 1
    if result.http_status == 410:
        return Polling("gone", f"{result.error} (the server says it is gone for good; it is not read again until "
                               "you add it again)", None, interval, errors, False)
    return Polling("error", result.error, now + timedelta(seconds=backoff(errors, interval, settings, rng,
                                                                           result.retry_after)),
                   interval, errors, False)


def backoff(errors: int, interval: float, settings: Settings, rng: random.Random,
            retry_after: float | None = None) -> float:
    """Seconds to wait after `errors` failures in a row: doubling from the normal interval up to the cap, with
    jitter, and never sooner than the server asked."""
    cap = settings.max_backoff_hours * 3600
    wait = min(interval * 2 ** min(errors - 1, 30), cap) * rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
    wait = min(wait, cap)
    if retry_after is not None:
        wait = max(wait, min(retry_after, cap))
    return wait


def is_due(source: Source, now: datetime) -> bool:
    """Whether a scheduled run reads this source now."""
    if source.status == "gone":
        return False
    return source.next_check is None or source.next_check <= now
