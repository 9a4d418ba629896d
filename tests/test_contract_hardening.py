"""Idempotent creates and the login lockout (in-process and over HTTP).

These extend the contract; the README's API section documents them.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support import Api, Reply, User, unique_username


def _key() -> str:
    return f"key-{uuid.uuid4()}"


def _create(api: Api, user: User, key: str, **fields: object) -> Reply:
    body = {"title": "idempotent", **fields}
    return api.request(
        "POST", "/tasks", json_body=body, headers={"Idempotency-Key": key}, user=user
    )


def test_the_same_key_and_body_replays_the_original_response(api: Api) -> None:
    user = api.new_user()
    key = _key()
    first = _create(api, user, key, tags=["a"])
    assert first.status == 201
    assert "Idempotent-Replayed" not in first.headers
    api.request("PATCH", f"/tasks/{first.json()['id']}", json_body={"title": "later"}, user=user)
    again = _create(api, user, key, tags=["a"])
    assert again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()  # the original response, not the task as it is now
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"] == '"1"'
    assert len(api.request("GET", "/tasks", user=user).json()["items"]) == 1


def test_the_same_fields_written_differently_count_as_the_same_body(api: Api) -> None:
    user = api.new_user()
    key = _key()
    assert _create(api, user, key, title="  same ").status == 201
    assert _create(api, user, key, title="same", tags=[]).headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_422_and_creates_nothing(api: Api) -> None:
    user = api.new_user()
    key = _key()
    assert _create(api, user, key).status == 201
    reply = _create(api, user, key, title="different")
    assert reply.status == 422
    assert reply.error_code == "idempotency_key_reused"
    assert len(api.request("GET", "/tasks", user=user).json()["items"]) == 1


def test_keys_are_scoped_per_user(api: Api) -> None:
    alice, bob = api.new_user("alice"), api.new_user("bob")
    key = _key()
    alices = _create(api, alice, key)
    bobs = _create(api, bob, key)
    assert bobs.status == 201
    assert "Idempotent-Replayed" not in bobs.headers
    assert bobs.json()["id"] != alices.json()["id"]


def test_a_rejected_body_does_not_use_up_the_key(api: Api) -> None:
    user = api.new_user()
    key = _key()
    assert _create(api, user, key, title="").status == 400
    assert _create(api, user, key).status == 201


@pytest.mark.parametrize("key", ["", "k" * 256, "a\tb", "caf\u00e9"])
def test_malformed_idempotency_keys_are_validation_errors(api: Api, key: str) -> None:
    user = api.new_user()
    reply = _create(api, user, key)
    assert reply.status == 400
    assert reply.json()["error"]["details"][0]["field"] == "Idempotency-Key"
    assert api.request("GET", "/tasks", user=user).json()["items"] == []


def test_the_longest_and_most_varied_keys_work(api: Api) -> None:
    user = api.new_user()
    for key in ("k" * 255, "!~{} \"'", "1"):
        assert _create(api, user, key).status == 201


def _fail_logins(api: Api, username: str, times: int) -> None:
    for _ in range(times):
        assert api.login(username, "wrong password").status == 401


def test_five_failed_logins_lock_the_username_even_for_the_right_password(api: Api) -> None:
    user = api.new_user()
    _fail_logins(api, user.username.upper(), 5)  # letter case does not matter here either
    reply = api.login(user.username, user.password)
    assert reply.status == 429
    assert reply.error_code == "too_many_attempts"
    assert 1 <= int(reply.headers["Retry-After"]) <= 15 * 60


def test_a_locked_unknown_username_looks_like_a_locked_real_one(api: Api) -> None:
    real = api.new_user()
    unknown = unique_username("ghost")
    _fail_logins(api, real.username, 5)
    _fail_logins(api, unknown, 5)
    locked_real, locked_unknown = api.login(real.username), api.login(unknown)
    assert locked_real.status == locked_unknown.status == 429
    assert locked_real.body == locked_unknown.body
    assert (
        abs(int(locked_real.headers["Retry-After"]) - int(locked_unknown.headers["Retry-After"]))
        <= 5
    )


def test_a_successful_login_resets_the_count(api: Api) -> None:
    user = api.new_user()
    _fail_logins(api, user.username, 4)
    assert api.login(user.username).status == 200
    _fail_logins(api, user.username, 4)
    assert api.login(user.username).status == 200


def test_other_usernames_are_not_affected(api: Api) -> None:
    locked, other = api.new_user(), api.new_user()
    _fail_logins(api, locked.username, 5)
    assert api.login(other.username).status == 200


def test_lockout_does_not_revoke_tokens_already_issued(api: Api) -> None:
    user = api.new_user()
    _fail_logins(api, user.username, 5)
    assert api.login(user.username).status == 429
    assert api.request("GET", "/users/me", user=user).status == 200
