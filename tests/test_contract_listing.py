"""Contract: GET /tasks — newest first, filtering, limits and cursors."""

from __future__ import annotations

import pytest

from tests.support import Api, User


def _walk(api: Api, user: User, query: str) -> tuple[list[dict], list[int]]:
    """Every item of every page, and the page sizes."""
    items: list[dict] = []
    sizes: list[int] = []
    cursor = None
    while True:
        path = f"/tasks?{query}" + (f"&cursor={cursor}" if cursor else "")
        reply = api.request("GET", path, user=user)
        assert reply.status == 200, reply
        page = reply.json()
        assert set(page) == {"items", "next_cursor"}
        items.extend(page["items"])
        sizes.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            return items, sizes
        assert len(sizes) < 50, "pagination does not terminate"


def test_an_empty_list(api: Api) -> None:
    user = api.new_user()
    assert api.request("GET", "/tasks", user=user).json() == {"items": [], "next_cursor": None}


def test_walking_every_page_returns_each_task_once_newest_first(api: Api) -> None:
    user = api.new_user()
    created = [api.create_task(user, title=f"task {i}")["id"] for i in range(23)]
    items, sizes = _walk(api, user, "limit=5")
    assert sizes == [5, 5, 5, 5, 3]
    assert [item["id"] for item in items] == list(reversed(created))


def test_next_cursor_is_null_exactly_when_nothing_follows(api: Api) -> None:
    user = api.new_user()
    for i in range(10):
        api.create_task(user, title=f"task {i}")
    _, sizes = _walk(api, user, "limit=5")
    assert sizes == [5, 5]  # no trailing empty page
    _, sizes = _walk(api, user, "limit=10")
    assert sizes == [10]


def test_the_default_page_is_twenty(api: Api) -> None:
    user = api.new_user()
    for i in range(21):
        api.create_task(user, title=f"task {i}")
    page = api.request("GET", "/tasks", user=user).json()
    assert len(page["items"]) == 20 and page["next_cursor"] is not None


@pytest.mark.parametrize("status", ["todo", "in_progress", "done"])
def test_walking_a_status_returns_exactly_those_tasks(api: Api, status: str) -> None:
    user = api.new_user()
    statuses = ["todo", "done", "in_progress", "done", "todo", "done", "done", "in_progress"] * 2
    created = [api.create_task(user, title=f"t{i}", status=s) for i, s in enumerate(statuses)]
    api.request("PATCH", f"/tasks/{created[0]['id']}", json_body={"status": "done"}, user=user)
    expected_statuses = ["done", *statuses[1:]]
    expected = [
        task["id"] for task, s in zip(created, expected_statuses, strict=True) if s == status
    ]
    items, sizes = _walk(api, user, f"status={status}&limit=2")
    assert [item["id"] for item in items] == list(reversed(expected))
    assert all(item["status"] == status for item in items)
    assert max(sizes) <= 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=-1", "limit"),
        ("limit=", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("status=open", "status"),
        ("status=", "status"),
        ("sort=asc", "sort"),
    ],
)
def test_bad_query_parameters_are_validation_errors(api: Api, query: str, field: str) -> None:
    user = api.new_user()
    reply = api.request("GET", f"/tasks?{query}", user=user)
    assert reply.status == 400, reply
    assert reply.error_code == "validation_error"
    assert [detail["field"] for detail in reply.json()["error"]["details"]] == [field]


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_inclusive(api: Api, limit: int) -> None:
    user = api.new_user()
    api.create_task(user)
    api.create_task(user)
    page = api.request("GET", f"/tasks?limit={limit}", user=user).json()
    assert len(page["items"]) == min(limit, 2)


def _first_cursor(api: Api, user: User, query: str = "limit=1") -> str:
    api.create_task(user, title="one", status="done")
    api.create_task(user, title="two", status="done")
    cursor = api.request("GET", f"/tasks?{query}", user=user).json()["next_cursor"]
    assert cursor
    return cursor


def _altered(cursor: str) -> list[str]:
    flipped = [
        cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1 :]
        for i in (0, len(cursor) // 2, len(cursor) - 1)
    ]
    return [*flipped, cursor[:-1], cursor + "A", cursor + "!", cursor[1:]]


def test_malformed_and_altered_cursors_are_rejected(api: Api) -> None:
    user = api.new_user()
    cursor = _first_cursor(api, user)
    for bad in ["abc", "!!!", "%00", "eyJ1IjoiYSJ9", *_altered(cursor)]:
        reply = api.request("GET", f"/tasks?limit=1&cursor={bad}", user=user)
        assert reply.status == 400, (bad, reply)
        assert reply.error_code == "invalid_cursor"


def test_another_users_cursor_is_rejected(api: Api) -> None:
    alice, bob = api.new_user("alice"), api.new_user("bob")
    cursor = _first_cursor(api, alice)
    api.create_task(bob)
    reply = api.request("GET", f"/tasks?limit=1&cursor={cursor}", user=bob)
    assert reply.status == 400
    assert reply.error_code == "invalid_cursor"


def test_a_cursor_only_continues_the_listing_it_came_from(api: Api) -> None:
    user = api.new_user()
    cursor = _first_cursor(api, user, "limit=1&status=done")
    for query in ("limit=1", "limit=1&status=todo"):
        reply = api.request("GET", f"/tasks?{query}&cursor={cursor}", user=user)
        assert reply.status == 400
        assert reply.error_code == "invalid_cursor"
    same = api.request("GET", f"/tasks?limit=1&status=done&cursor={cursor}", user=user)
    assert same.status == 200
