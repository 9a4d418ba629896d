"""Run the virtual users against a stack for a fixed time, then verify what they were told."""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from loadtest.findings import Findings
from loadtest.timed_session import (
    NO_RESPONSE,
    REQUEST_TIMEOUT_SECONDS,
    Sample,
    require_loopback,
)
from loadtest.verification import verify_virtual_users
from loadtest.virtual_user import TaskDirectory, VirtualUser

MAX_USERS = 64
MAX_SECONDS = 600
# After the deadline a virtual user finishes at most its current operation (a few requests).
STOP_GRACE_SECONDS = 3 * REQUEST_TIMEOUT_SECONDS


@dataclass(frozen=True)
class LoadPlan:
    """How much load: ``users`` concurrent virtual users for ``seconds`` seconds."""

    users: int = 8
    seconds: float = 30.0
    seed: int | None = None  # the same seed gives the same sequence of operations

    def __post_init__(self) -> None:
        if not 1 <= self.users <= MAX_USERS:
            raise ValueError(f"users must be 1 to {MAX_USERS}, not {self.users}")
        if not 0 < self.seconds <= MAX_SECONDS:
            raise ValueError(f"seconds must be more than 0 and at most {MAX_SECONDS}")


@dataclass
class LoadResult:
    plan: LoadPlan
    base_url: str
    elapsed_seconds: float  # wall time of the load phase
    load_samples: list[Sample]
    verification_seconds: float
    verification_samples: list[Sample]
    virtual_users: list[VirtualUser]
    findings: Findings = field(default_factory=Findings)

    @property
    def passed(self) -> bool:
        return self.findings.passed


def drive_load(base_url: str, plan: LoadPlan) -> tuple[list[VirtualUser], float]:
    """Run ``plan.users`` virtual users until ``plan.seconds`` have passed; they and the time."""
    base_url = require_loopback(base_url)
    seed = plan.seed if plan.seed is not None else secrets.randbits(32)
    run_tag = secrets.token_hex(3)  # usernames unique across runs against one stack
    directory = TaskDirectory()
    stop = threading.Event()
    started = time.monotonic()
    deadline = started + plan.seconds
    users = [
        VirtualUser(
            index,
            base_url,
            run_tag=run_tag,
            directory=directory,
            rng=random.Random(f"{seed}/{index}"),  # noqa: S311 - test data, not secrets
            deadline=deadline,
            stop=stop,
        )
        for index in range(plan.users)
    ]
    threads = [
        threading.Thread(target=user.run, name=f"virtual-user-{user.index}", daemon=True)
        for user in users
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline + STOP_GRACE_SECONDS - time.monotonic()))
    finally:
        stop.set()  # also on Ctrl-C: the threads finish their current request and return
    elapsed = time.monotonic() - started
    for user, thread in zip(users, threads, strict=True):
        if thread.is_alive():
            user.findings.add("finished", f"{user.username} still running after the deadline")
    return users, elapsed


def run_load(base_url: str, plan: LoadPlan) -> LoadResult:
    """The whole load test against a running stack: drive, verify, judge."""
    users, elapsed = drive_load(base_url, plan)
    verification_started = time.monotonic()
    verification_findings, verification_samples = verify_virtual_users(base_url, users)
    verification_seconds = time.monotonic() - verification_started
    load_samples = [sample for user in users for sample in user.samples]
    findings = Findings.combined(
        [
            *(user.findings for user in users),
            verification_findings,
            findings_from_samples(load_samples, phase="load"),
            findings_from_samples(verification_samples, phase="verification"),
        ]
    )
    return LoadResult(
        plan=plan,
        base_url=base_url,
        elapsed_seconds=elapsed,
        load_samples=load_samples,
        verification_seconds=verification_seconds,
        verification_samples=verification_samples,
        virtual_users=users,
        findings=findings,
    )


def findings_from_samples(samples: list[Sample], *, phase: str) -> Findings:
    """5xx answers and requests with no answer, per operation."""
    findings = Findings()
    server_errors = Counter((s.operation, s.status) for s in samples if s.status >= 500)
    for (operation, status), count in sorted(server_errors.items()):
        findings.add("no_5xx", f"{phase}: {operation} got {status} x {count}", count)
    unanswered = Counter(s.operation for s in samples if s.status == NO_RESPONSE)
    for operation, count in sorted(unanswered.items()):
        findings.add("answered", f"{phase}: {operation} got no response x {count}", count)
    return findings
