"""In-process: idempotency and lockout states that need the clock or the table, secret
rotation, and what these paths cost in DynamoDB."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from chalicelib import runtime
from chalicelib.auth import passwords
from chalicelib.auth.signing_secret import key_id
from chalicelib.storage.idempotency import record_key
from chalicelib.storage.records import login_counter_for_address
from devstack.storage_meter import StorageMeter
from tests.conftest import TEST_SECRET
from tests.support import Api, Reply, User

RECORDS = "tasks-api-local-records"
TASKS = "tasks-api-local-tasks"
CHALICE_TEST_ADDRESS = "127.0.0.1"  # the sourceIp chalice.test.Client puts in every event


def _create(api: Api, user: User, key: str, title: str = "t") -> Reply:
    return api.request(
        "POST", "/tasks", json_body={"title": title}, headers={"Idempotency-Key": key}, user=user
    )


def _idempotency_key(user: User, key: str) -> dict[str, Any]:
    """Idempotency records live in their owner's tasks partition."""
    return record_key(user.id, key)


def _counter_key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def _record(moto_tables: Any, key: dict[str, Any] | str) -> dict[str, Any] | None:
    table, key = (RECORDS, _counter_key(key)) if isinstance(key, str) else (TASKS, key)
    return moto_tables.get_item(TableName=table, Key=key).get("Item")


def _set(moto_tables: Any, key: dict[str, Any] | str, **numbers: float) -> None:
    table, key = (RECORDS, _counter_key(key)) if isinstance(key, str) else (TASKS, key)
    moto_tables.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET " + ", ".join(f"{name} = :{name}" for name in numbers),
        ExpressionAttributeValues={f":{n}": {"N": str(int(v))} for n, v in numbers.items()},
    )


@pytest.fixture
def meter(inprocess_api: Api) -> StorageMeter:
    return StorageMeter(runtime.dynamodb_client())


def test_a_key_whose_first_request_is_in_flight_is_409(
    inprocess_api: Api, moto_tables: Any
) -> None:
    user = inprocess_api.new_user()
    key = "in-flight"
    assert _create(inprocess_api, user, key).status == 201
    pk = _idempotency_key(user, key)
    moto_tables.update_item(
        TableName=TASKS,
        Key=pk,
        UpdateExpression="SET #state = :in_flight, lease_until = :lease REMOVE #response",
        ExpressionAttributeNames={"#state": "state", "#response": "response"},
        ExpressionAttributeValues={
            ":in_flight": {"S": "in_flight"},
            ":lease": {"N": str(int(time.time()) + 30)},
        },
    )
    reply = _create(inprocess_api, user, key)
    assert reply.status == 409
    assert reply.error_code == "idempotency_in_progress"
    _set(moto_tables, pk, lease_until=time.time() - 1)  # its request died: the lease lapsed
    taken_over = _create(inprocess_api, user, key)
    assert taken_over.status == 201 and "Idempotent-Replayed" not in taken_over.headers


def test_records_expire_after_24_hours(inprocess_api: Api, moto_tables: Any) -> None:
    user = inprocess_api.new_user()
    first = _create(inprocess_api, user, "daily")
    pk = _idempotency_key(user, "daily")
    expires_at = int(_record(moto_tables, pk)["expires_at"]["N"])
    assert abs(expires_at - (time.time() + 24 * 3600)) < 60  # DynamoDB TTL removes it
    _set(moto_tables, pk, expires_at=time.time() - 1)  # past, but TTL has not deleted it yet
    later = _create(inprocess_api, user, "daily")
    assert later.status == 201 and "Idempotent-Replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("code", ["ThrottlingError", "TransactionConflict", "ValidationError"])
def test_a_failed_transaction_leaves_neither_task_nor_record(
    inprocess_api: Api, moto_tables: Any, code: str
) -> None:
    user = inprocess_api.new_user()
    events = runtime.dynamodb_client().meta.events

    def cancel(**_: Any) -> None:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "injected"},
                "CancellationReasons": [{"Code": "None"}, {"Code": code}],
            },
            "TransactWriteItems",
        )

    events.register("before-call.dynamodb.TransactWriteItems", cancel, unique_id="cancel")
    try:
        reply = _create(inprocess_api, user, "atomic")
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="cancel")
    assert reply.status == (500 if code == "ValidationError" else 503)
    assert "injected" not in reply.body.decode()
    assert inprocess_api.request("GET", "/tasks", user=user).json()["items"] == []
    assert _record(moto_tables, _idempotency_key(user, "atomic")) is None  # claim released
    retry = _create(inprocess_api, user, "atomic")
    assert retry.status == 201 and "Idempotent-Replayed" not in retry.headers


