"""Contract v2: every URL the service returns is correct under the deployed base URL.

``chalice.test.Client`` and ``chalice local`` have no stage prefix, so this drives the app
with an event shaped as API Gateway sends it: ``requestContext.path`` carries the stage
(``/api/tasks``) and ``resourcePath`` does not (``/tasks``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.local import LambdaContext

from chalicelib.http.web import base_path
from tests.support import Api


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"path": "/api/tasks", "resourcePath": "/tasks"}, "/api"),
        ({"path": "/v1/tasks-api/tasks", "resourcePath": "/tasks"}, "/v1/tasks-api"),
        ({"path": "/tasks", "resourcePath": "/tasks"}, ""),
        ({}, ""),
    ],
)
def test_the_base_path_is_what_api_gateway_adds_before_the_resource(
    context: dict[str, str], expected: str
) -> None:
    assert base_path(context) == expected


def _api_gateway_event(user_id: str, username: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": "/tasks",
        "path": "/tasks",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {"content-type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/tasks",
            "path": "/api/tasks",
            "httpMethod": "POST",
            "stage": "api",
            "requestId": "location-test",
            "identity": {"sourceIp": "198.51.100.1"},
            "authorizer": {"principalId": user_id, "sub": user_id, "username": username},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def test_location_carries_the_stage_prefix_behind_api_gateway(inprocess_api: Api) -> None:
    from app import app

    user = inprocess_api.new_user()
    response = app(
        _api_gateway_event(user.id, user.username, {"title": "deployed"}),
        LambdaContext("api_handler", 512),
    )
    assert response["statusCode"] == 201
    task_id = json.loads(response["body"])["id"]
    headers = {**response.get("headers", {}), **response.get("multiValueHeaders", {})}
    location = headers["Location"]
    assert (location[0] if isinstance(location, list) else location) == f"/api/tasks/{task_id}"
