"""Start and stop the local stack: DynamoDB server, tables, ``chalice local``."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import boto3

from chalicelib.config import BUILTIN, COGNITO, Settings
from chalicelib.storage.table_layout import create_missing_tables
from devstack.cognito import LocalUserPool, create_local_user_pool
from devstack.preflight import SIGNING_SECRETS, StackError, check_port_free, check_signing_secret

# StackError is defined with the start-up checks in devstack.preflight, which do not
# import boto3; ``from devstack.stack import StackError`` keeps working.
PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCAL_STAGE = "local"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Set for the API process when LocalStack is asked for cheap password hashing (read by
# devstack.chalice_local); removed otherwise, whatever the shell has.
CHEAP_PASSWORD_HASHING_VARIABLE = "DEVSTACK_CHEAP_PASSWORD_HASHING"  # noqa: S105 - a name


class LocalStack:
    """The API on ``http://127.0.0.1:<port>`` backed by a DynamoDB-protocol server.

    ``dynamodb`` is ``"moto"`` (start an in-memory server, the default), an endpoint URL
    (e.g. DynamoDB Local) or ``"aws"`` (the real service, with your own credentials).
    ``identity_provider`` is ``"builtin"`` (the default: the API's own user store) or
    ``"cognito"``: a user pool and app client in the moto server (``devstack.cognito``),
    whose tokens the API then verifies; ``user_pool`` describes them.
    ``cheap_password_hashing``: new passwords are hashed at a token scrypt cost (the test
    suite's shared stack; see ``devstack.chalice_local``), never for make run.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        dynamodb: str = "moto",
        environ: Mapping[str, str] | None = None,
        output: IO[Any] | None = None,
        autoreload: bool = False,
        identity_provider: str = BUILTIN,
        cheap_password_hashing: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.dynamodb = dynamodb
        self.environ = dict(os.environ if environ is None else environ)
        self.output = output
        self.autoreload = autoreload
        self.identity_provider = identity_provider
        self.cheap_password_hashing = cheap_password_hashing
        self.dynamodb_endpoint: str | None = None
        self.moto_endpoint: str | None = None
        self.user_pool: LocalUserPool | None = None
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def signing_secret(self) -> str:
        return self.environ["TOKEN_SIGNING_SECRET"]

    def start(self) -> LocalStack:
        try:
            self._prepare_environment()
            self._create_tables()
            if self.identity_provider == COGNITO:
                self._create_user_pool()
            self._start_api()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every child process; safe to call more than once."""
        for process in reversed(self._processes):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self._processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            # chalice local's autoreloader forks a worker into the same group: stop it too.
            _signal_group(process, signal.SIGKILL)
        self._processes.clear()

    def wait(self) -> int:
        """Block until ``chalice local`` exits; its exit status."""
        return self._processes[-1].wait()

    def stop_dynamodb(self) -> None:
        """Stop only the DynamoDB server (to show how the API behaves without storage)."""
        dynamodb = self._processes[0]
        _signal_group(dynamodb, signal.SIGTERM)
        dynamodb.wait(timeout=10)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _prepare_environment(self) -> None:
        env = self.environ
        env["STAGE"] = LOCAL_STAGE
        env["IDENTITY_PROVIDER"] = self.identity_provider  # not whatever the shell had
        env.pop(CHEAP_PASSWORD_HASHING_VARIABLE, None)  # only when asked, below
        if self.cheap_password_hashing:
            env[CHEAP_PASSWORD_HASHING_VARIABLE] = "1"
        env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
        for variable in SIGNING_SECRETS:  # the rules make run checks before calling us
            check_signing_secret(variable, env.get(variable))
        if not env.get("TOKEN_SIGNING_SECRET"):  # cognito mode too: it signs list cursors
            env["TOKEN_SIGNING_SECRET"] = secrets.token_urlsafe(48)
        if self.dynamodb == "aws":
            env.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        else:
            for name, value in FAKE_CREDENTIALS.items():
                env.setdefault(name, value)
            if self.dynamodb == "moto":
                self.dynamodb_endpoint = self._moto_server()
            else:
                self.dynamodb_endpoint = self.dynamodb
            env["AWS_ENDPOINT_URL_DYNAMODB"] = self.dynamodb_endpoint
        if self.identity_provider == COGNITO:
            self._moto_server()  # the same server answers cognito-idp

    def _moto_server(self) -> str:
        """The moto server's endpoint, started on first use."""
        if self.moto_endpoint is None:
            self.moto_endpoint = self._start_dynamodb_server()
        return self.moto_endpoint

    def _start_dynamodb_server(self) -> str:
        process = self._spawn(
            [sys.executable, "-m", "devstack.dynamodb_server", "--port", "0"],
            stdout=subprocess.PIPE,
        )
        first_line = _read_line(process.stdout, timeout=60) if process.stdout else ""
        if not first_line.startswith("listening on "):
            raise StackError(f"the DynamoDB server did not start: {first_line!r}")
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
        return first_line.removeprefix("listening on ").strip()

    def _create_tables(self) -> None:
        # The tables do not depend on the identity provider (whose pool is not made yet).
        settings = Settings.from_environ(
            {**self.environ, **stage_environment(LOCAL_STAGE), "IDENTITY_PROVIDER": BUILTIN}
        )
        client = self._session().client("dynamodb", endpoint_url=self.dynamodb_endpoint)
        created = create_missing_tables(client, settings)
        if created:
            self._say(f"created tables: {', '.join(created)}")

    def _create_user_pool(self) -> None:
        """A user pool and app client in moto, and the API's settings to accept its tokens."""
        if self.moto_endpoint is None:
            raise StackError("the cognito mode needs the moto server, which did not start")
        region = self.environ["AWS_DEFAULT_REGION"]
        client = self._session().client("cognito-idp", endpoint_url=self.moto_endpoint)
        self.user_pool = create_local_user_pool(client, self.moto_endpoint, region)
        self.environ.update(self.user_pool.api_environment())
        self._say(f"created user pool {self.user_pool.pool_id}")

    def _session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=self.environ.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self.environ.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=self.environ.get("AWS_SESSION_TOKEN"),
            region_name=self.environ["AWS_DEFAULT_REGION"],
        )

    def _start_api(self) -> None:
        chalice = [sys.executable, "-m", "devstack.chalice_local"]
        command = [*chalice, "local", "--host", "127.0.0.1", "--port", str(self.port)]
        if not self.autoreload:
            command.append("--no-autoreload")
        # Checked again right before chalice binds (make run checked before starting
        # anything): /health below would otherwise be answered by whoever holds the port.
        check_port_free(self.port)
        process = self._spawn([*command, "--stage", LOCAL_STAGE], stdout=self.output)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(f"chalice local exited with status {process.returncode}")
            if _answers_health(self.base_url):
                return
            time.sleep(0.2)
        raise StackError("chalice local did not answer /health within 60 s")

    def _spawn(self, command: list[str], stdout: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and chalice, fixed args
            command,
            cwd=PROJECT_DIR,
            env=self.environ,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout is not None else None,
            start_new_session=True,  # one Ctrl-C reaches us, and we stop the children in order
            preexec_fn=_die_with_parent,
        )
        self._processes.append(process)
        return process

    def _say(self, message: str) -> None:
        print(f"[devstack] {message}", file=self.output or sys.stderr, flush=True)


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables ``.chalice/config.json`` gives ``stage``."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the child's whole process group (each child leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _answers_health(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def _read_line(stream: IO[bytes], timeout: float) -> str:
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0].decode(errors="replace") if lines else ""


def _die_with_parent() -> None:
    """On Linux, children get SIGTERM if this process dies without cleaning up."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
