"""Cold start: fresh interpreters that import the app and serve one event, against baselines
measured in the same run and interleaved with ours.

The headline rows run what ships, as Lambda runs it: ``deploy.build.build("dev")``'s
``deployment.zip`` (with its Python 3.13 bytecode) unpacked into a task root, under the pinned
runtime's Python 3.13, in a virtualenv holding only boto3 (``RuntimePackage``; PyJWT too, for
the floor's ``import jwt``: the package no longer ships it). Their floor is issue 15's, the v1
floor measured the same way: import chalice, boto3, jwt; create the DynamoDB client. A second
baseline row, what the app cannot do without (Chalice, botocore, one client), shows how much
of the gap to it is ours. The authorizer's first call on an AWS stage (two SSM reads) is
measured with each option of issue 15: the botocore-level SSM client (the default), the boto3
one (before), the Parameters and Secrets Lambda Extension (a local server answering like it:
the extension's own init, which Lambda runs in parallel with the function's, is not
measured) and SnapStart (modelled as the first request after a restore: imports and the SSM
client done before the snapshot; the restore itself is not measured). The working-tree rows
(this interpreter, the project directory) are kept as secondary rows.

A real Lambda runs the authorizer as its own invocation, so an authorized request is timed
with ``requestContext.authorizer`` already filled in, and the authorizer separately. Wall
time is from spawn to the child's answer: the child then exits without the interpreter's
teardown, which no Lambda cold start pays (it cost 60-100 ms here, more where more was loaded).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import fixtures
from bench.paths import PROJECT_DIR
from bench.stats import Summary, paired_ratios
from devstack.stack import stage_environment

CHILD = PROJECT_DIR / "bench" / "cold_start_child.py"
FLOOR = "floor"
FLOOR_RUNTIME = "floor_runtime"
GOAL_RATIO = 1.2
# Issue 15's goals for what ships: an authorized GET from the package, and the authorizer's
# first call on an AWS stage (two SSM reads), against the floor measured the same way.
PACKAGE_GET_GOAL = 0.9
PACKAGE_AUTHORIZER_GOAL = 1.0
BOTO3 = "boto3==1.44.5"  # as requirements-dev.txt and tests/test_package_runtime.py
PYJWT = "PyJWT==2.15.1"  # as requirements-dev.txt: only the floor imports it
# The Parameters and Secrets Lambda Extension's variable (chalicelib/storage/parameters_extension).
EXTENSION_PORT_VARIABLE = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
AFTER_RESTORE = "after_restore"


@dataclass(frozen=True)
class Scenario:
    """One kind of fresh process: what it imports and serves, with which environment.

    ``baseline`` names the scenario it is compared with (run under the same conditions);
    ``has_goal`` marks ours, held to the goal of at most ``goal`` times its baseline.
    ``kind`` is the child's: floor | floor_botocore | fastapi | request | authorizer |
    after_restore (SnapStart: only the first request is timed, so its "wall" time is that).
    With ``extension``, the child finds a fake Parameters and Secrets extension on its port.
    """

    name: str
    label: str
    kind: str
    payload: dict[str, Any]
    environ: dict[str, str]
    baseline: str | None = FLOOR
    has_goal: bool = True
    goal: float = GOAL_RATIO
    python: str | None = None  # the interpreter (default: this one)
    extension: bool = False

    def accepts(self, outcome: Any) -> bool:
        """Did the child's request succeed (so we timed a real answer, not an error)?"""
        if self.kind.startswith("floor"):
            return outcome == "client created"
        if self.kind in ("authorizer", AFTER_RESTORE):
            return outcome["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        return outcome.get("statusCode") == 200


@dataclass
class ColdRuns:
    """Every run of one scenario (round by round): wall time seen by the parent, and what
    the child measured itself."""

    scenario: Scenario
    wall_s: list[float] = field(default_factory=list)
    import_s: list[float] = field(default_factory=list)
    request_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    max_rss_kib: list[int] = field(default_factory=list)

    @property
    def wall_ms(self) -> Summary:
        return Summary.of(self.wall_s).scaled(1000)

    def median_ms(self, series: str) -> float:
        return statistics.median(getattr(self, series)) * 1000

    def ratio_to(self, baseline: ColdRuns) -> Summary:
        """Wall time over the baseline's, run by run within each round."""
        return paired_ratios(self.wall_s, baseline.wall_s)

    def extra_ms(self, baseline: ColdRuns, series: str = "wall_s") -> float:
        """Median of the round-by-round differences with the baseline, in milliseconds."""
        ours, theirs = getattr(self, series), getattr(baseline, series)
        return statistics.median(a - b for a, b in zip(ours, theirs, strict=True)) * 1000


@dataclass(frozen=True)
class RuntimePackage:
    """``deployment.zip`` unpacked as Lambda's task root, and a Python 3.13 virtualenv with
    only boto3 (what the runtime provides besides the standard library) and the floor's PyJWT."""

    task_root: Path
    python: str


def prepare_runtime(scratch: Path, package: Path | None = None) -> RuntimePackage | str:
    """Unpack the dev package (``package``, else built here) and make the 3.13 virtualenv;
    or why it cannot."""
    from deploy import build as package_build
    from deploy import runtime_python

    runtime, problems = runtime_python.find()
    if runtime is None:
        return f"no working {runtime_python.RUNTIME} (the pinned Lambda runtime)" + (
            f": {'; '.join(problems)}" if problems else ""
        )
    if package is None:
        out = scratch / "runtime-build"
        package_build.build("dev", out)
        package = out / package_build.PACKAGE
    task_root = scratch / "task"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(task_root)
    venv = scratch / "runtime-venv"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    subprocess.run(  # noqa: S603 - the runtime's Python, fixed arguments
        [runtime, "-m", "venv", str(venv)], env=clean, check=True, capture_output=True
    )
    python = venv / "bin" / "python"
    subprocess.run(  # noqa: S603 - the virtualenv's pip, fixed arguments
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", BOTO3, PYJWT],
        env=clean,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return RuntimePackage(task_root, str(python))


def runtime_scenarios(package: RuntimePackage) -> list[Scenario]:
    """What ships, as Lambda runs it, under the runtime's Python from the unpacked package:
    the floor and the app's own minimum, an authorized GET, and the authorizer on an AWS
    stage (two SSM reads) with each option of issue 15."""
    task = fixtures.sample_task()
    token = fixtures.access_token()
    local = fixtures.local_stage_environ()
    # Lambda's task root is read-only: nothing is written, only the shipped bytecode is used.
    base = {k: v for k, v in local.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    base["PYTHONDONTWRITEBYTECODE"] = "1"
    aws = _aws_stage(base)
    responses = _responses(task, aws)
    root = {"task_root": str(package.task_root)}
    authorize = {"event": fixtures.authorizer_event(token), "responses": responses, **root}
    region = {"region": fixtures.REGION, **root}
    package_floor = {"baseline": FLOOR_RUNTIME, "python": package.python}
    authorizer_goal = {**package_floor, "goal": PACKAGE_AUTHORIZER_GOAL}
    secrets = "package, py3.13, secrets from SSM: authorizer"
    return [
        Scenario(
            FLOOR_RUNTIME,
            "package, py3.13 floor: import chalice, boto3, jwt; create the DynamoDB client",
            "floor",
            region,
            base,
            baseline=None,
            has_goal=False,
            python=package.python,
        ),
        Scenario(
            "floor_runtime_botocore",
            "package, py3.13, the app's minimum: import chalice, botocore; create the "
            "DynamoDB client",
            "floor_botocore",
            region,
            base,
            has_goal=False,
            **package_floor,
        ),
        Scenario(
            "get_task_runtime",
            "package, py3.13: GET /tasks/{id} (authorized)",
            "request",
            {"event": fixtures.get_task_event(task.id), "responses": responses, **root},
            base,
            goal=PACKAGE_GET_GOAL,
            **package_floor,
        ),
        Scenario(
            "authorizer_ssm_runtime_botocore",
            f"{secrets} (botocore-level SSM client: the default)",
            "authorizer",
            authorize,
            aws,
            **authorizer_goal,
        ),
        Scenario(
            "authorizer_ssm_runtime",
            f"{secrets} (boto3 SSM client, before issue 15)",
            "authorizer",
            {**authorize, "clients": "boto3"},
            aws,
            has_goal=False,
            **package_floor,
        ),
        Scenario(
            "authorizer_extension_runtime",
            f"{secrets} (Parameters and Secrets extension, its own init not measured)",
            "authorizer",
            authorize,
            aws,
            extension=True,
            **authorizer_goal,
        ),
        Scenario(
            "authorizer_snapstart_runtime",
            f"{secrets} (SnapStart: first request after restore, restore not measured)",
            AFTER_RESTORE,
            authorize,
            aws,
            has_goal=False,
            **package_floor,
        ),
    ]


def _aws_stage(local: dict[str, str]) -> dict[str, str]:
    """What Lambda gets for the dev stage: config.json's variables; secrets come from SSM."""
    return {
        **{k: v for k, v in local.items() if not k.startswith("TOKEN_SIGNING_SECRET")},
        **stage_environment("dev"),
    }


def _responses(task: Any, aws_stage: dict[str, str]) -> dict[str, Any]:
    return {
        "GetItem": {"Item": fixtures.task_item(task)},
        "GetParameter": {
            "Parameter": {
                "Name": aws_stage.get("TOKEN_SIGNING_SECRET_PARAMETER", ""),
                "Type": "SecureString",
                "Value": fixtures.SIGNING_SECRET,
                "Version": 1,
            }
        },
    }


def scenarios() -> list[Scenario]:
    """The working-tree rows (secondary): the floor and FastAPI + Mangum as baselines, and
    ours with the local stage's configuration and an AWS stage's. The package rows
    (``runtime_scenarios``) run what ships."""
    task = fixtures.sample_task()
    token = fixtures.access_token()
    local = fixtures.local_stage_environ()
    aws_stage = _aws_stage(local)
    responses = _responses(task, aws_stage)
    authorize = {"event": fixtures.authorizer_event(token), "responses": responses}
    get = {"event": fixtures.get_task_event(task.id), "responses": responses}
    health = {"event": fixtures.health_event(), "responses": {}}
    return [
        Scenario(
            FLOOR,
            "floor: import chalice, boto3, jwt; create the DynamoDB client",
            "floor",
            {"region": fixtures.REGION},
            local,
            baseline=None,
            has_goal=False,
        ),
        Scenario(
            "fastapi", "FastAPI + Mangum: GET /health", "fastapi", health, local, has_goal=False
        ),
        Scenario("health", "ours: GET /health", "request", health, local),
        Scenario("get_task", "ours: GET /tasks/{id} (authorized)", "request", get, local),
        Scenario("authorizer", "ours: authorizer, valid token", "authorizer", authorize, local),
        Scenario(
            "authorizer_aws",
            "ours, AWS-stage config (secrets from SSM): authorizer",
            "authorizer",
            authorize,
            aws_stage,
        ),
    ]


class FakeParametersExtension:
    """A local server answering ``GET /systemsmanager/parameters/get`` as the AWS Parameters
    and Secrets Lambda Extension does (the parameter as GetParameter returns it, for the
    caller's session token), on 127.0.0.1 and a free port."""

    def __init__(self, parameter: dict[str, Any], token: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                name = urllib.parse.parse_qs(query).get("name", [""])[0]
                if (
                    path != "/systemsmanager/parameters/get"
                    or self.headers.get("X-Aws-Parameters-Secrets-Token") != token
                ):
                    status, body = 400, b"bad request"
                else:
                    status = 200
                    body = json.dumps({"Parameter": {**parameter, "Name": name}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]

    @contextlib.contextmanager
    def serving(self) -> Iterator[FakeParametersExtension]:
        thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def run_once(scenario: Scenario, extension_port: int | None = None) -> tuple[float, dict[str, Any]]:
    """One fresh process; its wall time as seen from here (for SnapStart's model, the first
    request's), and what it reported."""
    environ = scenario.environ
    if scenario.extension:
        if extension_port is None:
            raise RuntimeError(f"{scenario.name}: needs the fake extension's port")
        environ = {**environ, EXTENSION_PORT_VARIABLE: str(extension_port)}
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script, fixed args
        [scenario.python or sys.executable, str(CHILD), scenario.kind],
        input=json.dumps(scenario.payload),
        capture_output=True,
        text=True,
        env=environ,
        cwd=scenario.payload.get("task_root", PROJECT_DIR),
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{scenario.name}: child failed:\n{completed.stderr[-2000:]}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    if not scenario.accepts(report["outcome"]):
        raise RuntimeError(f"{scenario.name}: unexpected outcome {report['outcome']!r}")
    if scenario.kind == AFTER_RESTORE:
        wall = report["request_s"]
    return wall, report


def measure(
    rounds: int,
    seed: int = 1,
    only: list[Scenario] | None = None,
    runtime: RuntimePackage | None = None,
) -> dict[str, ColdRuns]:
    """``rounds`` runs of every scenario (``only``'s, else ``runtime``'s package scenarios
    then the working tree's), in a shuffled order per round, after one warm-up round (which
    fills the OS page cache and the .pyc caches, and is discarded)."""
    if only is not None:
        all_scenarios = only
    else:
        all_scenarios = (runtime_scenarios(runtime) if runtime else []) + scenarios()
    runs = {scenario.name: ColdRuns(scenario) for scenario in all_scenarios}
    parameter = _responses(fixtures.sample_task(), {})["GetParameter"]["Parameter"]
    extension = FakeParametersExtension(
        parameter, fixtures.local_stage_environ()["AWS_SESSION_TOKEN"]
    )
    with extension.serving():
        for scenario in all_scenarios:
            run_once(scenario, extension.port)
        shuffler = random.Random(seed)  # noqa: S311 - an order, not a secret
        for _ in range(rounds):
            order = list(all_scenarios)
            shuffler.shuffle(order)
            for scenario in order:
                wall, report = run_once(scenario, extension.port)
                series = runs[scenario.name]
                series.wall_s.append(wall)
                series.import_s.append(report["import_s"])
                series.request_s.append(report["request_s"])
                series.cpu_s.append(report["cpu_s"])
                series.max_rss_kib.append(report["max_rss_kib"])
    return runs


# --- python -X importtime -------------------------------------------------------------


@dataclass(frozen=True)
class ImportCost:
    module: str
    depth: int
    self_us: float
    cumulative_us: float


def import_times(environ: Mapping[str, str], repeats: int) -> list[ImportCost]:
    """``python -X importtime -c "import app"``, ``repeats`` times; the median per module."""
    self_us: dict[str, list[int]] = defaultdict(list)
    cumulative_us: dict[str, list[int]] = defaultdict(list)
    depth: dict[str, int] = {}
    for _ in range(repeats):
        completed = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import app"],
            capture_output=True,
            text=True,
            env=dict(environ),
            cwd=PROJECT_DIR,
            timeout=120,
            check=True,
        )
        for line in completed.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, total, name = line.removeprefix("import time:").split("|")
            module = name.strip()
            depth[module] = (len(name) - len(name.lstrip()) - 1) // 2
            self_us[module].append(int(own))
            cumulative_us[module].append(int(total))
    return [
        ImportCost(
            module,
            depth[module],
            statistics.median(self_us[module]),
            statistics.median(cumulative_us[module]),
        )
        for module in self_us
    ]


def top_by_cumulative(costs: list[ImportCost], count: int) -> list[ImportCost]:
    """The ``count`` most expensive imports below ``app`` itself, by cumulative time."""
    below_app = [cost for cost in costs if cost.module != "app"]
    return sorted(below_app, key=lambda cost: cost.cumulative_us, reverse=True)[:count]


def total_import_us(costs: list[ImportCost], module: str = "app") -> float:
    return next((cost.cumulative_us for cost in costs if cost.module == module), 0.0)
