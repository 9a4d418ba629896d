"""Configuration, read once per container from environment variables.

Every variable is listed in the README's configuration table; `.chalice/config.json`
sets the per-stage values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.errors import ConfigurationError

LOCAL_STAGE = "local"
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

    @property
    def is_local(self) -> bool:
        return self.stage == LOCAL_STAGE

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        stage = environ.get("STAGE", LOCAL_STAGE)
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
        )


def allowed_origin(environ: Mapping[str, str]) -> str:
    """The CORS origin; needed at import time, when Chalice registers the routes."""
    return environ.get("ALLOWED_ORIGIN", "*")


def _whole_number(name: str, environ: Mapping[str, str], low: int, high: int, default: int) -> int:
    raw = environ.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ConfigurationError(f"{name} must be a whole number from {low} to {high}")
    return int(raw)
