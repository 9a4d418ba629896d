"""Unit: issuing and verifying access tokens."""

from __future__ import annotations

import time

import jwt
import pytest

from chalicelib.auth.signing_secret import SigningKeys
from chalicelib.auth.tokens import InvalidToken, Principal, TokenService

SERVICE = TokenService(
    keys=SigningKeys(b"s" * 32), issuer="iss", audience="aud", lifetime_seconds=3600
)
_KID = {"kid": SigningKeys(b"s" * 32).current_kid}
ALICE = Principal(user_id="01JDQ3AAAAAAAAAAAAAAAAAAAA", username="alice")


def test_issue_then_verify_round_trips_the_principal() -> None:
    assert SERVICE.verify(SERVICE.issue(ALICE)) == ALICE


def test_each_token_has_a_unique_jti() -> None:
    first, second = SERVICE.issue(ALICE), SERVICE.issue(ALICE)
    claims = [jwt.decode(t, options={"verify_signature": False}) for t in (first, second)]
    assert claims[0]["jti"] != claims[1]["jti"]


def test_a_token_expires_after_its_lifetime_plus_at_most_30_seconds_leeway() -> None:
    token = SERVICE.issue(ALICE, now=time.time() - 3600 - 29)
    assert SERVICE.verify(token) == ALICE
    with pytest.raises(InvalidToken):
        SERVICE.verify(SERVICE.issue(ALICE, now=time.time() - 3600 - 31))


def test_another_issuer_audience_or_secret_is_rejected() -> None:
    token = SERVICE.issue(ALICE)
    for other in (
        TokenService(SigningKeys(b"s" * 32), "other", "aud", 3600),
        TokenService(SigningKeys(b"s" * 32), "iss", "other", 3600),
        TokenService(SigningKeys(b"t" * 32), "iss", "aud", 3600),
    ):
        with pytest.raises(InvalidToken):
            other.verify(token)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c", "é.é.é", "x" * 9000, None, 5])
def test_malformed_tokens_raise_invalid_token_only(token: object) -> None:
    with pytest.raises(InvalidToken):
        SERVICE.verify(token)  # type: ignore[arg-type]


def test_a_list_audience_is_not_accepted() -> None:
    claims = jwt.decode(SERVICE.issue(ALICE), options={"verify_signature": False})
    claims["aud"] = ["aud", "other"]
    with pytest.raises(InvalidToken):
        SERVICE.verify(jwt.encode(claims, b"s" * 32, algorithm="HS256", headers=_KID))
