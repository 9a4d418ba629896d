"""Short-lived records in DynamoDB: idempotency keys and failed-login counters.

Both expire through TTL on ``expires_at``; since TTL deletion can lag by hours, every read
and condition here also compares ``expires_at`` with the clock.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.storage.client import call_storage, error_code
from chalicelib.storage.table_layout import EXPIRES_AT, RECORD_KEY

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
# Longer than the Lambda timeout: a claim older than this belongs to a request that died.
IDEMPOTENCY_LEASE_SECONDS = 30
IN_FLIGHT, COMPLETED = "in_flight", "completed"


@dataclass(frozen=True)
class LoginFailures:
    count: int
    window_ends: float


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    state: str
    response: str | None


class RecordsRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- failed logins -------------------------------------------------------------------

    def login_failures(self, username: str, now: float) -> LoginFailures | None:
        item = call_storage(
            self._client.get_item,
            TableName=self._table,
            Key=_key(_login_key(username)),
            ConsistentRead=True,
        ).get("Item")
        if item is None or float(item["window_ends"]["N"]) <= now:
            return None
        return LoginFailures(int(item["failures"]["N"]), float(item["window_ends"]["N"]))

    def record_login_failure(self, username: str, now: float, window_seconds: int) -> None:
        """Count one failure in the current window, or start a new window."""
        window_end = {"N": str(int(now) + window_seconds)}
        try:
            call_storage(
                self._client.update_item,
                TableName=self._table,
                Key=_key(_login_key(username)),
                UpdateExpression=(
                    "ADD failures :one SET window_ends = if_not_exists(window_ends, :end), "
                    "#expires_at = if_not_exists(#expires_at, :end)"
                ),
                ConditionExpression="attribute_not_exists(#pk) OR window_ends > :now",
                ExpressionAttributeNames={"#pk": RECORD_KEY, "#expires_at": EXPIRES_AT},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":end": window_end,
                    ":now": {"N": str(now)},
                },
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            call_storage(  # the old window has passed: this failure opens a new one
                self._client.put_item,
                TableName=self._table,
                Item={
                    **_key(_login_key(username)),
                    "failures": {"N": "1"},
                    "window_ends": window_end,
                    EXPIRES_AT: window_end,
                },
            )

    def clear_login_failures(self, username: str) -> None:
        call_storage(
            self._client.delete_item, TableName=self._table, Key=_key(_login_key(username))
        )

    # --- idempotency keys ----------------------------------------------------------------

    def claim_idempotency_key(
        self, user_id: str, key: str, fingerprint: str, now: float
    ) -> IdempotencyRecord | None:
        """Claim ``key`` for a request in flight; ``None`` when claimed, else the holder."""
        try:
            call_storage(
                self._client.put_item,
                TableName=self._table,
                Item={
                    **_key(_idempotency_key(user_id, key)),
                    "state": {"S": IN_FLIGHT},
                    "fingerprint": {"S": fingerprint},
                    "lease_until": {"N": str(int(now) + IDEMPOTENCY_LEASE_SECONDS)},
                    EXPIRES_AT: {"N": str(int(now) + IDEMPOTENCY_TTL_SECONDS)},
                },
                ConditionExpression=(
                    "attribute_not_exists(#pk) OR #expires_at < :now "
                    "OR (#state = :in_flight AND lease_until < :now)"
                ),
                ExpressionAttributeNames={
                    "#pk": RECORD_KEY,
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
                "Key": _key(_idempotency_key(user_id, key)),
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

    def release_idempotency_key(self, user_id: str, key: str, fingerprint: str) -> None:
        """Give up a claim whose request failed, so a retry need not wait for the lease."""
        # Best effort: if this fails too, the lease expires on its own.
        with contextlib.suppress(Exception):
            self._client.delete_item(
                TableName=self._table,
                Key=_key(_idempotency_key(user_id, key)),
                ConditionExpression="#state = :in_flight AND fingerprint = :fingerprint",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":in_flight": {"S": IN_FLIGHT},
                    ":fingerprint": {"S": fingerprint},
                },
            )


def _key(pk: str) -> dict[str, Any]:
    return {RECORD_KEY: {"S": pk}}


def _login_key(username: str) -> str:
    # Hashed: a username as sent may be any size, and locked unknown names look like real ones.
    return "login#" + hashlib.sha256(username.lower().encode("utf-8", "replace")).hexdigest()


def _idempotency_key(user_id: str, key: str) -> str:
    return f"idempotency#{user_id}#{key}"
