"""Removing a closed account's tasks and records, however many there are.

``DELETE /users/me`` purges for at most ``IN_REQUEST_SECONDS`` (an account of a few
thousand tasks is gone before the 204). Whatever remains goes to a background purge: on
AWS the ``purge_account`` Lambda function, invoked asynchronously, which works within its
own timeout and invokes itself again until nothing is left; under ``make run`` a thread of
the local server. Every step is an idempotent delete, so an interrupted purge is finished
by the next one (or by the client retrying ``DELETE /users/me``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from chalicelib import request_budget
from chalicelib.storage.client import call_storage
from chalicelib.storage.tasks import TaskRepository

IN_REQUEST_SECONDS = 2.0
# Stop a slice of purging this long before its deadline (request budget or Lambda timeout),
# leaving time to hand the rest on.
RESERVE_SECONDS = 3.0


class BackgroundPurge(Protocol):
    def start(self, user_id: str) -> None:
        """Continue purging ``user_id`` outside the current request."""


class AccountPurge:
    def __init__(self, tasks: TaskRepository, background: BackgroundPurge) -> None:
        self._tasks = tasks
        self._background = background

    def purge(self, user_id: str) -> bool:
        """Purge within this request's time; ``True`` when done, else handed to the
        background purge."""
        started = time.monotonic()

        def keep_going() -> bool:
            left = request_budget.remaining()
            in_budget = left is None or left > RESERVE_SECONDS
            return in_budget and time.monotonic() - started < IN_REQUEST_SECONDS

        done = self._tasks.delete_partition(user_id, keep_going=keep_going)
        if not done:
            self._background.start(user_id)
        return done

    def continue_purge(self, user_id: str, seconds_left: Callable[[], float]) -> bool:
        """One background slice: purge until done or ``seconds_left()`` runs low, then hand
        the rest to the next slice. ``True`` when nothing of the account remains."""
        done = self._tasks.delete_partition(
            user_id, keep_going=lambda: seconds_left() > RESERVE_SECONDS
        )
        if not done:
            self._background.start(user_id)
        return done


class LambdaBackgroundPurge:
    """On AWS: invoke the ``purge_account`` function asynchronously (``InvocationType=Event``)."""

    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._client = lambda_client
        self._function_name = function_name

    def start(self, user_id: str) -> None:
        call_storage(
            self._client().invoke,
            FunctionName=self._function_name,
            InvocationType="Event",
            Payload=json.dumps({"user_id": user_id}).encode(),
        )


class ThreadBackgroundPurge:
    """Under ``make run``: the same work on a thread of the local server, to completion."""

    def __init__(self, tasks: Callable[[], TaskRepository]) -> None:
        self._tasks = tasks

    def start(self, user_id: str) -> None:
        def run() -> None:
            request_budget.clear()  # a thread of its own: no request deadline
            self._tasks().delete_partition(user_id, keep_going=lambda: True)

        threading.Thread(target=run, name=f"purge-{user_id}", daemon=True).start()
