"""Password hashing: CPU time per scrypt hash at ``chalicelib.auth.passwords.DEFAULT_PARAMETERS``
and at each of OWASP's equivalent scrypt settings (timed interleaved, so they compare), and
which OWASP setting the defaults meet.

CPU time, not wall time: it is what Lambda's memory-to-CPU rule stretches
(``bench/lambda_cost.py``), and login and register are nearly all hash.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.stats import Summary

# OWASP Password Storage Cheat Sheet, scrypt: N=2^17, r=8, p=1, or these equivalents.
OWASP_SCRYPT = ((17, 8, 1), (16, 8, 2), (15, 8, 3), (14, 8, 5), (13, 8, 10))


@dataclass(frozen=True)
class Setting:
    """One scrypt setting and its CPU seconds per hash."""

    log2_n: int
    r: int
    p: int
    cpu_s: Summary

    @property
    def label(self) -> str:
        return f"N=2^{self.log2_n} r={self.r} p={self.p}"

    @property
    def memory_bytes(self) -> int:
        return 128 * self.r * (1 << self.log2_n)


@dataclass(frozen=True)
class Hashing:
    current: Setting  # DEFAULT_PARAMETERS
    owasp: list[Setting]  # OWASP_SCRYPT's rows, in order

    @property
    def owasp_row(self) -> tuple[int, int, int] | None:
        """The first OWASP row the defaults meet or exceed in every parameter, if any."""
        c = self.current
        return next(
            (row for row in OWASP_SCRYPT if c.log2_n >= row[0] and c.r >= row[1] and c.p >= row[2]),
            None,
        )


def measure(repeats: int) -> Hashing:
    """``repeats`` rounds; each hashes once with every setting, in turn."""
    from chalicelib.auth import passwords

    default = passwords.DEFAULT_PARAMETERS
    settings = {(default.log2_n, default.r, default.p)} | set(OWASP_SCRYPT)
    samples: dict[tuple[int, int, int], list[float]] = {key: [] for key in settings}
    passwords.hash_password("warm-up password", default)
    for _ in range(repeats):
        for key in samples:
            parameters = passwords.ScryptParameters(*key)
            started = time.process_time()
            passwords.hash_password("correct horse battery staple", parameters)
            samples[key].append(time.process_time() - started)

    def setting(key: tuple[int, int, int]) -> Setting:
        return Setting(*key, cpu_s=Summary.of(samples[key]))

    return Hashing(
        setting((default.log2_n, default.r, default.p)), [setting(row) for row in OWASP_SCRYPT]
    )
