"""The built package runs on the pinned Lambda runtime: Python 3.13 with only boto3 beside it.

``make build`` packages with whatever Python runs it (3.11 here), while every deploy path pins
the runtime to python3.13. This unpacks ``deployment.zip`` into a clean, read-only directory,
creates a Python 3.13 virtualenv holding only boto3 (what the Lambda runtime provides besides
the standard library), imports the app there, from the 3.13 bytecode the package ships, and
serves a request and an authorizer call. Skips, saying why, where no Python 3.13 exists.

The unit tests at the end hold ``deploy/runtime_python.py``'s checks to synthetic packages.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chalicelib.auth.signing_secret import SigningKeys
from chalicelib.auth.tokens import Principal, TokenService
from deploy import build as package_build
from deploy import runtime_python

PROJECT_DIR = Path(__file__).resolve().parent.parent
BOTO3 = "boto3==1.44.5"  # as requirements-dev.txt: what the code is tested with
SECRET = "runtime-check-secret-that-is-long-enough-0123456789"

SERVE = """
import importlib._bootstrap_external as bootstrap_external
import importlib.util, json, os, sys

# Every module Python compiles from source rather than loading from bytecode.
compiled = []
source_to_code = bootstrap_external.SourceLoader.source_to_code
def counting_source_to_code(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
bootstrap_external.SourceLoader.source_to_code = counting_source_to_code

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
    "app_cached": app.__cached__,
    "app_cached_exists": os.path.exists(importlib.util.cache_from_source(app.__file__)),
    "compiled": compiled,
}))
"""


def _runtime_python() -> str:
    """Python 3.13 as the build finds it (``deploy/runtime_python.py``), or skip saying why."""
    python, problems = runtime_python.find()
    if python is None:
        pytest.skip(
            f"no working {runtime_python.RUNTIME} (the pinned Lambda runtime) in "
            f"${runtime_python.ENVIRONMENT_OVERRIDE}, on PATH or under pyenv"
            + (f" ({'; '.join(problems)})" if problems else "")
        )
    return python


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``deployment.zip`` of the dev stage, as ``make build`` writes it."""
    output = tmp_path_factory.mktemp("build")
    package_build.build("dev", output)
    return output / package_build.PACKAGE


