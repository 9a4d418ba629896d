"""Login sessions in DynamoDB: one item per session, keyed by user, holding only a hash of
the session's one live refresh token.

Keyed ``user_id`` + ``session_id`` so that ending every session of a user is one Query
(never a scan) and a batch of deletes. Rotation is one conditional write on the hash and
generation, so of concurrent refreshes with one token at most one succeeds. Expired
sessions go through TTL on ``expires_at``; every read compares it with the clock too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.auth.refresh_tokens import PresentedToken
from chalicelib.storage.batches import delete_in_batches
from chalicelib.storage.client import call_storage, error_code
from chalicelib.storage.table_layout import EXPIRES_AT, SESSION_ID, USER_ID


@dataclass(frozen=True)
class Session:
    user_id: str
    session_id: str
    username: str
    generation: int
    token_hash: str
    expires_at: int


class RotationRefused(Exception):
    """The presented token is not the session's live one; ``stored`` is what is there."""

    def __init__(self, stored: Session | None) -> None:
        super().__init__("refresh token refused")
        self.stored = stored


class SessionRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, session: Session) -> None:
        call_storage(
            self._client.put_item,
            TableName=self._table,
            Item=_to_item(session),
            ConditionExpression="attribute_not_exists(#session_id)",
            ExpressionAttributeNames={"#session_id": SESSION_ID},
        )

    def rotate(self, presented: PresentedToken, new_token_hash: str, now: float) -> Session:
        """Replace the live token ``presented`` describes by ``new_token_hash``, atomically.

        One conditional write: it succeeds only while the stored hash and generation are the
        presented ones and the session has not expired. Otherwise ``RotationRefused`` with
        the stored session (``None`` when there is none), for the caller to tell a spent
        token from a forged one.
        """
        try:
            response = call_storage(
                self._client.update_item,
                TableName=self._table,
                Key=_key(presented.user_id, presented.session_id),
                UpdateExpression="SET token_hash = :new_hash, generation = :next",
                ConditionExpression=(
                    "token_hash = :presented_hash AND generation = :generation "
                    "AND #expires_at > :now"
                ),
                ExpressionAttributeNames={"#expires_at": EXPIRES_AT},
                ExpressionAttributeValues={
                    ":new_hash": {"S": new_token_hash},
                    ":next": {"N": str(presented.generation + 1)},
                    ":presented_hash": {"S": presented.token_hash},
                    ":generation": {"N": str(presented.generation)},
                    ":now": {"N": str(int(now))},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            item = error.response.get("Item")
            raise RotationRefused(None if not item else _from_item(item)) from None
        return _from_item(response["Attributes"])

    def end(self, user_id: str, session_id: str) -> None:
        """End one session (logout, or a spent token presented again); idempotent."""
        call_storage(self._client.delete_item, TableName=self._table, Key=_key(user_id, session_id))

    def end_if_presented(self, presented: PresentedToken) -> None:
        """End the session if ``presented`` is its live token or an earlier one (logout).

        A token of a later generation than the stored one, or with the live generation but
        another hash, was never issued: it ends nothing.
        """
        with contextlib.suppress(ClientError):  # the condition failed: nothing to end
            call_storage(
                self._client.delete_item,
                TableName=self._table,
                Key=_key(presented.user_id, presented.session_id),
                ConditionExpression=(
                    "(token_hash = :presented_hash AND generation = :generation) "
                    "OR generation > :generation"
                ),
                ExpressionAttributeValues={
                    ":presented_hash": {"S": presented.token_hash},
                    ":generation": {"N": str(presented.generation)},
                },
            )

    def end_all(self, user_id: str) -> int:
        """End every session of ``user_id``: one Query per page of keys, batched deletes."""
        keys = self._session_keys(user_id)
        delete_in_batches(self._client, self._table, keys)
        return len(keys)

    def _session_keys(self, user_id: str) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#user_id = :user_id",
            "ProjectionExpression": "#user_id, #session_id",
            "ExpressionAttributeNames": {"#user_id": USER_ID, "#session_id": SESSION_ID},
            "ExpressionAttributeValues": {":user_id": {"S": user_id}},
            "ConsistentRead": True,
        }
        while True:
            response = call_storage(self._client.query, **query)
            keys.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return keys
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _key(user_id: str, session_id: str) -> dict[str, Any]:
    return {USER_ID: {"S": user_id}, SESSION_ID: {"S": session_id}}


def _to_item(session: Session) -> dict[str, Any]:
    return {
        **_key(session.user_id, session.session_id),
        "username": {"S": session.username},
        "generation": {"N": str(session.generation)},
        "token_hash": {"S": session.token_hash},
        EXPIRES_AT: {"N": str(session.expires_at)},
    }


def _from_item(item: dict[str, Any]) -> Session:
    return Session(
        user_id=item[USER_ID]["S"],
        session_id=item[SESSION_ID]["S"],
        username=item["username"]["S"],
        generation=int(item["generation"]["N"]),
        token_hash=item["token_hash"]["S"],
        expires_at=int(item[EXPIRES_AT]["N"]),
    )
