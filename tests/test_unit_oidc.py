"""Unit: the cognito mode's RS256 verifier (``chalicelib.auth.oidc``) and its JWKS cache.

Tokens are signed here with RSA keys generated once per session (``cryptography``, which
the dev environment has through moto; the app itself never imports it), and the JWKS comes
from a stub or, where the network path matters, from a small HTTP server on loopback. The
same helpers serve ``tests/test_cognito_api.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import request_budget
from chalicelib.auth import oidc
from chalicelib.auth.oidc import (
    JwksCache,
    KeysUnavailable,
    OidcVerifier,
    RsaPublicKey,
    fetch_jwks,
    parse_jwks,
)
from chalicelib.auth.tokens import InvalidToken, Principal
from chalicelib.config import OidcSettings

REGION = "us-east-1"
POOL = "us-east-1_TestPool1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
CLIENT = "3n4b5urk1ft4fl3mg5e62d9ado"
SUB = "8a1e5c3e-1b2f-4c7d-9e0a-123456789abc"
NOW = 1_800_000_000
COGNITO = OidcSettings(issuer=ISSUER, audience=CLIENT, jwks_url=f"{ISSUER}/.well-known/jwks.json")
BOUNDED = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# --- keys, JWKS and tokens ------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = new_key()
OTHER_KEY = new_key()  # another issuer's, or a rotated key


def jwk(key: rsa.RSAPrivateKey, kid: str, **extra: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return {
        "kty": "RSA",
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
        "n": b64(n),
        "e": b64(e),
        **extra,
    }


def jwks(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"keys": list(entries)}).encode()


JWKS = jwks(jwk(KEY, "kid-1"))


def access_claims(**overrides: Any) -> dict[str, Any]:
    """A Cognito access token's claims (as Cognito writes them); ``None`` drops a claim."""
    claims = {
        "sub": SUB,
        "iss": ISSUER,
        "client_id": CLIENT,
        "origin_jti": "c2d4e6f8-0000-4000-8000-000000000000",
        "event_id": "e1f2a3b4-0000-4000-8000-000000000000",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": NOW - 60,
        "iat": NOW - 60,
        "exp": NOW + 3540,
        "jti": "0f1e2d3c-0000-4000-8000-000000000000",
        "username": "alice",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign_rs256(key: rsa.RSAPrivateKey, signing_input: bytes) -> bytes:
    return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def token(
    claims: dict[str, Any] | None = None,
    *,
    key: rsa.RSAPrivateKey = KEY,
    header: dict[str, Any] | None = None,
) -> str:
    """An RS256 token of ``claims`` (default: a valid access token) signed with ``key``."""
    head = {"kid": "kid-1", "alg": "RS256"} if header is None else header
    body = access_claims() if claims is None else claims
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body).encode())}"
    return f"{signing_input}.{b64(sign_rs256(key, signing_input.encode()))}"


class StubFetch:
    """A JWKS fetch that answers ``documents`` in turn (the last one from then on)."""

    def __init__(self, *documents: bytes | Exception) -> None:
        self.documents = list(documents)
        self.calls: list[float] = []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.calls.append(timeout)
        document = self.documents[0] if len(self.documents) == 1 else self.documents.pop(0)
        if isinstance(document, Exception):
            raise document
        return document


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(
    fetch: Callable[[str, float], bytes] | None = None,
    settings: OidcSettings = COGNITO,
    clock: Callable[[], float] = time.monotonic,
) -> OidcVerifier:
    cache = JwksCache(settings.jwks_url, fetch=fetch or StubFetch(JWKS), clock=clock)
    return OidcVerifier(settings, cache)


def verdict(verify: OidcVerifier, presented: object) -> Principal | None:
    """The principal, or ``None`` for ``InvalidToken``; any other exception fails the test."""
    try:
        return verify.verify(presented, now=NOW)  # type: ignore[arg-type]
    except InvalidToken:
        return None


