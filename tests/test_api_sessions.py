"""In-process: what sessions and account deletion store and cost, expiry on an injected
clock, concurrent rotation, purges of large accounts, and storage faults mid-way."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import runtime
from chalicelib.auth.tokens import Principal
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import Task
from chalicelib.errors import InvalidRefreshToken
from chalicelib.services import account_purge
from chalicelib.storage.batches import BATCH_WRITE_LIMIT
from chalicelib.storage.tasks import PURGE_PAGE_SIZE, to_item
from devstack.storage_meter import StorageMeter
from tests.support import PASSWORD, Api, User

SESSIONS = "tasks-api-local-sessions"
TASKS = "tasks-api-local-tasks"
USERS = "tasks-api-local-users"


@pytest.fixture
def meter(inprocess_api: Api) -> StorageMeter:
    return StorageMeter(runtime.dynamodb_client())


def _login(api: Api, user: User) -> dict[str, Any]:
    reply = api.login(user.username)
    assert reply.status == 200, reply
    return reply.json()


def _partition(moto_tables: Any, table: str, user_id: str) -> list[dict[str, Any]]:
    return moto_tables.query(
        TableName=table,
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
    )["Items"]


def _seed_tasks(moto_tables: Any, user_id: str, count: int) -> None:
    now = "2026-12-01T00:00:00.000Z"
    for start in range(0, count, BATCH_WRITE_LIMIT):
        batch = []
        for _ in range(min(BATCH_WRITE_LIMIT, count - start)):
            task = Task(
                id=new_id(),
                title="seeded",
                description="",
                status="todo",
                due_date=None,
                tags=[],
                created_at=now,
                updated_at=now,
                version=1,
            )
            batch.append({"PutRequest": {"Item": to_item(user_id, task)}})
        moto_tables.batch_write_item(RequestItems={TASKS: batch})


def test_only_a_hash_of_the_refresh_token_is_stored(inprocess_api: Api, moto_tables: Any) -> None:
    user = inprocess_api.new_user()
    token = _login(inprocess_api, user)["refresh_token"]
    session_id = token.split(".")[1]
    (item,) = [
        i for i in _partition(moto_tables, SESSIONS, user.id) if i["session_id"]["S"] == session_id
    ]
    secret = token.rsplit(".", 1)[1]
    assert secret not in json.dumps(item)
    assert token not in json.dumps(item)
    assert len(item["token_hash"]["S"]) == 64
    assert int(item["expires_at"]["N"]) == pytest.approx(time.time() + 30 * 86400, abs=60)


def test_a_refresh_is_one_conditional_write(inprocess_api: Api, meter: StorageMeter) -> None:
    user = inprocess_api.new_user()
    token = _login(inprocess_api, user)["refresh_token"]
    meter.reset()
    reply = inprocess_api.request("POST", "/auth/refresh", json_body={"refresh_token": token})
    assert reply.status == 200
    assert dict(meter.calls) == {"UpdateItem": 1}


def test_ending_every_session_queries_by_user_and_never_scans(
    inprocess_api: Api, meter: StorageMeter, moto_tables: Any
) -> None:
    user = inprocess_api.new_user()
    for _ in range(30):
        _login(inprocess_api, user)
    meter.reset()
    runtime.session_service().end_all(user.id)
    assert meter.calls["Query"] == 1
    assert meter.calls["BatchWriteItem"] == 2  # 30 keys: 25 + 5
    assert "Scan" not in meter.calls
    assert _partition(moto_tables, SESSIONS, user.id) == []


def test_a_refresh_token_expires_with_its_session(inprocess_api: Api) -> None:
    user = inprocess_api.new_user()
    sessions = runtime.session_service()
    principal = Principal(user.id, user.username)
    start = time.time()
    tokens = sessions.start(principal, now=start)
    lifetime = runtime.settings().refresh_token_lifetime_seconds
    refreshed = sessions.refresh(tokens.refresh_token, now=start + lifetime - 10)
    assert refreshed.refresh_expires_in == 10  # the session's end does not move
    with pytest.raises(InvalidRefreshToken):
        sessions.refresh(refreshed.refresh_token, now=start + lifetime + 1)


def test_of_concurrent_refreshes_with_one_token_at_most_one_succeeds(inprocess_api: Api) -> None:
    user = inprocess_api.new_user()
    token = _login(inprocess_api, user)["refresh_token"]
    sessions = runtime.session_service()

    def refresh(_: int) -> str:
        try:
            return sessions.refresh(token).refresh_token
        except InvalidRefreshToken:
            return "refused"

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(refresh, range(10)))
    assert len([r for r in results if r != "refused"]) <= 1


def test_a_create_costs_one_transaction_with_the_account_check(
    inprocess_api: Api, meter: StorageMeter
) -> None:
    user = inprocess_api.new_user()
    meter.reset()
    inprocess_api.create_task(user)
    assert dict(meter.calls) == {"TransactWriteItems": 1}


def test_idempotency_records_live_in_the_owners_partition_and_never_list(
    inprocess_api: Api, moto_tables: Any
) -> None:
    user = inprocess_api.new_user()
    headers = {"Idempotency-Key": "k1"}
    created = inprocess_api.request(
        "POST", "/tasks", json_body={"title": "t"}, headers=headers, user=user
    )
    assert created.status == 201
    sort_keys = {item["task_id"]["S"] for item in _partition(moto_tables, TASKS, user.id)}
    assert sort_keys == {created.json()["id"], "!idempotency#k1"}
    page = inprocess_api.request("GET", "/tasks?limit=100", user=user).json()
    assert [task["id"] for task in page["items"]] == [created.json()["id"]]


def test_deletion_removes_the_user_sessions_tasks_and_records(
    inprocess_api: Api, moto_tables: Any
) -> None:
    user = inprocess_api.new_user()
    _login(inprocess_api, user)
    inprocess_api.request(
        "POST", "/tasks", json_body={"title": "t"}, headers={"Idempotency-Key": "k"}, user=user
    )
    _seed_tasks(moto_tables, user.id, 60)
    reply = inprocess_api.request(
        "DELETE", "/users/me", json_body={"password": PASSWORD}, user=user
    )
    assert reply.status == 204
    assert _partition(moto_tables, TASKS, user.id) == []
    assert _partition(moto_tables, SESSIONS, user.id) == []
    user_item = moto_tables.get_item(TableName=USERS, Key={"username": {"S": user.username}})
    assert "Item" not in user_item


# make test purges 2,010 tasks; `make purge` runs the same test with 50,000.
LARGE_PURGE_TASKS = int(os.environ.get("LARGE_PURGE_TASKS", str(2 * PURGE_PAGE_SIZE + 10)))


def test_a_large_purge_makes_one_batch_write_per_25_items(
    inprocess_api: Api, moto_tables: Any, meter: StorageMeter
) -> None:
    """Exact call counts of an account purge (50,000 tasks under ``make purge``)."""
    user = inprocess_api.new_user()
    count = LARGE_PURGE_TASKS
    _seed_tasks(moto_tables, user.id, count)
    meter.reset()
    started = time.monotonic()
    done = runtime.task_repository().delete_partition(user.id, keep_going=lambda: True)
    elapsed = time.monotonic() - started
    assert done
    assert meter.calls["BatchWriteItem"] == -(-count // BATCH_WRITE_LIMIT)
    # One Query per page of keys; after a last *full* page, DynamoDB may or may not need one
    # more (empty) Query to see the end (it may return LastEvaluatedKey at the limit).
    assert meter.calls["Query"] in {-(-count // PURGE_PAGE_SIZE), count // PURGE_PAGE_SIZE + 1}
    print(f"purged {count} tasks in {elapsed:.1f} s (in-process moto; reported, not asserted)")
    assert _partition(moto_tables, TASKS, user.id) == []


@pytest.fixture
def slow_purge(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing is purged within the request: everything goes to the background purge."""
    monkeypatch.setattr(account_purge, "IN_REQUEST_SECONDS", 0.0)
    yield


