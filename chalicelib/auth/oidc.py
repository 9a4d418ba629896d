"""Access tokens of an OIDC issuer (Amazon Cognito by default): RS256 JWTs verified by hand
against the issuer's JWKS, as strictly as ``tokens`` verifies this service's own.

Why by hand, with no dependency: RS256 verification (RSASSA-PKCS1-v1_5 with SHA-256, RFC
8017 section 8.2.2) is one modular exponentiation and a byte comparison. Python's integers
do the exponentiation (e = 65537: 17 multiplications of 2048-bit numbers). Measured on the
development machine (Python 3.11, 2048-bit key): a signature check takes about 0.18 ms here
and 0.02 ms with ``cryptography``, a difference paid at most once per token per 5 minutes
(API Gateway caches the authorizer's answer); ``cryptography`` would add about 5 MB zipped
(15 MB unzipped, a native library built per Lambda architecture) to the bundle and 6 ms
(11 ms without ``.pyc`` files) to the authorizer's cold start, against 1 ms (3 ms) for this
module. Chalice's ``CognitoUserPoolAuthorizer`` is not an option either: ``chalice local``
does not verify its tokens at all. The check encodes the expected block and compares it
whole, in constant time, as the RFC recommends: nothing of the decrypted block is parsed,
so the signature-parsing forgeries of the past (Bleichenbacher 2006 with e = 3) have
nothing to work on.

What is accepted, and nothing else (every failure is ``InvalidToken``, which the authorizer
turns into a 403, never another exception):

- three canonical unpadded base64url segments; JSON objects without repeated keys;
- header ``alg`` exactly ``RS256`` (an HS256 token "signed" with the public key, ``none``,
  ``RS512``... are refused before any key is looked at), ``typ`` absent, ``JWT`` or
  ``at+jwt``, no ``crit``, and a ``kid`` the issuer's JWKS has;
- ``iss`` exactly the issuer; ``token_use`` exactly the configured one (Cognito: ``access``,
  so ID tokens are refused); the audience claim (Cognito: ``client_id``, since its access
  tokens have no ``aud``; others: ``aud``, a string or a list) naming the configured one;
- integer ``exp`` and ``iat`` (and ``nbf`` if present), ``LEEWAY_SECONDS`` either side, and
  at most ``MAX_LIFETIME_SECONDS`` apart (Cognito's longest access-token validity);
- a ``sub`` of 1 to 255 printable ASCII characters (OIDC Core's bound): the user id;
- ``username`` from the ``username`` claim (Cognito access tokens), else
  ``cognito:username``, else the ``sub``.

The keys (``JwksCache``) are fetched on first use and kept for the life of the container. A
token naming an unknown ``kid`` (the issuer rotated its keys) fetches them again, at most
once per ``REFRESH_INTERVAL_SECONDS``, so a flood of made-up kids costs the issuer one
request per container per interval. A JWKS that cannot be fetched (within
``FETCH_TIMEOUT_SECONDS`` and the request's budget) is ``KeysUnavailable``: no verdict,
which the authorizer turns into a 503 that API Gateway does not cache.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import request_budget
from chalicelib.auth.authorizer import VerifierUnavailable
from chalicelib.auth.tokens import (
    InvalidToken,
    Principal,
    _b64decode,
    _decode_json_object,
    _integer,
    _is_well_formed,
    split_compact,
)
from chalicelib.config import OidcSettings

ALGORITHM = "RS256"
ACCEPTED_TYPES = ("JWT", "at+jwt")  # absent (Cognito), JWT (moto), at+jwt (RFC 9068)
MAX_KID_CHARS = 256
MAX_USERNAME_CHARS = 256
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 86_400  # Cognito access tokens are valid for 5 minutes to 1 day
SUBJECT = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)
USERNAME_CLAIMS = ("username", "cognito:username")

# Fetching the JWKS: never longer than this, nor than the request's budget allows.
FETCH_TIMEOUT_SECONDS = 2.0
MIN_FETCH_SECONDS = 0.2
MAX_JWKS_BYTES = 64 * 1024
# An unknown kid fetches the keys again at most this often (aws-jwt-verify's default wait);
# after a failed fetch the next may try sooner, since the keys are needed.
REFRESH_INTERVAL_SECONDS = 10.0
RETRY_AFTER_FAILURE_SECONDS = 1.0
MIN_KEY_BITS, MAX_KEY_BITS = 2048, 8192

# DER of DigestInfo{sha256, NULL} (RFC 8017 section 9.2, note 1), before the 32-byte hash.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_BASE64URL_PADDED = re.compile(r"[A-Za-z0-9_-]+={0,2}", re.ASCII)


class KeysUnavailable(VerifierUnavailable):
    """The issuer's keys cannot be fetched right now: no verdict (the client gets 503)."""


