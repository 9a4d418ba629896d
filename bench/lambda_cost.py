"""Latency and cost on Lambda, modelled from CPU time measured here, and priced.

Each operation runs through the real entry points (``app.app(event, None)`` with API Gateway
REST proxy events, ``app.jwt_authorizer``) over in-process moto, with the real scrypt
parameters. CPU time is ``time.process_time()`` around the call minus the CPU moto itself
spends answering (its request handler is wrapped and timed): what is left is our code,
Chalice, PyJWT and botocore (validation, serialisation, signing, parsing), as Lambda would
run them; only botocore's HTTP send is missing.

The model (``latency_ms``): Lambda allocates CPU in proportion to memory, one vCPU at 1,769
MB (AWS Lambda developer guide, "Configure Lambda function memory"), so CPU time here
stretches by ``max(1, 1769 / memory)``, assuming one core here does what one Lambda vCPU
does. Non-CPU wait is not stretched: wall minus CPU (moto excluded) counted only in runs
where the process blocked (voluntary context switches, ``getrusage``), since time spent
runnable but descheduled by other load on this shared machine is no wait Lambda would see;
plus a DynamoDB round trip per call at ``DYNAMODB_ROUND_TRIP_MS``, an assumption, since no
network to DynamoDB is measured here.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench import fixtures
from deploy.stage import memory_size

LAMBDA_MB_PER_VCPU = 1769
MEMORY_SIZES = (256, 512, 1024, 1280, 1536, 1769)  # and each function's configured size
LOGIN_GOAL_MS = 400.0
HEADROOM = 1.2  # the API handler's memory must meet the goal with 20% more CPU than here
DYNAMODB_ROUND_TRIP_MS = 5.0  # assumed: "single-digit millisecond" latency, in-region
PLATFORM_LOG_BYTES = 300  # assumed: Lambda's START, END and REPORT lines per invocation
AUTHORIZER_CACHE_TTL_S = 300  # the authorizer's result TTL (app.py, Chalice's default)
REQUESTS_PER_AUTHORIZER_CALL = 10  # assumed: authorized requests per token per TTL window
PRICE_DATE = "2026-12"


@dataclass(frozen=True)
class Price:
    """A us-east-1 list price as of ``PRICE_DATE``, as written on its AWS pricing page."""

    service: str
    dollars: str  # as written
    unit: str
    page: str  # aws.amazon.com/<page>/pricing/

    @property
    def usd(self) -> float:
        """USD per single unit (a "per million" price divided out)."""
        return float(self.dollars) / (1e6 if self.unit.startswith("per million") else 1)

    @property
    def text(self) -> str:
        return f"{self.service}: ${self.dollars} {self.unit}"

    @property
    def source(self) -> str:
        return f"https://aws.amazon.com/{self.page}/pricing/"


PRICES = {
    "lambda_gb_s": Price("Lambda arm64", "0.0000133334", "per GB-s (first 7.5 billion)", "lambda"),
    "lambda_request": Price("Lambda", "0.20", "per million requests", "lambda"),
    "rest_request": Price("API Gateway REST", "3.50", "per million (first 333 M)", "api-gateway"),
    "http_request": Price("API Gateway HTTP", "1.00", "per million (first 300 M)", "api-gateway"),
    "wru": Price("DynamoDB on-demand", "0.625", "per million WRU (since Nov 2024)", "dynamodb"),
    "rru": Price("DynamoDB on-demand", "0.125", "per million RRU (since Nov 2024)", "dynamodb"),
    "log_gb": Price("CloudWatch Logs", "0.50", "per GB ingested (Standard class)", "cloudwatch"),
}

# The priced mix: route (as bench/dynamodb_cost.py labels it) -> share of requests.
MIX = {
    "GET /tasks/{id}": 0.70,
    "POST /tasks": 0.10,
    "PATCH /tasks/{id}": 0.10,
    "GET /tasks (page 1 of limit 20)": 0.05,
    "POST /auth/login": 0.05,
}
AUTHORIZED_SHARE = 1 - MIX["POST /auth/login"]
# The operations measured here, keyed by the route label they price.
OPERATIONS = {
    "POST /auth/login": "login",
    "POST /auth/register": "register",
    "authorizer": "authorizer",
    "GET /tasks/{id}": "task read",
    "POST /tasks": "create",
    "PATCH /tasks/{id}": "update",
    "GET /tasks (page 1 of limit 20)": "list, 20 tasks",
}


@dataclass(frozen=True)
class Operation:
    """One operation's medians: CPU and non-CPU wait (moto excluded), DynamoDB calls and the
    bytes its invocation writes to stdout (CloudWatch Logs)."""

    cpu_ms: float
    wait_ms: float
    calls: float
    log_bytes: float

    def latency_ms(self, memory_mb: int, round_trip_ms: float = DYNAMODB_ROUND_TRIP_MS) -> float:
        """The modelled latency at ``memory_mb`` (see the module's docstring)."""
        stretch = max(1.0, LAMBDA_MB_PER_VCPU / memory_mb)
        return self.cpu_ms * stretch + self.wait_ms + self.calls * round_trip_ms

    def usd(self, memory_mb: int) -> float:
        """Lambda's price of one invocation: duration (billed per whole ms) and request."""
        billed_s = math.ceil(self.latency_ms(memory_mb)) / 1000
        return (
            billed_s * memory_mb / 1024 * PRICES["lambda_gb_s"].usd + PRICES["lambda_request"].usd
        )


def stretch(memory_mb: int) -> float:
    return max(1.0, LAMBDA_MB_PER_VCPU / memory_mb)


# --- measurement ----------------------------------------------------------------------


@dataclass
class _MotoClock:
    cpu_s: float = 0.0
    wall_s: float = 0.0


@contextlib.contextmanager
def moto_excluded() -> Iterator[_MotoClock]:
    """Time moto's own request handling, to subtract it from what the app is charged."""
    from moto.core.botocore_stubber import BotocoreStubber

    clock = _MotoClock()
    original = BotocoreStubber.process_request

    def timed(self: Any, request: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return original(self, request)
        finally:
            clock.cpu_s += time.process_time() - cpu
            clock.wall_s += time.perf_counter() - wall

    BotocoreStubber.process_request = timed  # type: ignore[method-assign]
    try:
        yield clock
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]


class _CountingStdout:
    """Counts what the app writes (its JSON lines, which Lambda sends to CloudWatch Logs)."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)

    def flush(self) -> None:
        pass


def measure(repeats: int) -> dict[str, Operation]:
    """Median CPU, wait, calls and log bytes of each operation over ``repeats`` runs."""
    import boto3
    from moto import mock_aws

    from chalicelib import runtime
    from chalicelib.auth.tokens import Principal
    from chalicelib.config import Settings
    from chalicelib.storage import table_layout
    from devstack.storage_meter import StorageMeter

    with fixtures.environ(fixtures.local_stage_environ()), mock_aws(), moto_excluded() as moto:
        settings = Settings.from_environ(os.environ)
        seeder = boto3.client("dynamodb")
        table_layout.create_missing_tables(seeder, settings)
        runtime.reset()
        import app as tasks_api

        meter = StorageMeter(runtime.dynamodb_client())
        password = "correct horse battery staple"  # noqa: S105 - a bench user's
        serial = iter(range(1_000_000))

        def post(path: str, body: Any, principal: Any = None) -> dict[str, Any]:
            event = fixtures.rest_event("POST", path, path, body=body, principal=principal)
            return tasks_api.app(event, None)

        def register() -> dict[str, Any]:
            username = f"bench{next(serial)}"
            return post("/auth/register", {"username": username, "password": password})

        user = _json(register())
        principal = Principal(user_id=user["id"], username=user["username"])
        credentials = {"username": user["username"], "password": password}
        token = _json(post("/auth/login", credentials))["access_token"]
        from bench.dynamodb_cost import seed_tasks

        seed_tasks(seeder, settings.tasks_table, principal.user_id, 25)
        task_id = _json(post("/tasks", {"title": "measured"}, principal))["id"]
        on_task = {"path_parameters": {"task_id": task_id}, "principal": principal}
        patch = fixtures.rest_event(
            "PATCH", "/tasks/{task_id}", f"/tasks/{task_id}", body={"status": "done"}, **on_task
        )
        listing = fixtures.rest_event(
            "GET", "/tasks", "/tasks", query={"limit": "20"}, principal=principal
        )
        get = fixtures.get_task_event(task_id, principal)
        authorizer_event = fixtures.authorizer_event(token)
        calls: dict[str, tuple[Callable[[], Any], int]] = {
            "login": (lambda: post("/auth/login", credentials), 200),
            "register": (register, 201),
            "authorizer": (lambda: tasks_api.jwt_authorizer(authorizer_event, None), 0),
            "task read": (lambda: tasks_api.app(get, None), 200),
            "create": (lambda: post("/tasks", {"title": "measured"}, principal), 201),
            "update": (lambda: tasks_api.app(patch, None), 200),
            "list, 20 tasks": (lambda: tasks_api.app(listing, None), 200),
        }
        samples: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in calls}
        for _ in range(repeats):
            for name, (call, expected) in calls.items():
                samples[name].append(_run(call, expected, moto, meter))
    runtime.reset()
    return {
        name: Operation(
            cpu_ms=statistics.median(s[0] for s in runs) * 1000,
            wait_ms=max(0.0, min(s[1] - s[0] for s in runs) * 1000),
            calls=int(statistics.median(s[2] for s in runs)),
            log_bytes=int(statistics.median(s[3] for s in runs)),
        )
        for name, runs in samples.items()
    }


def _run(
    call: Callable[[], Any], expected: int, moto: _MotoClock, meter: Any
) -> tuple[float, float, int, int]:
    """One call: (CPU s, wall s) without moto's, DynamoDB calls, bytes written to stdout."""
    meter.reset()
    moto.cpu_s = moto.wall_s = 0.0
    out = _CountingStdout()
    with contextlib.redirect_stdout(out):  # type: ignore[type-var]
        blocked = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
        cpu, wall = time.process_time(), time.perf_counter()
        answer = call()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        blocked = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - blocked
    status = answer.get("statusCode", 0)
    if status != expected:
        raise RuntimeError(f"unexpected answer {status} (expected {expected}): {answer}")
    cpu -= moto.cpu_s
    wall = cpu + (wall - moto.wall_s - cpu if blocked else 0.0)
    return cpu, wall, sum(meter.calls.values()), out.bytes


def _json(answer: dict[str, Any]) -> Any:
    import json

    if answer["statusCode"] >= 300:
        raise RuntimeError(f"setup request failed: {answer['statusCode']} {answer['body']}")
    return json.loads(answer["body"])


# --- configuration and the choice -----------------------------------------------------


FUNCTIONS = ("api_handler", "jwt_authorizer", "purge_account")


def configured_memory(config: dict[str, Any], stage: str = "prod") -> dict[str, int]:
    """Each function's ``lambda_memory_size`` in ``.chalice/config.json``, looked up as Chalice
    does (``deploy.stage.memory_size``)."""
    return {name: memory_size(config, stage, name) for name in FUNCTIONS}


def memory_sizes(configured: dict[str, int]) -> list[int]:
    return sorted({*MEMORY_SIZES, *configured.values()})


@dataclass(frozen=True)
class Choice:
    memory_mb: int
    why: str


def purge_per_thousand(purge: Any, memory_mb: int) -> tuple[float, float]:
    """Modelled seconds and USD of purging 1,000 tasks at ``memory_mb`` (from
    ``bench/account_purge.py``'s CPU and calls, scaled)."""
    scale = 1000 / purge.tasks
    work = Operation(purge.cpu_s * 1000 * scale, 0.0, purge.calls * scale, 0)
    seconds = work.latency_ms(memory_mb) / 1000
    return seconds, seconds * memory_mb / 1024 * PRICES["lambda_gb_s"].usd


def recommend(
    operations: dict[str, Operation], sizes: list[int], purge: Any = None
) -> dict[str, Choice]:
    """The API handler: the smallest size whose modelled login meets ``LOGIN_GOAL_MS`` (each
    step up costs every task read more); the authorizer: the largest size costing at most
    a cent per million mix requests more than the cheapest (its warm calls are billed at the
    1 ms minimum, so memory buys cold-start CPU almost free); the purge: the cheapest per
    task purged (it runs in the background, nobody waits on it)."""
    login = operations["login"]
    cautious = Operation(login.cpu_ms * HEADROOM, login.wait_ms, login.calls, login.log_bytes)
    meeting = [size for size in sizes if cautious.latency_ms(size) <= LOGIN_GOAL_MS]
    api = min(meeting) if meeting else max(sizes)
    api_why = (
        f"smallest size with modelled login ≤ {LOGIN_GOAL_MS:.0f} ms even with "
        f"{HEADROOM - 1:.0%} more CPU ({login.latency_ms(api):.0f} ms; "
        f"{cautious.latency_ms(api):.0f} ms with it); every larger size costs each task read more"
        if meeting
        else f"no size meets login ≤ {LOGIN_GOAL_MS:.0f} ms with {HEADROOM - 1:.0%} headroom"
    )
    authorizer = operations["authorizer"]
    per_million = {
        size: authorizer.usd(size) * 1e6 * AUTHORIZED_SHARE / REQUESTS_PER_AUTHORIZER_CALL
        for size in sizes
    }
    cheapest = min(per_million.values())
    auth = max(size for size in sizes if per_million[size] - cheapest <= 0.01)
    choices = {
        "api_handler": Choice(api, api_why),
        "jwt_authorizer": Choice(
            auth,
            f"largest size within $0.01 per million mix requests of the cheapest "
            f"(+${per_million[auth] - cheapest:.4f}); CPU for its cold start",
        ),
    }
    if purge is not None:
        usd = {size: purge_per_thousand(purge, size)[1] for size in sizes}
        best = min(sizes, key=lambda size: (round(usd[size], 9), size))
        choices["purge_account"] = Choice(
            best, f"cheapest per task purged (${usd[best] * 1e6:.2f} per million tasks)"
        )
    return choices


# --- pricing --------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteUnits:
    """DynamoDB request units and calls of one request (from bench/dynamodb_cost.py)."""

    read_units: float
    write_units: float


def mix_lines(
    operations: dict[str, Operation],
    units: dict[str, RouteUnits] | None,
    api_mb: int,
    authorizer_mb: int,
) -> dict[str, float]:
    """USD per million requests of ``MIX``, by line (API Gateway lines both ways)."""
    lines = {"Lambda, API handler (GB-s + requests)": 0.0}
    log_bytes = 0.0
    for route, share in MIX.items():
        operation = operations[OPERATIONS[route]]
        lines["Lambda, API handler (GB-s + requests)"] += share * operation.usd(api_mb)
        log_bytes += share * (operation.log_bytes + PLATFORM_LOG_BYTES)
    authorizer = operations["authorizer"]
    calls = AUTHORIZED_SHARE / REQUESTS_PER_AUTHORIZER_CALL
    lines["Lambda, authorizer (GB-s + requests)"] = calls * authorizer.usd(authorizer_mb)
    log_bytes += calls * (authorizer.log_bytes + PLATFORM_LOG_BYTES)
    if units is not None:
        lines["DynamoDB read request units"] = sum(
            share * units[route].read_units * PRICES["rru"].usd for route, share in MIX.items()
        )
        lines["DynamoDB write request units"] = sum(
            share * units[route].write_units * PRICES["wru"].usd for route, share in MIX.items()
        )
    lines["CloudWatch Logs ingestion"] = log_bytes / 1e9 * PRICES["log_gb"].usd
    lines["API Gateway REST API"] = PRICES["rest_request"].usd
    lines["API Gateway HTTP API"] = PRICES["http_request"].usd
    return {line: usd * 1e6 for line, usd in lines.items()}


def totals(lines: dict[str, float]) -> tuple[float, float]:
    """(REST, HTTP API) totals of ``mix_lines``."""
    shared = sum(v for k, v in lines.items() if not k.startswith("API Gateway"))
    return shared + lines["API Gateway REST API"], shared + lines["API Gateway HTTP API"]
