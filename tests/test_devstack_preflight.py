"""``make run`` with a bad setting: one line on stderr, a quick non-zero exit, nothing left.

Each case runs ``python -m devstack`` (what ``make run`` runs) as a subprocess with one bad
variable and checks what a person at the terminal would see: a non-zero exit within two
seconds, exactly one non-empty line on stderr naming the variable and its value (a secret
by its length only), no traceback, no success banner, and no process or listening port
left behind. Processes are traced through a marker variable in their environment, which
every child of ``devstack`` inherits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from devstack.preflight import PreflightError, check_environment
from devstack.stack import LocalStack, free_port

PROJECT_DIR = Path(__file__).resolve().parent.parent
MARKER = "DEVSTACK_PREFLIGHT_TEST_MARKER"
BANNER = "Tasks API on"
FAILURE_BOUND_SECONDS = 2.0
# Variables a developer's shell may set that would change what make run does here.
SETTINGS = (
    "PORT",
    "DYNAMODB",
    "TOKEN_LIFETIME_SECONDS",
    "REFRESH_TOKEN_LIFETIME_SECONDS",
    "TOKEN_SIGNING_SECRET",
    "TOKEN_SIGNING_SECRET_PREVIOUS",
)
needs_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="traces leftover processes through /proc"
)


@dataclass
class Run:
    returncode: int
    elapsed: float
    stdout: str
    stderr: str
    marker: str
    port: int


def devstack_environment(overrides: Mapping[str, str], marker: str) -> dict[str, str]:
    """The caller's environment without any make run setting, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and k != MARKER}
    return {**env, **overrides, MARKER: marker}


def run_devstack(overrides: Mapping[str, str], timeout: float = 15) -> Run:
    """``python -m devstack`` with ``overrides`` (and a free ``PORT`` unless given).

    A run still going after ``timeout`` (a server that started after all) is stopped with
    Ctrl-C, as a person would, and reported as a failure with what it printed.
    """
    overrides = dict(overrides)
    if "PORT" not in overrides:
        overrides["PORT"] = str(free_port())
    marker = uuid.uuid4().hex
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=PROJECT_DIR,
        env=devstack_environment(overrides, marker),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        send_signal(process, signal.SIGINT)
        try:
            stdout, stderr = process.communicate(timeout=30)
        finally:
            send_signal(process, signal.SIGKILL)
        pytest.fail(f"make run was still running after {timeout} s:\n{stdout}{stderr}")
    elapsed = time.monotonic() - started
    port = int(overrides["PORT"]) if overrides["PORT"].isdigit() else 0
    return Run(process.returncode, elapsed, stdout, stderr, marker, port)


