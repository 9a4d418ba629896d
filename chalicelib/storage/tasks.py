"""Tasks in DynamoDB: every read is by key, every write a single conditional operation.

``version`` is incremented inside the write itself and ``If-Match`` becomes part of the
write's condition, so concurrent writers never lose an update and there is no
read-then-write race.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.models import Task
from chalicelib.errors import AccountClosed, NotFound, PreconditionFailed, ServiceUnavailable
from chalicelib.storage.batches import delete_in_batches
from chalicelib.storage.client import RETRY_AFTER_SECONDS, call_storage, error_code
from chalicelib.storage.table_layout import (
    STATUS_INDEX,
    STATUS_TASK,
    TASK_ID,
    USER_ID,
    status_task_key,
)

TRANSIENT_CANCELLATION_REASONS = frozenset(
    {
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "TransactionConflict",
        "RequestLimitExceeded",
    }
)


# Task ids are ULIDs, which start with a digit; other items of a user's partition
# (idempotency records, ``!idempotency#...``) sort below this.
FIRST_TASK_ID = "0"
PURGE_PAGE_SIZE = 1000


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Task]
    has_more: bool


class TaskRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(
        self,
        user_id: str,
        task: Task,
        *,
        owner_check: dict[str, Any],
        together_with: dict[str, Any] | None = None,
    ) -> None:
        """Store a new task in one transaction with ``owner_check`` (the account still
        exists, ``UserRepository.ownership_check``) and ``together_with`` (an idempotency
        record's completion): all of them or none. ``AccountClosed`` when the account is
        gone: from the instant its user record is deleted, nothing can be stored for it.
        """
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(user_id, task),
                "ConditionExpression": "attribute_not_exists(#task_id)",
                "ExpressionAttributeNames": {"#task_id": TASK_ID},
            }
        }
        items = [put, owner_check] + ([together_with] if together_with is not None else [])
        try:
            call_storage(self._client.transact_write_items, TransactItems=items)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if set(reasons) & TRANSIENT_CANCELLATION_REASONS:
                raise ServiceUnavailable(RETRY_AFTER_SECONDS) from error
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise AccountClosed() from None
            raise

    def delete_partition(
        self, user_id: str, *, keep_going: Callable[[], bool], page_size: int = PURGE_PAGE_SIZE
    ) -> bool:
        """Delete everything stored under ``user_id`` (tasks and idempotency records), a page
        of keys at a time, while ``keep_going()``; ``True`` once nothing is left.

        Each page is one Query for keys only and one ``BatchWriteItem`` per 25 keys.
        """
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#user_id = :user_id",
            "ProjectionExpression": "#user_id, #task_id",
            "ExpressionAttributeNames": {"#user_id": USER_ID, "#task_id": TASK_ID},
            "ExpressionAttributeValues": {":user_id": {"S": user_id}},
            "ConsistentRead": True,
            "Limit": page_size,
        }
        while keep_going():
            response = call_storage(self._client.query, **query)
            keys = response.get("Items", [])
            if not keys:
                return True
            delete_in_batches(self._client, self._table, keys)
            if "LastEvaluatedKey" not in response:
                return True
        return False

    def get(self, user_id: str, task_id: str) -> Task | None:
        response = call_storage(
            self._client.get_item,
            TableName=self._table,
            Key=_key(user_id, task_id),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else _from_item(item)

    def list_page(
        self, user_id: str, *, status: str | None, after_task_id: str | None, limit: int
    ) -> TaskPage:
        """Up to ``limit`` tasks, newest first, after ``after_task_id``.

        Reads ``limit + 1`` items to know whether more follow. DynamoDB stops a Query at
        1 MB, so a page of large tasks may take a second Query; either way the cost is
        bounded by the page, never by how many tasks the user has.
        """
        query: dict[str, Any] = {
            "TableName": self._table,
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "ExpressionAttributeNames": {"#user_id": USER_ID},
            "ExpressionAttributeValues": {":user_id": {"S": user_id}},
        }
        if status is None:  # from the first task id up: idempotency records sort below it
            query["KeyConditionExpression"] = "#user_id = :user_id AND #task_id >= :first_id"
            query["ExpressionAttributeNames"]["#task_id"] = TASK_ID
            query["ExpressionAttributeValues"][":first_id"] = {"S": FIRST_TASK_ID}
        else:
            query["IndexName"] = STATUS_INDEX
            query["KeyConditionExpression"] = (
                "#user_id = :user_id AND begins_with(#status_task, :status_prefix)"
            )
            query["ExpressionAttributeNames"]["#status_task"] = STATUS_TASK
            query["ExpressionAttributeValues"][":status_prefix"] = {"S": f"{status}#"}
        start_key = None
        if after_task_id is not None:
            start_key = _key(user_id, after_task_id)
            if status is not None:
                start_key[STATUS_TASK] = {"S": status_task_key(status, after_task_id)}
        items: list[dict[str, Any]] = []
        while True:
            page_query = dict(query, Limit=limit + 1 - len(items))
            if start_key is not None:
                page_query["ExclusiveStartKey"] = start_key
            response = call_storage(self._client.query, **page_query)
            items.extend(response.get("Items", []))
            start_key = response.get("LastEvaluatedKey")
            if len(items) > limit or start_key is None:
                break
        return TaskPage(
            tasks=[_from_item(item) for item in items[:limit]], has_more=len(items) > limit
        )

    def update(
        self,
        user_id: str,
        task_id: str,
        changes: dict[str, Any],
        *,
        expected_versions: frozenset[int] | None,
        updated_at: str,
    ) -> Task:
        """Apply ``changes``, bump ``version`` by one, and return the task as stored."""
        names = {"#task_id": TASK_ID, "#version": "version", "#updated_at": "updated_at"}
        values: dict[str, Any] = {":one": {"N": "1"}, ":updated_at": {"S": updated_at}}
        assignments = ["#updated_at = :updated_at", "#version = #version + :one"]
        removals = []
        for field, value in changes.items():
            names[f"#{field}"] = field
            if value is None:  # only due_date may be null: null is stored as absent
                removals.append(f"#{field}")
                continue
            assignments.append(f"#{field} = :{field}")
            values[f":{field}"] = _attribute(value)
        if "status" in changes:
            names["#status_task"] = STATUS_TASK
            values[":status_task"] = {"S": status_task_key(changes["status"], task_id)}
            assignments.append("#status_task = :status_task")
        expression = "SET " + ", ".join(assignments)
        if removals:
            expression += " REMOVE " + ", ".join(removals)
        condition = _write_condition(expected_versions, names, values)
        response = self._conditional_write(
            self._client.update_item,
            Key=_key(user_id, task_id),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return _from_item(response["Attributes"])

    def delete(
        self, user_id: str, task_id: str, *, expected_versions: frozenset[int] | None
    ) -> None:
        names = {"#task_id": TASK_ID}
        values: dict[str, Any] = {}
        condition = _write_condition(expected_versions, names, values)
        arguments: dict[str, Any] = {
            "Key": _key(user_id, task_id),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
        }
        if values:
            arguments["ExpressionAttributeValues"] = values
        self._conditional_write(self._client.delete_item, **arguments)

    def _conditional_write(self, operation: Any, **arguments: Any) -> dict[str, Any]:
        """One conditional write; a failed condition means 404 (no item) or 412 (other version)."""
        try:
            return call_storage(
                operation,
                TableName=self._table,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **arguments,
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            if error.response.get("Item"):
                raise PreconditionFailed() from None
            raise NotFound() from None


def _write_condition(
    expected_versions: frozenset[int] | None, names: dict[str, str], values: dict[str, Any]
) -> str:
    condition = "attribute_exists(#task_id)"
    if expected_versions is not None:
        names["#version"] = "version"
        placeholders = []
        for index, version in enumerate(sorted(expected_versions)):
            values[f":expected{index}"] = {"N": str(version)}
            placeholders.append(f":expected{index}")
        condition += f" AND #version IN ({', '.join(placeholders)})"
    return condition


def _key(user_id: str, task_id: str) -> dict[str, Any]:
    return {USER_ID: {"S": user_id}, TASK_ID: {"S": task_id}}


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {"L": [{"S": item} for item in value]}
    return {"S": value}


def to_item(user_id: str, task: Task) -> dict[str, Any]:
    """The stored form of a task (also used to seed tables in tests and benchmarks)."""
    item = {
        **_key(user_id, task.id),
        STATUS_TASK: {"S": status_task_key(task.status, task.id)},
        "title": {"S": task.title},
        "description": {"S": task.description},
        "status": {"S": task.status},
        "tags": _attribute(task.tags),
        "created_at": {"S": task.created_at},
        "updated_at": {"S": task.updated_at},
        "version": {"N": str(task.version)},
    }
    if task.due_date is not None:
        item["due_date"] = {"S": task.due_date}
    return item


def _from_item(item: dict[str, Any]) -> Task:
    return Task(
        id=item[TASK_ID]["S"],
        title=item["title"]["S"],
        description=item["description"]["S"],
        status=item["status"]["S"],
        due_date=item["due_date"]["S"] if "due_date" in item else None,
        tags=[tag["S"] for tag in item["tags"]["L"]],
        created_at=item["created_at"]["S"],
        updated_at=item["updated_at"]["S"],
        version=int(item["version"]["N"]),
    )
