"""Short-lived records in DynamoDB: login attempt counters, keyed by username (and address).

They expire through TTL on ``expires_at``; since TTL deletion can lag by hours, every
condition here also compares the window's end with the clock. (Idempotency records live in
the owner's tasks partition: ``storage/idempotency.py``.)
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ServiceUnavailable
from chalicelib.storage.client import RETRY_AFTER_SECONDS, call_storage, error_code
from chalicelib.storage.table_layout import EXPIRES_AT, RECORD_KEY


class RecordsRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- login attempt counters ----------------------------------------------------------

    def reserve_attempt(
        self, counter: str, limit: int, window_seconds: int, now: float
    ) -> float | None:
        """Count one login attempt against ``counter`` *before* its password is checked.

        ``None`` when the attempt was counted (the caller may check one password), or the
        epoch second the live window ends when ``limit`` attempts are already counted. The
        increment is a single conditional write, so however many requests arrive at once,
        no more than ``limit`` of them are ever let through in one window. A missing counter
        opens a window in that same write; an expired one is replaced by a conditional put.
        """
        window_end = {"N": str(int(now) + window_seconds)}
        for _ in range(3):  # a lost race to reopen an expired window is retried
            try:
                call_storage(
                    self._client.update_item,
                    TableName=self._table,
                    Key=_key(counter),
                    UpdateExpression=(
                        "ADD failures :one SET window_ends = if_not_exists(window_ends, :end), "
                        "#expires_at = if_not_exists(#expires_at, :end)"
                    ),
                    ConditionExpression=(
                        "attribute_not_exists(#pk) OR (window_ends > :now AND failures < :limit)"
                    ),
                    ExpressionAttributeNames={"#pk": RECORD_KEY, "#expires_at": EXPIRES_AT},
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":end": window_end,
                        ":now": {"N": str(now)},
                        ":limit": {"N": str(limit)},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return None
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                item = error.response.get("Item")
            if item is not None and float(item["window_ends"]["N"]) > now:
                return float(item["window_ends"]["N"])  # a live window, already at the limit
            if self._reopen_window(counter, now, window_end):
                return None
        raise ServiceUnavailable(RETRY_AFTER_SECONDS)  # pathological contention: retry later

    def release_attempt(self, counter: str, now: float) -> None:
        """Give back one counted attempt (its password was right); best effort."""
        with contextlib.suppress(ClientError):
            call_storage(
                self._client.update_item,
                TableName=self._table,
                Key=_key(counter),
                UpdateExpression="ADD failures :minus_one",
                ConditionExpression="window_ends > :now AND failures > :zero",
                ExpressionAttributeValues={
                    ":minus_one": {"N": "-1"},
                    ":zero": {"N": "0"},
                    ":now": {"N": str(now)},
                },
            )

    def clear_attempts(self, counter: str) -> None:
        call_storage(self._client.delete_item, TableName=self._table, Key=_key(counter))

    def _reopen_window(self, counter: str, now: float, window_end: dict[str, str]) -> bool:
        """Replace an expired window (TTL deletion lags) with a new one holding this attempt;
        ``False`` if another request got there first."""
        try:
            call_storage(
                self._client.put_item,
                TableName=self._table,
                Item={
                    **_key(counter),
                    "failures": {"N": "1"},
                    "window_ends": window_end,
                    EXPIRES_AT: window_end,
                },
                ConditionExpression="attribute_not_exists(#pk) OR window_ends <= :now",
                ExpressionAttributeNames={"#pk": RECORD_KEY},
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            return False
        return True


def _key(pk: str) -> dict[str, Any]:
    return {RECORD_KEY: {"S": pk}}


def login_counter_for_address(username: str, address: str) -> str:
    """The counter of login attempts for ``username`` from one client address."""
    return "login#" + _digest(username.lower() + "\x00" + address)


def login_counter_for_username(username: str) -> str:
    """The counter of login attempts for ``username`` from every address together."""
    return "login-all#" + _digest(username.lower())


def _digest(text: str) -> str:
    # Hashed: a username as sent may be any size, and locked unknown names look like real ones.
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
