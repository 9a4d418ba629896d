"""Package size: ``chalice package --stage dev`` and what is inside ``deployment.zip``.

Also what the bundle costs at every cold start in Lambda: the zip carries no ``.pyc`` and
/var/task is read-only, so each bundled module is compiled from source on first import.
"""

from __future__ import annotations

import os
import shutil
import statistics
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
class Member:
    name: str
    size: int
    compressed: int


@dataclass(frozen=True)
class Package:
    zip_bytes: int
    uncompressed_bytes: int
    members: list[Member]
    top_level: dict[str, int]  # uncompressed bytes per top-level entry (package or module)
    compile_ms: dict[str, float]  # per top-level entry: compiling its .py files once
    package_seconds: float
    stray_pyc: tuple[int, int]  # .pyc files and bytes a tree where tests ran would add

    @property
    def total_compile_ms(self) -> float:
        return sum(self.compile_ms.values())

    def largest(self, count: int) -> list[Member]:
        return sorted(self.members, key=lambda member: member.size, reverse=True)[:count]

    @property
    def has_pyc(self) -> bool:
        return any(member.name.endswith(".pyc") for member in self.members)


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


def stray_bytecode(project: Path = PROJECT_DIR) -> tuple[int, int]:
    """The .pyc files under chalicelib/ that packaging this working tree would add: their
    count and bytes. Dead weight: the zip's entries are dated 1980, so the source mtimes
    recorded in them never match and Python recompiles anyway."""
    files = [path for path in (project / "chalicelib").rglob("*.pyc") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files)


def unpack(archive: Path, into: Path) -> Path:
    """The bundle as Lambda sees it in /var/task (no .pyc, none written: see the caller)."""
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(into)
    return into


def measure(archive: Path, package_seconds: float, compile_repeats: int = 5) -> Package:
    with zipfile.ZipFile(archive) as bundle:
        infos = [info for info in bundle.infolist() if not info.is_dir()]
        sources = {
            info.filename: bundle.read(info) for info in infos if info.filename.endswith(".py")
        }
    members = [Member(info.filename, info.file_size, info.compress_size) for info in infos]
    top_level: dict[str, int] = {}
    for member in members:
        top = member.name.split("/", 1)[0]
        top_level[top] = top_level.get(top, 0) + member.size
    return Package(
        zip_bytes=os.path.getsize(archive),
        uncompressed_bytes=sum(member.size for member in members),
        members=members,
        top_level=dict(sorted(top_level.items(), key=lambda item: item[1], reverse=True)),
        compile_ms=_compile_ms(sources, compile_repeats),
        package_seconds=package_seconds,
        stray_pyc=stray_bytecode(),
    )


def _compile_ms(sources: dict[str, bytes], repeats: int) -> dict[str, float]:
    """Median time to compile each top-level entry's sources once (what a cold Lambda does
    for the modules it imports, since the zip has no usable .pyc)."""
    by_top: dict[str, dict[str, bytes]] = {}
    for name, source in sources.items():
        by_top.setdefault(name.split("/", 1)[0], {})[name] = source
    medians = {}
    for top, group in by_top.items():
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            for name, source in group.items():
                compile(source, name, "exec", dont_inherit=True)
            timings.append(time.perf_counter() - started)
        medians[top] = statistics.median(timings) * 1000
    return dict(sorted(medians.items(), key=lambda item: item[1], reverse=True))
