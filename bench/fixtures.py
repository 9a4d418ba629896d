"""What the benchmarks feed the API: API Gateway REST (v1) proxy events, authorizer events,
tokens, task items in the repository's own DynamoDB shape, and a local-stage environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from chalicelib.auth.tokens import Principal
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import Task
from chalicelib.domain.validation import TASK_STATUSES
from chalicelib.storage.tasks import to_item  # the stored shape, defined once

SIGNING_SECRET = "bench-signing-secret-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - fake
REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ID = "abc123"
API_STAGE = "api"
METHOD_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{API_STAGE}/GET/tasks"
USER = Principal(user_id="01JDQ3BENCHUSER0000000000A", username="bench")
FAKE_AWS_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
}
# Variables a developer's shell may carry that would change what the app talks to.
_ISOLATED_PREFIXES = ("AWS_",)
_ISOLATED_NAMES = ("STAGE", "USERS_TABLE", "TASKS_TABLE", "TOKEN_SIGNING_SECRET_PARAMETER")


def local_stage_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: os.environ) with fake credentials and the local stage's settings."""
    env = {
        name: value
        for name, value in (os.environ if base is None else base).items()
        if not name.startswith(_ISOLATED_PREFIXES) and name not in _ISOLATED_NAMES
    }
    env.update(FAKE_AWS_CREDENTIALS)
    env.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "STAGE": "local",
            "TOKEN_SIGNING_SECRET": SIGNING_SECRET,
            "TOKEN_ISSUER": "tasks-api",
            "TOKEN_AUDIENCE": "tasks-api",
        }
    )
    return env


@contextlib.contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """Replace os.environ with ``values`` for the block; the app's runtime is rebuilt."""
    from chalicelib import runtime

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    runtime.reset()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        runtime.reset()


def access_token(principal: Principal = USER) -> str:
    """A valid token for the local-stage environment, issued by the service's own code."""
    from chalicelib import runtime

    with environ(local_stage_environ()):
        return runtime.token_service().issue(principal)


def sample_task(index: int = 0, status: str | None = None) -> Task:
    """A realistic task: a title, a description, two tags, a due date."""
    now = "2026-11-23T04:03:55.784Z"
    return Task(
        id=new_id(),
        title=f"Write report {index}",
        description="Quarterly numbers, then send it to the team for review.",
        status=status or TASK_STATUSES[index % len(TASK_STATUSES)],
        due_date="2026-12-01",
        tags=["work", "q4"],
        created_at=now,
        updated_at=now,
        version=1,
    )


def task_item(task: Task, user_id: str = USER.user_id) -> dict[str, Any]:
    """The DynamoDB item ``TaskRepository`` stores for ``task``."""
    return to_item(user_id, task)


def rest_event(
    method: str,
    resource: str,
    path: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) Lambda proxy event, as API Gateway sends it.

    With ``principal``, ``requestContext.authorizer`` carries what the TOKEN authorizer
    returned (its context plus ``principalId``), as after a real authorizer invocation.
    """
    all_headers = {
        "Accept": "application/json",
        "Host": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
        "User-Agent": "bench/1.0",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    raw_body = None
    if body is not None:
        raw_body = json.dumps(body)
        all_headers.setdefault("Content-Type", "application/json")
    if principal is not None:
        all_headers["Authorization"] = "Bearer <checked by the authorizer>"
    request_context: dict[str, Any] = {
        "resourceId": "r1x2y3",
        "resourcePath": resource,
        "httpMethod": method,
        "extendedRequestId": "bench-extended-id",
        "requestTime": "23/Nov/2026:04:03:55 +0000",
        "path": f"/{API_STAGE}{path}",
        "accountId": ACCOUNT,
        "protocol": "HTTP/1.1",
        "stage": API_STAGE,
        "domainPrefix": API_ID,
        "requestTimeEpoch": 1795406635000,
        "requestId": str(uuid.uuid4()),
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "bench/1.0"},
        "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
        "apiId": API_ID,
    }
    if principal is not None:
        request_context["authorizer"] = {
            "sub": principal.user_id,
            "username": principal.username,
            "principalId": principal.user_id,
            "integrationLatency": 1,
        }
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": (
            None if query is None else {name: [value] for name, value in query.items()}
        ),
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": request_context,
        "body": raw_body,
        "isBase64Encoded": False,
    }


def health_event() -> dict[str, Any]:
    return rest_event("GET", "/health", "/health")


def get_task_event(task_id: str, principal: Principal = USER) -> dict[str, Any]:
    return rest_event(
        "GET",
        "/tasks/{task_id}",
        f"/tasks/{task_id}",
        path_parameters={"task_id": task_id},
        principal=principal,
    )


def authorizer_event(token: str) -> dict[str, Any]:
    """The event API Gateway sends a TOKEN authorizer."""
    return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}
