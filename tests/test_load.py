"""The load test: a short run (3 users x 6 s) against its own local stack passes every check.

The same code as ``make load``, in-process and smaller. A tampered ledger must then fail the
verification, so a pass means the checks looked, not that they were vacuous.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import LocalStack
from loadtest import LoadPlan, LoadResult, run_load, verify_ledger
from loadtest.ledger import Ledger, TaskRecord
from loadtest.report import format_summary, percentile
from loadtest.timed_session import require_loopback

SHORT_PLAN = LoadPlan(users=3, seconds=6, seed=20261123)


@pytest.fixture(scope="module")
def load_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of its own, so the run's ledgers are the only writers."""
    log_path: Path = tmp_path_factory.mktemp("load") / "stack.log"
    with log_path.open("w") as log, LocalStack(output=log) as stack:
        yield stack


@pytest.fixture(scope="module")
def short_run(load_stack: LocalStack) -> LoadResult:
    return run_load(load_stack.base_url, SHORT_PLAN)


@pytest.mark.e2e
def test_a_short_run_passes_every_check(short_run: LoadResult) -> None:
    summary = format_summary(short_run)
    assert short_run.passed, summary
    assert summary.rstrip().endswith("PASS")
    assert all(user.finished for user in short_run.virtual_users)


@pytest.mark.e2e
def test_the_run_exercised_the_whole_mix(short_run: LoadResult) -> None:
    operations = {sample.operation for sample in short_run.load_samples}
    assert {"register", "login", "create", "get", "patch", "patch_if_match", "put"} <= operations
    assert {"delete", "list", "list_status"} <= operations
    statuses = {sample.status for sample in short_run.load_samples}
    assert {200, 201, 204, 404, 412} <= statuses
    ledgers = [user.ledger for user in short_run.virtual_users]
    assert sum(ledger.acknowledged_updates for ledger in ledgers) > 0
    assert short_run.verification_samples


@pytest.mark.e2e
def test_a_ledger_that_disagrees_with_the_server_fails_verification(
    short_run: LoadResult, load_stack: LocalStack
) -> None:
    user = next(u for u in short_run.virtual_users if len(_updated_live_tasks(u.ledger)) >= 2)
    tampered = copy.deepcopy(user.ledger)
    forgotten_update, claimed_deleted = _updated_live_tasks(tampered)[:2]
    forgotten_update.updates.pop()
    claimed_deleted.deleted = True

    findings = verify_ledger(load_stack.base_url, user.token or "", tampered, samples=[])

    assert findings.counts["version"] >= 1
    assert findings.counts["deleted_404"] == 1
    assert findings.counts["listing"] >= 1
    assert not findings.passed


def _updated_live_tasks(ledger: Ledger) -> list[TaskRecord]:
    return [r for r in ledger.tasks.values() if r.updates and not r.deleted and not r.uncertain]


def test_the_ledger_replays_patches_onto_the_task_and_puts_onto_the_defaults() -> None:
    ledger = Ledger()
    ledger.record_create("01A", {"title": "a", "tags": ["x"], "status": "done"})
    ledger.record_update("01A", {"title": "b"}, replace=False)
    assert ledger.tasks["01A"].expected_fields()["tags"] == ["x"]
    ledger.record_update("01A", {"title": "c", "due_date": "2026-01-01"}, replace=True)
    record = ledger.tasks["01A"]
    assert record.version == 3
    assert record.expected_fields() == {
        "title": "c",
        "description": "",
        "status": "todo",
        "due_date": "2026-01-01",
        "tags": [],
    }
    ledger.record_create("01B", {"title": "d", "status": "done"})
    ledger.record_delete("01A")
    assert ledger.expected_listing() == ["01B"]
    assert ledger.expected_listing("todo") == []


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "https://example.com", "http://0.0.0.0"])
def test_the_load_test_refuses_anything_but_loopback(url: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        require_loopback(url)


def test_plans_are_bounded() -> None:
    with pytest.raises(ValueError):
        LoadPlan(users=0)
    with pytest.raises(ValueError):
        LoadPlan(seconds=3600)
