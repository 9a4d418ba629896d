"""Contract: request bodies (413, 415, invalid JSON), the error envelope, and CORS headers."""

from __future__ import annotations

import pytest

from tests.support import JSON, Api, Reply

BODY_ENDPOINTS = [("POST", "/tasks"), ("PATCH", "/tasks/{id}"), ("PUT", "/tasks/{id}")]
PUBLIC_BODY_ENDPOINTS = [("POST", "/auth/register"), ("POST", "/auth/login")]

INVALID_JSON = {
    "truncated": b'{"title": "x"',
    "array": b'[{"title": "x"}]',
    "string": b'"title"',
    "null": b"null",
    "number": b"42",
    "empty body": b"",
    "not utf-8": b'{"title": "\xff\xfe"}',
    "NaN": b'{"title": "x", "description": NaN}',
    "duplicate keys": b'{"title": "a", "title": "b"}',
    "deep nesting": b'{"title": ' + b"[" * 20000 + b"]" * 20000 + b"}",
    "trailing garbage": b'{"title": "x"} {}',
    "single quotes": b"{'title': 'x'}",
}


def _path(api: Api, template: str) -> tuple[str, object]:
    user = api.new_user()
    task = api.create_task(user)
    return template.format(id=task["id"]), user


def assert_error_envelope(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply
    body = reply.json()
    assert set(body) == {"error"}
    allowed = {"code", "message", "details"} if code == "validation_error" else {"code", "message"}
    assert set(body["error"]) <= allowed and {"code", "message"} <= set(body["error"])
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in reply.body.decode(errors="replace")


@pytest.mark.parametrize("case", sorted(INVALID_JSON))
@pytest.mark.parametrize(("method", "template"), BODY_ENDPOINTS)
def test_bodies_that_are_not_a_json_object_are_invalid_json(
    api: Api, method: str, template: str, case: str
) -> None:
    path, user = _path(api, template)
    reply = api.request(method, path, body=INVALID_JSON[case], headers=JSON, user=user)
    assert_error_envelope(reply, 400, "invalid_json")


@pytest.mark.parametrize(("method", "path"), PUBLIC_BODY_ENDPOINTS)
def test_public_endpoints_reject_invalid_json_too(api: Api, method: str, path: str) -> None:
    reply = api.request(method, path, body=b"{nope", headers=JSON)
    assert_error_envelope(reply, 400, "invalid_json")


@pytest.mark.parametrize(("method", "template"), BODY_ENDPOINTS + PUBLIC_BODY_ENDPOINTS)
def test_a_body_over_64_kib_is_413(api: Api, method: str, template: str) -> None:
    path, user = _path(api, template)
    body = b'{"title": "' + b"x" * (64 * 1024) + b'"}'
    reply = api.request(method, path, body=body, headers=JSON, user=user)
    assert_error_envelope(reply, 413, "payload_too_large")


def test_a_body_of_exactly_64_kib_is_read(api: Api) -> None:
    user = api.new_user()
    body = b'{"title": "fits"}'
    body += b" " * (64 * 1024 - len(body))
    reply = api.request("POST", "/tasks", body=body, headers=JSON, user=user)
    assert reply.status == 201


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        None,
    ],
)
@pytest.mark.parametrize(("method", "template"), BODY_ENDPOINTS + PUBLIC_BODY_ENDPOINTS)
def test_a_body_that_is_not_json_is_415(
    api: Api, method: str, template: str, content_type: str | None
) -> None:
    path, user = _path(api, template)
    headers = {"Content-Type": content_type} if content_type else {}
    reply = api.request(method, path, body=b'{"title": "x"}', headers=headers, user=user)
    assert_error_envelope(reply, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/json;"]
)
def test_json_content_type_variants_are_accepted(api: Api, content_type: str) -> None:
    user = api.new_user()
    reply = api.request(
        "POST", "/tasks", body=b'{"title": "x"}', headers={"Content-Type": content_type}, user=user
    )
    assert reply.status == 201


def test_validation_errors_carry_details_and_nothing_else(api: Api) -> None:
    user = api.new_user()
    reply = api.request("POST", "/tasks", json_body={"title": ""}, user=user)
    assert_error_envelope(reply, 400, "validation_error")
    assert reply.json()["error"]["details"] == [{"field": "title", "message": "must not be empty"}]


def test_success_and_error_responses_carry_cors_headers(api: Api) -> None:
    user = api.new_user()
    replies = [
        api.request("GET", "/health"),
        api.request("GET", "/tasks", user=user),
        api.request("GET", "/tasks/unknown", user=user),
        api.request("POST", "/tasks", body=b"{", headers=JSON, user=user),
        api.request("POST", "/tasks", body=b"x", headers={"Content-Type": "text/plain"}, user=user),
        api.login("nobody-at-all"),
    ]
    for reply in replies:
        assert reply.headers.get("Access-Control-Allow-Origin") == "*", reply
        assert "ETag" in reply.headers.get("Access-Control-Expose-Headers", ""), reply
