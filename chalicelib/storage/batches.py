"""Deleting many items: ``BatchWriteItem`` in groups of 25, unprocessed items retried.

DynamoDB may leave part of a batch unprocessed under load; those keys are sent again with
a short backoff. What is still unprocessed after a few rounds is ``ServiceUnavailable``:
every delete is idempotent, so the caller's retry finishes the job.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.errors import ServiceUnavailable
from chalicelib.storage.client import RETRY_AFTER_SECONDS, call_storage

BATCH_WRITE_LIMIT = 25
UNPROCESSED_ROUNDS = 5
UNPROCESSED_BACKOFF_SECONDS = 0.05


def delete_in_batches(client: Any, table: str, keys: list[dict[str, Any]]) -> int:
    """Delete every key in ``keys`` from ``table``; the number of ``BatchWriteItem`` calls."""
    calls = 0
    for start in range(0, len(keys), BATCH_WRITE_LIMIT):
        batch = keys[start : start + BATCH_WRITE_LIMIT]
        pending = [{"DeleteRequest": {"Key": key}} for key in batch]
        for round_number in range(UNPROCESSED_ROUNDS):
            response = call_storage(client.batch_write_item, RequestItems={table: pending})
            calls += 1
            pending = response.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            time.sleep(UNPROCESSED_BACKOFF_SECONDS * 2**round_number)
        if pending:
            raise ServiceUnavailable(RETRY_AFTER_SECONDS)
    return calls