def is_valid_subject(value: object) -> bool:
    """True for a ``sub`` this verifier accepts, i.e. a user id of the cognito mode."""
    return isinstance(value, str) and SUBJECT.fullmatch(value) is not None


@dataclass(frozen=True)
class RsaPublicKey:
    """An RSA public key (modulus ``n``, exponent ``e``) that checks RS256 signatures."""

    n: int
    e: int

    @property
    def size(self) -> int:
        """The modulus's length in bytes, which is every signature's length."""
        return (self.n.bit_length() + 7) // 8

    def verifies(self, message: bytes, signature: bytes) -> bool:
        """RSASSA-PKCS1-v1_5-VERIFY with SHA-256 (RFC 8017 section 8.2.2)."""
        size = self.size
        if len(signature) != size:
            return False
        s = int.from_bytes(signature, "big")
        if s >= self.n:
            return False
        encoded = pow(s, self.e, self.n).to_bytes(size, "big")
        return hmac.compare_digest(encoded, _emsa_pkcs1_v1_5_sha256(message, size))


def _emsa_pkcs1_v1_5_sha256(message: bytes, size: int) -> bytes:
    """``00 01 FF..FF 00 DigestInfo(SHA-256(message))``, ``size`` bytes long."""
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    return b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info


def parse_jwks(document: bytes) -> dict[str, RsaPublicKey]:
    """The RS256 signing keys of a JWKS document, by ``kid``; ``ValueError`` if it has none.

    Keys for another algorithm or use, weaker than ``MIN_KEY_BITS``, or with an exponent
    that is even or wider than 32 bits (it costs one multiplication per bit), are left out.
    """
    parsed = json.loads(document.decode("utf-8"))
    entries = parsed.get("keys") if isinstance(parsed, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWKS document")
    keys: dict[str, RsaPublicKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            continue
        if entry.get("alg", ALGORITHM) != ALGORITHM or entry.get("use", "sig") != "sig":
            continue
        kid, n, e = entry.get("kid"), entry.get("n"), entry.get("e")
        if not (isinstance(kid, str) and 0 < len(kid) <= MAX_KID_CHARS):
            continue
        if not (isinstance(n, str) and isinstance(e, str)):
            continue
        key = RsaPublicKey(_jwk_integer(n), _jwk_integer(e))
        strong = MIN_KEY_BITS <= key.n.bit_length() <= MAX_KEY_BITS
        if strong and key.e % 2 and 3 <= key.e < 1 << 32:  # 65537 in practice
            keys.setdefault(kid, key)
    if not keys:
        raise ValueError("the JWKS has no RS256 signing key")
    return keys


def _jwk_integer(text: str) -> int:
    """A JWK ``Base64urlUInt`` (RFC 7518 section 2); issuers differ on padding."""
    if not _BASE64URL_PADDED.fullmatch(text):
        raise ValueError("not base64url")
    unpadded = text.rstrip("=")
    return int.from_bytes(base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4)), "big")