@pytest.mark.e2e
def test_the_package_ships_313_bytecode_for_every_source_and_no_other(built: Path) -> None:
    python = _runtime_python()
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
        headers = {n: archive.read(n)[:8] for n in names if n.endswith(".pyc")}
    sources = sorted(n for n in names if n.endswith(".py"))
    assert "app.py" in sources
    assert [n for n in sources if n.startswith("chalicelib/")]
    missing = [n for n in sources if runtime_python.bytecode_name(n) not in names]
    assert not missing  # app.py, chalicelib/ and the requirements alike
    assert len(headers) == len(sources)
    assert not [n for n in names if "__pycache__/" in n and not n.endswith(".cpython-313.pyc")]
    magic = subprocess.run(  # noqa: S603 - the runtime's python, a fixed script
        [
            python,
            "-c",
            "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert magic == runtime_python.MAGIC.hex()
    assert {header[:4] for header in headers.values()} == {runtime_python.MAGIC}
    assert {int.from_bytes(h[4:8], "little") for h in headers.values()} == {0b01}
    runtime_python.check_bytecode(built, complete=True)


@pytest.mark.e2e
def test_without_python_313_the_package_has_no_bytecode_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runtime_python, "find_python", lambda: None)
    package_build.build("dev", tmp_path)
    with zipfile.ZipFile(tmp_path / package_build.PACKAGE) as archive:
        names = archive.namelist()
    assert "app.py" in names
    assert not [n for n in names if "__pycache__/" in n or n.endswith((".pyc", ".pyo"))]
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1
    assert "python3.13" in notice[0]
    assert "without bytecode" in notice[0]


@pytest.mark.e2e
def test_the_package_serves_a_request_on_python_313_with_only_boto3(
    built: Path, tmp_path: Path
) -> None:
    python = _runtime_python()
    task = tmp_path / "task"
    with zipfile.ZipFile(built) as archive:
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
    # As on Lambda: the task directory is read-only and nothing writes bytecode into it. -I
    # ignores PYTHON* variables, so -B stands for PYTHONDONTWRITEBYTECODE=1; the directory
    # listing is compared too, since root ignores the read-only modes.
    before = sorted(task.rglob("*"))
    with _read_only(task):
        result = subprocess.run(  # noqa: S603 - the runtime venv's python, our own script
            [
                str(venv / "bin" / "python"),
                "-I",
                "-B",
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
    assert sorted(task.rglob("*")) == before
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["version"] == [3, 13]
    assert served["health"] == [200, {"status": "ok"}]
    assert served["effect"] == "Allow"
    assert served["chalicelib_from"].startswith(str(task))  # the package's, not the checkout's
    # Loaded from the shipped bytecode: nothing of the package compiled from source.
    assert served["app_cached"] == str(task / "__pycache__" / "app.cpython-313.pyc")
    assert served["app_cached_exists"]
    assert not [path for path in served["compiled"] if path.startswith(str(task))]


@contextmanager
def _read_only(directory: Path) -> Iterator[None]:
    """``directory`` and everything in it read-only (as Lambda's /var/task) while inside."""
    paths = [directory, *directory.rglob("*")]
    modes = {path: path.stat().st_mode for path in paths}
    write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    try:
        for path in reversed(paths):
            path.chmod(modes[path] & ~write)
        yield
    finally:
        for path in paths:
            path.chmod(modes[path])


# -- unit: deploy/runtime_python.py on synthetic packages ------------------------------------


def _pyc(magic: bytes = runtime_python.MAGIC, flags: int = 0b01) -> bytes:
    return magic + flags.to_bytes(4, "little") + bytes(8)


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ({"a.py": b"", "__pycache__/a.cpython-311.pyc": _pyc()}, "not python3.13's bytecode"),
        ({"a.py": b"", "a.pyc": _pyc()}, "not python3.13's bytecode"),
        ({"a.py": b"", "__pycache__/a.cpython-313.opt-1.pyc": _pyc()}, "not python3.13's"),
        ({"a.py": b"", "__pycache__/a.cpython-313.pyc": _pyc(b"\xa7\r\r\n")}, "magic number"),
        ({"a.py": b"", "__pycache__/a.cpython-313.pyc": _pyc(flags=0)}, "unchecked-hash"),
        ({"p/__pycache__/b.cpython-313.pyc": _pyc()}, "no source beside it"),
    ],
)
def test_bytecode_the_runtime_would_not_use_is_refused(
    tmp_path: Path, entries: dict[str, bytes], problem: str
) -> None:
    package = _zip(tmp_path / "deployment.zip", entries)
    with pytest.raises(ValueError, match=re.escape(problem)):
        runtime_python.check_bytecode(package, complete=False)


def test_a_complete_package_has_bytecode_for_every_source(tmp_path: Path) -> None:
    assert runtime_python.bytecode_name("app.py") == "__pycache__/app.cpython-313.pyc"
    assert runtime_python.bytecode_name("p/q/m.py") == "p/q/__pycache__/m.cpython-313.pyc"
    entries = {"a.py": b"", "p/b.py": b"", "__pycache__/a.cpython-313.pyc": _pyc()}
    package = _zip(tmp_path / "deployment.zip", entries)
    runtime_python.check_bytecode(package, complete=False)
    with pytest.raises(ValueError, match=re.escape("p/b.py: no cpython-313 bytecode")):
        runtime_python.check_bytecode(package, complete=True)


def test_without_python_313_stale_bytecode_is_dropped_and_one_line_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runtime_python, "find_python", lambda: None)
    source = _zip(
        tmp_path / "chalice.zip",
        {"p/b.py": b"", "app.py": b"", "p/__pycache__/b.cpython-311.pyc": b"", "x.pyc": b""},
    )
    assert not runtime_python.package(source, tmp_path / "deployment.zip")
    with zipfile.ZipFile(tmp_path / "deployment.zip") as archive:
        assert archive.namelist() == ["app.py", "p/b.py"]  # sorted, no bytecode
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_runtime_python_that_is_not_313_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runtime_python.ENVIRONMENT_OVERRIDE, sys.executable)
    if sys.version_info[:2] == runtime_python.VERSION:
        pytest.skip("this interpreter is 3.13 itself")
    with pytest.raises(RuntimeError, match=r"RUNTIME_PYTHON=.*not \(3, 13\)"):
        runtime_python.find()


def test_the_bytecode_is_for_the_runtime_every_deploy_path_pins() -> None:
    """RUNTIME is the runtime of the SAM template's functions and the Terraform default."""
    template = (PROJECT_DIR / "infra" / "sam" / "template.yaml").read_text()
    variables = PROJECT_DIR / "infra" / "terraform" / "modules" / "tasks_api" / "variables.tf"
    assert set(re.findall(r"Runtime: (\S+)", template)) == {runtime_python.RUNTIME}
    runtime = re.search(
        r'variable "lambda_runtime" \{.*?default\s*=\s*"([^"]+)"', variables.read_text(), re.S
    )
    assert runtime
    assert runtime.group(1) == runtime_python.RUNTIME
    assert "cpython-" + "".join(map(str, runtime_python.VERSION)) == runtime_python.CACHE_TAG