def test_what_idempotent_creates_cost(inprocess_api: Api, meter: StorageMeter) -> None:
    user = inprocess_api.new_user()
    meter.reset()
    _create(inprocess_api, user, "cost")
    assert dict(meter.calls) == {"PutItem": 1, "TransactWriteItems": 1}
    meter.reset()
    _create(inprocess_api, user, "cost")
    assert dict(meter.calls) == {"PutItem": 1}  # the refused claim returns the record


def test_the_lockout_ends_when_its_window_passes(inprocess_api: Api, moto_tables: Any) -> None:
    user = inprocess_api.new_user()
    for _ in range(5):
        inprocess_api.login(user.username, "wrong password")
    assert inprocess_api.login(user.username).status == 429
    pk = login_counter_for_address(user.username, CHALICE_TEST_ADDRESS)
    record = _record(moto_tables, pk)
    assert int(record["failures"]["N"]) == 5
    assert abs(int(record["expires_at"]["N"]) - (time.time() + 900)) < 60
    _set(moto_tables, pk, window_ends=time.time() - 1)
    assert inprocess_api.login(user.username).status == 200


def test_a_failure_after_the_window_starts_a_new_count(
    inprocess_api: Api, moto_tables: Any
) -> None:
    user = inprocess_api.new_user()
    for _ in range(4):
        inprocess_api.login(user.username, "wrong password")
    pk = login_counter_for_address(user.username, CHALICE_TEST_ADDRESS)
    _set(moto_tables, pk, window_ends=time.time() - 1)
    for _ in range(4):
        assert inprocess_api.login(user.username, "wrong password").status == 401
    assert inprocess_api.login(user.username).status == 200


def test_a_locked_login_makes_one_refused_write_and_hashes_nothing(
    inprocess_api: Api, meter: StorageMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = inprocess_api.new_user()
    for _ in range(5):
        inprocess_api.login(user.username, "wrong password")
    hashed: list[bytes] = []
    real_scrypt = passwords.hashlib.scrypt
    monkeypatch.setattr(
        passwords.hashlib, "scrypt", lambda pw, **kw: hashed.append(pw) or real_scrypt(pw, **kw)
    )
    meter.reset()
    assert inprocess_api.login(user.username).status == 429
    assert dict(meter.calls) == {"UpdateItem": 1}  # the refused reservation returns the count
    assert hashed == []


# --- secret rotation -------------------------------------------------------------------

OLD, NEW, NEWER = TEST_SECRET, "n" * 48, "m" * 48


def _rotate(monkeypatch: pytest.MonkeyPatch, current: str, previous: str | None) -> None:
    monkeypatch.setenv("TOKEN_SIGNING_SECRET", current)
    if previous is None:
        monkeypatch.delenv("TOKEN_SIGNING_SECRET_PREVIOUS", raising=False)
    else:
        monkeypatch.setenv("TOKEN_SIGNING_SECRET_PREVIOUS", previous)
    runtime.reset()  # new containers pick up the new secrets


def test_rotating_the_secret_keeps_old_tokens_and_cursors_valid_for_one_rotation(
    inprocess_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = inprocess_api
    user = api.new_user()
    for i in range(3):
        api.create_task(user, title=f"t{i}")
    cursor = api.request("GET", "/tasks?limit=1", user=user).json()["next_cursor"]
    assert jwt.get_unverified_header(user.token)["kid"] == key_id(OLD.encode())

    _rotate(monkeypatch, current=NEW, previous=OLD)
    assert api.request("GET", "/users/me", user=user).status == 200
    assert api.request("GET", f"/tasks?limit=1&cursor={cursor}", user=user).status == 200
    fresh = api.login(user.username).json()["access_token"]
    assert jwt.get_unverified_header(fresh)["kid"] == key_id(NEW.encode())

    _rotate(monkeypatch, current=NEWER, previous=NEW)
    assert api.request("GET", "/users/me", user=user).status == 403
    assert (
        api.request("GET", "/users/me", headers={"Authorization": f"Bearer {fresh}"}).status == 200
    )
    stale = api.request(
        "GET", f"/tasks?limit=1&cursor={cursor}", headers={"Authorization": f"Bearer {fresh}"}
    )
    assert stale.status == 400 and stale.error_code == "invalid_cursor"


def test_a_token_naming_one_key_but_signed_with_another_is_refused(
    inprocess_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rotate(monkeypatch, current=NEW, previous=OLD)
    user = inprocess_api.new_user()
    forged = inprocess_api.token(
        sub=user.id, username=user.username, key=OLD, headers={"kid": key_id(NEW.encode())}
    )
    reply = inprocess_api.request("GET", "/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert reply.status == 403
