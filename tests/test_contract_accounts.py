"""Contract: health, registration, login and /users/me (run in-process and over HTTP)."""

from __future__ import annotations

import re
import uuid

import jwt
import pytest

from tests.support import PASSWORD, Api, unique_username

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def test_health_needs_no_token(api: Api) -> None:
    reply = api.request("GET", "/health")
    assert reply.status == 200
    assert reply.json() == {"status": "ok"}


def test_register_returns_the_user_in_lower_case_without_the_password(api: Api) -> None:
    name = unique_username("Mixed")
    reply = api.register(name)
    assert reply.status == 201
    body = reply.json()
    assert set(body) == {"id", "username", "created_at"}
    assert body["username"] == name.lower()
    assert TIMESTAMP.fullmatch(body["created_at"])
    assert PASSWORD not in reply.body.decode()


def test_a_username_is_taken_in_any_letter_case(api: Api) -> None:
    name = unique_username("taken")
    assert api.register(name).status == 201
    reply = api.register(name.upper())
    assert reply.status == 409
    assert reply.error_code == "username_taken"


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("ab", PASSWORD, "username"),
        ("a" * 33, PASSWORD, "username"),
        ("_alice", PASSWORD, "username"),
        ("-alice", PASSWORD, "username"),
        ("alice smith", PASSWORD, "username"),
        ("al!ce", PASSWORD, "username"),
        ("\u212aate", PASSWORD, "username"),  # KELVIN SIGN lower-cases to an ASCII "k"
        ("alicé", PASSWORD, "username"),
        (5, PASSWORD, "username"),
        (None, PASSWORD, "username"),
        ("alice", "short77", "password"),
        ("alice", "p" * 257, "password"),
        ("alice", 12345678, "password"),
    ],
)
def test_registration_rules(api: Api, username: object, password: object, field: str) -> None:
    reply = api.request(
        "POST", "/auth/register", json_body={"username": username, "password": password}
    )
    assert reply.status == 400, reply
    assert reply.error_code == "validation_error"
    assert [detail["field"] for detail in reply.json()["error"]["details"]] == [field]


@pytest.mark.parametrize("length", [3, 32])
def test_username_length_bounds_are_inclusive(api: Api, length: int) -> None:
    name = ("b" + uuid.uuid4().hex)[:length]
    reply = api.register(name)
    assert reply.status == 201, reply


@pytest.mark.parametrize("password", ["p" * 8, "\u00e9" * 256])
def test_password_length_bounds_are_inclusive_and_any_character_goes(
    api: Api, password: str
) -> None:
    name = unique_username("pw")
    assert api.register(name, password).status == 201
    assert api.login(name, password).status == 200


def test_registration_names_missing_and_unknown_fields(api: Api) -> None:
    reply = api.request("POST", "/auth/register", json_body={"user": "alice"})
    assert reply.status == 400
    fields = {detail["field"] for detail in reply.json()["error"]["details"]}
    assert fields == {"user", "username", "password"}


def test_login_returns_a_bearer_token_with_every_claim(api: Api) -> None:
    user = api.new_user()
    reply = api.login(user.username.upper())  # letter case is ignored here too
    assert reply.status == 200
    body = reply.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900  # the v2 default
    token = body["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, api.signing_secret, algorithms=["HS256"], audience="tasks-api")
    assert set(claims) == {"sub", "username", "iss", "aud", "iat", "exp", "jti"}
    assert claims["sub"] == user.id
    assert claims["username"] == user.username
    assert claims["exp"] - claims["iat"] == 900


def test_unknown_user_and_wrong_password_get_the_same_answer(api: Api) -> None:
    user = api.new_user()
    wrong_password = api.login(user.username, "not the password")
    unknown_user = api.login(unique_username("nobody"))
    malformed_user = api.login("x")
    for reply in (wrong_password, unknown_user, malformed_user):
        assert reply.status == 401
        assert reply.error_code == "invalid_credentials"
    assert wrong_password.body == unknown_user.body == malformed_user.body


def test_look_alike_letters_do_not_log_in_as_an_ascii_name(api: Api) -> None:
    name = "kate" + uuid.uuid4().hex[:8]
    assert api.register(name).status == 201
    assert api.login(name).status == 200
    reply = api.login("\u212a" + name[1:])  # KELVIN SIGN lower-cases to an ASCII "k"
    assert reply.status == 401
    assert reply.error_code == "invalid_credentials"


def test_login_checks_the_body_shape(api: Api) -> None:
    reply = api.request("POST", "/auth/login", json_body={"username": "alice"})
    assert reply.status == 400
    assert reply.error_code == "validation_error"


def test_users_me_returns_the_caller(api: Api) -> None:
    user = api.new_user()
    reply = api.request("GET", "/users/me", user=user)
    assert reply.status == 200
    body = reply.json()
    assert body["id"] == user.id
    assert body["username"] == user.username
    assert TIMESTAMP.fullmatch(body["created_at"])
