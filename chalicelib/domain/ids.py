"""Identifiers: ULIDs, so ids are opaque strings that sort by creation time."""

from __future__ import annotations

import os
import re
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CHARACTER_PAIRS = [first + second for first in _CROCKFORD for second in _CROCKFORD]
_PAIR_SHIFTS = tuple(range(120, -1, -10))  # 13 pairs of 5-bit characters, high bits first
ULID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_RANDOM_BITS = 80

_lock = threading.Lock()
_last_millis = -1
_last_random = 0


def new_id() -> str:
    """A new ULID; ids made later in this process always sort after earlier ones.

    Within one millisecond the random part is incremented, as the ULID spec's
    monotonic mode does, so two tasks created in the same millisecond keep their order.
    """
    global _last_millis, _last_random
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last_millis:
            millis = _last_millis
            random_part = _last_random + 1
            if random_part >= 1 << _RANDOM_BITS:  # 2**80 ids in one ms: move to the next ms
                millis, random_part = millis + 1, int.from_bytes(os.urandom(10), "big") >> 1
        else:
            # Leave headroom for increments: the top random bit starts at zero.
            random_part = int.from_bytes(os.urandom(10), "big") >> 1
        _last_millis, _last_random = millis, random_part
    return _encode((millis << _RANDOM_BITS) | random_part)


def is_valid_id(value: str) -> bool:
    """True when ``value`` has the shape of an id this service issues."""
    return isinstance(value, str) and ULID_PATTERN.fullmatch(value) is not None


def _encode(number: int) -> str:
    """Crockford base32 of a 128-bit number: 26 characters, looked up two at a time."""
    return "".join([_CHARACTER_PAIRS[(number >> shift) & 0x3FF] for shift in _PAIR_SHIFTS])
