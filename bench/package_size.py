"""Package size: ``chalice package --stage dev`` of a clean copy of the project, and what is
inside ``deployment.zip``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench import fixtures
from bench.paths import PROJECT_DIR

GOAL_BYTES = 1_000_000


@dataclass(frozen=True)
class Package:
    zip_bytes: int
    files: int
    uncompressed_bytes: int
    top_level: dict[str, int]  # uncompressed bytes per top-level entry (package or module)
    package_seconds: float


# What `chalice package` reads from the project; a fresh clone has nothing else there.
PACKAGED = ("app.py", "chalicelib", ".chalice", "requirements.txt", "vendor")
_NOT_IN_A_CLONE = shutil.ignore_patterns("__pycache__", "*.pyc", "deployments", "deployed")


def build(out_dir: Path) -> tuple[Path, float]:
    """``chalice package --stage dev`` of a clean copy of the project (as a fresh clone has
    it: chalice packs chalicelib/ as it finds it, __pycache__ included); the zip and how
    long packaging took."""
    project = out_dir / "project"
    for name in PACKAGED:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=_NOT_IN_A_CLONE)
        elif source.exists():
            project.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name)
    env = {**fixtures.local_stage_environ(), "AWS_DEFAULT_REGION": fixtures.REGION}
    chalice = Path(sys.executable).with_name("chalice")
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - the venv's chalice, fixed args
        [str(chalice), "package", "--stage", "dev", str(out_dir / "package")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return out_dir / "package" / "deployment.zip", time.perf_counter() - started


def measure(archive: Path, package_seconds: float) -> Package:
    with zipfile.ZipFile(archive) as bundle:
        infos = [info for info in bundle.infolist() if not info.is_dir()]
    top_level: dict[str, int] = {}
    for info in infos:
        top = info.filename.split("/", 1)[0]
        top_level[top] = top_level.get(top, 0) + info.file_size
    return Package(
        zip_bytes=os.path.getsize(archive),
        files=len(infos),
        uncompressed_bytes=sum(top_level.values()),
        top_level=dict(sorted(top_level.items(), key=lambda item: item[1], reverse=True)),
        package_seconds=package_seconds,
    )
