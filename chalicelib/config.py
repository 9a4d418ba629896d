"""Configuration, read once per container from environment variables.

Every variable is listed in the README's configuration table; `.chalice/config.json`
sets the per-stage values.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.errors import ConfigurationError

LOCAL_STAGE = "local"
# Who signs users up and in (IDENTITY_PROVIDER): this service's own user store ("builtin":
# scrypt passwords, HS256 tokens, /auth/*), or an Amazon Cognito user pool ("cognito":
# RS256 access tokens verified against the pool's JWKS; /auth/* are Cognito's).
BUILTIN = "builtin"
COGNITO = "cognito"
IDENTITY_PROVIDERS = (BUILTIN, COGNITO)
# Which claim of an access token names the app client or API it was issued for: Cognito
# access tokens carry the app client id in ``client_id`` and have no ``aud``; other OIDC
# issuers' access tokens (RFC 9068: Auth0, Okta, Entra ID, Keycloak) put the API in ``aud``.
AUDIENCE_CLAIMS = ("client_id", "aud")
# https://cognito-idp.<region>.amazonaws.com/<pool id>: a Cognito user pool's issuer.
COGNITO_ISSUER = re.compile(
    r"https://cognito-idp\.([a-z]{2}(?:-[a-z]+)+-[0-9])\.amazonaws\.com/"
    r"(\1_[0-9A-Za-z]+)",
    re.ASCII,
)
POOL_ID = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]_[0-9A-Za-z]+", re.ASCII)
# (lowest, highest, default) in seconds; the contract's defaults: 15 minutes and 30 days.
ACCESS_TOKEN_LIFETIME_RANGE = (60, 86_400, 900)
REFRESH_TOKEN_LIFETIME_RANGE = (3_600, 365 * 86_400, 30 * 86_400)


@dataclass(frozen=True)
class Settings:
    stage: str
    users_table: str
    tasks_table: str
    records_table: str
    sessions_table: str
    token_issuer: str
    token_audience: str
    token_lifetime_seconds: int
    refresh_token_lifetime_seconds: int
    allowed_origin: str
    # Exactly one of these names where the token signing secret comes from; the
    # optional "previous" secret is still accepted, so rotating logs nobody out.
    signing_secret: str | None
    signing_secret_parameter: str | None
    previous_signing_secret: str | None = None
    previous_signing_secret_parameter: str | None = None
    identity_provider: str = BUILTIN
    # Set in the cognito mode only (``None`` in the builtin mode, whose settings are above).
    oidc: OidcSettings | None = None
    cognito_user_pool_id: str | None = None

    @property
    def is_local(self) -> bool:
        return self.stage == LOCAL_STAGE

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        stage = environ.get("STAGE", LOCAL_STAGE)
        provider = identity_provider(environ)
        oidc = pool_id = None
        if provider == COGNITO:
            oidc = OidcSettings.from_environ(environ, local=stage == LOCAL_STAGE)
            pool_id = _cognito_user_pool_id(environ, oidc.issuer)
        return cls(
            stage=stage,
            users_table=environ.get("USERS_TABLE", f"tasks-api-{stage}-users"),
            tasks_table=environ.get("TASKS_TABLE", f"tasks-api-{stage}-tasks"),
            records_table=environ.get("RECORDS_TABLE", f"tasks-api-{stage}-records"),
            sessions_table=environ.get("SESSIONS_TABLE", f"tasks-api-{stage}-sessions"),
            token_issuer=environ.get("TOKEN_ISSUER", "tasks-api"),
            token_audience=environ.get("TOKEN_AUDIENCE", "tasks-api"),
            token_lifetime_seconds=_whole_number(
                "TOKEN_LIFETIME_SECONDS", environ, *ACCESS_TOKEN_LIFETIME_RANGE
            ),
            refresh_token_lifetime_seconds=_whole_number(
                "REFRESH_TOKEN_LIFETIME_SECONDS", environ, *REFRESH_TOKEN_LIFETIME_RANGE
            ),
            allowed_origin=allowed_origin(environ),
            signing_secret=environ.get("TOKEN_SIGNING_SECRET") or None,
            signing_secret_parameter=environ.get("TOKEN_SIGNING_SECRET_PARAMETER") or None,
            previous_signing_secret=environ.get("TOKEN_SIGNING_SECRET_PREVIOUS") or None,
            previous_signing_secret_parameter=(
                environ.get("TOKEN_SIGNING_SECRET_PREVIOUS_PARAMETER") or None
            ),
            identity_provider=provider,
            oidc=oidc,
            cognito_user_pool_id=pool_id,
        )


@dataclass(frozen=True)
class OidcSettings:
    """What an OIDC access token must be to be accepted (the cognito mode's verifier).

    ``IDENTITY_PROVIDER=cognito`` reads, besides ``COGNITO_USER_POOL_ID``:

    - ``OIDC_ISSUER`` (required): the exact ``iss``; for Cognito
      ``https://cognito-idp.<region>.amazonaws.com/<pool id>``.
    - ``OIDC_AUDIENCE`` (required): the app client id (Cognito), or the API's identifier.
    - ``OIDC_JWKS_URL``: where the signing keys are; default ``<issuer>/.well-known/jwks.json``
      (Cognito's, Auth0's and most issuers' location).
    - ``OIDC_AUDIENCE_CLAIM``: ``client_id`` (default; Cognito access tokens) or ``aud``.
    - ``OIDC_TOKEN_USE``: the required ``token_use`` claim, default ``access`` (Cognito,
      whose ID tokens have ``token_use: id``); empty for issuers without that claim.

    Another issuer, e.g. Auth0: ``OIDC_ISSUER=https://TENANT.auth0.com/`` (with its slash),
    ``OIDC_AUDIENCE=<the API's identifier>``, ``OIDC_AUDIENCE_CLAIM=aud``, ``OIDC_TOKEN_USE=``
    (empty). Its ID tokens have the client id as ``aud``, not the API, so they are refused.
    URLs must be https (http is accepted on the local stage, for moto's server).
    """

    issuer: str
    audience: str
    jwks_url: str
    audience_claim: str = "client_id"
    token_use: str | None = "access"  # noqa: S105 - a claim value, not a secret

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, local: bool = False) -> OidcSettings:
        issuer = _url("OIDC_ISSUER", environ.get("OIDC_ISSUER", ""), local=local)
        audience = environ.get("OIDC_AUDIENCE", "")
        if not audience or audience != audience.strip() or not audience.isprintable():
            raise ConfigurationError(
                "OIDC_AUDIENCE must be set (the app client id) in cognito mode"
            )
        jwks_url = _url(
            "OIDC_JWKS_URL",
            environ.get("OIDC_JWKS_URL") or issuer.rstrip("/") + "/.well-known/jwks.json",
            local=local,
        )
        audience_claim = environ.get("OIDC_AUDIENCE_CLAIM", "client_id")
        if audience_claim not in AUDIENCE_CLAIMS:
            raise ConfigurationError(f"OIDC_AUDIENCE_CLAIM must be one of {AUDIENCE_CLAIMS}")
        token_use = environ.get("OIDC_TOKEN_USE", "access")
        return cls(issuer, audience, jwks_url, audience_claim, token_use or None)


def identity_provider(environ: Mapping[str, str]) -> str:
    """``IDENTITY_PROVIDER``: ``builtin`` (the default) or ``cognito``; anything else is a
    ``ConfigurationError``. Read on its own (not through ``Settings``) so that choosing the
    routes of a request builds nothing the builtin mode did not build before."""
    value = environ.get("IDENTITY_PROVIDER", BUILTIN)
    if value not in IDENTITY_PROVIDERS:
        raise ConfigurationError(
            f"IDENTITY_PROVIDER must be one of {', '.join(IDENTITY_PROVIDERS)}"
        )
    return value


def _url(name: str, raw: str, *, local: bool) -> str:
    """An absolute https URL (http too on the local stage), without query or fragment."""
    try:
        parts = urllib.parse.urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    schemes = ("https", "http") if local else ("https",)
    if (
        parts is None
        or parts.scheme not in schemes
        or not parts.hostname
        or parts.query
        or parts.fragment
        or not raw.isprintable()
        or " " in raw
    ):
        raise ConfigurationError(
            f"{name} must be an absolute {' or '.join(schemes)} URL without query or fragment"
        )
    return raw


def _cognito_user_pool_id(environ: Mapping[str, str], issuer: str) -> str:
    """``COGNITO_USER_POOL_ID``, by default the pool of a Cognito ``OIDC_ISSUER``.

    The account routes act on this pool (``AdminGetUser``, ``AdminDeleteUser``), so it must
    be the pool whose tokens are accepted: a Cognito issuer naming another pool is refused.
    """
    match = COGNITO_ISSUER.fullmatch(issuer)
    pool_id = environ.get("COGNITO_USER_POOL_ID") or (match.group(2) if match else "")
    if not POOL_ID.fullmatch(pool_id):
        raise ConfigurationError(
            "COGNITO_USER_POOL_ID must be a user pool id such as us-east-1_AbC123 "
            "(by default, the pool of a Cognito OIDC_ISSUER)"
        )
    if match is not None and match.group(2) != pool_id:
        raise ConfigurationError("COGNITO_USER_POOL_ID is not the pool of OIDC_ISSUER")
    return pool_id


def allowed_origin(environ: Mapping[str, str]) -> str:
    """The CORS origin; needed at import time, when Chalice registers the routes."""
    return environ.get("ALLOWED_ORIGIN", "*")


def _whole_number(name: str, environ: Mapping[str, str], low: int, high: int, default: int) -> int:
    raw = environ.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ConfigurationError(f"{name} must be a whole number from {low} to {high}")
    return int(raw)
