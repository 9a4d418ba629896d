"""Unit: the authorizer's policy, and parsing the Authorization header."""

from __future__ import annotations

import pytest

from chalicelib.auth.authorizer import authorize, bearer_token
from chalicelib.auth.tokens import InvalidToken, Principal

ARN = "arn:aws:execute-api:eu-west-1:123456789012:api0123/prod/PATCH/tasks/01J:odd"
EVERY_ROUTE = "arn:aws:execute-api:eu-west-1:123456789012:api0123/prod/*/*"


def _verify(token: str) -> Principal:
    if token != "good":
        raise InvalidToken("bad")
    return Principal(user_id="u1", username="alice")


def test_a_valid_token_is_allowed_on_every_route_with_string_context() -> None:
    policy = authorize("Bearer good", ARN, _verify)
    statement = policy["policyDocument"]["Statement"][0]
    assert (statement["Effect"], statement["Resource"]) == ("Allow", [EVERY_ROUTE])
    assert policy["principalId"] == "u1"
    assert policy["context"] == {"sub": "u1", "username": "alice"}
    assert all(isinstance(value, str) for value in policy["context"].values())


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer bad", "Basic good", "Bearer  good", "Bearer good x"]
)
def test_anything_else_is_an_explicit_deny_without_context(header: str | None) -> None:
    policy = authorize(header, ARN, _verify)
    statement = policy["policyDocument"]["Statement"][0]
    assert (statement["Effect"], statement["Resource"]) == ("Deny", [EVERY_ROUTE])
    assert "context" not in policy


def test_the_scheme_is_case_insensitive() -> None:
    assert bearer_token("BEARER abc") == "abc"
