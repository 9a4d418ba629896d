"""Properties: ``TokenService.verify`` answers a ``Principal`` or ``InvalidToken``, nothing else.

Whatever the authorizer is handed — any text, any bytes, any JSON header and claims signed
with the right secret — a token is either accepted (and then it obeys every v2 rule) or
refused with ``InvalidToken``; any other exception would be a 500. Conversely any claims
obeying the rules are accepted. And a valid token has a single spelling: changing one
character or appending ``=`` never verifies. Runs are bounded (200 examples per property, no
deadline) and write no example database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.auth.signing_secret import SigningKeys, key_id
from chalicelib.auth.tokens import LEEWAY_SECONDS, InvalidToken, Principal, TokenService

SECRET = b"k" * 32
KID = key_id(SECRET)
LIFETIME = 900
NOW = 1_800_000_000
SERVICE = TokenService(SigningKeys(SECRET), issuer="iss", audience="aud", lifetime_seconds=LIFETIME)
ALICE = Principal(user_id="01JDQ3AAAAAAAAAAAAAAAAAAAA", username="alice")
BOUNDED = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
STRING_CLAIMS = ("sub", "username", "jti")
RULED = frozenset(("sub", "username", "iss", "aud", "iat", "exp", "nbf", "jti"))
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signed(header: Any, claims: Any) -> str:
    """A token whose segments are the JSON of anything, HMAC-signed with the right secret."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(SECRET, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def verdict(token: object) -> Principal | None:
    """The principal, or ``None`` for ``InvalidToken``; any other exception fails the test."""
    try:
        return SERVICE.verify(token, now=NOW)  # type: ignore[arg-type]
    except InvalidToken:
        return None


# --- strategies ----------------------------------------------------------------------------

# Dates near the clock, as integers and as every wrong type a date could be given.
near_now = st.integers(NOW - 2 * LIFETIME, NOW + 2 * LIFETIME)
dates = st.one_of(
    near_now,
    near_now.map(str),
    near_now.map(float),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.integers(),
    st.just(1e308),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)


def _nested(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=8), children, max_size=4),
        ),
        max_leaves=12,
    )


# What json.dumps writes, including NaN and Infinity (which are not JSON, and are refused)...
json_values = _nested(scalars)
# ...and strictly JSON, for claims a valid token may carry besides the ruled ones.
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
strict_json_values = _nested(
    st.one_of(st.none(), st.booleans(), st.integers(), finite_floats, st.text(max_size=20))
)
claim_names = st.sampled_from(("sub", "username", "iss", "aud", "iat", "exp", "nbf", "jti"))
header_names = st.sampled_from(("alg", "kid", "typ", "crit", "cty", "jku"))


def valid_claims(issued_at: int) -> dict[str, Any]:
    return {
        "sub": ALICE.user_id,
        "username": ALICE.username,
        "iss": "iss",
        "aud": "aud",
        "iat": issued_at,
        "exp": issued_at + LIFETIME,
        "jti": "a-unique-id",
    }


@st.composite
def headers(draw: st.DrawFn) -> Any:
    """The right header (half the time, so claims get checked), or one with members
    replaced, dropped or added, or any JSON at all."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(json_values)
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT", "kid": KID}
    if choice > 4:
        return header
    for name in draw(st.sets(header_names, max_size=2)):
        header.pop(name, None)
    header.update(
        draw(
            st.dictionaries(
                header_names | st.text(max_size=8),
                st.sampled_from(["HS256", "hs256", "none", "JWT", KID, []]) | json_values,
                max_size=2,
            )
        )
    )
    return header


@st.composite
def claim_sets(draw: st.DrawFn) -> Any:
    """Valid claims with some replaced by wrong values or types, dropped or added; or any JSON."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    claims = valid_claims(draw(near_now))
    for name in draw(st.sets(claim_names, max_size=2)):
        claims.pop(name, None)
    overrides = draw(
        st.dictionaries(
            claim_names | st.text(max_size=8),
            st.one_of(dates, json_values, st.sampled_from(["", " ", "\t\n", "iss", "aud"])),
            max_size=3,
        )
    )
    claims.update(overrides)
    return claims


# --- properties ----------------------------------------------------------------------------


