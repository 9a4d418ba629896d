"""Races against the real local stack: concurrent refreshes with one token, and an account
deletion racing creates made with the account's token."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests

from devstack.stack import LocalStack
from tests.support import PASSWORD, Api

pytestmark = pytest.mark.e2e


def test_ten_concurrent_refreshes_with_one_token_give_at_most_one_200(
    http_api: Api, local_stack: LocalStack
) -> None:
    user = http_api.new_user("refresh-race")
    token = http_api.login(user.username).json()["refresh_token"]
    start = threading.Barrier(10)

    def refresh(_: int) -> int:
        start.wait()
        return requests.post(
            f"{local_stack.base_url}/auth/refresh", json={"refresh_token": token}, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(refresh, range(10)))
    assert statuses.count(200) <= 1
    assert set(statuses) <= {200, 401}


def test_a_deletion_racing_twenty_creates_leaves_nothing_stored(
    http_api: Api, local_stack: LocalStack
) -> None:
    user = http_api.new_user("delete-race")
    for n in range(5):
        http_api.create_task(user, title=f"before {n}")
    start = threading.Barrier(21)
    url = local_stack.base_url

    def create(n: int) -> int:
        start.wait()
        return requests.post(
            f"{url}/tasks", json={"title": f"racing {n}"}, headers=user.auth, timeout=30
        ).status_code

    def delete() -> int:
        start.wait()
        return requests.delete(
            f"{url}/users/me", json={"password": PASSWORD}, headers=user.auth, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=21) as pool:
        creates = [pool.submit(create, n) for n in range(20)]
        deletion = pool.submit(delete)
        create_statuses = [future.result() for future in creates]
    assert deletion.result() == 204
    # Each create either committed before the deletion (and was purged) or was refused.
    assert set(create_statuses) <= {201, 401}
    after = requests.post(f"{url}/tasks", json={"title": "late"}, headers=user.auth, timeout=30)
    assert after.json()["error"]["code"] == "account_closed"
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=local_stack.dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    stored = dynamodb.query(
        TableName="tasks-api-local-tasks",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user.id}},
    )["Items"]
    assert stored == []
    listing = requests.get(f"{url}/tasks", headers=user.auth, timeout=30).json()
    assert listing == {"items": [], "next_cursor": None}
