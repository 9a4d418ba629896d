"""Contract: the authorizer in front of every protected route (in-process and over HTTP)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from tests.support import Api

PROTECTED_ROUTES = [
    ("GET", "/users/me"),
    ("GET", "/tasks"),
    ("POST", "/tasks"),
    ("GET", "/tasks/01JDQ3AAAAAAAAAAAAAAAAAAAA"),
    ("PATCH", "/tasks/01JDQ3AAAAAAAAAAAAAAAAAAAA"),
    ("PUT", "/tasks/01JDQ3AAAAAAAAAAAAAAAAAAAA"),
    ("DELETE", "/tasks/01JDQ3AAAAAAAAAAAAAAAAAAAA"),
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _forge(header: dict, claims: dict, key: bytes) -> str:
    """A token with any header, HMAC-SHA256-signed: for algorithm-confusion attacks."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _claims(api: Api) -> dict:
    token = api.token()
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.mark.parametrize(("method", "path"), PROTECTED_ROUTES)
def test_no_authorization_header_is_a_401(api: Api, method: str, path: str) -> None:
    reply = api.request(method, path)
    assert reply.status == 401
    assert reply.json() == {"message": "Unauthorized"}


BAD_AUTHORIZATION = {
    "basic scheme": lambda api: "Basic dXNlcjpwYXNz",
    "no scheme": lambda api: api.token(),
    "garbage": lambda api: "Bearer not-a-jwt",
    "empty token": lambda api: "Bearer ",
    "two tokens": lambda api: f"Bearer {api.token()} {api.token()}",
    "wrong key": lambda api: "Bearer " + api.token(key="another-secret-that-is-long-enough-123"),
    "alg none": lambda api: (
        "Bearer "
        + _b64(b'{"alg":"none","typ":"JWT"}')
        + "."
        + _b64(json.dumps(_claims(api)).encode())
        + "."
    ),
    "alg HS384": lambda api: "Bearer " + api.token(algorithm="HS384"),
    "RS256 header, HMAC signature": lambda api: (
        "Bearer "
        + _forge({"alg": "RS256", "typ": "JWT"}, _claims(api), api.signing_secret.encode())
    ),
    "expired": lambda api: (
        "Bearer " + api.token(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    ),
    "not yet valid": lambda api: "Bearer " + api.token(nbf=int(time.time()) + 3600),
    "issued in the future": lambda api: "Bearer " + api.token(iat=int(time.time()) + 3600),
    "wrong issuer": lambda api: "Bearer " + api.token(iss="someone-else"),
    "wrong audience": lambda api: "Bearer " + api.token(aud="another-api"),
    "tampered payload": lambda api: "Bearer " + _tamper(api.token()),
    **{
        f"missing {claim}": (lambda api, claim=claim: "Bearer " + api.token(**{claim: None}))
        for claim in ("sub", "username", "iss", "aud", "iat", "exp", "jti")
    },
    "empty sub": lambda api: "Bearer " + api.token(sub=""),
    "numeric sub": lambda api: "Bearer " + api.token(sub=42),
}


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "01JDQ3BBBBBBBBBBBBBBBBBBBB"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


@pytest.mark.parametrize("case", sorted(BAD_AUTHORIZATION))
def test_any_bad_token_is_a_403_from_the_authorizer(api: Api, case: str) -> None:
    reply = api.request("GET", "/users/me", headers={"Authorization": BAD_AUTHORIZATION[case](api)})
    assert reply.status == 403, reply
    assert reply.error_code is None  # API Gateway's deny body, not the API's: the view never ran
    assert b"not authorized" in reply.body


def test_a_valid_token_is_allowed_on_every_protected_route(api: Api) -> None:
    user = api.new_user()
    for method, path in PROTECTED_ROUTES:
        body = {"title": "x"} if method in ("POST", "PUT", "PATCH") else None
        reply = api.request(method, path, json_body=body, user=user)
        assert reply.status not in (401, 403), (method, path, reply)


def test_lowercase_bearer_scheme_is_accepted(api: Api) -> None:
    user = api.new_user()
    reply = api.request("GET", "/users/me", headers={"Authorization": f"bearer {user.token}"})
    assert reply.status == 200
