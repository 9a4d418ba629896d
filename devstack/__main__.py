"""``make run``: serve the API locally until Ctrl-C (or SIGTERM), then stop everything.

Environment: ``PORT`` (default 8000); ``DYNAMODB`` = ``moto`` (default, in memory),
an endpoint URL such as ``http://127.0.0.1:8001`` for DynamoDB Local, or ``aws``;
``TOKEN_SIGNING_SECRET`` (generated per run when unset); ``IDENTITY_PROVIDER`` =
``builtin`` (default) or ``cognito`` (a user pool in moto's server signs users up and in;
the banner prints the AWS CLI commands to get a token).

Every setting is checked first (``devstack.preflight``): a bad one prints one line to
stderr, naming the variable, its value and the rule, and exits 2 with nothing started.
"""

from __future__ import annotations

import os
import signal
import sys

from devstack.preflight import PreflightError, check_environment
from devstack.stack import LocalStack, StackError

CONFIGURATION_ERROR = 2


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(0 if signum == signal.SIGINT else 128 + signum)


def main() -> int:
    # Installed explicitly: a process started in the background inherits SIGINT ignored,
    # and "one Ctrl-C stops everything" should not depend on how make was started.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        settings = check_environment(os.environ)
    except PreflightError as error:
        print(f"make run: {error}", file=sys.stderr)
        return CONFIGURATION_ERROR
    dynamodb = settings.dynamodb
    stack = LocalStack(
        settings.port,
        dynamodb=dynamodb,
        autoreload=True,
        identity_provider=settings.identity_provider,
    )
    try:
        stack.start()
        storage = {
            "moto": f"in-memory moto server at {stack.dynamodb_endpoint} (data is lost on exit)",
            "aws": "AWS DynamoDB (your credentials and region)",
        }.get(dynamodb, f"DynamoDB at {stack.dynamodb_endpoint}")
        print(f"\nTasks API on {stack.base_url}\nStorage: {storage}")
        if stack.user_pool is not None:
            print(stack.user_pool.instructions(stack.base_url))
        print("Ctrl-C stops everything.\n")
        sys.stdout.flush()
        stack.wait()
        return 1  # chalice local should only stop when we stop it
    except StackError as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
