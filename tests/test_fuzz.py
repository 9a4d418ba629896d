"""Fuzzing: schemathesis against the real local stack, driven by the API's own /openapi.json.

The schemathesis CLI loads the document from the running API and sends, with a real token,
examples, boundary values ("coverage"), random requests ("fuzzing") and sequences that follow
the document's links (create, then read, patch, replace, delete: "stateful"). Any 5xx, any
response the document does not describe (status, content type, headers, body), any invalid
request the API accepts and any valid one it refuses fails the test, with schemathesis's report
(each failure with a curl command that reproduces it) as the message.

Valid and invalid requests run separately: in a mixed run schemathesis 4.32 sometimes labels a
request valid although it carries an invalid optional header, and then reports the API for
refusing it. ``FUZZ_MAX_EXAMPLES`` (default 5; ``make fuzz`` uses 300) bounds the requests per
operation and phase.

Not checked, with reasons: methods the document does not define are answered by the gateway,
not by the API (``chalice local`` gives its own ``405``, or ``501`` from Python's ``http.server``
for TRACE and QUERY; API Gateway answers differently), so they are only probed with GET, PUT,
POST, DELETE and PATCH and the checks about 405 and ``Allow`` are off; and a schema-valid
``cursor`` is still refused (``400 invalid_cursor``) because cursors are signed, so on
``GET /tasks`` valid requests may get a 400 (limit and status are checked in
test_contract_openapi.py instead). ``ensure_resource_availability`` (a created resource can be
read) is off: an idempotent replay answers ``201`` with the original task, which may have been
deleted since (README, "Idempotent create"), and the check takes every 201 for a creation; it
found exactly that, in the 300-example run. The document itself (``/openapi.json``) is not fuzzed:
schemathesis skips the operation it loaded the document from.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from chalicelib.http import openapi
from devstack.stack import LocalStack
from tests.support import PASSWORD, unique_username

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    # Beyond the document: a deleted task stays gone, a request without the token or without a
    # required header is refused.
    "use_after_free",
    "ignored_auth",
    "missing_required_header",
]
# Statuses a valid request may get: besides success, the ones that depend on state rather than
# on the request (someone else's or a missing task, a stale If-Match, a reused idempotency key,
# a taken username, a locked login).
STATEFUL_STATUSES = ["2xx", "401", "403", "404", "409", "412", "422", "429"]
ENABLED_CHECKS = "".join(f"{check}.enabled = true\n" for check in CHECKS)
CONFIG = f"""\
continue-on-failure = true

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"

[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "patch"]

[checks]
enabled = false
{ENABLED_CHECKS}\
positive_data_acceptance.expected-statuses = {STATEFUL_STATUSES!r}

[[operations]]
include-name = "GET /tasks"
checks.positive_data_acceptance.expected-statuses = {[*STATEFUL_STATUSES, "400"]!r}
"""


@pytest.fixture(scope="module")
def fuzz_token(local_stack: LocalStack) -> str:
    """A real access token: a user registered and logged in on the stack under test."""
    credentials = {"username": unique_username("fuzz"), "password": PASSWORD}
    with requests.Session() as session:
        registered = session.post(
            f"{local_stack.base_url}/auth/register", json=credentials, timeout=60
        )
        assert registered.status_code == 201, registered.text
        logged_in = session.post(f"{local_stack.base_url}/auth/login", json=credentials, timeout=60)
        assert logged_in.status_code == 200, logged_in.text
    return logged_in.json()["access_token"]


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    local_stack: LocalStack, fuzz_token: str, tmp_path: Path, mode: str
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{local_stack.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {fuzz_token}",
        "--mode",
        mode,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--workers",
        "1",  # chalice local serves one request at a time
        "--request-timeout",
        "30",
        "--no-color",
    ]
    run = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        command, cwd=tmp_path, capture_output=True, text=True, timeout=3600, check=False
    )
    report = run.stdout
    start = report.find("= FAILURES =")
    assert run.returncode == 0, (report[start:] if start >= 0 else report)[-30000:] + run.stderr
    # Every documented operation but the document itself, which schemathesis does not fuzz.
    tested = re.search(r"Tested: (\d+)", report)
    assert tested and int(tested.group(1)) == len(openapi.OPERATIONS) - 1, report
