"""Password hashing at ``chalicelib.auth.passwords.DEFAULT_PARAMETERS``: time per hash, memory
(scrypt's 128·r·N bytes, and the peak RSS a fresh process reaches), and which OWASP
recommendation the parameters meet.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass

from bench import fixtures
from bench.paths import PROJECT_DIR
from bench.stats import Summary

# OWASP Password Storage Cheat Sheet, scrypt: N=2^17, r=8, p=1, or these equivalents.
OWASP_SCRYPT = ((17, 8, 1), (16, 8, 2), (15, 8, 3), (14, 8, 5), (13, 8, 10))
# AWS Lambda gives a function one vCPU's worth of CPU at 1,769 MB, proportionally less below.
LAMBDA_MB_PER_VCPU = 1769

_PEAK_RSS_CHILD = """
import json, resource
from chalicelib.auth import passwords
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
passwords.hash_password("correct horse battery staple")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "after_kib": after}))
"""
# Linux carries a process's peak RSS across exec, so a child spawned straight from this
# (large) process would report our peak; a child forked by a small shell starts clean.
_VIA_SMALL_SHELL = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]


@dataclass(frozen=True)
class Hashing:
    log2_n: int
    r: int
    p: int
    seconds: Summary
    formula_bytes: int
    rss_before_kib: int
    rss_after_kib: int
    owasp_row: tuple[int, int, int] | None

    @property
    def rss_growth_mib(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / 1024


def meets(log2_n: int, r: int, p: int, row: tuple[int, int, int]) -> bool:
    """Whether (log2 N, r, p) meets or exceeds an OWASP row in every parameter."""
    return log2_n >= row[0] and r >= row[1] and p >= row[2]


def owasp_row_met(log2_n: int, r: int, p: int) -> tuple[int, int, int] | None:
    """The first (highest-memory) OWASP row that (log2 N, r, p) meets, if any."""
    return next((row for row in OWASP_SCRYPT if meets(log2_n, r, p, row)), None)


def lambda_estimate_s(seconds_here: float, memory_mb: int) -> float:
    """Rough time at ``memory_mb`` in Lambda, if one core here is one Lambda vCPU."""
    return seconds_here * max(1.0, LAMBDA_MB_PER_VCPU / memory_mb)


def measure(repeats: int) -> Hashing:
    from chalicelib.auth import passwords

    parameters = passwords.DEFAULT_PARAMETERS
    passwords.hash_password("warm-up password", parameters)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        passwords.hash_password("correct horse battery staple", parameters)
        timings.append(time.perf_counter() - started)
    peak = _peak_rss()
    return Hashing(
        log2_n=parameters.log2_n,
        r=parameters.r,
        p=parameters.p,
        seconds=Summary.of(timings),
        formula_bytes=128 * parameters.r * (1 << parameters.log2_n),
        rss_before_kib=peak["before_kib"],
        rss_after_kib=peak["after_kib"],
        owasp_row=owasp_row_met(parameters.log2_n, parameters.r, parameters.p),
    )


def _peak_rss() -> dict[str, int]:
    """Peak RSS of a fresh process before and after one hash (getrusage's ru_maxrss)."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [*_VIA_SMALL_SHELL, sys.executable, "-c", _PEAK_RSS_CHILD],
        cwd=PROJECT_DIR,
        env=fixtures.local_stage_environ(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])
