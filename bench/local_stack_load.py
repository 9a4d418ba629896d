"""Local stack throughput (informative): the real ``make run`` stack (moto's DynamoDB server
and ``chalice local``, both on 127.0.0.1), a short loopback load from a few threads.

Bounded twice: each thread stops at its deadline or after ``max_requests_per_thread``.
Not a Lambda figure: ``chalice local`` is a development server and moto answers one request
at a time, so this says what the local stack sustains, nothing about AWS.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench import fixtures
from bench.stats import quantile

MIX = ("get", "get", "create", "list")  # each thread cycles through these
EXPECTED_STATUS = {"get": 200, "create": 201, "list": 200}
PASSWORD = "correct horse battery staple"  # noqa: S105 - a test user's


@dataclass
class Load:
    threads: int
    seconds: float
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    unexpected: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(len(values) for values in self.latencies_ms.values())

    @property
    def requests_per_second(self) -> float:
        return self.total / self.elapsed_s if self.elapsed_s else 0.0

    def percentiles(self, operation: str | None = None) -> tuple[float, float, float]:
        if operation is None:
            values = [v for series in self.latencies_ms.values() for v in series]
        else:
            values = self.latencies_ms[operation]
        return quantile(values, 0.50), quantile(values, 0.95), quantile(values, 0.99)


def measure(threads: int, seconds: float, max_requests_per_thread: int = 20_000) -> Load:
    """Start the stack, register and log in one user, create a few tasks, then load it."""
    import requests

    from devstack.stack import LocalStack

    load = Load(threads, seconds, {operation: [] for operation in EXPECTED_STATUS})
    environ = {
        name: value
        for name, value in fixtures.local_stage_environ().items()
        if name != "TOKEN_SIGNING_SECRET"  # the stack generates its own for the run
    }
    with tempfile.TemporaryFile("w+") as log, LocalStack(environ=environ, output=log) as stack:
        base = stack.base_url
        with requests.Session() as session:
            credentials = {"username": "benchload", "password": PASSWORD}
            session.post(f"{base}/auth/register", json=credentials, timeout=30).raise_for_status()
            login = session.post(f"{base}/auth/login", json=credentials, timeout=30)
            login.raise_for_status()
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            task_ids = [
                session.post(
                    f"{base}/tasks", json={"title": f"seed {i}"}, headers=auth, timeout=30
                ).json()["id"]
                for i in range(20)
            ]
        lock = threading.Lock()
        deadline = time.monotonic() + seconds

        def worker(number: int) -> None:
            mine: dict[str, list[float]] = {operation: [] for operation in EXPECTED_STATUS}
            wrong: Counter[str] = Counter()
            with requests.Session() as own:
                for index in range(max_requests_per_thread):
                    if time.monotonic() >= deadline:
                        break
                    operation = MIX[(index + number) % len(MIX)]
                    started = time.perf_counter()
                    status = _send(own, base, auth, operation, task_ids[index % len(task_ids)])
                    mine[operation].append((time.perf_counter() - started) * 1000)
                    if status != EXPECTED_STATUS[operation]:
                        wrong[f"{operation}: {status}"] += 1
            with lock:
                for operation, values in mine.items():
                    load.latencies_ms[operation].extend(values)
                load.unexpected.update(wrong)

        started = time.perf_counter()
        workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join(timeout=seconds + 60)
        load.elapsed_s = time.perf_counter() - started
    return load


def _send(session: Any, base: str, auth: dict[str, str], operation: str, task_id: str) -> int | str:
    """One request; its status code, or the name of the error that prevented an answer."""
    try:
        if operation == "get":
            response = session.get(f"{base}/tasks/{task_id}", headers=auth, timeout=30)
        elif operation == "create":
            body = {"title": "load", "tags": ["bench"]}
            response = session.post(f"{base}/tasks", json=body, headers=auth, timeout=30)
        else:
            response = session.get(f"{base}/tasks?limit=20", headers=auth, timeout=30)
    except OSError as error:  # requests' errors are OSErrors
        return type(error).__name__
    return response.status_code
