"""Warm overhead: microseconds per request through the Lambda entry point, ``app.app(event,
context)``, with storage faked at the client, against a hello-world Chalice app in the same
process; and microseconds per authorizer call, against PyJWT's own ``decode``.

Each endpoint also has a same-body baseline: a hello-world Chalice route configured as ours
(CORS, content types), on the same path and method and called with the same event, that
returns a pre-built copy of the response our endpoint gives (status, headers, body) and, when
the request has a body, parses it with ``json.loads``. It costs what any endpoint giving that
answer must pay (Chalice's per-request work, serialising the body, parsing the request), so
the ratio against it is our own overhead.

Batches of every case are interleaved, so load from other processes hits all of them alike;
each figure is the median over batches of the time per call.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import random
import sysconfig
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice import Chalice, Response

from bench import fixtures
from bench.paths import PROJECT_DIR
from bench.stats import Summary, paired_ratios

HELLO = "hello"
HELLO_LIKE_OURS = "hello_like_ours"
JWT_DECODE = "jwt_decode"
SAME_BODY = "same_body_"  # + the endpoint case's name
LIST_LIMIT = 20
# Proposed in docs/benchmarks.md (not the goal): each endpoint at most this many
# times its same-body baseline.
SAME_BODY_BUDGET_RATIO = 2.0


class FakeDynamoDB:
    """No-network stand-in for the DynamoDB client, answering in DynamoDB's response shapes.

    The repositories call it exactly as they call boto3's client, but nothing of botocore
    (validation, serialisation, signing, HTTP) runs, so what is timed is the app and
    Chalice. With ``botocore`` set, ``get_item`` goes through that real client instead.
    """

    def __init__(self, user_id: str, page_size: int = LIST_LIMIT + 1) -> None:
        self.task = fixtures.sample_task(status="todo")
        self.item = fixtures.task_item(self.task, user_id)
        updated = fixtures.task_item(fixtures.sample_task(status="done"), user_id)
        self.updated_item = {**updated, "task_id": {"S": self.task.id}, "version": {"N": "2"}}
        self.page = [fixtures.task_item(fixtures.sample_task(i), user_id) for i in range(page_size)]
        self.botocore: Any = None

    @staticmethod
    def _metadata() -> dict[str, Any]:
        return {
            "ResponseMetadata": {
                "RequestId": "BENCH0REQUEST0ID0000000000000000000000000000000000000000",
                "HTTPStatusCode": 200,
                "HTTPHeaders": {"content-type": "application/x-amz-json-1.0"},
                "RetryAttempts": 0,
            }
        }

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        if self.botocore is not None:
            return self.botocore.get_item(**kwargs)
        return {"Item": self.item, **self._metadata()}

    def put_item(self, **_: Any) -> dict[str, Any]:
        return self._metadata()

    def update_item(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": self.updated_item, **self._metadata()}

    def query(self, Limit: int, **_: Any) -> dict[str, Any]:
        items = self.page[:Limit]
        response = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if Limit < len(self.page):
            response["LastEvaluatedKey"] = {k: items[-1][k] for k in ("user_id", "task_id")}
        return {**response, **self._metadata()}


def stubbed_botocore_client(item: dict[str, Any]) -> Any:
    """The app's real DynamoDB client, answering GetItem below the serializer (no HTTP)."""
    from botocore.awsrequest import AWSResponse

    from chalicelib.storage.client import create_dynamodb_client

    client = create_dynamodb_client()

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        return AWSResponse(None, 200, {}, None), {"Item": item}

    client.meta.events.register("before-call.dynamodb.GetItem", answer)
    return client


@dataclass(frozen=True)
class WarmCase:
    name: str
    label: str
    call: Callable[[], Any]
    goal_ratio: float | None = None  # against hello-world, when the case has a goal
    same_body: str | None = None  # the name of this endpoint's same-body baseline case
    budget_ratio: float | None = None  # proposed, against the same-body baseline
    response_bytes: int | None = None  # of the JSON body the endpoint answers
    request_bytes: int | None = None  # of the JSON body the endpoint reads, if any


