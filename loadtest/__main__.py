"""``make load``: start a fresh local stack, run the load test, print the summary.

Options (or environment variables): ``--users`` (``LOAD_USERS``, default 8), ``--seconds``
(``LOAD_SECONDS``, default 30), ``--seed`` (``LOAD_SEED``). Exit status 0 on PASS, 1 on FAIL.
Loopback only; the stack's processes stop when the run ends, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from devstack.stack import LocalStack, StackError
from loadtest.report import format_summary
from loadtest.runner import MAX_USERS, LoadPlan, run_load


def parse_plan(argv: list[str] | None = None) -> LoadPlan:
    """The plan from the command line, falling back to the environment, then the defaults."""
    defaults = LoadPlan()
    environ = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m loadtest", description="Bounded load test against a fresh local stack."
    )
    # String defaults go through ``type`` too, so a bad environment value is a usage error.
    parser.add_argument(
        "--users",
        type=int,
        default=environ.get("LOAD_USERS", defaults.users),
        help=f"concurrent virtual users, 1 to {MAX_USERS} (LOAD_USERS; default {defaults.users})",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=environ.get("LOAD_SECONDS", defaults.seconds),
        help=f"how long the load runs (LOAD_SECONDS; default {defaults.seconds:g})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=environ.get("LOAD_SEED") or None,
        help="repeat the same sequence of operations (LOAD_SEED; default random)",
    )
    args = parser.parse_args(argv)
    try:
        return LoadPlan(users=args.users, seconds=args.seconds, seed=args.seed)
    except ValueError as error:
        parser.error(str(error))  # exits with status 2
        raise


def main(argv: list[str] | None = None) -> int:
    plan = parse_plan(argv)
    log_fd, log_name = tempfile.mkstemp(prefix="tasks-api-load-", suffix=".log")
    log_path = Path(log_name)
    passed = False
    try:
        with os.fdopen(log_fd, "w") as log:
            print(f"Starting a fresh local stack (log: {log_path}) ...", flush=True)
            with LocalStack(output=log) as stack:
                print(
                    f"Running {plan.users} virtual users for {plan.seconds:g} s"
                    f" against {stack.base_url} ...",
                    flush=True,
                )
                result = run_load(stack.base_url, plan)
        print()
        print(format_summary(result))
        passed = result.passed
    except StackError as error:
        print(f"make load: the local stack did not start: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("make load: interrupted; the stack has been stopped", file=sys.stderr)
        return 130
    finally:
        if passed:
            log_path.unlink(missing_ok=True)
        else:
            print(f"Stack log kept at {log_path}", file=sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
