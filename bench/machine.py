"""Where the numbers came from: CPU, cores, Python, versions, date and how busy the host was."""

from __future__ import annotations

import datetime
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

VERSIONS_OF = (
    "chalice",
    "boto3",
    "botocore",
    "PyJWT",
    "moto",
    "fastapi",
    "mangum",
)


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int
    python: str
    system: str
    date: str
    versions: dict[str, str]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))

    def finished(self) -> Machine:
        """The same machine with the load average at the end of the run."""
        return Machine(**{**self.__dict__, "load_after": os.getloadavg()})


def describe() -> Machine:
    return Machine(
        cpu_model=cpu_model(),
        cores=os.cpu_count() or 1,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        system=f"{platform.system()} {platform.release()} ({platform.machine()})",
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        versions={name: _version(name) for name in VERSIONS_OF},
        load_before=os.getloadavg(),
    )


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The first ``model name`` in /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"
