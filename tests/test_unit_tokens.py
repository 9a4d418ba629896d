"""Unit: issuing and verifying access tokens (the contract's v2 rules, one test per rule).

Most tokens here are built by hand and signed with ``hmac`` so that the tests can produce
what no well-behaved library would: string or float dates, repeated keys, padded or
re-spelled base64url. Tokens are stamped with the real clock unless a test injects ``now``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from chalicelib.auth.signing_secret import SigningKeys, key_id
from chalicelib.auth.tokens import LEEWAY_SECONDS, InvalidToken, Principal, TokenService

SECRET = b"s" * 32
PREVIOUS = b"p" * 32
KID = key_id(SECRET)
LIFETIME = 3600
SERVICE = TokenService(
    keys=SigningKeys(SECRET), issuer="iss", audience="aud", lifetime_seconds=LIFETIME
)
_KID = {"kid": KID}
ALICE = Principal(user_id="01JDQ3AAAAAAAAAAAAAAAAAAAA", username="alice")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
DROP = object()  # an override that removes the claim or header (``None`` is a JSON null)


def b64(data: bytes) -> str:
    """Canonical unpadded base64url."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims(now: int | None = None, **overrides: Any) -> dict[str, Any]:
    """Valid claims issued at ``now`` (default: the real clock); ``DROP`` removes a claim."""
    issued = int(time.time()) if now is None else now
    values: dict[str, Any] = {
        "sub": ALICE.user_id,
        "username": ALICE.username,
        "iss": "iss",
        "aud": "aud",
        "iat": issued,
        "exp": issued + 600,
        "jti": "a-unique-id",
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not DROP}


def header(**overrides: Any) -> dict[str, Any]:
    """The header ``issue`` writes, with overrides; ``DROP`` removes a member."""
    values = {"alg": "HS256", "typ": "JWT", "kid": KID, **overrides}
    return {name: value for name, value in values.items() if value is not DROP}


