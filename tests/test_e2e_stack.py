"""End to end only: what needs real processes, real sockets and real concurrency."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from chalicelib.auth import passwords
from chalicelib.storage.table_layout import USERNAME
from devstack import chalice_local
from devstack.stack import CHEAP_PASSWORD_HASHING_VARIABLE, LocalStack, free_port
from tests.support import Api, unique_username

pytestmark = pytest.mark.e2e
PROJECT_DIR = Path(__file__).resolve().parent.parent

ROUTES = {
    "/health": {"GET"},
    "/docs": {"GET"},
    "/docs/swagger-ui.css": {"GET"},
    "/auth/register": {"POST"},
    "/auth/login": {"POST"},
    "/users/me": {"GET"},
    "/tasks": {"GET", "POST"},
    "/tasks/01JDQ3AAAAAAAAAAAAAAAAAAAA": {"GET", "PATCH", "PUT", "DELETE"},
}


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_cors_preflight_works_on_every_route(local_stack: LocalStack, path: str) -> None:
    reply = requests.options(
        local_stack.base_url + path,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": sorted(ROUTES[path])[0],
            "Access-Control-Request-Headers": "authorization,content-type,if-match",
        },
        timeout=10,
    )
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    allowed_methods = set(reply.headers["Access-Control-Allow-Methods"].split(","))
    assert ROUTES[path] | {"OPTIONS"} <= allowed_methods
    allowed_headers = {h.lower() for h in reply.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match"} <= allowed_headers


def test_ten_parallel_patches_all_apply(http_api: Api, local_stack: LocalStack) -> None:
    user = http_api.new_user()
    task = http_api.create_task(user)
    path = f"/tasks/{task['id']}"

    def patch(i: int) -> int:
        with requests.Session() as session:
            reply = session.patch(
                f"{local_stack.base_url}{path}",
                json={"description": f"writer {i}"},
                headers=user.auth,
                timeout=30,
            )
            return reply.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(patch, range(10)))
    assert statuses == [200] * 10
    assert http_api.request("GET", path, user=user).json()["version"] == 11


def test_of_concurrent_writes_with_the_same_if_match_exactly_one_wins(
    http_api: Api, local_stack: LocalStack
) -> None:
    user = http_api.new_user()
    task = http_api.create_task(user)
    url = f"{local_stack.base_url}/tasks/{task['id']}"

    def patch(i: int) -> int:
        headers = {**user.auth, "If-Match": '"1"'}
        with requests.Session() as session:
            return session.patch(
                url, json={"title": f"w{i}"}, headers=headers, timeout=30
            ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(patch, range(10)))
    assert statuses == [200] + [412] * 9
    assert http_api.request("GET", f"/tasks/{task['id']}", user=user).json()["version"] == 2


def test_concurrent_creates_with_one_idempotency_key_create_one_task(
    http_api: Api, local_stack: LocalStack
) -> None:
    user = http_api.new_user()
    headers = {**user.auth, "Idempotency-Key": "double-click"}

    def create(_: int) -> tuple[int, str | None, str | None]:
        with requests.Session() as session:
            reply = session.post(
                f"{local_stack.base_url}/tasks", json={"title": "once"}, headers=headers, timeout=30
            )
            task_id = reply.json().get("id") if reply.status_code == 201 else None
            return reply.status_code, reply.headers.get("Idempotent-Replayed"), task_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(create, range(8)))
    assert {status for status, _, _ in outcomes} <= {201, 409}
    originals = [o for o in outcomes if o[0] == 201 and o[1] is None]
    assert len(originals) == 1
    assert {task_id for status, _, task_id in outcomes if status == 201} == {originals[0][2]}
    assert len(http_api.request("GET", "/tasks", user=user).json()["items"]) == 1


def test_racing_registrations_of_one_name_yield_exactly_one_201(
    http_api: Api, local_stack: LocalStack
) -> None:
    name = unique_username("race")
    variants = [name, name.upper(), name.capitalize(), name] * 2 + [name, name.upper()]

    def register(username: str) -> int:
        with requests.Session() as session:
            reply = session.post(
                f"{local_stack.base_url}/auth/register",
                json={"username": username, "password": "racing password"},
                timeout=60,
            )
            return reply.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(register, variants))
    assert statuses == [201] + [409] * 9
    assert http_api.login(name, "racing password").status == 200


def _stack_dynamodb(stack: LocalStack) -> Any:
    """A client of ``stack``'s DynamoDB server."""
    return boto3.client(
        "dynamodb",
        endpoint_url=stack.dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _stored_hash_cost(stack: LocalStack, username: str) -> tuple[int, int, int]:
    """The scrypt cost (log2 N, r, p) of ``username``'s stored password hash."""
    item = _stack_dynamodb(stack).get_item(
        TableName="tasks-api-local-users", Key={USERNAME: {"S": username}}
    )
    _, log2_n, r, p, _, _ = item["Item"]["password_hash"]["S"].split("$")
    return int(log2_n), int(r), int(p)


def test_the_suites_shared_stack_hashes_cheaply_and_verifies_as_ever(
    local_stack: LocalStack, http_api: Api
) -> None:
    """tests/conftest.py asks the shared stack for cheap hashing (devstack.chalice_local):
    a hash made there has the token cost, and logging in checks it as any other."""
    user = http_api.new_user()
    cheap = chalice_local.CHEAP_SCRYPT
    assert _stored_hash_cost(local_stack, user.username) == (cheap.log2_n, cheap.r, cheap.p)
    assert http_api.login(user.username, "not the password").status == 401


def test_only_a_stack_asked_for_cheap_hashing_gets_it_whatever_the_shell_says() -> None:
    shell = {**os.environ, CHEAP_PASSWORD_HASHING_VARIABLE: "1"}
    elsewhere = "http://127.0.0.1:9"  # an endpoint: no DynamoDB server is started
    plain = LocalStack(environ=shell, dynamodb=elsewhere)
    plain._prepare_environment()
    assert CHEAP_PASSWORD_HASHING_VARIABLE not in plain.environ
    asked = LocalStack(environ=shell, dynamodb=elsewhere, cheap_password_hashing=True)
    asked._prepare_environment()
    assert asked.environ[CHEAP_PASSWORD_HASHING_VARIABLE] == "1"


def test_storage_failures_become_500_and_503_without_internals(tmp_path: Path) -> None:
    """Its own stack: deletes a table (unexpected: 500), then stops DynamoDB (503)."""
    with (
        (tmp_path / "stack.log").open("w") as log,
        LocalStack(output=log) as stack,
        requests.Session() as session,
    ):
        url = stack.base_url
        credentials = {"username": "outage", "password": "outage password"}
        assert session.post(f"{url}/auth/register", json=credentials).status_code == 201
        # A stack not asked for cheap hashing (make run's) stores the production cost.
        production = passwords.DEFAULT_PARAMETERS
        assert _stored_hash_cost(stack, "outage") == (production.log2_n, production.r, production.p)
        token = session.post(f"{url}/auth/login", json=credentials).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        _stack_dynamodb(stack).delete_table(TableName="tasks-api-local-tasks")
        broken = session.get(f"{url}/tasks", headers=auth)
        assert broken.status_code == 500
        error = broken.json()["error"]
        assert error["code"] == "internal_error"
        assert set(error) == {"code", "message"}
        for leak in ("ResourceNotFound", "Traceback", "tasks-api-local", "botocore"):
            assert leak not in broken.text

        stack.stop_dynamodb()
        for method, path, body in [
            ("POST", "/auth/login", credentials),
            ("POST", "/auth/register", {"username": "another", "password": "password123"}),
            ("GET", "/users/me", None),
            ("POST", "/tasks", {"title": "x"}),
        ]:
            reply = session.request(method, url + path, json=body, headers=auth, timeout=60)
            assert reply.status_code == 503, (path, reply.text)
            assert reply.json() == {
                "error": {
                    "code": "service_unavailable",
                    "message": reply.json()["error"]["message"],
                }
            }
            assert int(reply.headers["Retry-After"]) >= 1
            assert reply.headers["Access-Control-Allow-Origin"] == "*"
        # the API itself is still up, and says so
        assert session.get(f"{url}/health").status_code == 200


@pytest.mark.parametrize("how", ["Ctrl-C to the terminal's process group", "SIGTERM to make"])
def test_make_run_stops_every_process_on_one_signal(how: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "MAKEFLAGS": ""}
    with (tmp_path / "run.log").open("w") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"],  # noqa: S607
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for_health(f"http://127.0.0.1:{port}", make)
            descendants = _descendants(make.pid)
            assert len(descendants) >= 3  # devstack, the DynamoDB server, chalice local
            if how.startswith("Ctrl-C"):
                os.killpg(make.pid, signal.SIGINT)
            else:
                make.send_signal(signal.SIGTERM)
            make.wait(timeout=30)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(_alive(pid) for pid in descendants):
                time.sleep(0.2)
            assert [pid for pid in descendants if _alive(pid)] == []
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
        finally:
            if make.poll() is None:
                os.killpg(make.pid, signal.SIGKILL)


def _wait_for_health(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120  # the first make run may still be installing
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run exited early"
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    pytest.fail("make run did not serve /health")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


if not sys.platform.startswith("linux"):
    pytestmark = [pytest.mark.e2e, pytest.mark.skip(reason="reads /proc to find child processes")]