def processes_with_marker(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``MARKER=marker``."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone already, or not ours to read
            continue
    return found


def is_listening(port: int) -> bool:
    """Whether anything accepts connections on ``127.0.0.1:port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def assert_refused_calmly(run: Run, variable: str, shown_value: str) -> str:
    """The failure contract of ``make run``; returns the one line it printed."""
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert run.elapsed < FAILURE_BOUND_SECONDS, (run.elapsed, output)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    line = lines[0]
    assert variable in line, line
    assert shown_value in line, line
    assert "Traceback" not in output
    assert BANNER not in run.stdout
    assert processes_with_marker(run.marker) == []
    return line


BAD_SETTINGS = [
    # (overrides, variable, how the value appears in the line)
    ({"PORT": "abc"}, "PORT", "'abc'"),
    ({"PORT": "99999"}, "PORT", "'99999'"),
    ({"PORT": "0"}, "PORT", "'0'"),
    ({"PORT": ""}, "PORT", "''"),
    ({"PORT": " 8000"}, "PORT", "' 8000'"),
    ({"TOKEN_LIFETIME_SECONDS": "30"}, "TOKEN_LIFETIME_SECONDS", "'30'"),
    ({"TOKEN_LIFETIME_SECONDS": "abc"}, "TOKEN_LIFETIME_SECONDS", "'abc'"),
    ({"TOKEN_LIFETIME_SECONDS": "86401"}, "TOKEN_LIFETIME_SECONDS", "'86401'"),
    ({"REFRESH_TOKEN_LIFETIME_SECONDS": "10"}, "REFRESH_TOKEN_LIFETIME_SECONDS", "'10'"),
    ({"REFRESH_TOKEN_LIFETIME_SECONDS": "3599"}, "REFRESH_TOKEN_LIFETIME_SECONDS", "'3599'"),
    ({"DYNAMODB": "mot"}, "DYNAMODB", "'mot'"),
    ({"DYNAMODB": "ftp://127.0.0.1:8001"}, "DYNAMODB", "'ftp://127.0.0.1:8001'"),
    ({"DYNAMODB": "http://"}, "DYNAMODB", "'http://'"),
    ({"DYNAMODB": "http://127.0.0.1:99999"}, "DYNAMODB", "'http://127.0.0.1:99999'"),
]


@needs_proc
@pytest.mark.parametrize(
    ("overrides", "variable", "shown"), BAD_SETTINGS, ids=[repr(c[0]) for c in BAD_SETTINGS]
)
def test_a_bad_setting_is_one_line_and_a_quick_exit(
    overrides: dict[str, str], variable: str, shown: str
) -> None:
    line = assert_refused_calmly(run_devstack(overrides), variable, shown)
    assert line.startswith("make run: "), line
    assert "must be" in line  # the rule, not only the complaint


@needs_proc
def test_an_unreachable_dynamodb_endpoint_is_refused_before_anything_starts() -> None:
    dead = free_port()  # bound once and released: nothing listens there
    url = f"http://127.0.0.1:{dead}"
    run = run_devstack({"DYNAMODB": url})
    line = assert_refused_calmly(run, "DYNAMODB", repr(url))
    assert f"127.0.0.1:{dead}" in line
    assert not is_listening(run.port)


@needs_proc
@pytest.mark.parametrize(
    ("variable", "secret"),
    [
        ("TOKEN_SIGNING_SECRET", "s" * 31),  # one byte short
        ("TOKEN_SIGNING_SECRET_PREVIOUS", "short-previous-secret"),
        ("TOKEN_SIGNING_SECRET_PREVIOUS", "é" * 15),  # 15 characters, 30 bytes
    ],
)
def test_a_short_signing_secret_is_refused_without_echoing_it(variable: str, secret: str) -> None:
    run = run_devstack({variable: secret})
    size = len(secret.encode())
    line = assert_refused_calmly(run, variable, f"<{size} bytes, not shown>")
    assert secret not in run.stdout + run.stderr
    assert "at least 32 bytes" in line
    assert f"{variable}=" in line
    assert not is_listening(run.port)


@needs_proc
@pytest.mark.parametrize("reuse_address", [False, True], ids=["plain", "SO_REUSEADDR"])
def test_a_port_something_listens_on_is_refused(reuse_address: bool) -> None:
    # SO_REUSEADDR is how http.server (and so chalice local) binds: another make run.
    with socket.socket() as holder:
        if reuse_address:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        run = run_devstack({"PORT": str(port)})
        line = assert_refused_calmly(run, "PORT", str(port))
        assert f"127.0.0.1:{port}" in line
        assert "in use" in line


def test_the_default_settings_pass_the_checks() -> None:
    port = free_port()
    settings = check_environment({"PORT": str(port)})
    assert (settings.port, settings.dynamodb) == (port, "moto")
    good = {
        "PORT": str(port),
        "DYNAMODB": "aws",
        "TOKEN_LIFETIME_SECONDS": "60",
        "REFRESH_TOKEN_LIFETIME_SECONDS": "31536000",
        "TOKEN_SIGNING_SECRET": "x" * 32,
        "TOKEN_SIGNING_SECRET_PREVIOUS": "",  # empty means none, as in the app
    }
    assert check_environment(good).dynamodb == "aws"


def test_a_preflight_error_names_variable_value_and_rule() -> None:
    error = PreflightError("PORT", "'abc'", "must be an integer from 1 to 65535")
    assert str(error) == "PORT='abc': must be an integer from 1 to 65535"
    assert "\n" not in str(PreflightError("DYNAMODB", repr("a\nb"), "rule"))


# --- with real processes: another make run, and the re-check right before chalice binds ---


@pytest.fixture
def running_devstack(tmp_path: Path) -> Iterator[int]:
    """A real ``python -m devstack`` serving on a free port; yields the port."""
    port = free_port()
    marker = uuid.uuid4().hex
    with (tmp_path / "first.log").open("w") as log:
        first = subprocess.Popen(
            [sys.executable, "-m", "devstack"],
            cwd=PROJECT_DIR,
            env=devstack_environment({"PORT": str(port)}, marker),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not _answers_health(port):
                assert first.poll() is None, (tmp_path / "first.log").read_text()
                assert time.monotonic() < deadline, "the first make run did not serve /health"
                time.sleep(0.3)
            yield port
            assert first.poll() is None, "the first make run stopped"
        finally:
            send_signal(first, signal.SIGINT)
            try:
                first.wait(timeout=30)
            except subprocess.TimeoutExpired:
                send_signal(first, signal.SIGKILL)
                first.wait()
    deadline = time.monotonic() + 15
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with_marker(marker) == []


def send_signal(process: subprocess.Popen, signum: int) -> None:
    """Signal the process group ``process`` leads (it was started in a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _answers_health(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@needs_proc
@pytest.mark.e2e
def test_a_second_make_run_on_a_served_port_fails_without_the_banner(running_devstack: int) -> None:
    port = running_devstack
    run = run_devstack({"PORT": str(port)})
    assert_refused_calmly(run, "PORT", str(port))
    assert _answers_health(port)  # the first one is untouched


@needs_proc
@pytest.mark.e2e
def test_the_stack_checks_the_port_again_right_before_chalice_binds(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        environ = devstack_environment({}, marker)
        with (tmp_path / "stack.log").open("w") as log:
            stack = LocalStack(port, environ=environ, output=log)
            with pytest.raises(PreflightError, match=f"PORT={port}: 127.0.0.1:{port} is already"):
                stack.start()  # the DynamoDB server started, then the port was found taken
    assert processes_with_marker(marker) == []