def sign(header_b64: str, payload_b64: str, secret: bytes = SECRET) -> str:
    """The signed token for two already-encoded segments (encoded as the caller likes)."""
    mac = hmac.new(secret, f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    return f"{header_b64}.{payload_b64}.{b64(mac)}"


def token(
    payload: dict[str, Any] | None = None,
    head: dict[str, Any] | None = None,
    secret: bytes = SECRET,
) -> str:
    payload = claims() if payload is None else payload
    head = header() if head is None else head
    return sign(b64(json.dumps(head).encode()), b64(json.dumps(payload).encode()), secret)


def refused(candidate: object, now: float | None = None) -> bool:
    """True when ``verify`` refuses with ``InvalidToken``; any other exception propagates."""
    try:
        if now is None:  # the real clock, through the one-argument call the authorizer makes
            SERVICE.verify(candidate)  # type: ignore[arg-type]
        else:
            SERVICE.verify(candidate, now=now)  # type: ignore[arg-type]
    except InvalidToken:
        return True
    return False


# --- issuing -------------------------------------------------------------------------------


def test_issue_then_verify_round_trips_the_principal() -> None:
    assert SERVICE.verify(SERVICE.issue(ALICE)) == ALICE


def test_an_issued_token_is_canonical_and_readable_by_pyjwt() -> None:
    issued = SERVICE.issue(ALICE, now=1_800_000_000)
    assert "=" not in issued and issued.count(".") == 2
    assert jwt.get_unverified_header(issued) == {"alg": "HS256", "kid": KID, "typ": "JWT"}
    decoded = jwt.decode(
        issued,
        SECRET,
        algorithms=["HS256"],
        audience="aud",
        issuer="iss",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert decoded["exp"] - decoded["iat"] == LIFETIME
    assert (decoded["sub"], decoded["username"]) == (ALICE.user_id, ALICE.username)


def test_each_token_has_a_unique_jti() -> None:
    first, second = SERVICE.issue(ALICE), SERVICE.issue(ALICE)
    decoded = [jwt.decode(t, options={"verify_signature": False}) for t in (first, second)]
    assert decoded[0]["jti"] != decoded[1]["jti"]


def test_a_hand_built_token_of_the_test_helpers_verifies() -> None:
    """The control for every refusal below: the same construction, untouched, is valid."""
    assert SERVICE.verify(token()) == ALICE


def test_a_token_signed_with_the_previous_secret_still_verifies() -> None:
    rotated = TokenService(SigningKeys(SECRET, previous=PREVIOUS), "iss", "aud", LIFETIME)
    old = token(head=header(kid=key_id(PREVIOUS)), secret=PREVIOUS)
    assert rotated.verify(old) == ALICE
    assert refused(old)  # SERVICE does not know the previous secret


# --- the clock -----------------------------------------------------------------------------


def test_a_token_expires_after_its_lifetime_plus_at_most_30_seconds_leeway() -> None:
    token_ = SERVICE.issue(ALICE, now=time.time() - 3600 - 29)
    assert SERVICE.verify(token_) == ALICE
    with pytest.raises(InvalidToken):
        SERVICE.verify(SERVICE.issue(ALICE, now=time.time() - 3600 - 31))


def test_an_injected_clock_expires_a_token_exactly_at_exp_plus_leeway() -> None:
    issued_at = 1_800_000_000
    issued = SERVICE.issue(ALICE, now=issued_at)
    expires = issued_at + LIFETIME
    assert SERVICE.verify(issued, now=issued_at) == ALICE
    assert SERVICE.verify(issued, now=expires + LEEWAY_SECONDS - 0.001) == ALICE
    with pytest.raises(InvalidToken):
        SERVICE.verify(issued, now=expires + LEEWAY_SECONDS)


def test_an_injected_clock_refuses_a_token_issued_beyond_the_leeway_in_the_future() -> None:
    issued_at = 1_800_000_000
    issued = SERVICE.issue(ALICE, now=issued_at)
    assert SERVICE.verify(issued, now=issued_at - LEEWAY_SECONDS) == ALICE
    with pytest.raises(InvalidToken):
        SERVICE.verify(issued, now=issued_at - LEEWAY_SECONDS - 0.001)


def test_an_injected_clock_honours_nbf_with_the_leeway() -> None:
    now = 1_800_000_000
    not_before = token(claims(now, nbf=now + 100))
    assert SERVICE.verify(not_before, now=now + 100 - LEEWAY_SECONDS) == ALICE
    with pytest.raises(InvalidToken):
        SERVICE.verify(not_before, now=now + 100 - LEEWAY_SECONDS - 1)


# --- claim types and values ----------------------------------------------------------------

# Overrides as functions of the clock, so a slow run never refuses them for being stale.
BAD_CLAIMS: dict[str, Callable[[int], dict[str, Any]]] = {
    "iat as a string": lambda now: {"iat": str(now)},
    "iat as the attack's string": lambda now: {"iat": "1796169481"},
    "exp as a string": lambda now: {"exp": str(now + 600)},
    "exp 1e308 (never expires)": lambda now: {"exp": 1e308},
    "exp as a float": lambda now: {"exp": float(now + 600)},
    "iat as a float": lambda now: {"iat": float(now)},
    "iat as a fractional float": lambda now: {"iat": now + 0.5},
    "iat true": lambda now: {"iat": True},
    "exp true": lambda now: {"exp": True},
    "iat null": lambda now: {"iat": None},
    "nbf as a string": lambda now: {"nbf": str(now - 10)},
    "nbf as a float": lambda now: {"nbf": float(now - 10)},
    "nbf false": lambda now: {"nbf": False},
    "nbf null": lambda now: {"nbf": None},
    "exp - iat beyond the lifetime": lambda now: {"iat": now - 10, "exp": now + LIFETIME - 9},
    "exp a year away": lambda now: {"exp": now + 365 * 86400},
    "exp before iat": lambda now: {"exp": now - 1},
    "exp equal to iat": lambda now: {"exp": now},
    "sub a blank": lambda now: {"sub": " "},
    "sub white space": lambda now: {"sub": " \t\n"},
    "sub empty": lambda now: {"sub": ""},
    "sub a number": lambda now: {"sub": 42},
    "sub null": lambda now: {"sub": None},
    "sub a lone surrogate": lambda now: {"sub": "\ud800"},
    "username empty": lambda now: {"username": ""},
    "username white space": lambda now: {"username": " \t"},
    "username a list": lambda now: {"username": ["alice"]},
    "jti empty": lambda now: {"jti": ""},
    "jti white space": lambda now: {"jti": "   "},
    "jti a number": lambda now: {"jti": 7},
    "iss other": lambda now: {"iss": "other"},
    "iss a list": lambda now: {"iss": ["iss"]},
    "aud a list with another member": lambda now: {"aud": ["aud", "other"]},
    "aud a one-element list": lambda now: {"aud": ["aud"]},  # one spelling: the string only
    **{
        f"missing {name}": (lambda now, name=name: {name: DROP})
        for name in ("sub", "username", "iss", "aud", "iat", "exp", "jti")
    },
}


@pytest.mark.parametrize("case", sorted(BAD_CLAIMS))
def test_claims_breaking_a_v2_rule_are_refused(case: str) -> None:
    now = int(time.time())
    assert refused(token(claims(now, **BAD_CLAIMS[case](now))))


def test_exp_minus_iat_equal_to_the_lifetime_is_accepted() -> None:
    now = int(time.time())
    assert SERVICE.verify(token(claims(now, exp=now + LIFETIME))) == ALICE


def test_a_huge_integer_date_is_refused_not_a_crash() -> None:
    assert refused(token(claims(exp=10**300)))
    assert refused(sign(b64(json.dumps(header()).encode()), b64(b'{"exp":' + b"9" * 5000 + b"}")))


def test_duplicate_claim_keys_are_refused() -> None:
    payload = json.dumps(claims())[:-1] + ', "sub": "01JDQ3BBBBBBBBBBBBBBBBBBBB"}'
    assert refused(sign(b64(json.dumps(header()).encode()), b64(payload.encode())))


def test_duplicate_header_keys_are_refused() -> None:
    head = json.dumps(header())[:-1] + ', "alg": "HS256"}'
    assert refused(sign(b64(head.encode()), b64(json.dumps(claims()).encode())))


@pytest.mark.parametrize("payload", [b"[]", b'"sub"', b"null", b"1", b"", b"{", b"\xff{}"])
def test_a_payload_that_is_not_a_json_object_is_refused(payload: bytes) -> None:
    assert refused(sign(b64(json.dumps(header()).encode()), b64(payload)))


def test_nan_and_infinity_are_refused() -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        payload = json.dumps(claims())[:-1] + f', "nbf": {constant}}}'
        assert refused(sign(b64(json.dumps(header()).encode()), b64(payload.encode())))


def test_deeply_nested_json_is_refused_not_a_recursion_error() -> None:
    deep = b"[" * 5000 + b"]" * 5000
    assert refused(sign(b64(deep), b64(json.dumps(claims()).encode())))
    nested_claim = json.dumps(claims())[:-1].encode() + b', "x": ' + deep[:4000] + b"}"
    assert refused(sign(b64(json.dumps(header()).encode()), b64(nested_claim)))


# --- the header ----------------------------------------------------------------------------

BAD_HEADERS = {
    "alg lowercase": {"alg": "hs256"},
    "alg none": {"alg": "none"},
    "alg HS384": {"alg": "HS384"},
    "alg missing": {"alg": DROP},
    "alg null": {"alg": None},
    "alg a list": {"alg": ["HS256"]},
    "typ xyz": {"typ": "xyz"},
    "typ lowercase jwt": {"typ": "jwt"},
    "typ null": {"typ": None},
    "crit": {"crit": ["exp"]},
    "crit empty": {"crit": []},
    "kid missing": {"kid": DROP},
    "kid unknown": {"kid": "0123456789abcdef"},
    "kid a number": {"kid": 0},
    "kid a list": {"kid": [KID]},
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_headers_other_than_hs256_with_a_known_kid_are_refused(case: str) -> None:
    assert refused(token(head=header(**BAD_HEADERS[case])))


def test_a_header_without_typ_is_accepted() -> None:
    assert SERVICE.verify(token(head=header(typ=DROP))) == ALICE


@pytest.mark.parametrize("head", [b"[]", b'"HS256"', b"", b"{}"])
def test_a_header_that_is_not_a_usable_json_object_is_refused(head: bytes) -> None:
    assert refused(sign(b64(head), b64(json.dumps(claims()).encode())))


# --- the signature -------------------------------------------------------------------------


def test_a_token_signed_with_another_secret_is_refused() -> None:
    assert refused(token(secret=b"t" * 32))


def test_another_issuer_audience_or_secret_is_rejected() -> None:
    token_ = SERVICE.issue(ALICE)
    for other in (
        TokenService(SigningKeys(SECRET), "other", "aud", 3600),
        TokenService(SigningKeys(SECRET), "iss", "other", 3600),
        TokenService(SigningKeys(b"t" * 32), "iss", "aud", 3600),
    ):
        with pytest.raises(InvalidToken):
            other.verify(token_)


def test_a_list_audience_is_not_accepted() -> None:
    decoded = jwt.decode(SERVICE.issue(ALICE), options={"verify_signature": False})
    decoded["aud"] = ["aud", "other"]
    with pytest.raises(InvalidToken):
        SERVICE.verify(jwt.encode(decoded, SECRET, algorithm="HS256", headers=_KID))


def test_an_empty_signature_is_refused() -> None:
    head, payload, _ = token().split(".")
    assert refused(f"{head}.{payload}.")


# --- canonical base64url -------------------------------------------------------------------


def test_a_trailing_equals_sign_on_the_token_is_refused() -> None:
    valid = SERVICE.issue(ALICE)
    assert SERVICE.verify(valid) == ALICE
    for suffix in ("=", "==", "==="):
        assert refused(valid + suffix)


def _needing_padding(data: dict[str, Any]) -> str:
    """The JSON of ``data`` (plus trailing white space) whose base64 needs ``=`` padding."""
    text = json.dumps(data)
    while len(text) % 3 == 0:
        text += " "
    return b64(text.encode())


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_a_trailing_equals_sign_on_any_segment_is_refused(segment: int) -> None:
    """Exactly the padding base64 would add, re-signed where it is signed over: one ``=``
    too many for the contract, although every byte decodes the same."""
    parts = sign(_needing_padding(header()), _needing_padding(claims())).split(".")
    assert SERVICE.verify(".".join(parts)) == ALICE
    for padding in ("=" * (-len(parts[segment]) % 4), "=", "=="):
        padded = [part + padding if i == segment else part for i, part in enumerate(parts)]
        if segment < 2:
            padded = sign(padded[0], padded[1]).split(".")
        assert refused(".".join(padded)), padding


def test_properly_padded_segments_are_refused_too() -> None:
    head = base64.urlsafe_b64encode(json.dumps(header()).encode()).decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims()).encode()).decode()
    assert "=" in head + payload
    assert refused(sign(head, payload))


def _respell_last_character(segment: str) -> str:
    """The same bytes, spelled with non-zero trailing bits (the last character's low bit)."""
    last = ALPHABET.index(segment[-1])
    respelled = segment[:-1] + ALPHABET[last ^ 1]
    pad = "=" * (-len(segment) % 4)
    assert base64.urlsafe_b64decode(respelled + pad) == base64.urlsafe_b64decode(segment + pad)
    return respelled


def test_a_respelled_signature_with_non_zero_trailing_bits_is_refused() -> None:
    valid = SERVICE.issue(ALICE)
    head, payload, signature = valid.split(".")
    assert len(signature) % 4 == 3  # 32 bytes: 43 characters, the last holding 2 unused bits
    assert refused(f"{head}.{payload}.{_respell_last_character(signature)}")


def test_a_respelled_payload_with_non_zero_trailing_bits_is_refused() -> None:
    payload_json = json.dumps(claims())
    while len(payload_json) % 3 == 0:  # so the encoding ends with unused bits
        payload_json = payload_json[:-1] + " }"
    head_b64 = b64(json.dumps(header()).encode())
    assert refused(sign(head_b64, _respell_last_character(b64(payload_json.encode()))))


@pytest.mark.parametrize("bad", ["+", "/", " ", "\n", "é", "*"])
def test_characters_outside_base64url_are_refused(bad: str) -> None:
    head, payload, signature = token().split(".")
    assert refused(sign(head, payload[:10] + bad + payload[10:]))
    assert refused(f"{head}.{payload}.{signature}{bad}")


def test_a_segment_of_length_one_mod_four_is_refused() -> None:
    head, payload, _ = token().split(".")
    extra = payload + "A" * ((1 - len(payload)) % 4)
    assert len(extra) % 4 == 1
    assert refused(sign(head, extra))


# --- any input at all ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "a.b",
        "a.b.c",
        "é.é.é",
        "x" * 9000,
        None,
        5,
        b"bytes.are.not",
        ["a", "b", "c"],
        "..",
        "a.b.c.d",
        "\x00.\x00.\x00",
        "\ud800.\ud800.\ud800",
    ],
)
def test_malformed_tokens_raise_invalid_token_only(candidate: object) -> None:
    with pytest.raises(InvalidToken):
        SERVICE.verify(candidate)  # type: ignore[arg-type]


def test_an_issued_token_as_bytes_is_refused() -> None:
    assert refused(SERVICE.issue(ALICE).encode())


def test_a_token_just_over_the_size_limit_is_refused() -> None:
    assert refused(token(claims(username="u" * 8200)))