def test_what_the_request_cannot_purge_is_finished_in_the_background(
    inprocess_api: Api, moto_tables: Any, slow_purge: None
) -> None:
    user = inprocess_api.new_user()
    _seed_tasks(moto_tables, user.id, 200)
    reply = inprocess_api.request(
        "DELETE", "/users/me", json_body={"password": PASSWORD}, user=user
    )
    assert reply.status == 204
    deadline = time.monotonic() + 30
    while _partition(moto_tables, TASKS, user.id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _partition(moto_tables, TASKS, user.id) == []
    # Meanwhile, and afterwards, the old token sees nothing and stores nothing.
    late = inprocess_api.request("POST", "/tasks", json_body={"title": "x"}, user=user)
    assert late.error_code == "account_closed"


def test_the_purge_function_continues_until_nothing_remains(
    inprocess_api: Api, moto_tables: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``purge_account`` Lambda entry point: one slice per invocation, each handing
    the rest to the next (here the next invocations are recorded, then run in turn)."""
    from app import purge_account

    user = inprocess_api.new_user()
    _seed_tasks(moto_tables, user.id, 3 * PURGE_PAGE_SIZE)
    invoked: list[str] = []
    purge = runtime.account_purge()
    monkeypatch.setattr(purge, "_background", type("Recorder", (), {"start": invoked.append})())

    class ShortLivedContext:
        """Each invocation may purge one page before its (fake) timeout is near."""

        def __init__(self) -> None:
            self.calls = 0

        def get_remaining_time_in_millis(self) -> int:
            self.calls += 1
            return 10_000 if self.calls == 1 else 1_000

    result = purge_account({"user_id": user.id}, ShortLivedContext())
    assert result == {"user_id": user.id, "done": False}
    while invoked:
        result = purge_account({"user_id": invoked.pop()}, ShortLivedContext())
    assert result["done"] is True
    assert _partition(moto_tables, TASKS, user.id) == []
    assert purge_account({"user_id": "not an id"}, ShortLivedContext()) == {"done": False}


TRANSIENT = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}


def _fail_operations(names: set[str], after: int = 0) -> Any:
    seen = {"count": 0}
    lock = threading.Lock()

    def fault(model: Any, **_: Any) -> None:
        if model.name in names:
            with lock:
                seen["count"] += 1
                if seen["count"] > after:
                    raise ClientError(TRANSIENT, model.name)

    return fault


def test_a_failed_deletion_is_finished_by_the_retry(inprocess_api: Api, moto_tables: Any) -> None:
    user = inprocess_api.new_user()
    _login(inprocess_api, user)
    _seed_tasks(moto_tables, user.id, 80)
    events = runtime.dynamodb_client().meta.events
    events.register(
        "before-call.dynamodb", _fail_operations({"BatchWriteItem"}, after=1), unique_id="f"
    )
    failed = inprocess_api.request(
        "DELETE", "/users/me", json_body={"password": PASSWORD}, user=user
    )
    events.unregister("before-call.dynamodb", unique_id="f")
    assert failed.status == 503
    assert failed.headers["Retry-After"] == "1"
    assert inprocess_api.login(user.username).status == 401  # the account is already closed
    retried = inprocess_api.request(
        "DELETE", "/users/me", json_body={"password": PASSWORD}, user=user
    )
    assert retried.status == 204
    assert _partition(moto_tables, TASKS, user.id) == []
    assert _partition(moto_tables, SESSIONS, user.id) == []


def test_a_failed_rotation_changes_nothing(inprocess_api: Api) -> None:
    user = inprocess_api.new_user()
    token = _login(inprocess_api, user)["refresh_token"]
    events = runtime.dynamodb_client().meta.events
    events.register("before-call.dynamodb", _fail_operations({"UpdateItem"}), unique_id="f")
    failed = inprocess_api.request("POST", "/auth/refresh", json_body={"refresh_token": token})
    events.unregister("before-call.dynamodb", unique_id="f")
    assert failed.status == 503
    retried = inprocess_api.request("POST", "/auth/refresh", json_body={"refresh_token": token})
    assert retried.status == 200


def test_a_password_change_cut_short_is_finished_by_its_retry(inprocess_api: Api) -> None:
    """The new hash stored, then ending the sessions failed (503): the same request again
    finishes the change instead of answering 401 for the now-old current password."""
    user = inprocess_api.new_user()
    session = _login(inprocess_api, user)
    change = {"current_password": PASSWORD, "new_password": "the next passphrase"}
    events = runtime.dynamodb_client().meta.events
    events.register("before-call.dynamodb", _fail_operations({"BatchWriteItem"}), unique_id="f")
    failed = inprocess_api.request("PUT", "/users/me/password", json_body=change, user=user)
    events.unregister("before-call.dynamodb", unique_id="f")
    assert failed.status == 503
    retried = inprocess_api.request("PUT", "/users/me/password", json_body=change, user=user)
    assert retried.status == 204
    refresh = {"refresh_token": session["refresh_token"]}
    assert inprocess_api.request("POST", "/auth/refresh", json_body=refresh).status == 401
    assert inprocess_api.login(user.username, "the next passphrase").status == 200
    wrong = {"current_password": "not it", "new_password": "yet another passphrase"}
    assert (
        inprocess_api.request("PUT", "/users/me/password", json_body=wrong, user=user).status == 401
    )
