"""Structured logs and EMF metrics: one JSON line per request, errors logged once with the
request id, nothing secret in any line, LOG_LEVEL honoured.

In-process through ``chalice.test.Client``, reading what the app's real handler writes to
stdout; one end-to-end check reads ``chalice local``'s own output.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib import observability
from chalicelib.services.tasks import TaskService
from devstack.stack import LocalStack
from tests.support import Api

REQUEST_FIELDS = {"level", "message", "request_id", "method", "route", "status", "latency_ms"}
METRIC_MEMBERS = {"Stage", "Route", "Requests", "Latency", "4xx", "5xx", "_aws"}
# The units the CloudWatch embedded metric format specification allows (MetricDefinition.Unit).
EMF_UNITS = {
    *("Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes"),
    *("Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits"),
    *("Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second"),
    *("Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second"),
    *("Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"),
}
EMF_NAMESPACE = re.compile(r"[a-zA-Z0-9._#:/-]{1,256}")


class Output:
    """What the app printed since the last ``take``, as JSON lines."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def take(self) -> tuple[list[dict[str, Any]], str]:
        captured = self._capsys.readouterr()
        lines = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
        return lines, captured.out + captured.err


@pytest.fixture
def output(inprocess_api: Api, capsys: pytest.CaptureFixture[str]) -> Output:
    capsys.readouterr()
    return Output(capsys)


@pytest.fixture
def app_log(inprocess_api: Api) -> Iterator[logging.Logger]:
    """The app's logger; its level is restored after the test."""
    from app import app

    level = app.log.level
    yield app.log
    observability.configure_logging(app.log, {"LOG_LEVEL": logging.getLevelName(level)})


def requests_in(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("message") == observability.REQUEST_MESSAGE]


def only_request(lines: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(lines) == 1, lines
    (line,) = requests_in(lines)
    assert set(line) - {"user_id"} == REQUEST_FIELDS | METRIC_MEMBERS
    assert line["level"] == "INFO"
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert_valid_emf(line)
    return line


def assert_valid_emf(document: dict[str, Any]) -> None:
    """The CloudWatch embedded metric format specification's rules for one log event: the
    root has ``_aws`` (Timestamp in ms, CloudWatchMetrics: MetricDirectives), and every
    dimension and metric a directive names is a root member of the right type."""
    metadata = document["_aws"]
    assert set(metadata) == {"Timestamp", "CloudWatchMetrics"}
    timestamp = metadata["Timestamp"]
    assert isinstance(timestamp, int) and abs(timestamp - time.time() * 1000) < 60_000
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert EMF_NAMESPACE.fullmatch(directive["Namespace"])
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and 1 <= len(dimension_set) <= 30
            for name in dimension_set:
                value = document[name]
                assert isinstance(value, str) and value.strip() and value.isascii()
                assert len(name) <= 250 and len(value) <= 1024 and not name.startswith(":")
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            assert metric.get("Unit", "None") in EMF_UNITS
            assert metric.get("StorageResolution", 60) in (1, 60)
            value = document[metric["Name"]]
            assert isinstance(value, int | float) and not isinstance(value, bool)
            assert math.isfinite(value)


# --- one line per request -------------------------------------------------------------


def test_a_public_request_is_one_line_without_a_user(inprocess_api: Api, output: Output) -> None:
    assert inprocess_api.request("GET", "/health").status == 200
    line = only_request(output.take()[0])
    assert line["method"] == "GET" and line["route"] == "/health" and line["status"] == 200
    assert line["request_id"]
    assert "user_id" not in line
    assert (line["Route"], line["Stage"]) == ("GET /health", "local")
    assert (line["Requests"], line["4xx"], line["5xx"]) == (1, 0, 0)
    assert line["Latency"] == line["latency_ms"]


def test_a_protected_request_names_the_user(inprocess_api: Api, output: Output) -> None:
    user = inprocess_api.new_user()
    output.take()
    assert inprocess_api.request("GET", "/users/me", user=user).status == 200
    line = only_request(output.take()[0])
    assert line["user_id"] == user.id
    assert (line["route"], line["status"]) == ("/users/me", 200)


def test_the_route_is_the_template_and_a_404_counts_as_4xx(
    inprocess_api: Api, output: Output
) -> None:
    user = inprocess_api.new_user()
    output.take()
    missing = "01JDQ3ZZZZZZZZZZZZZZZZZZZZ"
    assert inprocess_api.request("GET", f"/tasks/{missing}", user=user).status == 404
    lines, text = output.take()
    line = only_request(lines)
    assert (line["route"], line["Route"]) == ("/tasks/{task_id}", "GET /tasks/{task_id}")
    assert (line["status"], line["4xx"], line["5xx"]) == (404, 1, 0)
    assert missing not in text


def test_a_validation_error_is_one_4xx_line(inprocess_api: Api, output: Output) -> None:
    user = inprocess_api.new_user()
    output.take()
    reply = inprocess_api.request("POST", "/tasks", json_body={"title": ""}, user=user)
    assert reply.status == 400
    line = only_request(output.take()[0])
    assert (line["method"], line["route"], line["status"]) == ("POST", "/tasks", 400)
    assert (line["4xx"], line["5xx"]) == (1, 0)


def test_the_lambda_entry_point_logs_api_gateways_request_id(
    inprocess_api: Api, output: Output
) -> None:
    from app import app

    event = {
        "resource": "/health",
        "path": "/health",
        "httpMethod": "GET",
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/health",
            "httpMethod": "GET",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "stage": "api",
        },
        "body": None,
        "isBase64Encoded": False,
    }
    assert app(event, None)["statusCode"] == 200
    line = only_request(output.take()[0])
    assert line["request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def test_the_line_is_valid_json_whatever_the_strings_hold() -> None:
    from chalice.app import Request

    odd = 'quote " backslash \\ newline \n unicode \u00e9 \u2028'
    event = {
        "multiValueQueryStringParameters": None,
        "headers": {},
        "pathParameters": None,
        "body": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/tasks/{task_id}",
            "httpMethod": "GET",
            "requestId": odd,
            "authorizer": {"sub": odd},
        },
    }
    line = observability.RequestLog(logging.getLogger("unused"), odd).line(
        Request(event), odd, 503, 0.0
    )
    document = json.loads(line)
    assert line.isascii()
    assert document["request_id"] == document["user_id"] == document["Stage"] == odd
    assert (document["status"], document["4xx"], document["5xx"]) == (503, 0, 1)


