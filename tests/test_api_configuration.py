"""In-process: AWS stages read the signing secret from SSM once, and refuse a weak one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import runtime
from chalicelib.auth import passwords
from chalicelib.config import Settings
from chalicelib.storage import client as storage_client
from chalicelib.storage import table_layout
from devstack.stack import stage_environment
from tests.conftest import CHEAP_SCRYPT, PROJECT_DIR

JSON = {"Content-Type": "application/json"}
CREDENTIALS = json.dumps({"username": "stageuser", "password": "stage password"})


@pytest.fixture
def dev_stage(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The ``dev`` stage exactly as config.json defines it, over in-process moto."""
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    monkeypatch.delenv("STAGE")
    monkeypatch.setattr(passwords, "DEFAULT_PARAMETERS", CHEAP_SCRYPT)
    stage_env = stage_environment("dev")
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        table_layout.create_missing_tables(dynamodb, Settings.from_environ(stage_env))
        ssm_calls: list[str] = []
        # The app's clients come from its own botocore session (storage/client.py).
        session = storage_client.botocore_session()
        session.register(
            "before-call.ssm",
            lambda model, **_: ssm_calls.append(model.name),
            unique_id="count-ssm-calls",
        )
        yield {"env": stage_env, "ssm": boto3.client("ssm"), "ssm_calls": ssm_calls}
        session.unregister("before-call.ssm", unique_id="count-ssm-calls")


def _client() -> Client:
    from app import app

    return Client(app, stage_name="dev", project_dir=str(PROJECT_DIR))


def _put_secret(stage: dict[str, Any], value: str) -> None:
    stage["ssm"].put_parameter(
        Name=stage["env"]["TOKEN_SIGNING_SECRET_PARAMETER"], Value=value, Type="SecureString"
    )


def test_an_aws_stage_reads_the_secret_from_ssm_once_per_container(dev_stage: dict) -> None:
    _put_secret(dev_stage, "s" * 48)
    with _client() as client:
        assert client.http.post("/auth/register", headers=JSON, body=CREDENTIALS).status_code == 201
        token = json.loads(client.http.post("/auth/login", headers=JSON, body=CREDENTIALS).body)
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        for _ in range(3):
            assert client.http.get("/users/me", headers=auth).status_code == 200
            assert client.http.get("/tasks", headers=auth).status_code == 200
    # the current and the (optional, here absent) previous secret, each read once
    assert dev_stage["ssm_calls"].count("GetParameter") == 2


@pytest.mark.parametrize("setup", ["secret shorter than 32 bytes", "secret parameter missing"])
def test_an_aws_stage_without_a_strong_secret_refuses_to_serve(dev_stage: dict, setup: str) -> None:
    if setup == "secret shorter than 32 bytes":
        _put_secret(dev_stage, "s" * 31)
    runtime.reset()
    with _client() as client:
        login = client.http.post("/auth/login", headers=JSON, body=CREDENTIALS)
        assert login.status_code == 500
        assert json.loads(login.body)["error"]["code"] == "internal_error"
        assert b"secret" not in login.body
        # No verdict (a cached Deny would lock everyone out): 503, retry later.
        unverifiable = client.http.get("/tasks", headers={"Authorization": "Bearer a.b.c"})
        assert unverifiable.status_code == 503
        assert unverifiable.headers["Retry-After"] == "1"
        assert json.loads(unverifiable.body)["error"]["code"] == "service_unavailable"
        assert client.http.get("/health").status_code == 200  # touches nothing, still fine
