"""Contract: the authorizer in front of every protected route (in-process and over HTTP)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from chalicelib.auth.signing_secret import key_id
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
    "no kid": lambda api: "Bearer " + api.token(headers={}),
    "kid path injection": lambda api: "Bearer " + api.token(headers={"kid": "../../etc/passwd"}),
    "kid sql injection": lambda api: "Bearer " + api.token(headers={"kid": "' OR '1'='1"}),
    "numeric kid": lambda api: (
        "Bearer "
        + _forge(
            {"alg": "HS256", "typ": "JWT", "kid": 0}, _claims(api), api.signing_secret.encode()
        )
    ),
    "kid of an unknown key": lambda api: (
        "Bearer " + api.token(key="unknown-secret-that-is-long-enough-1234567")
    ),
    "expired beyond the 30 s leeway": lambda api: (
        "Bearer " + api.token(iat=int(time.time()) - 600, exp=int(time.time()) - 40)
    ),
    "not valid for 40 s more": lambda api: "Bearer " + api.token(nbf=int(time.time()) + 40),
    "issued 40 s in the future": lambda api: "Bearer " + api.token(iat=int(time.time()) + 40),
    "over 8 KiB": lambda api: "Bearer " + api.token(username="u" * 8200),
    "non-ASCII": lambda api: "Bearer " + api.token() + "\u00e9",
    "extra space": lambda api: "Bearer  " + api.token(),
    "trailing space": lambda api: "Bearer " + api.token() + " ",
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


def _hand_signed(api: Api, **overrides: Any) -> str:
    """A valid token with claims overridden, built and signed without PyJWT (which refuses
    to encode some wrong types), with the service's secret and ``kid``."""
    secret = api.signing_secret.encode()
    header = {"alg": "HS256", "typ": "JWT", "kid": key_id(secret)}
    return _forge(header, {**_claims(api), **overrides}, secret)


# Contract v2: integer dates, a bounded lifetime, non-blank names, one spelling per token.
V2_REFUSALS = {
    "iat as a string": lambda api: _hand_signed(api, iat=str(int(time.time()))),
    "exp as a string": lambda api: _hand_signed(api, exp=str(int(time.time()) + 600)),
    "exp 1e308 (never expires)": lambda api: _hand_signed(api, exp=1e308),
    "nbf as a string": lambda api: _hand_signed(api, nbf=str(int(time.time()) - 10)),
    "iat true": lambda api: _hand_signed(api, iat=True),
    "iat as a float": lambda api: _hand_signed(api, iat=float(int(time.time()))),
    "blank sub": lambda api: _hand_signed(api, sub=" "),
    "blank username": lambda api: _hand_signed(api, username=" \t"),
    "empty jti": lambda api: _hand_signed(api, jti=""),
    # Beyond any configurable lifetime (at most 86400 s), whatever the stage's default.
    "exp - iat of 100000 s": lambda api: _hand_signed(api, exp=int(time.time()) + 100000),
    "a valid token with = appended": lambda api: api.token() + "=",
    "a valid token with == appended": lambda api: api.token() + "==",
}


@pytest.mark.parametrize("case", sorted(V2_REFUSALS))
def test_v2_claim_and_encoding_rules_are_a_403_from_the_authorizer(api: Api, case: str) -> None:
    reply = api.request(
        "GET", "/users/me", headers={"Authorization": "Bearer " + V2_REFUSALS[case](api)}
    )
    assert reply.status == 403, reply
    assert reply.error_code is None  # API Gateway's deny body, not the API's: the view never ran
    assert b"not authorized" in reply.body


def test_the_hand_signed_control_token_is_accepted(api: Api) -> None:
    """The tokens above differ from this one only in the rule they break."""
    user = api.new_user()
    token = _hand_signed(api, sub=user.id, username=user.username)
    reply = api.request("GET", "/users/me", headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 200, reply


@pytest.mark.parametrize(
    "claims",
    [
        {"exp_offset": -20},  # expired 20 s ago: inside the leeway
        {"nbf_offset": 20},
        {"iat_offset": 20},
    ],
)
def test_clock_skew_within_the_leeway_is_tolerated(api: Api, claims: dict[str, int]) -> None:
    user = api.new_user()
    now = int(time.time())
    overrides: dict[str, int] = {}
    if "exp_offset" in claims:
        overrides = {"iat": now - 600, "exp": now + claims["exp_offset"]}
    if "nbf_offset" in claims:
        overrides = {"nbf": now + claims["nbf_offset"]}
    if "iat_offset" in claims:
        overrides = {"iat": now + claims["iat_offset"], "exp": now + 600}
    token = api.token(sub=user.id, username=user.username, **overrides)
    reply = api.request("GET", "/users/me", headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 200, reply


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