# --- unexpected errors ----------------------------------------------------------------


def _explode(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("kaboom: storage invariant broken")


def _break_task_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TaskService, "get", _explode)
    monkeypatch.setattr(TaskService, "list", _explode)


def test_an_unexpected_error_is_logged_once_with_its_request_id(
    inprocess_api: Api, output: Output, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = inprocess_api.new_user()
    output.take()
    _break_task_reads(monkeypatch)
    reply = inprocess_api.request("GET", "/tasks/01JDQ3ZZZZZZZZZZZZZZZZZZZZ", user=user)

    assert reply.status == 500
    error = reply.json()["error"]
    assert set(error) == {"code", "message"} and error["code"] == "internal_error"
    assert "kaboom" not in reply.body.decode() and "Traceback" not in reply.body.decode()
    request_id = error["message"].rsplit("Request id: ", 1)[1].rstrip(".")

    lines, text = output.take()
    assert text.count("Traceback") == 1 and text.count("RuntimeError: kaboom") == 1
    assert len(lines) == 2
    logged_error, request_line = lines
    assert logged_error["level"] == "ERROR"
    assert logged_error["request_id"] == request_id
    assert "RuntimeError: kaboom" in logged_error["exception"]
    assert request_line == only_request([request_line])
    assert request_line["request_id"] == request_id
    assert (request_line["status"], request_line["4xx"], request_line["5xx"]) == (500, 0, 1)
    assert request_line["user_id"] == user.id


# --- nothing secret -------------------------------------------------------------------


def test_no_line_holds_a_password_a_token_or_a_body(inprocess_api: Api, output: Output) -> None:
    password = "zebra-quartz-" + uuid.uuid4().hex
    username = "observed" + uuid.uuid4().hex[:8]
    title = "Title-" + uuid.uuid4().hex
    description = "Description-" + uuid.uuid4().hex
    assert inprocess_api.register(username, password).status == 201
    assert inprocess_api.login(username, "wrong-" + password).status == 401
    login = inprocess_api.login(username, password)
    token = login.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    created = inprocess_api.request(
        "POST", "/tasks", json_body={"title": title, "description": description}, headers=auth
    )
    assert created.status == 201
    path = f"/tasks/{created.json()['id']}"
    assert inprocess_api.request("GET", "/tasks?limit=5", headers=auth).status == 200
    patch = {"title": title + "-2"}
    assert inprocess_api.request("PATCH", path, json_body=patch, headers=auth).status == 200
    denied = inprocess_api.request("GET", "/tasks", headers={"Authorization": f"Bearer {title}"})
    assert denied.status == 403

    lines, text = output.take()
    assert len(requests_in(lines)) == 6
    for secret in (password, token, token.split(".")[2], username, title, description):
        assert secret not in text
    for line in requests_in(lines):
        assert set(line) - {"user_id"} == REQUEST_FIELDS | METRIC_MEMBERS


def test_a_denied_token_is_one_line_from_the_authorizer(inprocess_api: Api, output: Output) -> None:
    bad = inprocess_api.token(exp=int(time.time()) - 3600)
    reply = inprocess_api.request("GET", "/tasks", headers={"Authorization": f"Bearer {bad}"})
    assert reply.status == 403
    lines, text = output.take()
    assert bad not in text and bad.split(".")[2] not in text
    assert len(lines) == 1
    (line,) = lines
    assert line["message"] == observability.DENIED_MESSAGE and line["TokensDenied"] == 1
    assert_valid_emf(line)


# --- levels and handlers --------------------------------------------------------------


def test_log_level_warning_silences_request_lines_but_not_errors(
    inprocess_api: Api, output: Output, app_log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    observability.configure_logging(app_log, {"LOG_LEVEL": "WARNING"})
    user = inprocess_api.new_user()
    assert inprocess_api.request("GET", "/users/me", user=user).status == 200
    assert output.take()[0] == []

    _break_task_reads(monkeypatch)
    assert inprocess_api.request("GET", "/tasks", user=user).status == 500
    lines, _ = output.take()
    assert [line["level"] for line in lines] == ["ERROR"]


def test_log_level_is_read_from_the_environment_and_a_bad_one_falls_back_to_info(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger = logging.getLogger("tests.observability." + uuid.uuid4().hex)
    observability.configure_logging(logger, {"LOG_LEVEL": " debug "})
    assert logger.level == logging.DEBUG
    observability.configure_logging(logger, {})
    assert logger.level == logging.INFO
    capsys.readouterr()
    observability.configure_logging(logger, {"LOG_LEVEL": "LOUD"})
    assert logger.level == logging.INFO
    (warning,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert warning["level"] == "WARNING" and "LOG_LEVEL 'LOUD'" in warning["message"]


def test_each_record_is_written_once(
    inprocess_api: Api, output: Output, app_log: logging.Logger
) -> None:
    """Chalice's plain-text handler is gone and nothing reaches the root logger, which
    ``chalice local`` and the Lambda runtime give handlers of their own."""
    ours = [h for h in app_log.handlers if isinstance(h, observability.StdoutHandler)]
    assert len(ours) == 1 and len(app_log.handlers) == len(ours) + sum(
        type(h).__name__ == "LogCaptureHandler" for h in app_log.handlers
    )
    assert app_log.propagate is False
    root_stream = io.StringIO()
    root_handler = logging.StreamHandler(root_stream)
    logging.getLogger().addHandler(root_handler)
    try:
        assert inprocess_api.request("GET", "/health").status == 200
    finally:
        logging.getLogger().removeHandler(root_handler)
    assert root_stream.getvalue() == ""
    assert len(output.take()[0]) == 1


# --- end to end -----------------------------------------------------------------------


@pytest.mark.e2e
def test_chalice_local_prints_the_request_line(http_api: Api, local_stack: LocalStack) -> None:
    user_id = "01JDQ3" + uuid.uuid4().hex[:20].upper()
    token = http_api.token(sub=user_id)
    reply = requests.get(
        f"{local_stack.base_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert reply.status_code == 401  # a valid token for an account that does not exist
    log = Path(local_stack.output.name)  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [line for line in log.read_text().splitlines() if user_id in line]
        if found:
            break
        time.sleep(0.1)
    assert len(found) == 1, found
    line = json.loads(found[0])
    assert (line["route"], line["status"], line["user_id"]) == ("/users/me", 401, user_id)
    assert token not in log.read_text()