def fetch_jwks(url: str, timeout: float) -> bytes:
    """The body of ``GET url``, all of it within ``timeout`` seconds (name lookup aside).

    ``http.client`` rather than ``urllib.request.urlopen``: urlopen's timeout applies to each
    socket operation, so a server dripping a byte a second could hold the request for as
    long as it liked; here every step may only take the time left.
    """
    deadline = time.monotonic() + timeout

    def time_left() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no JWKS within {timeout:.2f} s")
        return left

    parts = urllib.parse.urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    response: http.client.HTTPResponse | None = None
    try:
        connection.connect()
        sock = connection.sock  # the response reads from it, after the connection lets go
        sock.settimeout(time_left())
        connection.request(
            "GET",
            parts.path or "/",
            headers={"Accept": "application/json", "User-Agent": "tasks-api"},
        )
        sock.settimeout(time_left())
        response = connection.getresponse()
        if response.status != 200:
            raise OSError(f"the JWKS endpoint answered {response.status}")
        body = bytearray()
        while True:
            sock.settimeout(time_left())
            chunk = response.read1(16 * 1024)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > MAX_JWKS_BYTES:
                raise OSError(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
    finally:
        if response is not None:
            response.close()
        connection.close()


class JwksCache:
    """An issuer's signing keys, fetched on first use and again (rate-limited) for a new kid.

    Thread-safe: ``chalice local`` serves each request on a thread of its own, and a burst
    of requests on a cold container makes one fetch, not one each.
    """

    def __init__(
        self,
        url: str,
        fetch: Callable[[str, float], bytes] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, RsaPublicKey] | None = None
        self._lock = threading.Lock()
        self._next_fetch = float("-inf")  # no fetch before this (clock) time
        self._last_fetch_failed = False

    def key(self, kid: str) -> RsaPublicKey:
        """The key named ``kid``: ``InvalidToken`` if the issuer has none by that name,
        ``KeysUnavailable`` if the keys cannot be fetched now."""
        keys = self._keys
        if keys is not None and kid in keys:
            return keys[kid]
        if not self._lock.acquire(timeout=max(0.0, _fetch_timeout())):
            raise KeysUnavailable("another request's JWKS fetch did not finish in time")
        try:
            keys = self._keys
            if keys is not None and kid in keys:  # fetched by the request we waited for
                return keys[kid]
            now = self._clock()
            if now < self._next_fetch:
                if keys is None or self._last_fetch_failed:
                    raise KeysUnavailable("the last JWKS fetch failed a moment ago")
                raise InvalidToken("unknown kid (the keys were fetched a moment ago)")
            keys = self._refresh(now)
        finally:
            self._lock.release()
        key = keys.get(kid)
        if key is None:
            raise InvalidToken("unknown kid")
        return key

    def _refresh(self, now: float) -> dict[str, RsaPublicKey]:
        timeout = _fetch_timeout()
        try:
            if timeout < MIN_FETCH_SECONDS:
                raise TimeoutError("the request's budget leaves no time to fetch the JWKS")
            keys = parse_jwks(self._fetch(self._url, timeout))
        except Exception as error:  # any failure to get keys is "no verdict", never a 500
            self._last_fetch_failed = True
            self._next_fetch = now + RETRY_AFTER_FAILURE_SECONDS
            raise KeysUnavailable(f"cannot fetch the JWKS: {type(error).__name__}") from error
        self._keys = keys
        self._last_fetch_failed = False
        self._next_fetch = now + REFRESH_INTERVAL_SECONDS
        return keys


def _fetch_timeout() -> float:
    """``FETCH_TIMEOUT_SECONDS``, or less when the request's budget has less left."""
    left = request_budget.remaining()
    return FETCH_TIMEOUT_SECONDS if left is None else min(FETCH_TIMEOUT_SECONDS, left)


class OidcVerifier:
    """Verifies an issuer's access tokens (see the module's docstring for the rules)."""

    def __init__(self, settings: OidcSettings, keys: JwksCache) -> None:
        self._settings = settings
        self._keys = keys

    def verify(self, token: str, now: float | None = None) -> Principal:
        """The principal of a valid token; ``InvalidToken`` for anything else, whatever it
        is; ``KeysUnavailable`` when the issuer's keys cannot be fetched.

        ``now`` (seconds since the epoch) lets tests pin the clock.
        """
        try:
            return self._verify(token, time.time() if now is None else now)
        except (InvalidToken, KeysUnavailable):
            raise
        except Exception as error:  # incl. RecursionError: a bad token is a 403, never a 500
            raise InvalidToken(type(error).__name__) from None

    def _verify(self, token: object, now: float) -> Principal:
        header_b64, payload_b64, signature_b64 = split_compact(token)
        header = _decode_json_object(_b64decode(header_b64))
        claims = _decode_json_object(_b64decode(payload_b64))
        signature = _b64decode(signature_b64)
        kid = _check_header(header)
        # The claims first: only a token that claims to be one of ours, and is current, may
        # make the cache fetch the keys again (for a kid it does not know yet).
        principal = self._check_claims(claims, now)
        key = self._keys.key(kid)
        if not key.verifies(f"{header_b64}.{payload_b64}".encode("ascii"), signature):
            raise InvalidToken("bad signature")
        return principal

    def _check_claims(self, claims: dict[str, Any], now: float) -> Principal:
        settings = self._settings
        missing = [name for name in ("iss", "sub", "iat", "exp") if name not in claims]
        if missing:
            raise InvalidToken(f"missing claims: {', '.join(missing)}")
        if not (isinstance(claims["iss"], str) and claims["iss"] == settings.issuer):
            raise InvalidToken("wrong issuer")
        if settings.token_use is not None and claims.get("token_use") != settings.token_use:
            raise InvalidToken(f"token_use is not {settings.token_use}")
        if not _names_audience(claims.get(settings.audience_claim), settings):
            raise InvalidToken(f"{settings.audience_claim} is not the configured audience")
        issued_at, expires = _integer(claims, "iat"), _integer(claims, "exp")
        not_before = _integer(claims, "nbf") if "nbf" in claims else None
        if not 0 < expires - issued_at <= MAX_LIFETIME_SECONDS:
            raise InvalidToken("exp - iat is not within an access token's lifetime")
        if now >= expires + LEEWAY_SECONDS:
            raise InvalidToken("expired")
        if issued_at > now + LEEWAY_SECONDS:
            raise InvalidToken("issued in the future")
        if not_before is not None and not_before > now + LEEWAY_SECONDS:
            raise InvalidToken("not yet valid")
        subject = claims["sub"]
        if not is_valid_subject(subject):
            raise InvalidToken("sub must be 1 to 255 printable ASCII characters")
        return Principal(user_id=subject, username=_username(claims, subject))


def _check_header(header: dict[str, Any]) -> str:
    """The header's ``kid``, once the header is an RS256 one."""
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("algorithm is not RS256")
    if "typ" in header and header["typ"] not in ACCEPTED_TYPES:
        raise InvalidToken("typ is not JWT")
    if "crit" in header:
        raise InvalidToken("no critical header extension is understood")
    kid = header.get("kid")
    if not (isinstance(kid, str) and 0 < len(kid) <= MAX_KID_CHARS):
        raise InvalidToken("kid missing or not a short string")
    return kid


def _names_audience(value: object, settings: OidcSettings) -> bool:
    """``client_id`` must be the audience; ``aud`` may also be a list that includes it."""
    if isinstance(value, str):
        return value == settings.audience
    if settings.audience_claim == "aud" and isinstance(value, list):
        return settings.audience in value and all(isinstance(item, str) for item in value)
    return False


def _username(claims: dict[str, Any], subject: str) -> str:
    """``username``, else ``cognito:username``, else the ``sub``; a present but malformed
    one refuses the token rather than falling back."""
    for name in USERNAME_CLAIMS:
        if name in claims:
            value = claims[name]
            if not (
                isinstance(value, str)
                and value.strip()
                and len(value) <= MAX_USERNAME_CHARS
                and _is_well_formed(value)
            ):
                raise InvalidToken(f"{name} must be a non-blank string")
            return value
    return subject