def _obeys_the_v2_rules(claims: dict[str, Any]) -> bool:
    """An independent statement of the claim rules, for tokens ``verify`` accepted."""
    integers = [claims.get(name) for name in ("iat", "exp", "nbf") if name in claims]
    if not all(type(value) is int for value in integers):
        return False
    iat, exp, nbf = claims["iat"], claims["exp"], claims.get("nbf", NOW)
    return (
        0 < exp - iat <= LIFETIME
        and exp + LEEWAY_SECONDS > NOW
        and iat <= NOW + LEEWAY_SECONDS
        and nbf <= NOW + LEEWAY_SECONDS
        and claims["iss"] == "iss"
        and claims["aud"] == "aud"
        and all(isinstance(claims[name], str) and claims[name].strip() for name in STRING_CLAIMS)
    )


@BOUNDED
@given(st.text(max_size=300))
def test_any_text_is_refused_with_invalid_token(token: str) -> None:
    assert verdict(token) is None


@BOUNDED
@given(st.binary(max_size=300))
def test_any_bytes_are_refused_with_invalid_token(token: bytes) -> None:
    assert verdict(token) is None


@BOUNDED
@given(
    st.lists(st.text(B64URL_ALPHABET + "=+/. ", max_size=60), min_size=1, max_size=5).map(".".join)
)
def test_anything_shaped_like_a_token_is_refused_with_invalid_token(token: str) -> None:
    assert verdict(token) is None


@BOUNDED
@given(headers(), claim_sets())
def test_any_json_signed_with_the_right_secret_is_a_principal_or_invalid_token(
    header: Any, claims: Any
) -> None:
    principal = verdict(signed(header, claims))
    event("accepted" if principal is not None else "refused")
    if principal is not None:
        assert header.get("alg") == "HS256" and header.get("kid") == KID
        assert header.get("typ", "JWT") == "JWT" and "crit" not in header
        assert _obeys_the_v2_rules(claims), claims
        assert principal == Principal(claims["sub"], claims["username"])


@BOUNDED
@given(st.data())
def test_a_valid_token_with_one_character_changed_never_verifies(data: st.DataObject) -> None:
    token = SERVICE.issue(ALICE, now=NOW)
    assert verdict(token) == ALICE
    index = data.draw(st.integers(0, len(token) - 1), label="index")
    replacement = data.draw(
        st.sampled_from(B64URL_ALPHABET + "=.") | st.characters(), label="replacement"
    )
    changed = token[:index] + replacement + token[index + 1 :]
    if changed != token:
        assert verdict(changed) is None


@BOUNDED
@given(st.integers(0, 2), st.integers(1, 3))
def test_a_valid_token_with_equals_signs_appended_to_a_segment_never_verifies(
    segment: int, count: int
) -> None:
    parts = SERVICE.issue(ALICE, now=NOW).split(".")
    parts[segment] += "=" * count
    assert verdict(".".join(parts)) is None


non_blank_text = st.text(min_size=1, max_size=30).filter(str.strip)


@st.composite
def claims_obeying_the_rules(draw: st.DrawFn) -> dict[str, Any]:
    """Integer dates anywhere the rules allow, any non-blank names, extra unknown claims."""
    iat = draw(st.integers(NOW - LEEWAY_SECONDS - LIFETIME + 1, NOW + LEEWAY_SECONDS))
    exp = draw(st.integers(max(iat + 1, NOW - LEEWAY_SECONDS + 1), iat + LIFETIME))
    unknown_names = st.text(max_size=8).filter(lambda name: name not in RULED)
    claims: dict[str, Any] = draw(st.dictionaries(unknown_names, strict_json_values, max_size=3))
    claims.update(valid_claims(iat), exp=exp)
    claims.update(sub=draw(non_blank_text), username=draw(non_blank_text), jti=draw(non_blank_text))
    if draw(st.booleans()):
        claims["nbf"] = draw(st.integers(max_value=NOW + LEEWAY_SECONDS))
    return claims


@BOUNDED
@given(claims_obeying_the_rules())
def test_any_claims_obeying_the_rules_are_accepted(claims: dict[str, Any]) -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": KID}
    assert verdict(signed(header, claims)) == Principal(claims["sub"], claims["username"])