def hello_world_app(**route_options: Any) -> Chalice:
    """The baseline: one route returning {"hello": "world"} (with ``route_options``, the same
    route configured as ours are: CORS, any content type)."""
    hello = Chalice(app_name="hello")

    @hello.route("/", **route_options)
    def index() -> dict[str, str]:
        return {"hello": "world"}

    return hello


def same_body_app(
    route_options: dict[str, Any],
    event: dict[str, Any],
    answer: dict[str, Any],
    binary_types: list[str],
) -> Chalice:
    """The same-body baseline for the endpoint that answered ``answer`` to ``event``: a
    hello-world route with ``route_options`` on the same path and method, whose view returns
    a pre-built copy of that answer (the headers the view set, without the CORS headers
    Chalice adds; the body as JSON values, which Chalice serialises on every call) and, when
    the request has a body, parses it with ``json.loads`` as any JSON endpoint must."""
    baseline = Chalice(app_name="same-body")
    baseline.api.binary_types = list(binary_types)  # configured like ours (JSON-only)
    cors = route_options.get("cors")
    added_by_chalice = set(cors.get_access_control_headers()) if cors is not None else set()
    headers = {k: v for k, v in answer["headers"].items() if k not in added_by_chalice}
    body = json.loads(answer["body"])
    status = answer["statusCode"]
    parses_body = event["body"] is not None

    def view(**_: str) -> Response:
        if parses_body:
            json.loads(baseline.current_request.raw_body)
        return Response(body=body, status_code=status, headers=dict(headers))

    resource = event["requestContext"]["resourcePath"]
    baseline.route(resource, methods=[event["httpMethod"]], **route_options)(view)
    if baseline(event, None) != answer:
        raise RuntimeError(f"the same-body baseline of {resource} answers differently")
    return baseline


