"""Password hashing with scrypt (stdlib: nothing native in the Lambda bundle).

A stored hash reads ``scrypt$<log2 n>$<r>$<p>$<salt>$<digest>`` (base64url), so the cost
can be raised later without invalidating existing users. The default cost is one of
OWASP's recommended scrypt settings (N=2^15, r=8, p=3: 32 MiB, about 0.3 s here).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

_SCHEME = "scrypt"
_SALT_BYTES = 16
_DIGEST_BYTES = 32
_DUMMY_SALT = os.urandom(_SALT_BYTES)
_DUMMY_DIGEST = os.urandom(_DIGEST_BYTES)


@dataclass(frozen=True)
class ScryptParameters:
    log2_n: int = 15
    r: int = 8
    p: int = 3

    @property
    def max_memory(self) -> int:
        # scrypt needs 128 * r * N bytes; leave headroom for hashlib's own bookkeeping.
        return 2 * 128 * self.r * (1 << self.log2_n)


DEFAULT_PARAMETERS = ScryptParameters()


def hash_password(password: str, parameters: ScryptParameters = DEFAULT_PARAMETERS) -> str:
    """A salted, self-describing hash of ``password``, safe to store."""
    salt = os.urandom(_SALT_BYTES)
    digest = _derive(password, salt, parameters)
    return "$".join(
        (
            _SCHEME,
            str(parameters.log2_n),
            str(parameters.r),
            str(parameters.p),
            _b64(salt),
            _b64(digest),
        )
    )


def verify_password(password: str, stored_hash: str) -> bool:
    """Constant-time check of ``password`` against a hash made by ``hash_password``."""
    try:
        scheme, log2_n, r, p, salt, expected = stored_hash.split("$")
        if scheme != _SCHEME:
            return False
        parameters = ScryptParameters(int(log2_n), int(r), int(p))
        digest = _derive(password, _unb64(salt), parameters)
        return hmac.compare_digest(digest, _unb64(expected))
    except ValueError:
        return False


def verify_against_dummy(password: str, parameters: ScryptParameters = DEFAULT_PARAMETERS) -> None:
    """Do the work of one real check (one scrypt run), for usernames that do not exist."""
    hmac.compare_digest(_derive(password, _DUMMY_SALT, parameters), _DUMMY_DIGEST)


def _derive(password: str, salt: bytes, parameters: ScryptParameters) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=1 << parameters.log2_n,
        r=parameters.r,
        p=parameters.p,
        maxmem=parameters.max_memory,
        dklen=_DIGEST_BYTES,
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
