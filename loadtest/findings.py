"""The pass criteria of the load test, and the problems found against each of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

# Every criterion, in the order the summary lists them. A run passes when none has a problem.
CHECKS: dict[str, str] = {
    "no_5xx": "zero 5xx responses (load and verification)",
    "answered": "every request got a response",
    "finished": "every virtual user ran to the end and stopped on time",
    "expected_status": "every status was the one the ledger predicts (412 only for stale If-Match)",
    "agrees_during_load": "responses during the load agree with the ledger",
    "readable": "acknowledged, not-deleted tasks read back (200) with the last acknowledged values",
    "version": "each task's version = 1 + its acknowledged updates",
    "deleted_404": "deleted tasks are 404",
    "listing": "walking each owner's listing returns exactly its not-deleted tasks, once each",
}
EXAMPLES_KEPT = 10  # per check; every problem is counted


@dataclass
class Findings:
    """Problems per check: all of them counted, the first few kept as examples."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, check: str, message: str, count: int = 1) -> None:
        """Record ``count`` problems against ``check``, described by ``message``."""
        if check not in CHECKS:
            raise KeyError(f"unknown check {check!r}")
        self.counts[check] += count
        kept = self.examples.setdefault(check, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(message)

    def merge(self, other: Findings) -> None:
        self.counts.update(other.counts)
        for check, messages in other.examples.items():
            kept = self.examples.setdefault(check, [])
            kept.extend(messages[: max(0, EXAMPLES_KEPT - len(kept))])

    @property
    def passed(self) -> bool:
        return not any(self.counts.values())

    @classmethod
    def combined(cls, parts: Iterable[Findings]) -> Findings:
        total = cls()
        for part in parts:
            total.merge(part)
        return total
