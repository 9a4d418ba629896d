"""Package size: what is inside the ``deployment.zip`` that ships (``make build STAGE=dev``)."""

from __future__ import annotations

import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from deploy import build as package_build

GOAL_BYTES = 1_000_000


@dataclass(frozen=True)
class Package:
    zip_bytes: int
    files: int
    uncompressed_bytes: int
    top_level: dict[str, int]  # uncompressed bytes per top-level entry (package or module)
    package_seconds: float


def build(out_dir: Path) -> tuple[Path, float]:
    """What ships: ``make build STAGE=dev``'s deployment.zip (``deploy.build``: chalice
    package, then the pinned runtime's bytecode); the zip and how long building took."""
    started = time.perf_counter()
    package_build.build("dev", out_dir)
    return out_dir / package_build.PACKAGE, time.perf_counter() - started


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
