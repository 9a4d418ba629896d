"""Access tokens: HS256 JWTs, verified strictly by hand against the contract's v2 rules.

Each token names its signing secret in the ``kid`` header (see ``signing_secret``); a token
whose ``kid`` is not one of the secrets this container knows is refused before any
signature check.

Verification is written with the standard library rather than PyJWT because a token must
have exactly one spelling and exactly one meaning: PyJWT accepts padded base64, string and
float dates (``"exp": 1e308`` never expires) and crashes with ``TypeError`` on a string
``iat``. Here every segment must be canonical unpadded base64url, the JSON may not repeat a
key, the dates must be integers, and *every* failure is an ``InvalidToken`` (which the
authorizer turns into a 403), never another exception (which would be a 500).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib.auth.signing_secret import SigningKeys

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "username", "iss", "aud", "iat", "exp", "jti")
NON_BLANK_STRING_CLAIMS = ("sub", "username", "jti")
MAX_TOKEN_CHARS = 8192
LEEWAY_SECONDS = 30

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class InvalidToken(Exception):
    """Any reason a presented token is not accepted; the authorizer turns it into a deny."""


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    user_id: str
    username: str


@dataclass(frozen=True)
class TokenService:
    """Issues access tokens with the current secret; verifies them against every known one."""

    keys: SigningKeys
    issuer: str
    audience: str
    lifetime_seconds: int

    def issue(self, principal: Principal, now: float | None = None) -> str:
        """A fresh token for ``principal``, in the one canonical spelling ``verify`` accepts.

        ``now`` (seconds since the epoch) lets tests pin the clock.
        """
        issued_at = int(time.time() if now is None else now)
        header = {"alg": ALGORITHM, "kid": self.keys.current_kid, "typ": "JWT"}
        claims = {
            "sub": principal.user_id,
            "username": principal.username,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued_at,
            "exp": issued_at + self.lifetime_seconds,
            "jti": uuid.uuid4().hex,
        }
        signing_input = f"{_encode_json(header)}.{_encode_json(claims)}"
        return f"{signing_input}.{_b64encode(_sign(self.keys.current, signing_input))}"

    def verify(self, token: str, now: float | None = None) -> Principal:
        """The principal of a valid token, or ``InvalidToken`` for anything else, whatever it is.

        ``now`` (seconds since the epoch) lets tests pin the clock; the leeway is
        ``LEEWAY_SECONDS`` either side.
        """
        try:
            return self._verify(token, time.time() if now is None else now)
        except InvalidToken:
            raise
        except Exception as error:  # incl. RecursionError: a bad token is a 403, never a 500
            raise InvalidToken(type(error).__name__) from None

    def _verify(self, token: object, now: float) -> Principal:
        header_b64, payload_b64, signature_b64 = split_compact(token)
        header = _decode_json_object(_b64decode(header_b64))
        payload = _b64decode(payload_b64)
        signature = _b64decode(signature_b64)

        secret = self._secret_named_by(header)
        expected = _sign(secret, f"{header_b64}.{payload_b64}")
        if not hmac.compare_digest(expected, signature):
            raise InvalidToken("bad signature")

        claims = _decode_json_object(payload)
        self._check_claims(claims, now)
        return Principal(user_id=claims["sub"], username=claims["username"])

    def _secret_named_by(self, header: dict[str, Any]) -> bytes:
        """The secret of the header's ``kid``, once the header is one this service writes."""
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("algorithm is not HS256")
        if "typ" in header and header["typ"] != "JWT":
            raise InvalidToken("typ is not JWT")
        if "crit" in header:
            raise InvalidToken("no critical header extension is understood")
        kid = header.get("kid")
        secret = self.keys.by_kid.get(kid) if isinstance(kid, str) else None
        if secret is None:
            raise InvalidToken("unknown kid")
        return secret

    def _check_claims(self, claims: dict[str, Any], now: float) -> None:
        missing = [name for name in REQUIRED_CLAIMS if name not in claims]
        if missing:
            raise InvalidToken(f"missing claims: {', '.join(missing)}")
        issued_at, expires = _integer(claims, "iat"), _integer(claims, "exp")
        not_before = _integer(claims, "nbf") if "nbf" in claims else None
        if not 0 < expires - issued_at <= self.lifetime_seconds:
            raise InvalidToken("exp - iat is not within the configured lifetime")
        if now >= expires + LEEWAY_SECONDS:
            raise InvalidToken("expired")
        if issued_at > now + LEEWAY_SECONDS:
            raise InvalidToken("issued in the future")
        if not_before is not None and not_before > now + LEEWAY_SECONDS:
            raise InvalidToken("not yet valid")
        if not (isinstance(claims["iss"], str) and claims["iss"] == self.issuer):
            raise InvalidToken("wrong issuer")
        if not (isinstance(claims["aud"], str) and claims["aud"] == self.audience):
            raise InvalidToken("wrong audience")
        for name in NON_BLANK_STRING_CLAIMS:
            value = claims[name]
            if not (isinstance(value, str) and value.strip() and _is_well_formed(value)):
                raise InvalidToken(f"{name} must be a non-blank string")


def split_compact(token: object) -> tuple[str, str, str]:
    """A compact JWS's header, payload and signature segments (still base64url), or
    ``InvalidToken`` for anything that is not text of at most ``MAX_TOKEN_CHARS`` in three
    segments. Both verifiers (HS256 here, RS256 in ``oidc``) start with it."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("token missing, not text or too long")
    segments = token.split(".")
    if len(segments) != 3:
        raise InvalidToken("a token has exactly three segments")
    header_b64, payload_b64, signature_b64 = segments
    return header_b64, payload_b64, signature_b64


def _integer(claims: dict[str, Any], name: str) -> int:
    """A NumericDate claim as an ``int``: no strings, floats (``1e308``, ``1.0``) or booleans."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidToken(f"{name} must be an integer")
    return value


def _is_well_formed(text: str) -> bool:
    """False for strings with lone surrogates (``"\\ud800"`` in JSON), which cannot be UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(segment: str) -> bytes:
    """The bytes of a canonical unpadded base64url segment; ``InvalidToken`` for any other.

    Canonical means: only ``[A-Za-z0-9_-]``, no ``=``, and re-encoding the bytes gives the
    same text back, which also refuses lengths of 1 mod 4 and non-zero trailing bits.
    """
    if not _BASE64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise InvalidToken("segment is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("segment is not base64url") from None
    if _b64encode(data) != segment:
        raise InvalidToken("segment is not canonical base64url")
    return data


def _encode_json(value: dict[str, Any]) -> str:
    return _b64encode(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _decode_json_object(data: bytes) -> dict[str, Any]:
    """A JSON object without repeated keys, ``NaN`` or ``Infinity``; ``InvalidToken`` else."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_object_without_duplicate_keys,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise InvalidToken("segment is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken("segment is not a JSON object")
    return value


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise InvalidToken("duplicate JSON key")
    return result


def _refuse_constant(name: str) -> Any:
    raise InvalidToken(f"{name} is not JSON")


def _sign(secret: bytes, signing_input: str) -> bytes:
    return hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
