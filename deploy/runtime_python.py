"""The pinned Lambda runtime's Python (3.13), and the package's bytecode compiled by it.

Every deploy path pins the functions to ``python3.13``, whatever Python builds the package.
Lambda unpacks the package into ``/var/task``, which is read-only, so a module without
usable bytecode there is compiled from source on every cold start and the result thrown
away. ``package`` therefore ships ``__pycache__/<module>.cpython-313.pyc`` beside every
``.py``, compiled by a Python 3.13 interpreter found by ``find``:

1. ``RUNTIME_PYTHON`` (an explicit choice: if it is not a working 3.13, the build stops);
2. ``python3.13`` on ``PATH``;
3. pyenv's ``$PYENV_ROOT/versions/3.13*/bin/python3.13`` (pyenv's shim on ``PATH`` only
   runs the versions selected globally, so it is probed like any other candidate).

Where none works, the package ships without bytecode, exactly as before, and the build says
so in one line: it still deploys and runs, only its cold starts compile every module.

``check_bytecode`` holds the result to the runtime: any ``.pyc`` in the package is 3.13's
(file name tag and magic number), unchecked-hash, and beside its source; with bytecode,
every ``.py`` has one. A ``.pyc`` of the building interpreter (Chalice packs
``chalicelib/__pycache__`` as it finds it) is dropped before compiling.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

RUNTIME = "python3.13"
VERSION = (3, 13)
CACHE_TAG = "cpython-313"
# importlib.util.MAGIC_NUMBER of every CPython 3.13.x: the bytecode format Lambda's loads.
MAGIC = b"\xf3\r\r\n"
# The pyc flags word of --invalidation-mode unchecked-hash: hash-based (bit 0), not checked
# against the source (bit 1 clear).
UNCHECKED_HASH = 0b01
ENVIRONMENT_OVERRIDE = "RUNTIME_PYTHON"
# The directory Lambda unpacks the package into; compiled into the bytecode as each module's
# file name (importlib replaces it with the real path on import) so that the zip depends on
# the sources only, not on the scratch directory the build compiled in.
TASK_ROOT = "/var/task"
# As Chalice writes every entry: a fixed date and mode, so equal sources give an equal zip.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_MODE = 0o100644 << 16
_UNIX = 3
_BYTECODE_SUFFIXES = (".pyc", ".pyo")
_RUNTIME_PYC = re.compile(rf"(?P<directory>(?:.*/)?)__pycache__/(?P<stem>[^/.]+)\.{CACHE_TAG}\.pyc")


def find() -> tuple[str | None, list[str]]:
    """A working Python 3.13 (see the module docstring), or None with why each candidate
    failed. An explicit ``RUNTIME_PYTHON`` that is not one raises ``RuntimeError``."""
    override = os.environ.get(ENVIRONMENT_OVERRIDE)
    if override:
        problem = _probe(override)
        if problem:
            raise RuntimeError(f"{ENVIRONMENT_OVERRIDE}={override}: {problem}")
        return override, []
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(RUNTIME)]
    candidates += [str(p) for p in sorted(pyenv_root.glob(f"versions/3.13*/bin/{RUNTIME}"))]
    problems = []
    for python in filter(None, candidates):
        problem = _probe(python)
        if not problem:
            return python, []
        problems.append(f"{python}: {problem}")
    return None, problems


def find_python() -> str | None:
    """``find``'s interpreter, or None."""
    return find()[0]


