"""Cold start: fresh interpreters that import the app and serve one event, against baselines
measured in the same run and interleaved with ours (the floor, and FastAPI + Mangum).

The headline rows run what ships, as Lambda runs it: ``deploy.build.build("dev")``'s
``deployment.zip`` (with its Python 3.13 bytecode) unpacked into a task root, under the pinned
runtime's Python 3.13, in a virtualenv holding only boto3 (``RuntimePackage``). The
working-tree rows (this interpreter, the project directory) are kept as secondary rows.

A real Lambda runs the authorizer as its own invocation, so an authorized request is timed
with ``requestContext.authorizer`` already filled in, and the authorizer separately.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import fixtures
from bench.paths import PROJECT_DIR
from bench.stats import Summary, paired_ratios
from devstack.stack import stage_environment

CHILD = PROJECT_DIR / "bench" / "cold_start_child.py"
FLOOR = "floor"
FLOOR_DEPLOYED = "floor_deployed"
FLOOR_RUNTIME = "floor_runtime"
GOAL_RATIO = 1.2
# Issue 15's goals for what ships: an authorized GET from the package, and the authorizer's
# first call on an AWS stage (two SSM reads), against the floor measured the same way.
PACKAGE_GET_GOAL = 0.9
PACKAGE_AUTHORIZER_GOAL = 1.0
BOTO3 = "boto3==1.44.5"  # as requirements-dev.txt and tests/test_package_runtime.py
# PyJWT imports cryptography when it is installed (the dev venv has it, for moto);
# deployment.zip does not ship it, so the cold-start children hide it.
NOT_DEPLOYED = ("cryptography",)


@dataclass(frozen=True)
class Scenario:
    """One kind of fresh process: what it imports and serves, with which environment.

    ``baseline`` names the scenario it is compared with (run under the same conditions);
    ``has_goal`` marks ours, held to the goal of at most ``GOAL_RATIO`` times its baseline.
    """

    name: str
    label: str
    kind: str  # floor | floor_botocore | fastapi | request | authorizer (the child's)
    payload: dict[str, Any]
    environ: dict[str, str]
    baseline: str | None = FLOOR
    has_goal: bool = True
    goal: float = GOAL_RATIO
    python: str | None = None  # the interpreter (default: this one)

    def accepts(self, outcome: Any) -> bool:
        """Did the child's request succeed (so we timed a real answer, not an error)?"""
        if self.kind.startswith("floor"):
            return outcome == "client created"
        if self.kind == "authorizer":
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
    only boto3 (what the runtime provides besides the standard library)."""

    task_root: Path
    python: str


def prepare_runtime(scratch: Path) -> RuntimePackage | str:
    """Build the dev package, unpack it and make the 3.13 virtualenv; or why it cannot."""
    from deploy import build as package_build
    from deploy import runtime_python

    runtime, problems = runtime_python.find()
    if runtime is None:
        return (
            f"no working {runtime_python.RUNTIME} (the pinned Lambda runtime)"
            + (f": {'; '.join(problems)}" if problems else "")
        )
    out = scratch / "runtime-build"
    package_build.build("dev", out)
    task_root = scratch / "task"
    with zipfile.ZipFile(out / package_build.PACKAGE) as archive:
        archive.extractall(task_root)
    venv = scratch / "runtime-venv"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    subprocess.run(  # noqa: S603 - the runtime's Python, fixed arguments
        [runtime, "-m", "venv", str(venv)], env=clean, check=True, capture_output=True
    )
    python = venv / "bin" / "python"
    subprocess.run(  # noqa: S603 - the virtualenv's pip, fixed arguments
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", BOTO3],
        env=clean,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return RuntimePackage(task_root, str(python))


def runtime_scenarios(package: RuntimePackage) -> list[Scenario]:
    """What ships, as Lambda runs it: the floor, an authorized GET and the authorizer on an
    AWS stage (two SSM reads, with the boto3 client the code creates and with a
    botocore-level one), all under the runtime's Python from the unpacked package."""
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
    python = {"python": package.python}
    return [
        Scenario(
            FLOOR_RUNTIME,
            "package, py3.13 floor: import chalice, boto3, jwt; create the DynamoDB client",
            "floor",
            {"region": fixtures.REGION, **root},
            base,
            baseline=None,
            has_goal=False,
            **python,
        ),
        Scenario(
            "get_task_runtime",
            "package, py3.13: GET /tasks/{id} (authorized)",
            "request",
            {"event": fixtures.get_task_event(task.id), "responses": responses, **root},
            base,
            baseline=FLOOR_RUNTIME,
            goal=PACKAGE_GET_GOAL,
            **python,
        ),
        Scenario(
            "authorizer_ssm_runtime",
            "package, py3.13, secrets from SSM: authorizer (boto3 SSM client)",
            "authorizer",
            {**authorize, "clients": "boto3"},
            aws,
            baseline=FLOOR_RUNTIME,
            goal=PACKAGE_AUTHORIZER_GOAL,
            **python,
        ),
        Scenario(
            "authorizer_ssm_runtime_botocore",
            "package, py3.13, secrets from SSM: authorizer (botocore-level SSM client)",
            "authorizer",
            {**authorize, "clients": "botocore"},
            aws,
            baseline=FLOOR_RUNTIME,
            goal=PACKAGE_AUTHORIZER_GOAL,
            **python,
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


def scenarios(bundle: Path | None = None) -> list[Scenario]:
    """The baselines and ours, with the local stage's configuration and an AWS stage's; with
    ``bundle`` (deployment.zip unpacked), the floor and ours as deployed, too."""
    task = fixtures.sample_task()
    get_event = fixtures.get_task_event(task.id)
    token = fixtures.access_token()
    local = fixtures.local_stage_environ()
    aws_stage = _aws_stage(local)
    responses = _responses(task, aws_stage)
    authorize = {"event": fixtures.authorizer_event(token), "responses": responses}
    get = {"event": get_event, "responses": responses}
    health = {"event": fixtures.health_event(), "responses": {}}
    region = {"region": fixtures.REGION}
    baseline = {"baseline": None, "has_goal": False}
    measured = [
        Scenario(
            FLOOR,
            "floor: import chalice, boto3, jwt; create the DynamoDB client",
            "floor",
            region,
            local,
            **baseline,
        ),
        Scenario(
            "fastapi", "FastAPI + Mangum: GET /health", "fastapi", health, local, has_goal=False
        ),
        Scenario("health", "ours: GET /health", "request", health, local),
        Scenario("get_task", "ours: GET /tasks/{id} (authorized)", "request", get, local),
        Scenario("authorizer", "ours: authorizer, valid token", "authorizer", authorize, local),
        Scenario(
            "get_task_aws",
            "ours, AWS-stage config (secrets from SSM): GET /tasks/{id}",
            "request",
            get,
            aws_stage,
        ),
        Scenario(
            "authorizer_aws",
            "ours, AWS-stage config (secrets from SSM): authorizer",
            "authorizer",
            authorize,
            aws_stage,
        ),
        Scenario(
            "floor_botocore",
            "what-if floor: botocore session instead of boto3",
            "floor_botocore",
            region,
            local,
            has_goal=False,
        ),
    ]
    if bundle is not None:
        deployed = {**local, "PYTHONDONTWRITEBYTECODE": "1"}
        in_zip = {"bundle": str(bundle)}
        measured += [
            Scenario(
                FLOOR_DEPLOYED,
                "floor, as deployed (chalice, jwt from the zip, no .pyc)",
                "floor",
                {**region, **in_zip},
                deployed,
                **baseline,
            ),
            Scenario(
                "get_task_deployed",
                "ours, as deployed (deployment.zip, no .pyc): GET /tasks/{id}",
                "request",
                {**get, **in_zip},
                deployed,
                baseline=FLOOR_DEPLOYED,
            ),
        ]
    return measured


def run_once(scenario: Scenario) -> tuple[float, dict[str, Any]]:
    """One fresh process; its wall time as seen from here, and what it reported."""
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script, fixed args
        [scenario.python or sys.executable, str(CHILD), scenario.kind],
        input=json.dumps(scenario.payload),
        capture_output=True,
        text=True,
        env=scenario.environ,
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
    return wall, report


def measure(
    rounds: int,
    bundle: Path | None = None,
    seed: int = 1,
    only: list[Scenario] | None = None,
    runtime: RuntimePackage | None = None,
) -> dict[str, ColdRuns]:
    """``rounds`` runs of every scenario (``only``'s, else ``runtime``'s package scenarios
    then ``scenarios(bundle)``), in a shuffled order per round, after one warm-up round
    (which fills the OS page cache and the .pyc caches, and is discarded)."""
    if only is not None:
        all_scenarios = only
    else:
        all_scenarios = (runtime_scenarios(runtime) if runtime else []) + scenarios(bundle)
    runs = {scenario.name: ColdRuns(scenario) for scenario in all_scenarios}
    for scenario in all_scenarios:
        run_once(scenario)
    shuffler = random.Random(seed)  # noqa: S311 - an order, not a secret
    for _ in range(rounds):
        order = list(all_scenarios)
        shuffler.shuffle(order)
        for scenario in order:
            wall, report = run_once(scenario)
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
    not_deployed_us: float  # of cumulative_us, in packages deployment.zip lacks (NOT_DEPLOYED)


def import_times(environ: Mapping[str, str], repeats: int) -> list[ImportCost]:
    """``python -X importtime -c "import app"``, ``repeats`` times; the median per module."""
    self_us: dict[str, list[int]] = defaultdict(list)
    cumulative_us: dict[str, list[int]] = defaultdict(list)
    not_deployed_us: dict[str, list[int]] = defaultdict(list)
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
        # Lines come children first (post-order), indented by depth: a stack rebuilds the tree.
        pending: list[tuple[int, int]] = []  # (depth, µs not deployed) awaiting their parent
        for line in completed.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, total, name = line.removeprefix("import time:").split("|")
            module = name.strip()
            level = (len(name) - len(name.lstrip()) - 1) // 2
            hidden = 0
            while pending and pending[-1][0] > level:
                hidden += pending.pop()[1]
            if module.split(".", 1)[0] in NOT_DEPLOYED:
                hidden = int(total)
            pending.append((level, hidden))
            depth[module] = level
            self_us[module].append(int(own))
            cumulative_us[module].append(int(total))
            not_deployed_us[module].append(hidden)
    return [
        ImportCost(
            module,
            depth[module],
            statistics.median(self_us[module]),
            statistics.median(cumulative_us[module]),
            statistics.median(not_deployed_us[module]),
        )
        for module in self_us
    ]


def top_by_cumulative(costs: list[ImportCost], count: int) -> list[ImportCost]:
    """The ``count`` most expensive imports below ``app`` itself, by cumulative time."""
    below_app = [cost for cost in costs if cost.module != "app"]
    return sorted(below_app, key=lambda cost: cost.cumulative_us, reverse=True)[:count]


def self_time_by_package(costs: list[ImportCost]) -> list[tuple[str, float]]:
    """Self time summed per top-level package (the standard library as one entry)."""
    totals: dict[str, float] = defaultdict(float)
    for cost in costs:
        top = cost.module.split(".", 1)[0]
        group = "standard library" if top in sys.stdlib_module_names else top
        totals[group] += cost.self_us
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


def total_import_us(costs: list[ImportCost], module: str = "app") -> float:
    return next((cost.cumulative_us for cost in costs if cost.module == module), 0.0)
