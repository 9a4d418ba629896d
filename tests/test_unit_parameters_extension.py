"""Unit: the signing secrets read through the AWS Parameters and Secrets Lambda Extension
(chalicelib/storage/parameters_extension.py), against a local server answering like it, and
SSM asked whenever the extension gives no clear answer."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib import request_budget
from chalicelib.auth.signing_secret import SigningKeys, load_signing_keys
from chalicelib.config import Settings
from chalicelib.errors import ConfigurationError
from chalicelib.storage import parameters_extension
from chalicelib.storage.parameters_extension import Parameter

CURRENT = "/tasks-api/test/token-signing-secret"
PREVIOUS = "/tasks-api/test/token-signing-secret-previous"
TOKEN = "session-token"
SETTINGS = Settings.from_environ(
    {
        "STAGE": "test",
        "TOKEN_SIGNING_SECRET_PARAMETER": CURRENT,
        "TOKEN_SIGNING_SECRET_PREVIOUS_PARAMETER": PREVIOUS,
    }
)


class FakeExtension:
    """Answers ``GET /systemsmanager/parameters/get`` as the extension does: the parameter
    as SSM's GetParameter returns it, or ``answers[name]`` as (status, body) instead."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.requests: list[tuple[str, dict[str, list[str]], str | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                params = urllib.parse.parse_qs(query)
                token = self.headers.get(parameters_extension.TOKEN_HEADER)
                fake.requests.append((path, params, token))
                name = params.get("name", [""])[0]
                status, body = fake.answer(name, token)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def answer(self, name: str, token: str | None) -> tuple[int, bytes]:
        if token != TOKEN:
            return 401, b"missing or wrong X-Aws-Parameters-Secrets-Token"
        if name in self.answers:
            return self.answers[name]
        if name not in self.values:
            return 400, b"an error occurred (ParameterNotFound) when calling GetParameter"
        parameter = {"Name": name, "Type": "SecureString", "Value": self.values[name]}
        return 200, json.dumps({"Parameter": parameter}).encode()

    def reader(self, token: str = TOKEN) -> parameters_extension.Reader:
        environ = {parameters_extension.PORT_VARIABLE: str(self.port), "AWS_SESSION_TOKEN": token}
        found = parameters_extension.reader(environ)
        assert found is not None
        return found


@pytest.fixture
def extension() -> Iterator[FakeExtension]:
    fake = FakeExtension()
    thread = threading.Thread(target=fake.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


class FakeSsm:
    """The SSM client's ``get_parameter``, counting calls."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls: list[str] = []

    def get_parameter(self, Name: str, WithDecryption: bool) -> dict[str, Any]:
        assert WithDecryption
        self.calls.append(Name)
        return {"Parameter": {"Name": Name, "Value": self.values[Name]}}


def _no_ssm() -> None:
    raise AssertionError("SSM must not be called")


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"AWS_SESSION_TOKEN": TOKEN},
        {parameters_extension.PORT_VARIABLE: "2773"},
        {parameters_extension.PORT_VARIABLE: "not-a-port", "AWS_SESSION_TOKEN": TOKEN},
    ],
)
def test_without_a_configured_extension_there_is_no_reader(environ: dict[str, str]) -> None:
    assert parameters_extension.reader(environ) is None


def test_both_secrets_come_from_the_extension_without_an_ssm_client(
    extension: FakeExtension,
) -> None:
    extension.values = {CURRENT: "c" * 64, PREVIOUS: "p" * 64}
    keys = load_signing_keys(SETTINGS, _no_ssm, extension.reader())
    assert keys == SigningKeys(b"c" * 64, b"p" * 64)
    path, params, token = extension.requests[0]
    assert path == parameters_extension.PATH and token == TOKEN
    assert params == {"name": [CURRENT], "withDecryption": ["true"]}


def test_a_missing_previous_secret_is_none_and_a_missing_current_one_an_error(
    extension: FakeExtension,
) -> None:
    extension.values = {CURRENT: "c" * 64}
    assert load_signing_keys(SETTINGS, _no_ssm, extension.reader()) == SigningKeys(b"c" * 64)
    extension.values = {}
    with pytest.raises(ConfigurationError, match="cannot read SSM parameter"):
        load_signing_keys(SETTINGS, _no_ssm, extension.reader())


def test_a_weak_secret_from_the_extension_is_refused(extension: FakeExtension) -> None:
    extension.values = {CURRENT: "short"}
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        load_signing_keys(SETTINGS, _no_ssm, extension.reader())


@pytest.mark.parametrize(
    "answer",
    [
        (500, b"an error occurred (ThrottlingException) when calling GetParameter"),
        (400, b"an error occurred (AccessDeniedException) when calling GetParameter"),
        (200, b"not json"),
        (200, b'{"Parameter": {"Value": 5}}'),
    ],
)
def test_any_unclear_answer_is_left_to_ssm(
    extension: FakeExtension, answer: tuple[int, bytes]
) -> None:
    extension.values = {PREVIOUS: "p" * 64}
    extension.answers = {CURRENT: answer}
    ssm = FakeSsm({CURRENT: "s" * 64})
    keys = load_signing_keys(SETTINGS, lambda: ssm, extension.reader())
    assert keys == SigningKeys(b"s" * 64, b"p" * 64)
    assert ssm.calls == [CURRENT]


def test_a_refused_token_is_left_to_ssm(extension: FakeExtension) -> None:
    ssm = FakeSsm({CURRENT: "s" * 64, PREVIOUS: "q" * 64})
    keys = load_signing_keys(SETTINGS, lambda: ssm, extension.reader(token="stale"))
    assert keys == SigningKeys(b"s" * 64, b"q" * 64)
    assert ssm.calls == [CURRENT, PREVIOUS]


def test_no_extension_listening_is_left_to_ssm() -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert parameters_extension.get_parameter(CURRENT, port, TOKEN) is None


def test_no_request_when_the_budget_is_spent(extension: FakeExtension) -> None:
    request_budget.start(request_budget.MIN_READ_SECONDS / 2)
    try:
        assert parameters_extension.get_parameter(CURRENT, extension.port, TOKEN) is None
    finally:
        request_budget.clear()
    assert extension.requests == []


def test_an_answer_is_a_value_or_no_such_parameter(extension: FakeExtension) -> None:
    extension.values = {CURRENT: "v"}
    assert parameters_extension.get_parameter(CURRENT, extension.port, TOKEN) == Parameter("v")
    missing = parameters_extension.get_parameter(PREVIOUS, extension.port, TOKEN)
    assert missing == Parameter(None)
