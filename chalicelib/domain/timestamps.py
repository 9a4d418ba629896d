"""Timestamps as the contract writes them: RFC 3339, UTC, milliseconds, ``Z``."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime


def utc_now() -> str:
    """Now, e.g. ``2026-11-23T09:15:02.123Z``."""
    nanoseconds = time.time_ns()
    seconds, remainder = divmod(nanoseconds, 1_000_000_000)
    return f"{_second(seconds)}.{remainder // 1_000_000:03d}Z"


@functools.lru_cache(maxsize=4)
def _second(epoch_seconds: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of a second; formatted once per second, not per call."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def from_datetime(value: datetime) -> str:
    """A time-zone-aware ``datetime`` (e.g. Cognito's ``UserCreateDate``) in the contract's
    format; milliseconds are truncated, as ``utc_now`` truncates them."""
    moment = value.astimezone(UTC)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{moment.microsecond // 1000:03d}Z"
