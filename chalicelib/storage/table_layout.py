"""The DynamoDB table layout, defined once for every place that creates tables.

users: one item per username (lower case), so uniqueness is a conditional put.
records: short-lived records keyed by ``pk`` (failed-login counters) that DynamoDB
deletes through TTL on ``expires_at`` (epoch seconds). TTL deletion can lag, so readers
also compare ``expires_at`` with the clock.
sessions: partition ``user_id``, sort ``session_id``: one item per login session, holding
only a hash of its live refresh token. Keyed by user, so ending every session of a user is
one Query, never a scan; expired sessions go through TTL on ``expires_at``.
tasks: partition ``user_id``, sort ``task_id`` (a ULID, so newest-first is a reverse
Query). Everything else stored about a user's tasks lives in the same partition, under
sort keys that sort before every ULID, so deleting an account is one partition's purge;
those items may expire through TTL on ``expires_at``. The local secondary index
``by_status`` sorts on ``status_task`` = ``"<status>#<task_id>"``: a status filter is a key
condition on the index, costing what the page costs, and an LSI allows strongly consistent
reads, so a write is visible to the next list call. (An LSI caps one user's tasks at 10 GB,
far beyond a personal task list.)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from chalicelib.config import Settings

USERNAME = "username"
USER_ID = "user_id"
TASK_ID = "task_id"
SESSION_ID = "session_id"
STATUS_INDEX = "by_status"
STATUS_TASK = "status_task"
RECORD_KEY = "pk"
EXPIRES_AT = "expires_at"


def status_task_key(status: str, task_id: str) -> str:
    return f"{status}#{task_id}"


def users_table(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for the users table."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": USERNAME, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": USERNAME, "KeyType": "HASH"}],
    }


def tasks_table(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for the tasks table and its status index."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": USER_ID, "AttributeType": "S"},
            {"AttributeName": TASK_ID, "AttributeType": "S"},
            {"AttributeName": STATUS_TASK, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": USER_ID, "KeyType": "HASH"},
            {"AttributeName": TASK_ID, "KeyType": "RANGE"},
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": USER_ID, "KeyType": "HASH"},
                    {"AttributeName": STATUS_TASK, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def records_table(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for the records table; see ``time_to_live`` for its TTL."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": RECORD_KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": RECORD_KEY, "KeyType": "HASH"}],
    }


def sessions_table(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for the sessions table; see ``time_to_live`` for its TTL."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": USER_ID, "AttributeType": "S"},
            {"AttributeName": SESSION_ID, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": USER_ID, "KeyType": "HASH"},
            {"AttributeName": SESSION_ID, "KeyType": "RANGE"},
        ],
    }


def all_tables(settings: Settings) -> list[dict[str, Any]]:
    return [
        users_table(settings.users_table),
        tasks_table(settings.tasks_table),
        records_table(settings.records_table),
        sessions_table(settings.sessions_table),
    ]


def time_to_live(settings: Settings) -> dict[str, str]:
    """The TTL attribute of each table that has one (``CreateTable`` cannot set it)."""
    return {
        settings.tasks_table: EXPIRES_AT,
        settings.records_table: EXPIRES_AT,
        settings.sessions_table: EXPIRES_AT,
    }


def create_missing_tables(
    client: Any,
    settings: Settings,
    timeout_seconds: float = 60,
    extra_arguments: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create whichever tables do not exist yet and wait until they are active.

    Idempotent: returns the names it created, an empty list when all were there.
    ``extra_arguments`` are added to every ``CreateTable`` call (e.g. the deploy's
    ``SSESpecification`` and ``DeletionProtectionEnabled``), so the layout stays defined here.
    """
    existing = set(_table_names(client))
    created = []
    for definition in all_tables(settings):
        if definition["TableName"] not in existing:
            client.create_table(**definition, **(extra_arguments or {}))
            created.append(definition["TableName"])
    deadline = time.monotonic() + timeout_seconds
    for name in created:
        while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {name} did not become active")
            time.sleep(0.5)
    for name, attribute in time_to_live(settings).items():
        if name in created:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
            )
    return created


def _table_names(client: Any) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = client.list_tables(**kwargs)
        names.extend(page.get("TableNames", []))
        if "LastEvaluatedTableName" not in page:
            return names
        kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]
