"""Access tokens: HS256 JWTs with every claim of the contract required on the way in.

Each token names its signing secret in the ``kid`` header (see ``signing_secret``); a token
whose ``kid`` is not one of the secrets this container knows is refused before any
signature check.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from chalicelib.auth.signing_secret import SigningKeys

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "username", "iss", "aud", "iat", "exp", "jti")
MAX_TOKEN_CHARS = 8192
LEEWAY_SECONDS = 30


class InvalidToken(Exception):
    """Any reason a presented token is not accepted; the authorizer turns it into a deny."""


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    user_id: str
    username: str


@dataclass(frozen=True)
class TokenService:
    keys: SigningKeys
    issuer: str
    audience: str
    lifetime_seconds: int

    def issue(self, principal: Principal, now: float | None = None) -> str:
        issued_at = int(time.time() if now is None else now)
        claims = {
            "sub": principal.user_id,
            "username": principal.username,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued_at,
            "exp": issued_at + self.lifetime_seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self.keys.current, algorithm=ALGORITHM, headers={"kid": self.keys.current_kid}
        )

    def verify(self, token: str) -> Principal:
        """The principal of a valid token, or ``InvalidToken`` for anything else."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("token missing or too long")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            secret = self.keys.by_kid[kid] if isinstance(kid, str) else None
            if secret is None:
                raise InvalidToken("unknown kid")
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
            )
        except InvalidToken:
            raise
        except jwt.PyJWTError as error:
            raise InvalidToken(type(error).__name__) from None
        except Exception as error:  # a malformed token must never become a 500 (incl. KeyError)
            raise InvalidToken(type(error).__name__) from None
        if claims["iat"] > time.time() + LEEWAY_SECONDS:
            raise InvalidToken("issued in the future")
        user_id, username = claims["sub"], claims["username"]
        if not (isinstance(user_id, str) and user_id and isinstance(username, str) and username):
            raise InvalidToken("sub and username must be non-empty strings")
        if not isinstance(claims["jti"], str):
            raise InvalidToken("jti must be a string")
        return Principal(user_id=user_id, username=username)
