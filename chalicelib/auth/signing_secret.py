"""Where the token signing secrets come from, and the refusal to run with a weak one.

AWS stages read SSM Parameter Store SecureStrings (their names in
``TOKEN_SIGNING_SECRET_PARAMETER`` and, optionally, ``TOKEN_SIGNING_SECRET_PREVIOUS_PARAMETER``);
the local stage may pass the secrets themselves in ``TOKEN_SIGNING_SECRET`` and
``TOKEN_SIGNING_SECRET_PREVIOUS``. New tokens are signed with the current secret; tokens
signed with the previous one stay valid, so rotating the secret logs nobody out. The
caller caches the result for the life of the container. An SSM that throttles or does not
answer within the request's budget is ``ServiceUnavailable`` (503, retry later); anything
else wrong with a secret is a ``ConfigurationError``. Where the function has the AWS
Parameters and Secrets Lambda Extension, the parameters are read through it first
(``storage.parameters_extension``: no SSM client to create); SSM decides whatever the
extension does not answer clearly.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.errors import ConfigurationError, ServiceUnavailable
from chalicelib.storage.client import (
    RETRY_AFTER_SECONDS,
    TRANSIENT_ERROR_CODES,
    UNANSWERED_CALL_ERRORS,
    error_code,
)

if TYPE_CHECKING:
    from chalicelib.storage.parameters_extension import Reader

MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class SigningKeys:
    current: bytes
    previous: bytes | None = None

    @property
    def current_kid(self) -> str:
        return key_id(self.current)

    @functools.cached_property
    def by_kid(self) -> dict[str, bytes]:
        """Every secret a token may be signed with, by its key id (built once)."""
        keys = {self.current_kid: self.current}
        if self.previous is not None:
            keys.setdefault(key_id(self.previous), self.previous)
        return keys


def key_id(secret: bytes) -> str:
    """A public name for a secret: a truncated hash, which reveals nothing usable."""
    return hashlib.sha256(b"tasks-api/kid/v1" + secret).hexdigest()[:16]


def load_signing_keys(
    settings: Settings, ssm_client: Callable[[], Any], extension: Reader | None = None
) -> SigningKeys:
    """The stage's secrets; ``ssm_client`` is called only if SSM itself must be asked."""
    current = _load(
        settings,
        settings.signing_secret,
        settings.signing_secret_parameter,
        ssm_client,
        extension,
    )
    if current is None:
        raise ConfigurationError(
            "no token signing secret: set TOKEN_SIGNING_SECRET_PARAMETER "
            "(or TOKEN_SIGNING_SECRET on the local stage)"
        )
    previous = _load(
        settings,
        settings.previous_signing_secret,
        settings.previous_signing_secret_parameter,
        ssm_client,
        extension,
        optional=True,
    )
    return SigningKeys(current=current, previous=previous)


def _load(
    settings: Settings,
    plain: str | None,
    parameter: str | None,
    ssm_client: Callable[[], Any],
    extension: Reader | None,
    *,
    optional: bool = False,
) -> bytes | None:
    answer = extension(parameter) if extension and parameter else None
    if answer is not None:  # the extension answered clearly
        if answer.value is None:  # no such parameter
            if optional:
                return None
            raise ConfigurationError(f"cannot read SSM parameter {parameter}")
        secret = answer.value.encode("utf-8")
    elif parameter:
        try:
            response = ssm_client().get_parameter(Name=parameter, WithDecryption=True)
        except ClientError as error:
            code = error_code(error)
            if optional and code == "ParameterNotFound":
                return None
            if code in TRANSIENT_ERROR_CODES:
                raise ServiceUnavailable(RETRY_AFTER_SECONDS) from error
            raise ConfigurationError(f"cannot read SSM parameter {parameter}") from error
        except UNANSWERED_CALL_ERRORS as error:  # a slow or unreachable SSM: retry later
            raise ServiceUnavailable(RETRY_AFTER_SECONDS) from error
        secret = response["Parameter"]["Value"].encode("utf-8")
    elif plain and settings.is_local:
        secret = plain.encode("utf-8")
    elif plain:
        raise ConfigurationError(
            f"stage {settings.stage!r}: plain-text signing secrets are for the local stage "
            "only; name SSM SecureStrings in the *_PARAMETER variables"
        )
    else:
        return None
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"token signing secrets must be at least {MIN_SECRET_BYTES} bytes; refusing to serve"
        )
    return secret
