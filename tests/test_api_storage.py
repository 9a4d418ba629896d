"""In-process only: what each request costs in DynamoDB, and how storage faults surface.

Counts are exact (botocore event hooks on the service's own client); faults are injected
on that client, so the code under test is the code that runs in Lambda.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from chalicelib import runtime
from chalicelib.auth import passwords
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import Task
from chalicelib.domain.timestamps import utc_now
from devstack.seeding import seed_tasks
from devstack.storage_meter import StorageMeter
from tests.support import Api, User

UNKNOWN_ID = "01JDQ3AAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def meter(inprocess_api: Api) -> StorageMeter:
    return StorageMeter(runtime.dynamodb_client())


@pytest.mark.parametrize("owned", [10, 5000])
def test_each_request_costs_a_fixed_number_of_dynamodb_calls(
    inprocess_api: Api, meter: StorageMeter, moto_tables: Any, owned: int
) -> None:
    """The same, whether the user owns 10 tasks or 5,000."""
    api = inprocess_api
    user = api.new_user()
    _seed(moto_tables, user, owned - 1)
    task = api.create_task(user)
    path = f"/tasks/{task['id']}"
    expectations = [
        ("register", lambda: api.register("metered"), {"PutItem": 1}),
        # two attempt counters reserved, the user read; the address's counter cleared, the
        # username-wide one given its attempt back; the session stored
        ("login", lambda: api.login("metered"), SUCCESSFUL_LOGIN),
        (
            "failed login",
            lambda: api.login("metered", "wrong password"),
            {"UpdateItem": 2, "GetItem": 1},
        ),
        ("login after a failure", lambda: api.login("metered"), SUCCESSFUL_LOGIN),
        ("me", lambda: api.request("GET", "/users/me", user=user), {"GetItem": 1}),
        # the task and the check that the account still exists, in one transaction
        ("create", lambda: api.create_task(user), {"TransactWriteItems": 1}),
        ("get", lambda: api.request("GET", path, user=user), {"GetItem": 1}),
        ("list", lambda: api.request("GET", "/tasks", user=user), {"Query": 1}),
        (
            "patch",
            lambda: api.request("PATCH", path, json_body={"title": "x"}, user=user),
            {"UpdateItem": 1},
        ),
        (
            "put",
            lambda: api.request("PUT", path, json_body={"title": "y"}, user=user),
            {"UpdateItem": 1},
        ),
        (
            "412",
            lambda: api.request(
                "PATCH", path, json_body={"title": "z"}, headers={"If-Match": '"1"'}, user=user
            ),
            {"UpdateItem": 1},
        ),
        ("delete", lambda: api.request("DELETE", path, user=user), {"DeleteItem": 1}),
        ("404", lambda: api.request("DELETE", path, user=user), {"DeleteItem": 1}),
        ("malformed id", lambda: api.request("GET", "/tasks/nope", user=user), {}),
        ("bad body", lambda: api.request("POST", "/tasks", json_body={}, user=user), {}),
        ("health", lambda: api.request("GET", "/health"), {}),
    ]
    for name, call, expected in expectations:
        meter.reset()
        call()
        assert dict(meter.calls) == expected, name


SUCCESSFUL_LOGIN = {"UpdateItem": 3, "GetItem": 1, "DeleteItem": 1, "PutItem": 1}


@pytest.mark.parametrize("status", [None, "done"])
@pytest.mark.parametrize("owned", [10, 5000])
def test_a_page_costs_one_query_reading_at_most_limit_plus_one_items(
    inprocess_api: Api, meter: StorageMeter, moto_tables: Any, owned: int, status: str | None
) -> None:
    user = inprocess_api.new_user()
    _seed(moto_tables, user, owned)  # statuses in turn: todo, in_progress, done
    matching = owned if status is None else owned // 3
    limit = 20
    query = f"limit={limit}" + (f"&status={status}" if status else "")
    meter.reset()
    page = inprocess_api.request("GET", f"/tasks?{query}", user=user).json()
    assert len(page["items"]) == min(limit, matching)
    assert dict(meter.calls) == {"Query": 1}
    assert meter.items_read == [min(limit + 1, matching)]
    if page["next_cursor"] is None:
        return
    meter.reset()
    inprocess_api.request("GET", f"/tasks?{query}&cursor={page['next_cursor']}", user=user)
    assert dict(meter.calls) == {"Query": 1}
    assert meter.items_read == [min(limit + 1, matching - limit)]


def _seed(moto_tables: Any, user: User, count: int) -> None:
    statuses = ("todo", "in_progress", "done")
    now = utc_now()
    tasks = [
        Task(new_id(), f"seeded {i}", "", statuses[i % 3], None, now, now, 1) for i in range(count)
    ]
    seed_tasks(moto_tables, "tasks-api-local-tasks", user.id, tasks)


def test_the_authorizer_reads_no_database(inprocess_api: Api, meter: StorageMeter) -> None:
    from app import jwt_authorizer

    user = inprocess_api.new_user()
    runtime.reset()  # a fresh container: nothing built yet
    arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/tasks"
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {user.token}", "methodArn": arn}
    policy = jwt_authorizer(event, None)
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["policyDocument"]["Statement"][0]["Resource"] == [
        "arn:aws:execute-api:us-east-1:123456789012:abc123/api/*/*"
    ]
    assert policy["context"] == {"sub": user.id, "username": user.username}
    assert runtime.dynamodb_client.cache_info().currsize == 0  # no DynamoDB client even built


def test_a_denied_request_never_reaches_the_api_code(
    inprocess_api: Api, meter: StorageMeter
) -> None:
    user = inprocess_api.new_user()
    meter.reset()
    forged = inprocess_api.token(sub=user.id, username=user.username, key="x" * 40)
    reply = inprocess_api.request(
        "POST", "/tasks", json_body={"title": "x"}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert reply.status == 403
    assert dict(meter.calls) == {}


def test_passwords_are_stored_as_scrypt_hashes(inprocess_api: Api, moto_tables: Any) -> None:
    user = inprocess_api.new_user()
    item = moto_tables.get_item(
        TableName="tasks-api-local-users", Key={"username": {"S": user.username}}
    )["Item"]
    stored = item["password_hash"]["S"]
    assert stored.startswith("scrypt$")
    assert user.password not in str(item)


def test_the_storage_client_retries_a_bounded_number_of_times_with_timeouts(
    inprocess_api: Api,
) -> None:
    config = runtime.dynamodb_client().meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert config.connect_timeout <= 5 and config.read_timeout <= 5


# --- fault injection -------------------------------------------------------------------


def _client_error(code: str) -> Callable[..., None]:
    def raise_error(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, "Op")

    return raise_error


def _read_timeout(**_: Any) -> None:
    raise ReadTimeoutError(endpoint_url="http://dynamodb.injected")


def _no_connection(**_: Any) -> None:
    raise EndpointConnectionError(endpoint_url="http://dynamodb.injected")


TRANSIENT_FAULTS = {
    "provisioned throughput": _client_error("ProvisionedThroughputExceededException"),
    "throttling": _client_error("ThrottlingException"),
    "internal server error": _client_error("InternalServerError"),
    "read timeout": _read_timeout,
    "no connection": _no_connection,
}


@pytest.fixture
def faulty_storage(inprocess_api: Api) -> Iterator[Callable[[Callable[..., None]], None]]:
    events = runtime.dynamodb_client().meta.events
    installed: list[Callable[..., None]] = []

    def install(fault: Callable[..., None]) -> None:
        events.register("before-call.dynamodb", fault, unique_id="fault")
        installed.append(fault)

    yield install
    events.unregister("before-call.dynamodb", unique_id="fault")


def _endpoint_calls(api: Api, user: User, task_id: str) -> dict[str, Callable[[], Any]]:
    path = f"/tasks/{task_id}"
    return {
        "register": lambda: api.register("faulty"),
        "login": lambda: api.login(user.username),
        "me": lambda: api.request("GET", "/users/me", user=user),
        "create": lambda: api.request("POST", "/tasks", json_body={"title": "new"}, user=user),
        "list": lambda: api.request("GET", "/tasks", user=user),
        "get": lambda: api.request("GET", path, user=user),
        "patch": lambda: api.request("PATCH", path, json_body={"title": "x"}, user=user),
        "put": lambda: api.request("PUT", path, json_body={"title": "x"}, user=user),
        "delete": lambda: api.request("DELETE", path, user=user),
    }


@pytest.mark.parametrize("fault", sorted(TRANSIENT_FAULTS))
def test_transient_storage_faults_are_503_on_every_endpoint_and_write_nothing(
    inprocess_api: Api, faulty_storage: Callable[[Callable[..., None]], None], fault: str
) -> None:
    api = inprocess_api
    user = api.new_user()
    task = api.create_task(user)
    faulty_storage(TRANSIENT_FAULTS[fault])
    for endpoint, call in _endpoint_calls(api, user, task["id"]).items():
        reply = call()
        assert reply.status == 503, (endpoint, reply)
        assert reply.json() == {
            "error": {"code": "service_unavailable", "message": reply.json()["error"]["message"]}
        }
        assert reply.headers["Retry-After"] == "1"
        assert "injected" not in reply.body.decode()
    runtime.dynamodb_client().meta.events.unregister("before-call.dynamodb", unique_id="fault")
    listed = api.request("GET", "/tasks", user=user).json()["items"]
    assert listed == [task]
    assert api.login("faulty").status == 401  # the failed registration left no user


def test_an_unexpected_storage_error_is_a_500_that_names_only_the_request_id(
    inprocess_api: Api,
    faulty_storage: Callable[[Callable[..., None]], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = inprocess_api.new_user()
    faulty_storage(_client_error("ResourceNotFoundException"))
    with caplog.at_level(logging.ERROR):
        reply = inprocess_api.request("GET", "/tasks", user=user)
    assert reply.status == 500
    error = reply.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == "internal_error"
    assert "ResourceNotFound" not in reply.body.decode()
    assert "Traceback" not in reply.body.decode()
    request_id = error["message"].rsplit("Request id: ", 1)[1].rstrip(".")
    logged = [record for record in caplog.records if request_id in record.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None


def test_unknown_users_and_wrong_passwords_cost_the_same_scrypt_work(
    inprocess_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Comparable timing, shown by counting the work rather than timing it."""
    monkeypatch.setattr(passwords, "DEFAULT_PARAMETERS", passwords.ScryptParameters())
    runtime.reset()
    user = inprocess_api.new_user()
    work: list[tuple[int, int, int]] = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(password: bytes, **kwargs: Any) -> bytes:
        work.append((kwargs["n"], kwargs["r"], kwargs["p"]))
        return real_scrypt(password, **kwargs)

    monkeypatch.setattr(passwords.hashlib, "scrypt", counting_scrypt)
    costs = {}
    for case, username, password in [
        ("unknown user", "nobody-here", "whatever password"),
        ("wrong password", user.username, "whatever password"),
        ("right password", user.username, user.password),
    ]:
        work.clear()
        inprocess_api.login(username, password)
        costs[case] = list(work)
    assert costs["unknown user"] == costs["wrong password"] == costs["right password"]
    assert costs["unknown user"] == [(1 << 15, 8, 3)]


def test_one_dynamodb_client_serves_every_request_of_a_container(
    inprocess_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[object] = []
    real_factory = runtime.create_dynamodb_client

    def counting_factory() -> object:
        created.append(real_factory())
        return created[-1]

    monkeypatch.setattr(runtime, "create_dynamodb_client", counting_factory)
    runtime.reset()
    user = inprocess_api.new_user()
    for _ in range(3):
        inprocess_api.create_task(user)
        inprocess_api.request("GET", "/tasks", user=user)
    assert len(created) == 1


def test_only_listings_build_the_cursor_codec(inprocess_api: Api) -> None:
    """In AWS the API function then reads no signing secret for other requests."""
    user = inprocess_api.new_user()
    task = inprocess_api.create_task(user)
    runtime.reset()
    inprocess_api.request("GET", f"/tasks/{task['id']}", user=user)
    inprocess_api.request("PATCH", f"/tasks/{task['id']}", json_body={"title": "x"}, user=user)
    inprocess_api.create_task(user)
    assert runtime.cursor_codec.cache_info().currsize == 0
    page = inprocess_api.request("GET", "/tasks?limit=1", user=user).json()
    assert page["next_cursor"] is not None
    assert runtime.cursor_codec.cache_info().currsize == 1