def cases(fake: FakeDynamoDB, goal_ratio: float) -> list[WarmCase]:
    """Each endpoint as API Gateway invokes it (each checked once for its 2xx answer)."""
    import jwt

    import app as tasks_api

    task_id = fake.task.id
    on_task = {"path_parameters": {"task_id": task_id}, "principal": fixtures.USER}
    new_task = {"title": "Write report", "tags": ["work"], "due_date": "2026-12-01"}
    events = {
        "get": fixtures.get_task_event(task_id),
        "create": fixtures.rest_event(
            "POST", "/tasks", "/tasks", body=new_task, principal=fixtures.USER
        ),
        "patch": fixtures.rest_event(
            "PATCH",
            "/tasks/{task_id}",
            f"/tasks/{task_id}",
            body={"status": "done"},
            headers={"If-Match": '"1"'},
            **on_task,
        ),
        "list": _list_event(LIST_LIMIT),
        "list_one": _list_event(1),
    }
    botocore_client = stubbed_botocore_client(fake.item)
    route_options = getattr(tasks_api, "PUBLIC", {})
    answers: dict[str, dict[str, Any]] = {}

    def endpoint(name: str, expected: int, through_botocore: bool = False) -> Callable[[], Any]:
        event = events[name]

        def call() -> Any:
            return tasks_api.app(event, None)

        def call_through_botocore() -> Any:
            fake.botocore = botocore_client
            try:
                return tasks_api.app(event, None)
            finally:
                fake.botocore = None

        chosen = call_through_botocore if through_botocore else call
        answer = chosen()
        status = answer["statusCode"]
        if status != expected:
            raise RuntimeError(f"{event['httpMethod']} {event['path']}: {status}, not {expected}")
        answers.setdefault(name, answer)
        return chosen

    def measured(name: str, label: str, expected: int, goal: float | None = None) -> list[WarmCase]:
        """The endpoint's case, then its same-body baseline's."""
        call = endpoint(name, expected)
        answer = answers[name]
        event = events[name]
        baseline = same_body_app(route_options, event, answer, tasks_api.app.api.binary_types)
        parses = " + `json.loads` of its request body" if event["body"] is not None else ""
        return [
            WarmCase(
                name,
                label,
                call,
                goal,
                same_body=SAME_BODY + name,
                budget_ratio=SAME_BODY_BUDGET_RATIO if goal is not None else None,
                response_bytes=len(answer["body"].encode()),
                request_bytes=len(event["body"].encode()) if event["body"] is not None else None,
            ),
            WarmCase(
                SAME_BODY + name,
                f"↳ same-body baseline: hello-world returning its response pre-built{parses}",
                lambda: baseline(event, None),
            ),
        ]

    hello = hello_world_app()
    hello_like_ours = hello_world_app(**route_options)
    hello_event = fixtures.rest_event("GET", "/", "/")
    token = fixtures.access_token()
    token_event = fixtures.authorizer_event(token)
    secret = fixtures.SIGNING_SECRET.encode()

    def authorize() -> Any:
        return tasks_api.jwt_authorizer(token_event, None)

    def decode() -> Any:
        return jwt.decode(
            token, secret, algorithms=["HS256"], audience="tasks-api", issuer="tasks-api"
        )

    if authorize()["policyDocument"]["Statement"][0]["Effect"] != "Allow":
        raise RuntimeError("the authorizer denied a valid token")
    if hello(hello_event, None)["statusCode"] != 200:
        raise RuntimeError("hello world failed")
    return [
        WarmCase(
            HELLO,
            'hello-world Chalice: GET / → {"hello": "world"}',
            lambda: hello(hello_event, None),
        ),
        WarmCase(
            HELLO_LIKE_OURS,
            "hello-world with our routes' options: CORS, any content type (informative)",
            lambda: hello_like_ours(hello_event, None),
        ),
        *measured("get", "GET /tasks/{id}", 200, goal_ratio),
        *measured("create", "POST /tasks", 201, goal_ratio),
        *measured("patch", "PATCH /tasks/{id} (If-Match)", 200, goal_ratio),
        *measured("list", f"GET /tasks (a full page of {LIST_LIMIT} + cursor)", 200, goal_ratio),
        *measured("list_one", "GET /tasks?limit=1 (informative)", 200),
        WarmCase(
            "get_botocore",
            "GET /tasks/{id} through the real botocore client, stubbed before HTTP (informative)",
            endpoint("get", 200, through_botocore=True),
        ),
        WarmCase("authorizer", "authorizer: valid token", authorize),
        WarmCase(JWT_DECODE, "baseline: PyJWT jwt.decode alone (HS256, aud, iss)", decode),
    ]


def _list_event(limit: int) -> dict[str, Any]:
    return fixtures.rest_event(
        "GET", "/tasks", "/tasks", query={"limit": str(limit)}, principal=fixtures.USER
    )


@dataclass(frozen=True)
class WarmResult:
    label: str
    microseconds: Summary
    ratio: Summary  # against hello-world, batch by batch within each round
    goal_ratio: float | None
    where: list[tuple[str, float]]  # for a missed goal: share of own time by area...
    hottest: list[tuple[str, float]]  # ...and by function
    same_body: str | None = None  # the name of this endpoint's same-body baseline case
    same_body_ratio: Summary | None = None  # against it, batch by batch within each round
    budget_ratio: float | None = None  # proposed, against the same-body baseline
    response_bytes: int | None = None
    request_bytes: int | None = None

    @property
    def met(self) -> bool | None:
        return None if self.goal_ratio is None else self.ratio.median <= self.goal_ratio

    @property
    def budget_met(self) -> bool | None:
        if self.budget_ratio is None or self.same_body_ratio is None:
            return None
        return self.same_body_ratio.median <= self.budget_ratio


