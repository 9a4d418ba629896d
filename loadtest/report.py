"""The printed summary: throughput, latency percentiles, status codes, and the verdict."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from loadtest.findings import CHECKS
from loadtest.runner import LoadResult
from loadtest.timed_session import NO_RESPONSE, Sample
from loadtest.virtual_user import OPERATION_WEIGHTS

OPERATION_ORDER = ("register", *OPERATION_WEIGHTS)


def percentile(sorted_values: list[float], percent: float) -> float:
    """Nearest-rank percentile of values already sorted ascending (NaN when there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class LatencyRow:
    operation: str
    count: int
    p50: float
    p95: float
    p99: float
    max: float
    statuses: Counter[int]


def latency_rows(samples: list[Sample]) -> list[LatencyRow]:
    """One row for all requests, then one per operation (in the mix's order), in seconds."""
    groups: dict[str, list[Sample]] = {"all": samples}
    for operation in sorted({s.operation for s in samples}, key=_operation_rank):
        groups[operation] = [s for s in samples if s.operation == operation]
    rows = []
    for operation, group in groups.items():
        seconds = sorted(s.seconds for s in group)
        rows.append(
            LatencyRow(
                operation,
                len(group),
                percentile(seconds, 50),
                percentile(seconds, 95),
                percentile(seconds, 99),
                seconds[-1] if seconds else math.nan,
                Counter(s.status for s in group),
            )
        )
    return rows


def format_statuses(statuses: Counter[int]) -> str:
    return ", ".join(
        f"{'no response' if status == NO_RESPONSE else status} x {count}"
        for status, count in sorted(statuses.items())
    )


def format_summary(result: LoadResult) -> str:
    plan, samples = result.plan, result.load_samples
    ledgers = [user.ledger for user in result.virtual_users]
    rate = len(samples) / result.elapsed_seconds if result.elapsed_seconds else 0.0
    statuses = Counter(s.status for s in samples)
    lines = [
        f"Load test: {plan.users} virtual users x {plan.seconds:g} s against {result.base_url}",
        f"Requests: {len(samples)} in {result.elapsed_seconds:.1f} s = {rate:.1f} requests/s",
        f"Status codes: {format_statuses(statuses)}",
        f"Ledger: {sum(len(ledger.tasks) for ledger in ledgers)} tasks created,"
        f" {sum(ledger.acknowledged_updates for ledger in ledgers)} acknowledged updates,"
        f" {sum(len(ledger.tasks) - len(ledger.live()) for ledger in ledgers)} deleted,"
        f" {statuses[412]} conditional writes refused with 412",
        "",
        f"{'latency (ms)':<16}{'requests':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}  statuses",
    ]
    for row in latency_rows(samples):
        name = row.operation if row.operation == "all" else f"  {row.operation}"
        statuses_column = "" if row.operation == "all" else format_statuses(row.statuses)
        lines.append(
            f"{name:<16}{row.count:>9}{_ms(row.p50):>8}{_ms(row.p95):>8}{_ms(row.p99):>8}"
            f"{_ms(row.max):>8}  {statuses_column}"
        )
    verification = result.verification_samples
    lines += [
        "",
        f"Verification: {len(verification)} requests in {result.verification_seconds:.1f} s"
        f" (every task read back; full listing walks per user, with and without status);"
        f" {format_statuses(Counter(s.status for s in verification))}",
        "",
        "Checks:",
    ]
    for check, description in CHECKS.items():
        problems = result.findings.counts[check]
        lines.append(f"  {'ok  ' if not problems else 'FAIL'}  {description}")
        if problems:
            examples = result.findings.examples.get(check, [])
            lines += [f"          - {example}" for example in examples]
            if problems > len(examples):
                lines.append(f"          ... {problems} problems in all")
    lines += ["", "PASS" if result.passed else "FAIL"]
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def _operation_rank(operation: str) -> tuple[int, str]:
    if operation in OPERATION_ORDER:
        return OPERATION_ORDER.index(operation), operation
    return len(OPERATION_ORDER), operation
