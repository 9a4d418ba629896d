"""Idempotency records, stored in their owner's tasks partition.

A record's sort key is ``!idempotency#<key>``, which sorts before every task id (a ULID
starts with a digit), so task listings never reach it (``tasks.FIRST_TASK_ID``) and an
account's purge, one partition, removes it with the tasks. Records expire through TTL on
``expires_at`` after 24 hours; since TTL deletion can lag by hours, every condition here
also compares ``expires_at`` with the clock.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.storage.client import call_storage, error_code
from chalicelib.storage.table_layout import EXPIRES_AT, TASK_ID, USER_ID

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
# Longer than the Lambda timeout: a claim older than this belongs to a request that died.
IDEMPOTENCY_LEASE_SECONDS = 30
IN_FLIGHT, COMPLETED = "in_flight", "completed"
SORT_KEY_PREFIX = "!idempotency#"


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    state: str
    response: str | None


class IdempotencyRepository:
    def __init__(self, client: Any, tasks_table: str) -> None:
        self._client = client
        self._table = tasks_table

    def claim(
        self, user_id: str, key: str, fingerprint: str, now: float
    ) -> IdempotencyRecord | None:
        """Claim ``key`` for a request in flight; ``None`` when claimed, else the holder."""
        try:
            call_storage(
                self._client.put_item,
                TableName=self._table,
                Item={
                    **record_key(user_id, key),
                    "state": {"S": IN_FLIGHT},
                    "fingerprint": {"S": fingerprint},
                    "lease_until": {"N": str(int(now) + IDEMPOTENCY_LEASE_SECONDS)},
                    EXPIRES_AT: {"N": str(int(now) + IDEMPOTENCY_TTL_SECONDS)},
                },
                ConditionExpression=(
                    "attribute_not_exists(#task_id) OR #expires_at < :now "
                    "OR (#state = :in_flight AND lease_until < :now)"
                ),
                ExpressionAttributeNames={
                    "#task_id": TASK_ID,
                    "#expires_at": EXPIRES_AT,
                    "#state": "state",
                },
                ExpressionAttributeValues={":now": {"N": str(now)}, ":in_flight": {"S": IN_FLIGHT}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            held = error_code(error) == "ConditionalCheckFailedException"
            if not held or "Item" not in error.response:
                raise
            item = error.response["Item"]
            return IdempotencyRecord(
                fingerprint=item["fingerprint"]["S"],
                state=item["state"]["S"],
                response=item.get("response", {}).get("S"),
            )
        return None

    def completion(self, user_id: str, key: str, fingerprint: str, response: str) -> dict[str, Any]:
        """The ``TransactWriteItems`` entry that stores ``response`` for a claimed key."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": record_key(user_id, key),
                "UpdateExpression": "SET #state = :completed, #response = :response "
                "REMOVE lease_until",
                "ConditionExpression": "#state = :in_flight AND fingerprint = :fingerprint",
                "ExpressionAttributeNames": {"#state": "state", "#response": "response"},
                "ExpressionAttributeValues": {
                    ":completed": {"S": COMPLETED},
                    ":in_flight": {"S": IN_FLIGHT},
                    ":fingerprint": {"S": fingerprint},
                    ":response": {"S": response},
                },
            }
        }

    def release(self, user_id: str, key: str, fingerprint: str) -> None:
        """Give up a claim whose request failed, so a retry need not wait for the lease."""
        # Best effort: if this fails too, the lease expires on its own.
        with contextlib.suppress(Exception):
            self._client.delete_item(
                TableName=self._table,
                Key=record_key(user_id, key),
                ConditionExpression="#state = :in_flight AND fingerprint = :fingerprint",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":in_flight": {"S": IN_FLIGHT},
                    ":fingerprint": {"S": fingerprint},
                },
            )


def record_key(user_id: str, key: str) -> dict[str, Any]:
    return {USER_ID: {"S": user_id}, TASK_ID: {"S": SORT_KEY_PREFIX + key}}
