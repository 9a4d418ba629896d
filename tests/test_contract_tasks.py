"""Contract: task representation, field rules, CRUD, If-Match and isolation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import Api

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
UNKNOWN_ID = "01JDQ3AAAAAAAAAAAAAAAAAAAA"


def test_create_returns_the_task_with_defaults_location_and_etag(api: Api) -> None:
    user = api.new_user()
    reply = api.request("POST", "/tasks", json_body={"title": "  Write report  "}, user=user)
    assert reply.status == 201
    task = reply.json()
    assert set(task) == {
        "id", "title", "description", "status", "due_date", "tags",
        "created_at", "updated_at", "version",
    }  # fmt: skip
    assert task["title"] == "Write report"
    assert (task["description"], task["status"], task["due_date"], task["tags"]) == (
        "", "todo", None, [],
    )  # fmt: skip
    assert task["version"] == 1
    assert TIMESTAMP.fullmatch(task["created_at"])
    assert task["created_at"] == task["updated_at"]
    assert reply.headers["Location"] == f"/tasks/{task['id']}"
    assert reply.headers["ETag"] == '"1"'


def test_create_stores_every_field_and_get_returns_it(api: Api) -> None:
    user = api.new_user()
    fields = {
        "title": "Plan",
        "description": "line one\nline two",
        "status": "in_progress",
        "due_date": "2028-02-29",
        "tags": [" home ", "work", "home", "urgent ", "work"],
    }
    created = api.create_task(user, **fields)
    assert created["tags"] == ["home", "work", "urgent"]
    reply = api.request("GET", f"/tasks/{created['id']}", user=user)
    assert reply.status == 200
    assert reply.json() == created
    assert reply.headers["ETag"] == '"1"'


def test_unicode_round_trips(api: Api) -> None:
    user = api.new_user()
    fields = {"title": "Résumé 📝 日本語", "description": "naïve ☃ \u0000 end", "tags": ["🏷️", "ß"]}
    created = api.create_task(user, **fields)
    fetched = api.request("GET", f"/tasks/{created['id']}", user=user).json()
    assert (fetched["title"], fetched["description"], fetched["tags"]) == (
        fields["title"], fields["description"], fields["tags"],
    )  # fmt: skip


def test_boundary_values_are_accepted(api: Api) -> None:
    user = api.new_user()
    task = api.create_task(
        user,
        title="t" * 200,
        description="d" * 4000,
        tags=[f"{i:02d}" + "x" * 38 for i in range(20)],
        due_date="2026-12-31",
    )
    assert len(task["title"]) == 200 and len(task["tags"]) == 20


INVALID_TASKS: list[tuple[dict[str, Any], str]] = [
    ({}, "title"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "t" * 201}, "title"),
    ({"title": 5}, "title"),
    ({"title": None}, "title"),
    ({"title": ["a"]}, "title"),
    ({"title": "ok", "description": "d" * 4001}, "description"),
    ({"title": "ok", "description": None}, "description"),
    ({"title": "ok", "description": 1}, "description"),
    ({"title": "ok", "status": "open"}, "status"),
    ({"title": "ok", "status": True}, "status"),
    ({"title": "ok", "status": None}, "status"),
    ({"title": "ok", "due_date": "2026-02-30"}, "due_date"),
    ({"title": "ok", "due_date": "2026-2-3"}, "due_date"),
    ({"title": "ok", "due_date": "20261123"}, "due_date"),
    ({"title": "ok", "due_date": "2026-11-23T10:00:00Z"}, "due_date"),
    ({"title": "ok", "due_date": "tomorrow"}, "due_date"),
    ({"title": "ok", "due_date": 20261123}, "due_date"),
    ({"title": "ok", "tags": "x"}, "tags"),
    ({"title": "ok", "tags": None}, "tags"),
    ({"title": "ok", "tags": [""]}, "tags"),
    ({"title": "ok", "tags": ["  "]}, "tags"),
    ({"title": "ok", "tags": ["x" * 41]}, "tags"),
    ({"title": "ok", "tags": [str(i) for i in range(21)]}, "tags"),
    ({"title": "ok", "tags": [5]}, "tags"),
    ({"title": "ok", "id": UNKNOWN_ID}, "id"),
    ({"title": "ok", "version": 3}, "version"),
    ({"title": "ok", "created_at": "2026-11-23T09:15:02.123Z"}, "created_at"),
    ({"title": "ok", "updated_at": "2026-11-23T09:15:02.123Z"}, "updated_at"),
    ({"title": "ok", "owner": "bob"}, "owner"),
    ({"title": "ok", "titel": "typo"}, "titel"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_TASKS)
def test_create_rejects_each_broken_rule(api: Api, body: dict, field: str) -> None:
    user = api.new_user()
    reply = api.request("POST", "/tasks", json_body=body, user=user)
    assert reply.status == 400, reply
    error = reply.json()["error"]
    assert error["code"] == "validation_error"
    assert [detail["field"] for detail in error["details"]] == [field]
    assert api.request("GET", "/tasks", user=user).json()["items"] == []  # nothing stored


def test_every_broken_rule_is_reported_at_once(api: Api) -> None:
    user = api.new_user()
    body = {"title": "", "status": "nope", "tags": "x", "extra": 1}
    reply = api.request("POST", "/tasks", json_body=body, user=user)
    fields = {detail["field"] for detail in reply.json()["error"]["details"]}
    assert fields == {"title", "status", "tags", "extra"}


def test_get_unknown_malformed_and_foreign_ids_are_not_found(api: Api) -> None:
    alice, bob = api.new_user("alice"), api.new_user("bob")
    task = api.create_task(alice)
    for task_id in (UNKNOWN_ID, "not-an-id", "x" * 2000, task["id"].lower()):
        reply = api.request("GET", f"/tasks/{task_id}", user=alice)
        assert reply.status == 404, (task_id, reply)
        assert reply.error_code == "not_found"
    foreign = api.request("GET", f"/tasks/{task['id']}", user=bob)
    assert foreign.status == 404
    assert foreign.body == api.request("GET", f"/tasks/{UNKNOWN_ID}", user=bob).body


def test_patch_changes_only_the_given_fields(api: Api) -> None:
    user = api.new_user()
    task = api.create_task(user, title="Draft", tags=["a"], due_date="2026-12-01")
    reply = api.request(
        "PATCH", f"/tasks/{task['id']}", json_body={"status": "done", "due_date": None}, user=user
    )
    assert reply.status == 200
    patched = reply.json()
    assert patched["status"] == "done"
    assert patched["due_date"] is None
    assert (patched["title"], patched["tags"], patched["created_at"]) == (
        "Draft", ["a"], task["created_at"],
    )  # fmt: skip
    assert patched["version"] == 2
    assert patched["updated_at"] >= task["updated_at"]
    assert reply.headers["ETag"] == '"2"'
    assert api.request("GET", f"/tasks/{task['id']}", user=user).json() == patched


def test_patch_with_nothing_to_change_is_rejected(api: Api) -> None:
    user = api.new_user()
    task = api.create_task(user)
    reply = api.request("PATCH", f"/tasks/{task['id']}", json_body={}, user=user)
    assert reply.status == 400
    assert reply.error_code == "validation_error"


@pytest.mark.parametrize(
    "body", [{"title": ""}, {"status": "done", "version": 9}, {"tags": ["ok", ""]}]
)
def test_a_rejected_patch_changes_nothing(api: Api, body: dict) -> None:
    user = api.new_user()
    task = api.create_task(user)
    reply = api.request("PATCH", f"/tasks/{task['id']}", json_body=body, user=user)
    assert reply.status == 400
    assert api.request("GET", f"/tasks/{task['id']}", user=user).json() == task


def test_put_replaces_the_task_and_resets_omitted_fields(api: Api) -> None:
    user = api.new_user()
    task = api.create_task(
        user, title="Old", description="d", status="done", due_date="2026-01-01", tags=["t"]
    )
    reply = api.request("PUT", f"/tasks/{task['id']}", json_body={"title": "New"}, user=user)
    assert reply.status == 200
    replaced = reply.json()
    assert replaced["title"] == "New"
    defaults = {"description": "", "status": "todo", "due_date": None, "tags": []}
    assert {name: replaced[name] for name in defaults} == defaults
    assert replaced["version"] == 2
    assert replaced["id"] == task["id"] and replaced["created_at"] == task["created_at"]
    assert reply.headers["ETag"] == '"2"'


def test_put_requires_a_title_and_never_creates(api: Api) -> None:
    user = api.new_user()
    task = api.create_task(user)
    path = f"/tasks/{task['id']}"
    missing_title = api.request("PUT", path, json_body={"status": "done"}, user=user)
    assert missing_title.status == 400
    assert missing_title.json()["error"]["details"][0]["field"] == "title"
    upsert = api.request("PUT", f"/tasks/{UNKNOWN_ID}", json_body={"title": "x"}, user=user)
    assert upsert.status == 404
    assert api.request("GET", f"/tasks/{UNKNOWN_ID}", user=user).status == 404


def test_delete_answers_204_then_the_task_is_gone(api: Api) -> None:
    user = api.new_user()
    task = api.create_task(user)
    reply = api.request("DELETE", f"/tasks/{task['id']}", user=user)
    assert reply.status == 204
    assert reply.body == b""
    assert api.request("GET", f"/tasks/{task['id']}", user=user).status == 404
    again = api.request("DELETE", f"/tasks/{task['id']}", user=user)
    assert again.status == 404 and again.error_code == "not_found"


def test_another_users_task_cannot_be_changed_or_deleted(api: Api) -> None:
    alice, bob = api.new_user("alice"), api.new_user("bob")
    task = api.create_task(alice, title="mine")
    path = f"/tasks/{task['id']}"
    for method, body in (("PATCH", {"title": "x"}), ("PUT", {"title": "x"}), ("DELETE", None)):
        reply = api.request(method, path, json_body=body, user=bob)
        assert reply.status == 404, (method, reply)
        assert reply.error_code == "not_found"
    assert api.request("GET", path, user=alice).json() == task
    assert api.request("GET", "/tasks", user=bob).json()["items"] == []


@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
def test_if_match_with_a_stale_version_is_412_and_changes_nothing(api: Api, method: str) -> None:
    user = api.new_user()
    task = api.create_task(user)
    path = f"/tasks/{task['id']}"
    api.request("PATCH", path, json_body={"status": "done"}, user=user)  # now version 2
    current = api.request("GET", path, user=user).json()
    body = None if method == "DELETE" else {"title": "lost update"}
    reply = api.request(method, path, json_body=body, headers={"If-Match": '"1"'}, user=user)
    assert reply.status == 412
    assert reply.error_code == "precondition_failed"
    assert api.request("GET", path, user=user).json() == current


@pytest.mark.parametrize("if_match", ['"1"', "*", '"7", "1"', '"5" ,"1" '])
def test_if_match_with_the_current_version_succeeds(api: Api, if_match: str) -> None:
    user = api.new_user()
    task = api.create_task(user)
    path = f"/tasks/{task['id']}"
    patched = api.request(
        "PATCH", path, json_body={"title": "v2"}, headers={"If-Match": if_match}, user=user
    )
    assert patched.status == 200
    assert patched.json()["version"] == 2
    deleted = api.request("DELETE", path, headers={"If-Match": '"2"'}, user=user)
    assert deleted.status == 204


@pytest.mark.parametrize("if_match", ['W/"1"', '"one"', '""'])
def test_if_match_tags_this_api_never_issues_do_not_match(api: Api, if_match: str) -> None:
    user = api.new_user()
    task = api.create_task(user)
    reply = api.request(
        "PATCH", f"/tasks/{task['id']}", json_body={"title": "x"}, headers={"If-Match": if_match},
        user=user,
    )  # fmt: skip
    assert reply.status == 412


def test_a_malformed_if_match_is_a_validation_error(api: Api) -> None:
    user = api.new_user()
    task = api.create_task(user)
    reply = api.request(
        "PATCH", f"/tasks/{task['id']}", json_body={"title": "x"}, headers={"If-Match": "1"},
        user=user,
    )  # fmt: skip
    assert reply.status == 400
    assert reply.json()["error"]["details"][0]["field"] == "If-Match"


def test_if_match_on_a_missing_task_is_404(api: Api) -> None:
    user = api.new_user()
    reply = api.request(
        "PATCH", f"/tasks/{UNKNOWN_ID}", json_body={"title": "x"}, headers={"If-Match": '"1"'},
        user=user,
    )  # fmt: skip
    assert reply.status == 404
