"""Identifiers: ULIDs, so ids are opaque strings that sort by creation time."""

from __future__ import annotations

import os
import re
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
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
    return isinstance(value, str) and _ULID_PATTERN.fullmatch(value) is not None


def _encode(number: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[number & 0x1F])
        number >>= 5
    return "".join(reversed(chars))
