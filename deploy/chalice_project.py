"""The Chalice project ``chalice deploy`` runs from, per stage.

A builtin stage deploys from the repository itself, as ``.chalice/config.json`` and its
policy files define it. A cognito stage cannot: its functions need the user pool's issuer,
client id and pool id, and its API handler's policy the pool's ARN, none of which exist
before ``deploy.bootstrap`` creates the pool, and none of which belong in checked-in files
(each developer's stage has a pool of its own). So ``deploy.bootstrap create`` renders the
stage's project under ``build/<stage>/chalice-project/``:

- ``app.py``, ``chalicelib/`` and ``requirements.txt``, copied (what Chalice packages);
- ``.chalice/config.json`` with that stage alone, its environment completed with the pool's
  settings (``Stage.with_user_pool``);
- the stage's policy files, the pool's ARN in place of ``USER_POOL_ARN_PLACEHOLDER``;
- ``.chalice/deployed``: a symbolic link to the repository's ``.chalice/deployed``, so what
  Chalice records of the deployment outlives ``build/`` (``make clean``) and ``chalice
  delete --stage <stage>`` finds it from the repository, as for every other stage.

``python -m deploy.chalice_project --stage STAGE`` prints the directory to run Chalice from
(``make deploy`` passes it to ``chalice --project-dir``); for a cognito stage not rendered
yet it fails, saying to run the bootstrap.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.stage import (
    CHALICE_DIR,
    PROJECT_DIR,
    USER_POOL_ARN_PLACEHOLDER,
    Stage,
    chalice_config,
    deployable_stages,
    load_stage,
    policy_file,
)

BUILD_DIR = PROJECT_DIR / "build"
PROJECT_FILES = ("app.py", "requirements.txt")
PROJECT_PACKAGES = ("chalicelib",)
DEPLOYED_DIR = CHALICE_DIR / "deployed"


def rendered_dir(stage_name: str) -> Path:
    """Where ``render`` writes a cognito stage's project by default."""
    return BUILD_DIR / stage_name / "chalice-project"


def project_dir(stage_name: str) -> Path:
    """The directory to run ``chalice deploy --stage <stage_name>`` from."""
    return rendered_dir(stage_name) if load_stage(stage_name).is_cognito else PROJECT_DIR


def render(stage: Stage, output: Path | None = None, deployed: Path = DEPLOYED_DIR) -> Path:
    """Write ``stage``'s project (see the module) into ``output``; returns it.

    ``stage`` must carry its user pool (``Stage.with_user_pool``). ``output`` is replaced
    whole: a directory there must be an earlier rendering (it holds ``.chalice/config.json``).
    """
    if stage.user_pool is None:
        raise ValueError(f"stage {stage.name}: render it with its user pool (with_user_pool)")
    output = output or rendered_dir(stage.name)
    _clear(output)
    chalice = output / ".chalice"
    chalice.mkdir(parents=True)
    for name in PROJECT_FILES:
        shutil.copy2(PROJECT_DIR / name, output / name)
    for package in PROJECT_PACKAGES:
        shutil.copytree(
            PROJECT_DIR / package,
            output / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    config = chalice_config()
    stage_config = config["stages"][stage.name]
    stage_config["environment_variables"] = {
        **stage_config.get("environment_variables", {}),
        **stage.user_pool.environment(),
    }
    config["stages"] = {stage.name: stage_config}
    (chalice / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for function, policy in stage.policies.items():
        text = json.dumps(policy, indent=2) + "\n"
        if USER_POOL_ARN_PLACEHOLDER in text:
            raise ValueError(f"stage {stage.name}: {function}'s policy still names no pool")
        (chalice / policy_file(config, stage.name, function)).write_text(text)
    deployed.mkdir(parents=True, exist_ok=True)
    (chalice / "deployed").symlink_to(deployed.resolve(), target_is_directory=True)
    return output


def _clear(output: Path) -> None:
    """Remove an earlier rendering (never follows the ``deployed`` link); refuse anything else."""
    if not output.exists():
        return
    if not (output / ".chalice" / "config.json").is_file():
        raise ValueError(f"{output} exists and is not a rendered Chalice project; not clearing it")
    shutil.rmtree(output)


def remove(stage_name: str, output: Path | None = None) -> bool:
    """Delete a rendering (the deployment record it links to stays); False if there is none."""
    output = output or rendered_dir(stage_name)
    if not output.exists():
        return False
    _clear(output)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Print the project directory of ``--stage`` (see the module); 1 if not rendered yet."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.chalice_project",
        description="Print the directory to run `chalice deploy --stage STAGE` from.",
    )
    parser.add_argument("--stage", required=True, choices=deployable_stages())
    args = parser.parse_args(argv)
    directory = project_dir(args.stage)
    if not (directory / ".chalice" / "config.json").is_file():
        print(
            f"error: stage {args.stage}'s Chalice project is not rendered yet ({directory}): "
            f"run .venv/bin/python -m deploy.bootstrap create --stage {args.stage}",
            file=sys.stderr,
        )
        return 1
    print(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
