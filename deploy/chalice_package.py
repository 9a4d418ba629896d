"""Running ``chalice package`` and checking what it packaged, for ``make build`` (Terraform)
and ``make package-sam``: the same interpreter, region fallback and checks on both paths."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from deploy.stage import PROJECT_DIR

# Chalice needs some region to build its session; nothing region-specific reaches the output.
PACKAGING_REGION = "us-east-1"
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")


def run(stage: str, out_dir: Path, *options: str) -> None:
    """``chalice package [options] --stage <stage> <out_dir>`` with this interpreter's chalice.

    ``AWS_REGION`` stands in for ``AWS_DEFAULT_REGION`` (botocore reads only the latter)."""
    environment = dict(os.environ)
    environment.setdefault("AWS_DEFAULT_REGION", environment.get("AWS_REGION") or PACKAGING_REGION)
    command = [
        sys.executable,
        "-c",
        "import sys; from chalice.cli import main; sys.argv[0] = 'chalice'; sys.exit(main())",
        *("package", *options, "--stage", stage, str(out_dir)),
    ]
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command, cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"chalice package failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


def check_pure_python(package: Path) -> None:
    """Refuse compiled extensions: built for this interpreter and machine, they would not
    load on the pinned Lambda runtime (python3.13) and architecture (arm64)."""
    with zipfile.ZipFile(package) as archive:
        compiled = [name for name in archive.namelist() if name.endswith(COMPILED_SUFFIXES)]
    if compiled:
        raise ValueError(
            f"{package.name} holds compiled extensions built for this interpreter, which the "
            f"pinned Lambda runtime and architecture may not load: {compiled[:5]}"
        )


def values_under(value: Any, key: str) -> list[dict[str, Any]]:
    """Every dict stored under ``key`` anywhere in a JSON document."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        for name, item in value.items():
            if name == key and isinstance(item, dict):
                found.append(item)
            found.extend(values_under(item, key))
    elif isinstance(value, list):
        for item in value:
            found.extend(values_under(item, key))
    return found
