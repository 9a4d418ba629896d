"""Deleting a large account: one user's tasks purged from the tasks table over in-process moto.

The calls are exact (one ``BatchWriteItem`` per 25 items, one key ``Query`` per 1,000;
asserted by ``make purge``); the CPU is ours and botocore's, moto's excluded as in
``bench/lambda_cost.py``, so that the background ``purge_account`` function can be sized
with the same model. Wall time is moto's and is not reported.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from bench import fixtures
from devstack.storage_meter import StorageMeter

TASKS = 10_000


@dataclass(frozen=True)
class Purge:
    tasks: int
    cpu_s: float  # ours and botocore's, moto's excluded
    batch_writes: int
    queries: int

    @property
    def calls(self) -> int:
        return self.batch_writes + self.queries


def measure(tasks: int = TASKS) -> Purge:
    """Seed one user's ``tasks`` and run ``TaskRepository.delete_partition`` on them."""
    import boto3
    from moto import mock_aws

    from bench.dynamodb_cost import seed_tasks
    from bench.lambda_cost import moto_excluded
    from chalicelib import runtime
    from chalicelib.config import Settings
    from chalicelib.storage import table_layout

    with fixtures.environ(fixtures.local_stage_environ()), mock_aws():
        client = boto3.client("dynamodb")
        settings = Settings.from_environ(os.environ)
        table_layout.create_missing_tables(client, settings)
        seed_tasks(client, settings.tasks_table, fixtures.USER.user_id, tasks)
        meter = StorageMeter(runtime.dynamodb_client())
        repository = runtime.task_repository()
        with moto_excluded() as moto:
            started = time.process_time()
            done = repository.delete_partition(fixtures.USER.user_id, keep_going=lambda: True)
            cpu_s = time.process_time() - started - moto.cpu_s
        if not done:
            raise RuntimeError("the purge stopped before the account was empty")
        return Purge(tasks, cpu_s, meter.calls["BatchWriteItem"], meter.calls["Query"])
