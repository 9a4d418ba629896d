"""Users in DynamoDB: one item per lower-case username.

A username can be registered again after its account is deleted, by someone else with a
new user id; so every write for an existing account is conditional on the item still
holding that account's ``user_id``.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.models import User
from chalicelib.errors import UsernameTaken
from chalicelib.storage.client import call_storage, error_code
from chalicelib.storage.table_layout import USERNAME


class UserRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, user: User) -> None:
        """Store a new user; ``UsernameTaken`` when the name exists (one conditional write)."""
        try:
            call_storage(
                self._client.put_item,
                TableName=self._table,
                Item={
                    USERNAME: {"S": user.username},
                    "user_id": {"S": user.id},
                    "password_hash": {"S": user.password_hash},
                    "created_at": {"S": user.created_at},
                },
                ConditionExpression="attribute_not_exists(#username)",
                ExpressionAttributeNames={"#username": USERNAME},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise UsernameTaken() from None
            raise

    def get_by_username(self, username: str) -> User | None:
        response = call_storage(
            self._client.get_item,
            TableName=self._table,
            Key={USERNAME: {"S": username}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None
        return User(
            id=item["user_id"]["S"],
            username=item[USERNAME]["S"],
            password_hash=item["password_hash"]["S"],
            created_at=item["created_at"]["S"],
        )

    def ownership_check(self, username: str, user_id: str) -> dict[str, Any]:
        """A ``TransactWriteItems`` entry that holds only while the account exists."""
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": {USERNAME: {"S": username}},
                "ConditionExpression": "user_id = :user_id",
                "ExpressionAttributeValues": {":user_id": {"S": user_id}},
            }
        }

    def change_password_hash(
        self, username: str, user_id: str, old_hash: str, new_hash: str
    ) -> bool:
        """Replace the hash if the account and its old hash are still there; ``False`` if not
        (the account was deleted, or the password changed concurrently)."""
        try:
            call_storage(
                self._client.update_item,
                TableName=self._table,
                Key={USERNAME: {"S": username}},
                UpdateExpression="SET password_hash = :new_hash",
                ConditionExpression="user_id = :user_id AND password_hash = :old_hash",
                ExpressionAttributeValues={
                    ":user_id": {"S": user_id},
                    ":old_hash": {"S": old_hash},
                    ":new_hash": {"S": new_hash},
                },
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def remove(self, username: str, user_id: str) -> bool:
        """Delete the account's user record; ``False`` if it was already gone (or the name
        now belongs to someone else). From this write on, login is impossible."""
        try:
            call_storage(
                self._client.delete_item,
                TableName=self._table,
                Key={USERNAME: {"S": username}},
                ConditionExpression="user_id = :user_id",
                ExpressionAttributeValues={":user_id": {"S": user_id}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True
