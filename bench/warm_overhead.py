"""The warm budget: our code adds less than ``BUDGET_MS`` of CPU per request, per route.

Each route is called through the Lambda entry point, ``app.app(event, None)``, with API
Gateway REST (v1) proxy events, warm, in this process, with the DynamoDB client replaced by
``FakeDynamoDB`` (prebuilt answers in DynamoDB's shapes: no botocore, no network). Its
baseline is a hello-world Chalice route with our routes' options (CORS, content types),
called with the same event: Chalice's own work per request. "Our code" is the difference:
the middleware (request line, metrics, request budget), the view, validation, services,
repositories (item conversion), errors, and encoding our response body. Not ours, so not
counted: Chalice's per-request work the baseline pays, botocore and the network (priced in
``bench/lambda_cost.py``'s model). The authorizer is its own invocation, against a
hello-world Chalice authorizer allowing everything; ours includes PyJWT's verification.

CPU time (``time.process_time``) per call, from batches of every case interleaved in a
shuffled order each round; the figure is the median over rounds of (ours - baseline).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice import AuthResponse, Chalice

from bench import fixtures

BUDGET_MS = 0.25
LIST_LIMIT = 20


class FakeDynamoDB:
    """No-network stand-in for the DynamoDB client, answering in DynamoDB's response shapes."""

    def __init__(self, user_id: str, page_size: int = LIST_LIMIT + 1) -> None:
        self.task = fixtures.sample_task(status="todo")
        self.item = fixtures.task_item(self.task, user_id)
        updated = fixtures.task_item(fixtures.sample_task(status="done"), user_id)
        self.updated_item = {**updated, "task_id": {"S": self.task.id}, "version": {"N": "2"}}
        self.page = [fixtures.task_item(fixtures.sample_task(i), user_id) for i in range(page_size)]

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {"Item": self.item}

    def put_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        return {}

    def update_item(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": self.updated_item}

    def query(self, Limit: int, **_: Any) -> dict[str, Any]:
        items = self.page[:Limit]
        response = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if Limit < len(self.page):
            response["LastEvaluatedKey"] = {k: items[-1][k] for k in ("user_id", "task_id")}
        return response


@dataclass(frozen=True)
class Route:
    """One route's call and its baseline's."""

    label: str
    ours: Callable[[], Any]
    baseline: Callable[[], Any]


@dataclass(frozen=True)
class RouteCost:
    label: str
    ours_us: float  # median CPU µs per call
    baseline_us: float
    added_us: float  # median over rounds of the paired difference

    @property
    def met(self) -> bool:
        return self.added_us < BUDGET_MS * 1000


def routes(fake: FakeDynamoDB) -> list[Route]:
    """Each route as API Gateway invokes it, checked once for its 2xx answer."""
    import app as tasks_api

    task_id, user = fake.task.id, fixtures.USER
    on_task = {"path_parameters": {"task_id": task_id}, "principal": user}
    body = {"title": "Write report", "tags": ["work"], "due_date": "2026-12-01"}
    page = {"limit": str(LIST_LIMIT)}
    events = {
        "GET /tasks/{id}": (fixtures.get_task_event(task_id), 200),
        "POST /tasks": (
            fixtures.rest_event("POST", "/tasks", "/tasks", body=body, principal=user), 201),
        "PATCH /tasks/{id} (If-Match)": (fixtures.rest_event(
            "PATCH", "/tasks/{task_id}", f"/tasks/{task_id}", body={"status": "done"},
            headers={"If-Match": '"1"'}, **on_task), 200),
        f"GET /tasks (a page of {LIST_LIMIT} + cursor)": (
            fixtures.rest_event("GET", "/tasks", "/tasks", query=page, principal=user), 200),
        "GET /health": (fixtures.health_event(), 200),
    }  # fmt: skip
    options = getattr(tasks_api, "PUBLIC", {})
    found = []
    for label, (event, expected) in events.items():
        answer = tasks_api.app(event, None)
        if answer["statusCode"] != expected:
            raise RuntimeError(f"{label}: {answer['statusCode']}, not {expected}: {answer['body']}")
        baseline = _hello_route(event, options)
        found.append(
            Route(
                label,
                lambda event=event: tasks_api.app(event, None),
                lambda event=event, baseline=baseline: baseline(event, None),
            )
        )
    token_event = fixtures.authorizer_event(fixtures.access_token())
    if (
        tasks_api.jwt_authorizer(token_event, None)["policyDocument"]["Statement"][0]["Effect"]
        != "Allow"
    ):
        raise RuntimeError("the authorizer denied a valid token")
    hello_authorizer = _hello_authorizer()
    found.append(
        Route(
            "authorizer (its own invocation)",
            lambda: tasks_api.jwt_authorizer(token_event, None),
            lambda: hello_authorizer(token_event, None),
        )
    )
    return found


def _hello_route(event: dict[str, Any], options: dict[str, Any]) -> Chalice:
    """A hello-world route with ``options`` on the event's resource and method."""
    hello = Chalice(app_name="hello")
    resource = event["requestContext"]["resourcePath"]

    def view(**_: str) -> dict[str, str]:
        return {"hello": "world"}

    hello.route(resource, methods=[event["httpMethod"]], **options)(view)
    if hello(event, None)["statusCode"] != 200:
        raise RuntimeError(f"the hello-world baseline of {resource} failed")
    return hello


def _hello_authorizer() -> Any:
    hello = Chalice(app_name="hello")

    @hello.authorizer()
    def allow(request: Any) -> AuthResponse:
        return AuthResponse(routes=["*"], principal_id="user")

    return allow


def measure(rounds: int, target_batch_s: float = 0.01) -> list[RouteCost]:
    """Each route's CPU per call, ours and its baseline's, from ``rounds`` rounds."""
    from chalicelib import runtime

    with fixtures.environ(fixtures.local_stage_environ()):
        fake = FakeDynamoDB(fixtures.USER.user_id)
        real_factory = runtime.create_dynamodb_client
        runtime.create_dynamodb_client = lambda: fake
        try:
            found = routes(fake)
            calls = [call for route in found for call in (route.ours, route.baseline)]
            batch = {call: _batch_size(call, target_batch_s) for call in calls}
            samples: dict[Any, list[float]] = {call: [] for call in calls}
            shuffler = random.Random(2)  # noqa: S311 - an order, not a secret
            for _ in range(rounds):
                order = list(calls)
                shuffler.shuffle(order)
                for call in order:
                    samples[call].append(_cpu_per_call(call, batch[call]))
        finally:
            runtime.create_dynamodb_client = real_factory
    return [
        RouteCost(
            route.label,
            statistics.median(samples[route.ours]) * 1e6,
            statistics.median(samples[route.baseline]) * 1e6,
            statistics.median(
                a - b for a, b in zip(samples[route.ours], samples[route.baseline], strict=True)
            )
            * 1e6,
        )
        for route in found
    ]


def _batch_size(call: Callable[[], Any], target_s: float) -> int:
    """How many calls take about ``target_s`` of CPU (after a short warm-up)."""
    for _ in range(20):
        call()
    per_call = _cpu_per_call(call, 50)
    return max(10, int(target_s / max(per_call, 1e-7)))


def _cpu_per_call(call: Callable[[], Any], size: int) -> float:
    started = time.process_time()
    for _ in range(size):
        call()
    return (time.process_time() - started) / size
