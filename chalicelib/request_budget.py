"""Every request answers within a time budget derived from the function's timeout.

botocore's defaults (60 s connect and read timeouts; retries with backoff) can outlast the
Lambda timeout, so a slow DynamoDB or SSM turns the intended ``503`` into API Gateway's
``502`` or ``504``. Instead, each request (and each authorizer call) starts a deadline of
``budget_seconds(FUNCTION_TIMEOUT_SECONDS)``: the function's timeout less a margin for the
code around the AWS calls. A botocore ``before-send`` hook on every client we create then
refuses to start an attempt that could not finish before the deadline, and shortens the
read timeout of the last attempt that can; what is refused becomes ``503`` with
``Retry-After`` (see ``storage.client.call_storage`` and ``auth.signing_secret``).

The deadline is per thread: Lambda runs one request at a time per process, and
``chalice local`` runs each request on a thread of its own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

DEFAULT_FUNCTION_TIMEOUT_SECONDS = 15  # .chalice/config.json lambda_timeout
MIN_MARGIN_SECONDS = 2.0
MARGIN_FRACTION = 0.2
# An attempt needs time to connect and then at least this long to read an answer.
MIN_READ_SECONDS = 0.2

_state = threading.local()


class BudgetExhausted(Exception):
    """The request's deadline leaves no time for another call to an AWS service."""


def function_timeout_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """The function's timeout, from ``FUNCTION_TIMEOUT_SECONDS`` (set per stage)."""
    raw = environ.get("FUNCTION_TIMEOUT_SECONDS", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_FUNCTION_TIMEOUT_SECONDS
    return value if 1 <= value <= 900 else DEFAULT_FUNCTION_TIMEOUT_SECONDS


def budget_seconds(timeout_seconds: float) -> float:
    """The part of the timeout a request may spend: at least 2 s (or 20%) is kept back."""
    margin = max(MIN_MARGIN_SECONDS, timeout_seconds * MARGIN_FRACTION)
    return max(0.5, timeout_seconds - margin)


def start(budget: float | None = None) -> None:
    """Start this thread's request deadline (by default from the function's timeout)."""
    seconds = budget_seconds(function_timeout_seconds()) if budget is None else budget
    _state.deadline = time.monotonic() + seconds


def clear() -> None:
    _state.deadline = None


def remaining() -> float | None:
    """Seconds left before this thread's deadline; ``None`` outside a request."""
    deadline = getattr(_state, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def install(client: Any) -> Any:
    """Make ``client`` respect the deadline of whichever request is using it."""
    connect_timeout = float(client.meta.config.connect_timeout)
    read_timeout = float(client.meta.config.read_timeout)

    def check_deadline(request: Any, **_: Any) -> None:
        left = remaining()
        if left is None:
            return
        if left < connect_timeout + MIN_READ_SECONDS:
            raise BudgetExhausted(f"{left:.2f} s left; an attempt needs {connect_timeout} s+")
        context = getattr(request, "context", None)
        if context is not None:  # botocore reads a per-request read timeout here
            context["read_timeout"] = min(read_timeout, left - connect_timeout)

    client.meta.events.register("before-send", check_deadline)
    return client
