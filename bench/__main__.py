"""``python -m bench`` (``make bench``): run every benchmark, print the summary table and
rewrite docs/benchmarks.md.

Each section runs on its own: one that fails is reported (and makes the exit status 1)
without losing the others. ``--quick`` is for trying the harness: fewer rounds, and the
report is printed instead of written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench import (
    account_purge,
    cold_start,
    dynamodb_cost,
    fixtures,
    lambda_cost,
    machine,
    package_size,
    password_hashing,
    report,
    warm_overhead,
)
from bench.paths import PROJECT_DIR, REPORT

T = TypeVar("T")
SECTIONS = ("package", "cold", "warm", "dynamodb", "purge", "passwords", "lambda")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    quick = args.quick
    settings = {
        "cold-start rounds": 3 if quick else 20,
        "importtime runs": 1 if quick else 5,
        "warm rounds": 5 if quick else 30,
        "hash rounds (each setting)": 1 if quick else 5,
        "Lambda-model runs (each operation)": 2 if quick else 7,
        "purged tasks": 2_000 if quick else account_purge.TASKS,
    }
    wanted = set(args.only.split(",")) if args.only else set(SECTIONS)
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    results = report.Results(
        machine=machine.describe(),
        settings=settings,
        memory=lambda_cost.configured_memory(config),
    )
    started = time.perf_counter()
    # The app writes a JSON line per request to stdout: discarded here (after being
    # formatted and written, so their cost counts), keeping stdout for the report.
    with (
        open(os.devnull, "w") as app_logs,
        contextlib.redirect_stdout(app_logs),
        tempfile.TemporaryDirectory(prefix="bench-") as scratch,
    ):
        built: Path | None = None
        if "package" in wanted or "cold" in wanted:
            measured = _section(results, "package", lambda: _package(Path(scratch)))
            if measured is not None:
                results.package, built = measured
        if "cold" in wanted:
            rounds = settings["cold-start rounds"]
            runtime = _section(
                results,
                "package on Python 3.13",
                lambda: cold_start.prepare_runtime(Path(scratch), built),
            )
            if isinstance(runtime, str):
                _say(f"package cold starts on Python 3.13 skipped: {runtime}")
                results.runtime_skipped, runtime = runtime, None
            results.cold = _section(
                results,
                "cold start",
                lambda: cold_start.measure(rounds, runtime=runtime),
            )
            results.imports = _section(
                results,
                "importtime",
                lambda: cold_start.import_times(
                    fixtures.local_stage_environ(), settings["importtime runs"]
                ),
            )
        if "warm" in wanted:
            rounds = settings["warm rounds"]
            results.warm = _section(results, "warm budget", lambda: warm_overhead.measure(rounds))
        if "dynamodb" in wanted or "lambda" in wanted:
            results.dynamodb = _section(results, "DynamoDB cost", dynamodb_cost.measure)
        if "purge" in wanted or "lambda" in wanted:
            tasks = settings["purged tasks"]
            results.purge = _section(results, "account purge", lambda: account_purge.measure(tasks))
        if "passwords" in wanted or "lambda" in wanted:
            rounds = settings["hash rounds (each setting)"]
            results.hashing = _section(
                results, "password hashing", lambda: password_hashing.measure(rounds)
            )
        if "lambda" in wanted:
            runs = settings["Lambda-model runs (each operation)"]
            results.operations = _section(
                results, "Lambda latency model", lambda: lambda_cost.measure(runs)
            )
    results.machine = results.machine.finished()
    _say(f"done in {time.perf_counter() - started:.0f} s")
    print(report.console_table(results))
    document = report.markdown(results)
    if quick or args.only or args.print:
        print()
        print(document)
    else:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(document)
        _say(f"wrote {REPORT.relative_to(PROJECT_DIR)}")
    return 1 if results.failures else 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds; print, do not write")
    parser.add_argument("--only", help=f"comma-separated sections of {','.join(SECTIONS)}")
    parser.add_argument("--print", action="store_true", help="print the report, do not write")
    return parser.parse_args(argv)


def _package(scratch: Path) -> tuple[package_size.Package, Path]:
    """The shipped package's contents, and the zip (the cold starts run it too)."""
    archive, seconds = package_size.build(scratch / "build")
    return package_size.measure(archive, seconds), archive


def _section(results: report.Results, name: str, run: Callable[[], T]) -> T | None:
    """Run one benchmark; on failure, record it and carry on with the others."""
    _say(f"{name}...")
    started = time.perf_counter()
    try:
        value = run()
    except Exception as error:
        traceback.print_exc()
        results.failures[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        _say(f"{name} FAILED: {results.failures[name]}")
        return None
    results.seconds[name] = time.perf_counter() - started
    _say(f"{name}: {results.seconds[name]:.0f} s")
    return value


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
