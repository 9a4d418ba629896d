"""Filling the tasks table fast, straight through BatchWriteItem, for tests and bench/."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.domain.models import Task
from chalicelib.storage.tasks import to_item

BATCH_SIZE = 25  # DynamoDB's limit per BatchWriteItem


def seed_tasks(client: Any, table_name: str, user_id: str, tasks: Iterable[Task]) -> None:
    requests = [{"PutRequest": {"Item": to_item(user_id, task)}} for task in tasks]
    for start in range(0, len(requests), BATCH_SIZE):
        pending = {table_name: requests[start : start + BATCH_SIZE]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")