class JwksServer:
    """A JWKS endpoint on loopback: ``documents`` by path; ``hang`` answers nothing."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.status = 200
        self.hang = threading.Event()
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if server.hang.is_set():
                    server.hang_released.wait(10)
                    return
                body = server.documents.get(self.path, b"not found")
                status = server.status if self.path in server.documents else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.hang_released = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.hang_released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


# --- RSASSA-PKCS1-v1_5 with SHA-256 ---------------------------------------------------------


def test_signatures_made_by_cryptography_verify_and_altered_ones_do_not() -> None:
    public = parse_jwks(JWKS)["kid-1"]
    for size in (0, 1, 31, 32, 33, 1000):
        message = bytes(range(256))[:size] * 3
        signature = sign_rs256(KEY, message)
        assert public.verifies(message, signature)
        assert not public.verifies(message + b"x", signature)
        flipped = bytearray(signature)
        flipped[size % len(flipped)] ^= 0x01
        assert not public.verifies(message, bytes(flipped))
        assert not public.verifies(message, signature[1:])  # one byte short
        assert not public.verifies(message, b"\x00" + signature)  # one byte long
        assert not parse_jwks(jwks(jwk(OTHER_KEY, "k")))["k"].verifies(message, signature)


def test_a_signature_not_below_the_modulus_is_refused() -> None:
    public = parse_jwks(JWKS)["kid-1"]
    signature = sign_rs256(KEY, b"m")
    as_int = int.from_bytes(signature, "big")
    assert not public.verifies(b"m", (as_int + public.n).to_bytes(public.size + 1, "big")[1:])
    assert not public.verifies(b"m", public.n.to_bytes(public.size, "big"))


def test_a_signature_with_another_digest_info_is_refused() -> None:
    """RS512's PKCS#1 block (SHA-512 DigestInfo) is not RS256's, for the same message."""
    public = parse_jwks(JWKS)["kid-1"]
    rs512 = KEY.sign(b"m", padding.PKCS1v15(), hashes.SHA512())
    assert not public.verifies(b"m", rs512)


# --- the JWKS document ----------------------------------------------------------------------


def test_the_jwks_keeps_only_rs256_signing_keys_of_at_least_2048_bits() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    document = jwks(
        jwk(KEY, "good"),
        jwk(OTHER_KEY, "rs512", alg="RS512"),
        jwk(OTHER_KEY, "enc", use="enc"),
        jwk(small, "small"),
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        {k: v for k, v in jwk(OTHER_KEY, "no-alg").items() if k not in ("alg", "use")},
        "not an object",
    )
    assert sorted(parse_jwks(document)) == ["good", "no-alg"]


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"[]",
        b'{"keys": {}}',
        b'{"keys": []}',
        jwks({"kty": "oct", "kid": "h", "k": "c2VjcmV0"}),
    ],
)
def test_a_jwks_without_a_usable_key_is_an_error(document: bytes) -> None:
    with pytest.raises(ValueError):
        parse_jwks(document)


# --- the verifier: what is accepted ---------------------------------------------------------


def test_a_cognito_access_token_gives_its_sub_and_username() -> None:
    assert verifier().verify(token(), now=NOW) == Principal(user_id=SUB, username="alice")


@pytest.mark.parametrize(
    ("overrides", "username"),
    [
        ({"username": None, "cognito:username": "bob"}, "bob"),
        ({"username": None}, SUB),
        ({"username": "Ünïcode user"}, "Ünïcode user"),
    ],
)
def test_the_username_falls_back_to_cognito_username_then_sub(
    overrides: dict, username: str
) -> None:
    assert verifier().verify(token(access_claims(**overrides)), now=NOW).username == username


def test_the_leeway_is_thirty_seconds_either_side() -> None:
    verify = verifier()
    assert verdict(verify, token(access_claims(exp=NOW - 29)))
    assert verdict(verify, token(access_claims(iat=NOW + 30, exp=NOW + 600)))
    assert verdict(verify, token(access_claims(nbf=NOW + 30)))


def test_typ_may_be_absent_jwt_or_at_jwt() -> None:
    verify = verifier()
    for typ in ("JWT", "at+jwt"):
        assert verdict(verify, token(header={"kid": "kid-1", "alg": "RS256", "typ": typ}))


def test_another_issuer_by_configuration_with_aud() -> None:
    """E.g. Auth0: the API's identifier in ``aud`` (a string or a list), no ``token_use``;
    its ID tokens, whose ``aud`` is the client id, are refused."""
    auth0 = OidcSettings(
        issuer="https://example.eu.auth0.com/",
        audience="https://tasks.example.com",
        jwks_url="https://example.eu.auth0.com/.well-known/jwks.json",
        audience_claim="aud",
        token_use=None,
    )
    verify = verifier(settings=auth0)
    base = {
        "iss": "https://example.eu.auth0.com/",
        "sub": "auth0|6543210fedcba",
        "iat": NOW - 10,
        "exp": NOW + 86_390,
    }
    for aud in ("https://tasks.example.com", ["https://tasks.example.com", "https://x/userinfo"]):
        principal = verdict(verify, token({**base, "aud": aud}))
        assert principal == Principal(user_id="auth0|6543210fedcba", username="auth0|6543210fedcba")
    assert verdict(verify, token({**base, "aud": "the-client-id", "nonce": "n"})) is None
    assert verdict(verify, token({**base, "aud": ["https://tasks.example.com", 1]})) is None
    assert verdict(verify, token({**base, "client_id": "https://tasks.example.com"})) is None


# --- the verifier: what is refused ----------------------------------------------------------


def _hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return (
        f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    )


PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def _with_signature(presented: str, signature: str) -> str:
    return presented.rsplit(".", 1)[0] + "." + signature


def _tampered(presented: str) -> str:
    header, payload, signature = presented.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "someone-else"
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


def _alg_none() -> str:
    header = b64(json.dumps({"alg": "none", "kid": "kid-1"}).encode())
    return f"{header}.{b64(json.dumps(access_claims()).encode())}."


def _standard_alphabet() -> str:
    """A valid token respelled in standard base64 (``+`` and ``/``), which is refused."""
    for n in range(100):
        original = token(access_claims(username=f"alice{n}"))
        header, payload, signature = original.split(".")
        raw = base64.urlsafe_b64decode(signature + "==")
        standard = base64.b64encode(raw).decode().rstrip("=")
        if standard != signature:
            return f"{header}.{payload}.{standard}"
    raise AssertionError("no signature with - or _ in 100 tokens")


REFUSED: dict[str, Callable[[], str]] = {
    "alg none": _alg_none,
    "HS256 signed with the public key (PEM)": lambda: _hs256(
        {"alg": "HS256", "kid": "kid-1"}, access_claims(), PUBLIC_PEM
    ),
    "HS256 signed with the JWK's n": lambda: _hs256(
        {"alg": "HS256", "kid": "kid-1"}, access_claims(), json.loads(JWKS)["keys"][0]["n"].encode()
    ),
    "RS256 header, HMAC signature with the PEM": lambda: _hs256(
        {"alg": "RS256", "kid": "kid-1"}, access_claims(), PUBLIC_PEM
    ),
    "RS512": lambda: _with_signature(
        token(header={"kid": "kid-1", "alg": "RS512"}),
        b64(KEY.sign(b"x", padding.PKCS1v15(), hashes.SHA512())),
    ),
    "alg rs256 (case)": lambda: token(header={"kid": "kid-1", "alg": "rs256"}),
    "typ id+jwt": lambda: token(header={"kid": "kid-1", "alg": "RS256", "typ": "id+jwt"}),
    "crit header": lambda: token(header={"kid": "kid-1", "alg": "RS256", "crit": ["exp"]}),
    "no kid": lambda: token(header={"alg": "RS256"}),
    "kid not a string": lambda: token(header={"kid": 1, "alg": "RS256"}),
    "signed by another key with our kid": lambda: token(key=OTHER_KEY),
    "tampered payload": lambda: _tampered(token()),
    "signature of another token": lambda: _with_signature(
        token(), token(access_claims(username="bob")).rsplit(".", 1)[1]
    ),
    "empty signature": lambda: _with_signature(token(), ""),
    "wrong issuer": lambda: token(access_claims(iss=ISSUER + "/")),
    "another pool's token": lambda: token(
        access_claims(iss=f"https://cognito-idp.{REGION}.amazonaws.com/us-east-1_OtherPool")
    ),
    "ID token": lambda: token(
        access_claims(token_use="id", client_id=None, aud=CLIENT, **{"cognito:username": "alice"})
    ),
    "no token_use": lambda: token(access_claims(token_use=None)),
    "another app client's token": lambda: token(access_claims(client_id="another-client-id")),
    "aud instead of client_id": lambda: token(access_claims(client_id=None, aud=CLIENT)),
    "client_id as a list": lambda: token(access_claims(client_id=[CLIENT])),
    "expired": lambda: token(access_claims(iat=NOW - 3700, exp=NOW - 100)),
    "issued in the future": lambda: token(access_claims(iat=NOW + 600, exp=NOW + 1200)),
    "not yet valid": lambda: token(access_claims(nbf=NOW + 600)),
    "lifetime over a day": lambda: token(access_claims(iat=NOW - 10, exp=NOW + 86_400)),
    "exp before iat": lambda: token(access_claims(iat=NOW, exp=NOW - 1)),
    "string exp": lambda: token(access_claims(exp=str(NOW + 600))),
    "float exp": lambda: token(access_claims(exp=NOW + 600.0)),
    "huge float exp": lambda: token(access_claims(exp=1e308)),
    "boolean iat": lambda: token(access_claims(iat=True)),
    "string nbf": lambda: token(access_claims(nbf=str(NOW))),
    "missing exp": lambda: token(access_claims(exp=None)),
    "missing iat": lambda: token(access_claims(iat=None)),
    "missing sub": lambda: token(access_claims(sub=None)),
    "empty sub": lambda: token(access_claims(sub="")),
    "sub with a space": lambda: token(access_claims(sub="a b")),
    "sub too long": lambda: token(access_claims(sub="a" * 256)),
    "sub not ASCII": lambda: token(access_claims(sub="é")),
    "sub a number": lambda: token(access_claims(sub=7)),
    "blank username": lambda: token(access_claims(username=" ")),
    "username a number": lambda: token(access_claims(username=7)),
    "username with a lone surrogate": lambda: token(access_claims(username="\ud800")),
    "padded segment": lambda: token().replace(".", "=.", 1),
    "padded signature": lambda: token() + "=",
    "standard base64 alphabet": _standard_alphabet,
    "four segments": lambda: token() + ".x",
    "whitespace": lambda: " " + token(),
    "too long": lambda: token(access_claims(username="a" * 200, pad="x" * 8200)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused(name: str) -> None:
    assert verdict(verifier(), REFUSED[name]()) is None


def test_duplicate_claims_are_refused() -> None:
    claims = json.dumps(access_claims())[:-1] + ', "sub": "someone-else"}'
    header = b64(json.dumps({"kid": "kid-1", "alg": "RS256"}).encode())
    signing_input = f"{header}.{b64(claims.encode())}"
    forged = f"{signing_input}.{b64(sign_rs256(KEY, signing_input.encode()))}"
    assert verdict(verifier(), forged) is None


# --- the JWKS cache ---------------------------------------------------------------------------


def test_the_keys_are_fetched_once_and_kept() -> None:
    fetch = StubFetch(JWKS)
    verify = verifier(fetch)
    for _ in range(5):
        assert verdict(verify, token())
    assert len(fetch.calls) == 1


def test_an_unknown_kid_fetches_the_keys_again_and_a_rotated_key_is_accepted() -> None:
    clock = Clock()
    fetch = StubFetch(JWKS, jwks(jwk(KEY, "kid-1"), jwk(OTHER_KEY, "kid-2")))
    verify = verifier(fetch, clock=clock)
    assert verdict(verify, token())
    clock.now += oidc.REFRESH_INTERVAL_SECONDS
    rotated = token(key=OTHER_KEY, header={"kid": "kid-2", "alg": "RS256"})
    assert verdict(verify, rotated) == Principal(SUB, "alice")
    assert len(fetch.calls) == 2


def test_a_flood_of_unknown_kids_fetches_at_most_once_per_interval() -> None:
    clock = Clock()
    fetch = StubFetch(JWKS)
    verify = verifier(fetch, clock=clock)
    assert verdict(verify, token())
    for second in range(30):
        clock.now += 1
        for n in range(20):
            forged = token(header={"kid": f"random-{second}-{n}", "alg": "RS256"})
            assert verdict(verify, forged) is None
    # one fetch at first use, then one per REFRESH_INTERVAL_SECONDS of the 30 s of flood
    assert len(fetch.calls) == 1 + 30 // int(oidc.REFRESH_INTERVAL_SECONDS)


def test_tokens_that_are_not_ours_never_trigger_a_fetch() -> None:
    fetch = StubFetch(JWKS)
    verify = verifier(fetch)
    for claims in (
        access_claims(iss="https://evil"),
        access_claims(exp=NOW - 3600, iat=NOW - 7200),
    ):
        assert verdict(verify, token(claims, header={"kid": "x", "alg": "RS256"})) is None
    assert fetch.calls == []


def test_a_jwks_that_cannot_be_fetched_is_no_verdict_then_retried() -> None:
    clock = Clock()
    fetch = StubFetch(OSError("connection refused"), b"{not json", JWKS)
    verify = verifier(fetch, clock=clock)
    with pytest.raises(KeysUnavailable):
        verify.verify(token(), now=NOW)
    with pytest.raises(KeysUnavailable):  # within a second of the failure: no new attempt
        verify.verify(token(), now=NOW)
    assert len(fetch.calls) == 1
    clock.now += oidc.RETRY_AFTER_FAILURE_SECONDS
    with pytest.raises(KeysUnavailable):  # a broken document is no verdict either
        verify.verify(token(), now=NOW)
    clock.now += oidc.RETRY_AFTER_FAILURE_SECONDS
    assert verdict(verify, token())
    assert len(fetch.calls) == 3


def test_a_failed_refresh_for_an_unknown_kid_is_no_verdict() -> None:
    clock = Clock()
    fetch = StubFetch(JWKS, OSError("down"))
    verify = verifier(fetch, clock=clock)
    assert verdict(verify, token())
    clock.now += oidc.REFRESH_INTERVAL_SECONDS
    with pytest.raises(KeysUnavailable):
        verify.verify(token(header={"kid": "kid-2", "alg": "RS256"}), now=NOW)
    assert verdict(verify, token())  # the cached keys still serve


def test_the_fetch_timeout_is_two_seconds_or_the_budget_left() -> None:
    fetch = StubFetch(JWKS)
    verifier(fetch).verify(token(), now=NOW)
    request_budget.start(1.0)
    try:
        verifier(fetch).verify(token(), now=NOW)
        request_budget.start(0.1)
        with pytest.raises(KeysUnavailable):  # too little left to try
            verifier(fetch).verify(token(), now=NOW)
    finally:
        request_budget.clear()
    assert fetch.calls[0] == oidc.FETCH_TIMEOUT_SECONDS
    assert 0.9 < fetch.calls[1] <= 1.0
    assert len(fetch.calls) == 2


# --- fetching over HTTP -----------------------------------------------------------------------


def test_the_jwks_is_fetched_over_http(jwks_server: JwksServer) -> None:
    jwks_server.documents["/pool/.well-known/jwks.json"] = JWKS
    url = f"{jwks_server.base_url}/pool/.well-known/jwks.json"
    assert fetch_jwks(url, 2.0) == JWKS
    settings_ = OidcSettings(ISSUER, CLIENT, url)
    assert OidcVerifier(settings_, JwksCache(url)).verify(token(), now=NOW).user_id == SUB


@pytest.mark.parametrize("problem", ["status 500", "not found", "too large"])
def test_a_bad_http_answer_is_an_error(jwks_server: JwksServer, problem: str) -> None:
    path = "/jwks.json"
    jwks_server.documents[path] = JWKS
    if problem == "status 500":
        jwks_server.status = 500
    elif problem == "not found":
        path = "/elsewhere.json"
    else:
        jwks_server.documents[path] = b" " * (oidc.MAX_JWKS_BYTES + 1)
    with pytest.raises(OSError):
        fetch_jwks(jwks_server.base_url + path, 2.0)


def test_a_jwks_endpoint_that_hangs_is_unavailable_within_the_budget(
    jwks_server: JwksServer,
) -> None:
    jwks_server.hang.set()
    url = f"{jwks_server.base_url}/jwks.json"
    verify = OidcVerifier(OidcSettings(ISSUER, CLIENT, url), JwksCache(url))
    request_budget.start(0.6)
    started = time.monotonic()
    try:
        with pytest.raises(KeysUnavailable):
            verify.verify(token(), now=NOW)
    finally:
        request_budget.clear()
    assert time.monotonic() - started < 0.9
    assert jwks_server.requests == 1


def test_a_jwks_endpoint_that_accepts_nothing_is_unavailable_quickly() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"http://127.0.0.1:{port}/jwks.json"  # nothing listens: connection refused
    verify = OidcVerifier(OidcSettings(ISSUER, CLIENT, url), JwksCache(url))
    started = time.monotonic()
    with pytest.raises(KeysUnavailable):
        verify.verify(token(), now=NOW)
    assert time.monotonic() - started < 1.0


# --- properties -------------------------------------------------------------------------------

PROPERTY_VERIFIER = verifier()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
CLAIM_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from([ISSUER, CLIENT, SUB, "access", "id", NOW - 60, NOW + 600, NOW - 7200]),
)


@BOUNDED
@given(st.text(max_size=600))
def test_any_text_is_a_principal_or_invalid_token(presented: str) -> None:
    verdict(PROPERTY_VERIFIER, presented)


@BOUNDED
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "crit", "x"]),
        st.one_of(st.sampled_from(["RS256", "kid-1", "JWT", "HS256", "none"]), JSON_VALUES),
        max_size=4,
    ),
    claims=st.dictionaries(
        st.sampled_from(
            ["iss", "sub", "client_id", "aud", "token_use", "iat", "exp", "nbf", "username", "x"]
        ),
        CLAIM_VALUES,
        max_size=10,
    ),
)
def test_any_signed_header_and_claims_give_a_principal_only_by_the_rules(
    header: dict[str, Any], claims: dict[str, Any]
) -> None:
    principal = verdict(PROPERTY_VERIFIER, token(claims, header=header))
    if principal is not None:
        assert header["alg"] == "RS256" and header["kid"] == "kid-1"
        assert claims["iss"] == ISSUER and claims["client_id"] == CLIENT
        assert claims["token_use"] == "access"
        assert type(claims["exp"]) is int and type(claims["iat"]) is int
        assert claims["exp"] + oidc.LEEWAY_SECONDS > NOW >= claims["iat"] - oidc.LEEWAY_SECONDS
        assert principal.user_id == claims["sub"]


@BOUNDED
@given(st.integers(min_value=0, max_value=2000), st.sampled_from(["=", "A", "-", "_", ".", " "]))
def test_a_valid_token_has_one_spelling(position: int, character: str) -> None:
    original = token()
    position %= len(original) + 1
    changed = original[:position] + character + original[position:]
    assert verdict(PROPERTY_VERIFIER, changed) is None


def test_rsa_public_key_size_is_the_modulus_length() -> None:
    assert RsaPublicKey(n=(1 << 2047) + 1, e=65537).size == 256
