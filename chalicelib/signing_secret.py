"""Where the token signing secret comes from, and the refusal to run with a weak one.

AWS stages read an SSM Parameter Store SecureString (its name in
``TOKEN_SIGNING_SECRET_PARAMETER``); the local stage may pass the secret itself in
``TOKEN_SIGNING_SECRET``. The caller caches the result for the life of the container.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import ConfigurationError
from chalicelib.tokens import MIN_SECRET_BYTES


def load_signing_secret(settings: Settings, ssm_client: Callable[[], Any]) -> bytes:
    if settings.signing_secret_parameter:
        response = ssm_client().get_parameter(
            Name=settings.signing_secret_parameter, WithDecryption=True
        )
        secret = response["Parameter"]["Value"].encode("utf-8")
    elif settings.signing_secret and settings.is_local:
        secret = settings.signing_secret.encode("utf-8")
    elif settings.signing_secret:
        raise ConfigurationError(
            f"stage {settings.stage!r}: TOKEN_SIGNING_SECRET is for the local stage only; "
            "set TOKEN_SIGNING_SECRET_PARAMETER to an SSM SecureString name"
        )
    else:
        raise ConfigurationError(
            "no token signing secret: set TOKEN_SIGNING_SECRET_PARAMETER "
            "(or TOKEN_SIGNING_SECRET on the local stage)"
        )
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"the token signing secret must be at least {MIN_SECRET_BYTES} bytes; refusing to serve"
        )
    return secret
