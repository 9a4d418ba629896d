"""Refresh tokens: opaque strings (not JWTs) with 256 bits of randomness.

A token reads ``<user id>.<session id>.<generation>.<secret>``: the ids locate the session
by key (no scan, no index), the generation counts rotations, and only a SHA-256 hash of the
32-byte random secret is stored. A fast hash is right here: the secret is uniformly random,
so there is nothing to brute-force that a slow hash would protect. The session id carries
128 random bits, so only someone who held a token of a session can name it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from chalicelib.domain.ids import ULID_PATTERN

SECRET_BYTES = 32  # 256 bits
SESSION_ID_BYTES = 16  # 128 bits
MAX_TOKEN_CHARS = 200
_TOKEN_PATTERN = re.compile(
    rf"({ULID_PATTERN.pattern})\.([A-Za-z0-9_-]{{22}})\.([1-9][0-9]{{0,8}})\.([A-Za-z0-9_-]{{43}})",
    re.ASCII,
)


class MalformedRefreshToken(Exception):
    """Not something this service could have issued."""


@dataclass(frozen=True)
class PresentedToken:
    user_id: str
    session_id: str
    generation: int
    token_hash: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_hash: str


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def issue(user_id: str, session_id: str, generation: int) -> IssuedToken:
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return IssuedToken(f"{user_id}.{session_id}.{generation}.{secret}", hash_secret(secret))


def parse(token: object) -> PresentedToken:
    """The parts of a well-formed token, or ``MalformedRefreshToken``."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise MalformedRefreshToken()
    match = _TOKEN_PATTERN.fullmatch(token)
    if match is None:
        raise MalformedRefreshToken()
    user_id, session_id, generation, secret = match.groups()
    return PresentedToken(user_id, session_id, int(generation), hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()