def _probe(python: str) -> str | None:
    """None if ``python`` runs and is 3.13, else what is wrong."""
    try:
        probe = subprocess.run(  # noqa: S603 - an interpreter we were given, fixed arguments
            [python, "-c", "import sys; print(tuple(sys.version_info[:2]))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError as error:
        return str(error)
    if probe.returncode != 0:
        return (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[0]
    if probe.stdout.strip() != str(VERSION):
        return f"is Python {probe.stdout.strip()}, not {VERSION}"
    return None


def compile_bytecode(directory: Path, python: str) -> None:
    """Compile every ``.py`` under ``directory`` with ``python`` (a 3.13) into ``__pycache__``.

    ``--invalidation-mode unchecked-hash``: the default, timestamp-based bytecode records each
    source's modification time, and the zip gives every file the same fixed date, so on
    Lambda the times would not match and Python would compile the source again, unable to
    save the result in the read-only task directory. Unchecked-hash bytecode is used as is,
    without even hashing the source: right for a package whose sources never change after
    the build. ``-d /var/task`` and ``PYTHONHASHSEED=0`` (set constants are written in hash
    order) make the bytes depend on the sources only; the interpreter runs without any other
    ``PYTHON*`` variable (``PYTHONPYCACHEPREFIX`` would put the bytecode elsewhere,
    ``PYTHONOPTIMIZE`` give it another name).
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environment["PYTHONHASHSEED"] = "0"
    command = [
        python,
        "-s",
        "-m",
        "compileall",
        "-q",
        *("-j", "0"),
        *("--invalidation-mode", "unchecked-hash"),
        *("-d", TASK_ROOT),
        str(directory),
    ]
    result = subprocess.run(  # noqa: S603 - the runtime's Python, fixed arguments
        command, env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{python} -m compileall failed ({result.returncode}): a source of the package "
            f"does not compile on {RUNTIME}:\n{result.stdout}{result.stderr}"
        )


def package(source: Path, target: Path, python: str | None = None) -> bool:
    """Copy the zip ``source`` to ``target`` with the runtime's bytecode, or without any.

    Any bytecode in ``source`` is dropped. ``python`` defaults to ``find_python()``; without
    one, the copy has no bytecode and one line on stderr says so. Entries are sorted by name,
    dated ``ZIP_DATE`` and keep their mode (0644 for bytecode, as Chalice's), so the same
    sources give the same zip (and the same ``source_code_hash``). Returns whether the copy
    holds bytecode.
    """
    python = python or find_python()
    with zipfile.ZipFile(source) as original:
        entries = {
            info.filename: (_entry(info.filename, info.external_attr), original.read(info))
            for info in original.infolist()
            if not _is_bytecode(info.filename)
        }
    if python:
        with tempfile.TemporaryDirectory(prefix="package-bytecode-") as scratch:
            root = Path(scratch)
            for name, (info, data) in entries.items():
                if not info.is_dir():
                    path = root / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
            compile_bytecode(root, python)
            for path in root.rglob(f"*.{CACHE_TAG}.pyc"):
                name = path.relative_to(root).as_posix()
                entries[name] = (_entry(name), path.read_bytes())
    else:
        print(
            f"No working {RUNTIME} (the pinned Lambda runtime; tried ${ENVIRONMENT_OVERRIDE}, "
            f"PATH and pyenv): {target.name} ships without bytecode, so every cold start "
            "compiles every module.",
            file=sys.stderr,
        )
    with zipfile.ZipFile(target, "w") as copy:
        for name in sorted(entries):
            info, data = entries[name]
            copy.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    check_bytecode(target, complete=bool(python))
    return bool(python)


def check_bytecode(package_path: Path, *, complete: bool) -> None:
    """Refuse bytecode the runtime would not load (see the module docstring); with
    ``complete``, also a ``.py`` without its 3.13 bytecode."""
    with zipfile.ZipFile(package_path) as archive:
        names = set(archive.namelist())
        problems = []
        for name in sorted(n for n in names if _is_bytecode(n)):
            match = _RUNTIME_PYC.fullmatch(name)
            if not match:
                problems.append(f"{name}: not {RUNTIME}'s bytecode")
                continue
            header = archive.read(name)[:8]
            if header[:4] != MAGIC:
                problems.append(f"{name}: magic number {header[:4]!r}, not 3.13's {MAGIC!r}")
            elif int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
                problems.append(f"{name}: not unchecked-hash bytecode")
            if f"{match['directory']}{match['stem']}.py" not in names:
                problems.append(f"{name}: no source beside it")
    if complete:
        problems += [
            f"{name}: no {CACHE_TAG} bytecode"
            for name in sorted(names)
            if name.endswith(".py") and bytecode_name(name) not in names
        ]
    if problems:
        raise ValueError(
            f"{package_path.name} holds bytecode {RUNTIME} would not use: {problems[:5]}"
        )


def bytecode_name(source: str) -> str:
    """The zip entry of ``source``'s 3.13 bytecode (``a/b.py`` -> ``a/__pycache__/b...pyc``)."""
    directory, _, file_name = source.rpartition("/")
    prefix = f"{directory}/" if directory else ""
    return f"{prefix}__pycache__/{file_name.removesuffix('.py')}.{CACHE_TAG}.pyc"


def _is_bytecode(name: str) -> bool:
    return "__pycache__/" in name or name.endswith(_BYTECODE_SUFFIXES)


def _entry(name: str, external_attr: int = ZIP_MODE) -> zipfile.ZipInfo:
    """A zip entry dated ``ZIP_DATE``, with Chalice's mode unless given another."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.external_attr = external_attr
    info.create_system = _UNIX
    return info
