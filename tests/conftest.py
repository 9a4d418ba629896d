"""Fixtures: the API in-process (chalice.test.Client over moto) and as the real local stack."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from chalice.test import Client
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from chalicelib import runtime
from chalicelib.auth import passwords
from chalicelib.config import Settings
from chalicelib.storage import table_layout
from devstack import chalice_local
from devstack.stack import LocalStack
from tests.support import Api, chalice_transport, http_transport

pytest_plugins = ["tests.aws_operations"]  # records the AWS calls the app makes
# The in-process client's gateway answers an authorizer failure as the deployed API does.
chalice_local.install_gateway()
PROJECT_DIR = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-signing-secret-that-is-long-enough-0123456789"
# In-process tests hash many passwords; production parameters are exercised end to end
# and in tests/test_passwords.py.
CHEAP_SCRYPT = passwords.ScryptParameters(log2_n=4, r=1, p=1)
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and a local-stage configuration; nothing reaches AWS."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in ("STAGE", "USERS_TABLE", "TASKS_TABLE"):
            monkeypatch.delenv(name)
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("TOKEN_SIGNING_SECRET", TEST_SECRET)
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture
def moto_tables(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """In-process moto with the service's tables; yields the DynamoDB client to inspect.

    One DynamoDB request at a time, as devstack/dynamodb_server.py serialises the local
    server's: moto applies a write without locking the item, so two threads' conditional
    writes could both pass their condition, which DynamoDB never allows."""
    lock = threading.RLock()
    call_action = DynamoHandler.call_action

    def one_at_a_time(handler: DynamoHandler) -> Any:
        with lock:
            return call_action(handler)

    monkeypatch.setattr(DynamoHandler, "call_action", one_at_a_time)
    with mock_aws():
        client = boto3.client("dynamodb")
        table_layout.create_missing_tables(client, Settings.from_environ(os.environ))
        yield client


@pytest.fixture
def chalice_client(moto_tables: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setattr(passwords, "DEFAULT_PARAMETERS", CHEAP_SCRYPT)
    from app import app

    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        yield client


@pytest.fixture
def inprocess_api(chalice_client: Client) -> Api:
    return Api(chalice_transport(chalice_client), TEST_SECRET, "inprocess")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The real local stack (moto server + chalice local), shared by the e2e tests."""
    log = (tmp_path_factory.mktemp("stack") / "stack.log").open("w")
    with LocalStack(output=log, cheap_password_hashing=True) as stack:
        yield stack
    log.close()


@pytest.fixture
def http_api(local_stack: LocalStack) -> Iterator[Api]:
    with requests.Session() as session:
        yield Api(http_transport(local_stack.base_url, session), local_stack.signing_secret, "http")


@pytest.fixture(params=["inprocess", pytest.param("http", marks=pytest.mark.e2e)])
def api(request: pytest.FixtureRequest) -> Api:
    """The contract tests run twice: in-process and over HTTP against the real stack."""
    return request.getfixturevalue(f"{request.param}_api")
