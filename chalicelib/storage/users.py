"""Users in DynamoDB: one item per lower-case username."""

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
