"""Every request answers within its time budget when DynamoDB or SSM never answers.

The "black hole" is a loopback server that accepts connections and never sends a byte:
botocore's defaults (60 s timeouts, retries) would wait minutes; the API must answer
``503 service_unavailable`` with ``Retry-After`` within the budget derived from
``FUNCTION_TIMEOUT_SECONDS``, and the authorizer must fail without a verdict (503).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from chalice.test import Client

from chalicelib import request_budget, runtime
from devstack.stack import LocalStack, stage_environment
from tests.conftest import PROJECT_DIR

FUNCTION_TIMEOUT = 4  # seconds; the budget is 2 s (a margin of at least 2 s is kept back)
BUDGET = request_budget.budget_seconds(FUNCTION_TIMEOUT)
SLACK = 1.5  # scheduling noise on a shared 2-core machine; still far below botocore's 60 s
JSON = {"Content-Type": "application/json"}
CREDENTIALS = json.dumps({"username": "budgetuser", "password": "budget password"})


@pytest.fixture
def black_hole() -> Iterator[str]:
    """``http://127.0.0.1:<port>``: accepts every connection, never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stopping.set()
    listener.close()
    for connection in held:
        connection.close()


def test_the_budget_keeps_a_margin_of_the_function_timeout() -> None:
    assert request_budget.budget_seconds(15) == 12
    assert request_budget.budget_seconds(4) == 2
    assert request_budget.budget_seconds(60) == 48
    assert request_budget.function_timeout_seconds({"FUNCTION_TIMEOUT_SECONDS": "abc"}) == 15
    assert request_budget.function_timeout_seconds({"FUNCTION_TIMEOUT_SECONDS": "10"}) == 10


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_config_json_tells_each_aws_stage_its_function_timeout(stage: str) -> None:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    timeout = config["stages"][stage].get("lambda_timeout", config["lambda_timeout"])
    assert stage_environment(stage)["FUNCTION_TIMEOUT_SECONDS"] == str(timeout)


def test_a_black_holed_dynamodb_is_a_503_within_the_budget(
    aws_env: None, black_hole: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", black_hole)
    monkeypatch.setenv("FUNCTION_TIMEOUT_SECONDS", str(FUNCTION_TIMEOUT))
    runtime.reset()
    from app import app

    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        started = time.monotonic()
        reply = client.http.post("/auth/login", headers=JSON, body=CREDENTIALS)
        elapsed = time.monotonic() - started
    assert reply.status_code == 503, reply.body
    assert json.loads(reply.body)["error"]["code"] == "service_unavailable"
    assert reply.headers["Retry-After"] == "1"
    assert elapsed <= BUDGET + SLACK


@pytest.fixture
def dev_stage_with_black_holed_ssm(
    aws_env: None, black_hole: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    for name, value in stage_environment("dev").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", black_hole)
    monkeypatch.setenv("FUNCTION_TIMEOUT_SECONDS", str(FUNCTION_TIMEOUT))
    runtime.reset()
    yield
    runtime.reset()


def test_a_black_holed_ssm_makes_the_authorizer_fail_without_a_verdict(
    dev_stage_with_black_holed_ssm: None,
) -> None:
    from app import app, jwt_authorizer
    from chalicelib.auth.authorizer import AuthorizerUnavailable

    event = {
        "type": "TOKEN",
        "authorizationToken": "Bearer a.b.c",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/api/GET/tasks",
    }
    started = time.monotonic()
    with pytest.raises(AuthorizerUnavailable):  # raising, not Deny: API Gateway caches no Deny
        jwt_authorizer(event, None)
    assert time.monotonic() - started <= BUDGET + SLACK

    with Client(app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        started = time.monotonic()
        reply = client.http.get("/tasks", headers={"Authorization": "Bearer a.b.c"})
        elapsed = time.monotonic() - started
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert json.loads(reply.body)["error"]["code"] == "service_unavailable"
    assert elapsed <= BUDGET + SLACK


def test_a_black_holed_ssm_is_a_503_for_a_login(dev_stage_with_black_holed_ssm: Any) -> None:
    from app import app

    with Client(app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        started = time.monotonic()
        # Registration needs no secret; login signs a token, so it reads the secret first.
        reply = client.http.post("/auth/login", headers=JSON, body=CREDENTIALS)
        elapsed = time.monotonic() - started
    assert reply.status_code == 503, reply.body
    assert reply.headers["Retry-After"] == "1"
    assert elapsed <= BUDGET + SLACK


class _StackWithoutTables(LocalStack):
    """The real ``chalice local`` against an endpoint that cannot create tables."""

    def _create_tables(self) -> None:
        return None


@pytest.mark.e2e
def test_the_local_stack_answers_503_in_time_when_dynamodb_hangs(
    black_hole: str, tmp_path: Any
) -> None:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "FUNCTION_TIMEOUT_SECONDS": str(FUNCTION_TIMEOUT),
    }
    with (
        (tmp_path / "stack.log").open("w") as log,
        _StackWithoutTables(dynamodb=black_hole, environ=environ, output=log) as stack,
    ):
        started = time.monotonic()
        reply = requests.post(
            f"{stack.base_url}/auth/register", data=CREDENTIALS, headers=JSON, timeout=30
        )
        elapsed = time.monotonic() - started
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "service_unavailable"
    assert reply.headers["Retry-After"] == "1"
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert elapsed <= BUDGET + SLACK + 1  # plus one production scrypt hash
