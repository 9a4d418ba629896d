"""Closed accounts of the cognito mode: one marker item per deleted user, in the users table.

In the builtin mode a task can only be stored while its owner's user record exists (a
``ConditionCheck`` in the same transaction, ``UserRepository.ownership_check``). The cognito
mode has no user record: Cognito holds the users, and an access token stays valid for up to
its lifetime (an hour by default) after ``AdminDeleteUser``. So ``DELETE /users/me`` first
writes a marker, ``username = "#closed#<sub>"``, and every task create carries a
``ConditionCheck`` that no marker exists for its owner: from the marker's write on, nothing
can be stored for the account, exactly as in the builtin mode, at exactly the same cost
(one ``ConditionCheck`` in the create's transaction; a check of an item that does not exist
succeeds). No builtin username can collide with a marker: usernames start with a letter or
digit. Markers are kept (a few dozen bytes each): Cognito never gives a ``sub`` out again,
so a marker never refuses anybody else.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.timestamps import utc_now
from chalicelib.storage.client import call_storage, error_code
from chalicelib.storage.table_layout import USER_ID, USERNAME

CLOSED_PREFIX = "#closed#"


def closed_key(user_id: str) -> dict[str, Any]:
    return {USERNAME: {"S": CLOSED_PREFIX + user_id}}


class ClosedAccounts:
    def __init__(self, client: Any, users_table: str) -> None:
        self._client = client
        self._table = users_table

    def ownership_check(self, username: str, user_id: str) -> dict[str, Any]:
        """A ``TransactWriteItems`` entry that holds only while the account is not closed
        (the same interface as ``UserRepository.ownership_check``; the username is unused:
        a Cognito user is its ``sub``)."""
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": closed_key(user_id),
                "ConditionExpression": "attribute_not_exists(#username)",
                "ExpressionAttributeNames": {"#username": USERNAME},
            }
        }

    def close(self, user_id: str) -> None:
        """Write the account's marker; closing a closed account keeps the first marker."""
        try:
            call_storage(
                self._client.put_item,
                TableName=self._table,
                Item={
                    **closed_key(user_id),
                    USER_ID: {"S": user_id},
                    "closed_at": {"S": utc_now()},
                },
                ConditionExpression="attribute_not_exists(#username)",
                ExpressionAttributeNames={"#username": USERNAME},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def is_closed(self, user_id: str) -> bool:
        response = call_storage(
            self._client.get_item,
            TableName=self._table,
            Key=closed_key(user_id),
            ConsistentRead=True,
            ProjectionExpression="#username",
            ExpressionAttributeNames={"#username": USERNAME},
        )
        return "Item" in response
