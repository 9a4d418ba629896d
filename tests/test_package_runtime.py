"""The built package runs on the pinned Lambda runtime: Python 3.13 with only boto3 beside it.

``make build`` packages with whatever Python runs it (3.11 here), while every deploy path pins
the runtime to python3.13. This unpacks ``deployment.zip`` into a clean directory, creates a
Python 3.13 virtualenv holding only boto3 (what the Lambda runtime provides besides the
standard library), imports the app there and serves a request and an authorizer call.
Skips, saying why, where no Python 3.13 exists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from chalicelib.auth.signing_secret import SigningKeys
from chalicelib.auth.tokens import Principal, TokenService
from deploy import build as package_build

pytestmark = pytest.mark.e2e

RUNTIME_PYTHON = "python3.13"
BOTO3 = "boto3==1.44.5"  # as requirements-dev.txt: what the code is tested with
SECRET = "runtime-check-secret-that-is-long-enough-0123456789"

SERVE = """
import json, sys
import app

class Context:
    aws_request_id = "runtime-check"
    function_name = "api_handler"
    memory_limit_in_mb = 512
    def get_remaining_time_in_millis(self):
        return 15000

event = {
    "resource": "/health", "path": "/health", "httpMethod": "GET",
    "headers": {}, "multiValueHeaders": {},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/health", "path": "/api/health", "httpMethod": "GET",
                       "stage": "api", "requestId": "r", "identity": {"sourceIp": "192.0.2.1"}},
}
health = app.app(event, Context())
policy = app.jwt_authorizer(
    {"type": "TOKEN", "authorizationToken": "Bearer " + sys.argv[1],
     "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/tasks"},
    Context(),
)
print(json.dumps({
    "version": list(sys.version_info[:2]),
    "health": [health["statusCode"], json.loads(health["body"])],
    "effect": policy["policyDocument"]["Statement"][0]["Effect"],
    "chalicelib_from": __import__("chalicelib").__file__,
}))
"""


def _runtime_python() -> str:
    """Python 3.13 on PATH, or from pyenv's versions (whose shim only runs the global one)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(RUNTIME_PYTHON)]
    candidates += [str(p) for p in sorted(pyenv_root.glob("versions/3.13*/bin/python3.13"))]
    problems = []
    for python in filter(None, candidates):
        probe = subprocess.run(  # noqa: S603 - an interpreter we found, fixed arguments
            [python, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and "(3, 13)" in probe.stdout:
            return python
        problems.append(f"{python}: {probe.stderr.strip().splitlines()[:1]}")
    pytest.skip(
        f"no working {RUNTIME_PYTHON} (the pinned Lambda runtime) on PATH or under pyenv"
        + (f" ({'; '.join(problems)})" if problems else "")
    )


def test_the_package_serves_a_request_on_python_313_with_only_boto3(tmp_path: Path) -> None:
    python = _runtime_python()
    package_build.build("dev", tmp_path / "build")
    task = tmp_path / "task"
    with zipfile.ZipFile(tmp_path / "build" / package_build.PACKAGE) as archive:
        archive.extractall(task)
    venv = tmp_path / "runtime"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603 - the venv's own pip, a pinned package
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            BOTO3,
        ],
        check=True,
        timeout=300,
    )
    now = time.time()
    token = TokenService(SigningKeys(SECRET.encode()), "tasks-api", "tasks-api", 900).issue(
        Principal("01JDQ3AAAAAAAAAAAAAAAAAAAA", "runtime"), now
    )
    environment = {
        "PATH": "/usr/bin:/bin",
        "STAGE": "local",
        "TOKEN_SIGNING_SECRET": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(  # noqa: S603 - the runtime venv's python, our own script
        [
            str(venv / "bin" / "python"),
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, '.')\n{SERVE}",
            token,
        ],
        cwd=task,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["version"] == [3, 13]
    assert served["health"] == [200, {"status": "ok"}]
    assert served["effect"] == "Allow"
    assert served["chalicelib_from"].startswith(str(task))  # the package's, not the checkout's
