"""The wall time of deleting a large account: its tasks purged from the tasks table.

Over in-process moto, as the DynamoDB cost section: the calls are exact (one
``BatchWriteItem`` per 25 items, one key ``Query`` per 1,000; asserted by ``make purge``),
the time is moto's, reported for its shape (it grows with the tasks, a few seconds per
10,000 here), never asserted. On AWS the purge runs in the background ``purge_account``
function, a slice per invocation, each within its timeout.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from bench import fixtures
from devstack.storage_meter import StorageMeter

TASKS = 50_000
BATCH = 25


@dataclass(frozen=True)
class Purge:
    tasks: int
    seconds: float
    batch_writes: int
    queries: int


def measure(tasks: int = TASKS) -> Purge:
    """Seed one user's ``tasks`` and time ``TaskRepository.delete_partition`` on them."""
    import boto3
    from moto import mock_aws

    from chalicelib import runtime
    from chalicelib.config import Settings
    from chalicelib.domain.ids import new_id
    from chalicelib.domain.models import Task
    from chalicelib.storage import table_layout
    from chalicelib.storage.tasks import to_item

    os.environ.update(fixtures.local_stage_environ())
    runtime.reset()
    with mock_aws():
        client = boto3.client("dynamodb")
        settings = Settings.from_environ(os.environ)
        table_layout.create_missing_tables(client, settings)
        user_id = new_id()
        now = "2026-12-01T00:00:00.000Z"
        for start in range(0, tasks, BATCH):
            items = [
                {
                    "PutRequest": {
                        "Item": to_item(user_id, _task(Task, new_id(), now))
                    }
                }
                for _ in range(min(BATCH, tasks - start))
            ]
            client.batch_write_item(RequestItems={settings.tasks_table: items})
        meter = StorageMeter(runtime.dynamodb_client())
        started = time.perf_counter()
        done = runtime.task_repository().delete_partition(user_id, keep_going=lambda: True)
        seconds = time.perf_counter() - started
        if not done:
            raise RuntimeError("the purge stopped before the account was empty")
        purge = Purge(tasks, seconds, meter.calls["BatchWriteItem"], meter.calls["Query"])
    runtime.reset()
    return purge


def _task(task_type: type, task_id: str, now: str) -> object:
    return task_type(
        id=task_id,
        title="seeded",
        description="",
        status="todo",
        due_date=None,
        tags=[],
        created_at=now,
        updated_at=now,
        version=1,
    )