def measure(rounds: int, goal_ratio: float, target_batch_s: float = 0.02) -> dict[str, WarmResult]:
    """Median µs per call of every case from ``rounds`` interleaved batches; for a case that
    misses its goal, where its time goes (cProfile own time by area, indicative)."""
    from chalicelib import runtime

    with fixtures.environ(fixtures.local_stage_environ()):
        fake = FakeDynamoDB(fixtures.USER.user_id)
        real_factory = runtime.create_dynamodb_client
        runtime.create_dynamodb_client = lambda: fake
        try:
            all_cases = cases(fake, goal_ratio)
            batch = {case.name: _batch_size(case.call, target_batch_s) for case in all_cases}
            samples: dict[str, list[float]] = {case.name: [] for case in all_cases}
            shuffler = random.Random(2)  # noqa: S311 - an order, not a secret
            for _ in range(rounds):
                order = list(all_cases)
                shuffler.shuffle(order)
                for case in order:
                    samples[case.name].append(_time_batch(case.call, batch[case.name]))
            results = {}
            for case in all_cases:
                ratio = paired_ratios(samples[case.name], samples[HELLO])
                missed = case.goal_ratio is not None and ratio.median > case.goal_ratio
                results[case.name] = WarmResult(
                    label=case.label,
                    microseconds=Summary.of(samples[case.name]).scaled(1e6),
                    ratio=ratio,
                    goal_ratio=case.goal_ratio,
                    **(profile(case.call) if missed else {"where": [], "hottest": []}),
                    same_body=case.same_body,
                    same_body_ratio=(
                        paired_ratios(samples[case.name], samples[case.same_body])
                        if case.same_body
                        else None
                    ),
                    budget_ratio=case.budget_ratio,
                    response_bytes=case.response_bytes,
                    request_bytes=case.request_bytes,
                )
        finally:
            runtime.create_dynamodb_client = real_factory
    return results


def profile(call: Callable[[], Any], calls: int = 2000, top: int = 6) -> dict[str, Any]:
    """Shares of own (not cumulative) time, by area (Chalice, the stdlib's json, one of our
    modules...) and by function. cProfile inflates small functions: this ranks causes, it
    does not time them."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    by_area: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own_s, _, _) in stats.items():
        by_area[_area(filename)] += own_s
        where = "" if filename == "~" else f" ({_short_path(filename)})"
        by_function[f"{function}{where}"] += own_s
    total = sum(by_area.values()) or 1.0
    return {
        "where": [(name, seconds / total) for name, seconds in by_area.most_common(top)],
        "hottest": [(name, seconds / total) for name, seconds in by_function.most_common(top)],
    }


def _short_path(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    if filename.startswith(str(PROJECT_DIR)):
        return os.path.relpath(filename, PROJECT_DIR)
    stdlib = sysconfig.get_paths()["stdlib"]
    return os.path.relpath(filename, stdlib) if filename.startswith(stdlib) else filename


def _area(filename: str) -> str:
    if filename == "~":
        return "C built-ins"
    path = _short_path(filename)
    if "site-packages/" in filename:
        return path.split("/", 1)[0] + " (library)"
    if filename.startswith(str(PROJECT_DIR)):
        return path
    return "stdlib " + path.removesuffix(".py").removesuffix("/__init__").split("/", 1)[0]


def _batch_size(call: Callable[[], Any], target_s: float) -> int:
    """How many calls take about ``target_s`` (measured after a short warm-up)."""
    for _ in range(50):
        call()
    started = time.perf_counter()
    for _ in range(50):
        call()
    per_call = (time.perf_counter() - started) / 50
    return max(10, int(target_s / per_call))


def _time_batch(call: Callable[[], Any], size: int) -> float:
    started = time.perf_counter()
    for _ in range(size):
        call()
    return (time.perf_counter() - started) / size
