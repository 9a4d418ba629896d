"""Sessions and the account lifecycle (contract v2), in-process and over HTTP: refresh
rotation and reuse detection, logout, password change, account deletion."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import PASSWORD, Api, Reply, User, unique_username

NEW_PASSWORD = "a brand new passphrase"


def _login(api: Api, user: User, password: str = PASSWORD) -> Reply:
    return api.login(user.username, password)


def _refresh(api: Api, refresh_token: Any) -> Reply:
    return api.request("POST", "/auth/refresh", json_body={"refresh_token": refresh_token})


def _logout(api: Api, refresh_token: Any) -> Reply:
    return api.request("POST", "/auth/logout", json_body={"refresh_token": refresh_token})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _session(api: Api) -> tuple[User, dict[str, Any]]:
    user = api.new_user("session")
    reply = _login(api, user)
    assert reply.status == 200, reply
    return user, reply.json()


# --- login and refresh --------------------------------------------------------------------


def test_login_returns_an_access_and_a_refresh_token(api: Api) -> None:
    _, body = _session(api)
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["refresh_expires_in"] == 30 * 24 * 3600
    assert body["refresh_token"].count(".") != 2  # opaque, not a JWT
    assert len(body["refresh_token"]) >= 43  # at least 256 bits of randomness


def test_token_responses_are_not_cached(api: Api) -> None:
    user = api.new_user()
    assert _login(api, user).headers["Cache-Control"] == "no-store"


def test_refresh_rotates_and_the_new_access_token_is_the_same_user(api: Api) -> None:
    user, first = _session(api)
    refreshed = _refresh(api, first["refresh_token"])
    assert refreshed.status == 200, refreshed
    body = refreshed.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert 0 < body["refresh_expires_in"] <= first["refresh_expires_in"]
    me = api.request("GET", "/users/me", headers=_bearer(body["access_token"]))
    assert me.status == 200
    assert me.json()["id"] == user.id
    assert me.json()["username"] == user.username
    again = _refresh(api, body["refresh_token"])  # the new one works once too
    assert again.status == 200


def test_a_spent_refresh_token_ends_the_session(api: Api) -> None:
    _, first = _session(api)
    second = _refresh(api, first["refresh_token"]).json()
    reused = _refresh(api, first["refresh_token"])
    assert reused.status == 401
    assert reused.error_code == "invalid_refresh_token"
    # Reuse detection: the newest token of that session stops working too.
    assert _refresh(api, second["refresh_token"]).error_code == "invalid_refresh_token"


def test_reuse_ends_only_that_session(api: Api) -> None:
    user, first = _session(api)
    other = _login(api, user).json()
    _refresh(api, first["refresh_token"])
    _refresh(api, first["refresh_token"])  # reuse: ends the first session
    assert _refresh(api, other["refresh_token"]).status == 200


@pytest.mark.parametrize(
    "refresh_token",
    [
        "",
        "nonsense",
        "a.b.c",
        "01JDQ3AAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.1."
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x" * 5000,
        "é" * 50,
    ],
    ids=["empty", "word", "jwt-shaped", "unknown", "huge", "non-ascii"],
)
def test_unknown_or_malformed_refresh_tokens_are_401(api: Api, refresh_token: str) -> None:
    reply = _refresh(api, refresh_token)
    assert reply.status == 401
    assert reply.error_code == "invalid_refresh_token"


def test_an_altered_refresh_token_is_refused_and_the_session_survives(api: Api) -> None:
    _, body = _session(api)
    token = body["refresh_token"]
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert _refresh(api, altered).error_code == "invalid_refresh_token"
    assert _refresh(api, token).status == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": 5}, {"refresh_token": None}, {"refresh_token": "x", "extra": 1}],
    ids=["missing", "number", "null", "unknown-field"],
)
def test_a_refresh_body_that_breaks_the_rules_is_a_validation_error(
    api: Api, body: dict[str, Any]
) -> None:
    for path in ("/auth/refresh", "/auth/logout"):
        reply = api.request("POST", path, json_body=body)
        assert reply.status == 400, (path, reply)
        assert reply.error_code == "validation_error"


def test_refresh_needs_no_authorization_header_and_ignores_one(api: Api) -> None:
    _, body = _session(api)
    reply = api.request(
        "POST",
        "/auth/refresh",
        json_body={"refresh_token": body["refresh_token"]},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert reply.status == 200


def test_a_throttled_login_leaves_refresh_working(api: Api) -> None:
    user, body = _session(api)
    for _ in range(5):
        api.login(user.username, "wrong password")
    assert _login(api, user).status == 429
    assert _refresh(api, body["refresh_token"]).status == 200


# --- logout -------------------------------------------------------------------------------


def test_logout_ends_the_session_but_not_issued_access_tokens(api: Api) -> None:
    _, body = _session(api)
    reply = _logout(api, body["refresh_token"])
    assert reply.status == 204
    assert reply.body == b""
    assert _refresh(api, body["refresh_token"]).error_code == "invalid_refresh_token"
    me = api.request("GET", "/users/me", headers=_bearer(body["access_token"]))
    assert me.status == 200  # the authorizer reads no database: valid until it expires


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c.d", "x" * 300])
def test_logout_of_a_bad_token_is_204_and_reveals_nothing(api: Api, token: str) -> None:
    reply = _logout(api, token)
    assert reply.status == 204
    assert reply.body == b""


def test_logout_twice_and_logout_of_a_spent_token_are_204(api: Api) -> None:
    _, body = _session(api)
    newer = _refresh(api, body["refresh_token"]).json()
    assert _logout(api, body["refresh_token"]).status == 204  # spent: ends the session
    assert _refresh(api, newer["refresh_token"]).error_code == "invalid_refresh_token"
    assert _logout(api, newer["refresh_token"]).status == 204


# --- password change ----------------------------------------------------------------------


def _change_password(
    api: Api, user: User, current: str = PASSWORD, new: Any = NEW_PASSWORD
) -> Reply:
    return api.request(
        "PUT",
        "/users/me/password",
        json_body={"current_password": current, "new_password": new},
        user=user,
    )


def test_a_password_change_ends_every_session(api: Api) -> None:
    user, first = _session(api)
    second = _login(api, user).json()
    reply = _change_password(api, user)
    assert reply.status == 204
    assert reply.body == b""
    for session in (first, second):
        assert _refresh(api, session["refresh_token"]).error_code == "invalid_refresh_token"
    assert _login(api, user).error_code == "invalid_credentials"
    assert _login(api, user, NEW_PASSWORD).status == 200


def test_a_wrong_current_password_is_401_and_changes_nothing(api: Api) -> None:
    user, body = _session(api)
    reply = _change_password(api, user, current="not the password")
    assert reply.status == 401
    assert reply.error_code == "invalid_credentials"
    assert _login(api, user).status == 200
    assert _refresh(api, body["refresh_token"]).status == 200


def test_wrong_current_passwords_count_as_failed_logins(api: Api) -> None:
    user = api.new_user()
    for _ in range(5):
        assert _change_password(api, user, current="not the password").status == 401
    assert _login(api, user).status == 429
    assert _change_password(api, user).status == 429


@pytest.mark.parametrize("new", ["short", "x" * 257, 12345678, None])
def test_a_new_password_that_breaks_the_rule_is_a_validation_error(api: Api, new: Any) -> None:
    user = api.new_user()
    reply = _change_password(api, user, new=new)
    assert reply.status == 400
    assert reply.error_code == "validation_error"
    assert {d["field"] for d in reply.json()["error"]["details"]} == {"new_password"}
    assert _login(api, user).status == 200


def test_a_password_change_needs_a_token(api: Api) -> None:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert api.request("PUT", "/users/me/password", json_body=body).status == 401


# --- account deletion ---------------------------------------------------------------------


def _delete_account(api: Api, user: User, password: Any = PASSWORD) -> Reply:
    return api.request("DELETE", "/users/me", json_body={"password": password}, user=user)


def test_a_wrong_password_does_not_delete_the_account(api: Api) -> None:
    user = api.new_user()
    task = api.create_task(user)
    reply = _delete_account(api, user, "not the password")
    assert reply.status == 401
    assert reply.error_code == "invalid_credentials"
    assert api.request("GET", f"/tasks/{task['id']}", user=user).status == 200


def test_deleting_the_account_ends_it_at_once(api: Api) -> None:
    user, session = _session(api)
    tasks = [api.create_task(user, title=f"task {n}") for n in range(3)]
    reply = _delete_account(api, user)
    assert reply.status == 204
    assert reply.body == b""
    assert _login(api, user).error_code == "invalid_credentials"
    assert _refresh(api, session["refresh_token"]).error_code == "invalid_refresh_token"
    create = api.request("POST", "/tasks", json_body={"title": "after"}, user=user)
    assert create.status == 401
    assert create.error_code == "account_closed"
    me = api.request("GET", "/users/me", user=user)
    assert me.status == 401
    assert me.error_code == "account_closed"
    listing = api.request("GET", "/tasks", user=user)
    assert listing.status == 200
    assert listing.json() == {"items": [], "next_cursor": None}
    for task in tasks:
        path = f"/tasks/{task['id']}"
        assert api.request("GET", path, user=user).status == 404
        assert api.request("PATCH", path, json_body={"title": "x"}, user=user).status == 404
        assert api.request("DELETE", path, user=user).status == 404


def test_the_username_can_be_registered_again_and_sees_nothing_old(api: Api) -> None:
    user = api.new_user()
    api.create_task(user, title="private")
    assert _delete_account(api, user).status == 204
    assert api.register(user.username).status == 201
    reborn_login = api.login(user.username)
    assert reborn_login.status == 200
    reborn = User(user.username, PASSWORD, "", reborn_login.json()["access_token"])
    assert api.request("GET", "/tasks", user=reborn).json()["items"] == []
    assert api.request("GET", "/users/me", user=reborn).json()["id"] != user.id
    # The old token is still the old account: closed, even though the name is taken again.
    assert api.request("GET", "/users/me", user=user).error_code == "account_closed"
    old_create = api.request("POST", "/tasks", json_body={"title": "x"}, user=user)
    assert old_create.error_code == "account_closed"


def test_deleting_a_closed_account_again_is_204(api: Api) -> None:
    user = api.new_user()
    assert _delete_account(api, user).status == 204
    assert _delete_account(api, user).status == 204
    assert _change_password(api, user).error_code == "account_closed"


@pytest.mark.parametrize(
    "body",
    [{}, {"password": 5}, {"password": "x", "other": 1}],
    ids=["missing", "number", "unknown-field"],
)
def test_a_deletion_body_that_breaks_the_rules_is_a_validation_error(
    api: Api, body: dict[str, Any]
) -> None:
    user = api.new_user()
    reply = api.request("DELETE", "/users/me", json_body=body, user=user)
    assert reply.status == 400
    assert reply.error_code == "validation_error"
    assert api.request("GET", "/users/me", user=user).status == 200


def test_an_idempotent_create_of_a_closed_account_is_refused(api: Api) -> None:
    user = api.new_user()
    assert _delete_account(api, user).status == 204
    reply = api.request(
        "POST",
        "/tasks",
        json_body={"title": "x"},
        headers={"Idempotency-Key": unique_username("key")},
        user=user,
    )
    assert reply.status == 401
    assert reply.error_code == "account_closed"
