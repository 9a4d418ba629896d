"""The composition root: builds each collaborator once per Lambda container, on first use.

Nothing is built at import time, so the authorizer never creates a DynamoDB client and a
cold start pays only for what its first request needs. The accounts, sessions and purge
services (and the password hashing, refresh tokens and records they bring) are imported by
their builders too: the task routes and the authorizer, most cold starts, never load them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib import config
from chalicelib.auth.signing_secret import SigningKeys, load_signing_keys
from chalicelib.auth.tokens import Principal, TokenService
from chalicelib.config import Settings
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.ids import is_valid_id
from chalicelib.errors import ConfigurationError
from chalicelib.services.tasks import TaskService
from chalicelib.storage.client import (
    create_cognito_client,
    create_dynamodb_client,
    create_lambda_client,
    create_ssm_client,
)
from chalicelib.storage.closed_accounts import ClosedAccounts
from chalicelib.storage.idempotency import IdempotencyRepository
from chalicelib.storage.tasks import TaskRepository
from chalicelib.storage.users import UserRepository

if TYPE_CHECKING:  # imported on first use: cold starts of the routes that need none skip them
    from chalicelib.auth.oidc import OidcVerifier
    from chalicelib.services.account_purge import AccountPurge
    from chalicelib.services.accounts import AccountService
    from chalicelib.services.identity import CognitoAccounts
    from chalicelib.services.sessions import SessionService
    from chalicelib.storage.records import RecordsRepository


@functools.cache
def settings() -> Settings:
    return Settings.from_environ(os.environ)


@functools.cache
def identity_provider() -> str:
    """``builtin`` or ``cognito`` (``IDENTITY_PROVIDER``), read without building ``Settings``."""
    return config.identity_provider(os.environ)


def uses_cognito() -> bool:
    return identity_provider() == config.COGNITO


def token_verifier() -> Callable[[str], Principal]:
    """What the authorizer checks bearer tokens with: the same for every route (API Gateway
    caches its answer per token), chosen by the stage's identity provider."""
    if uses_cognito():
        return oidc_verifier().verify
    return token_service().verify


def is_account_id(value: object) -> bool:
    """The shape of a user id in this stage: a ULID (builtin) or a token ``sub`` (cognito)."""
    if uses_cognito():
        from chalicelib.auth.oidc import is_valid_subject

        return is_valid_subject(value)
    return isinstance(value, str) and is_valid_id(value)


@functools.cache
def dynamodb_client() -> Any:
    return create_dynamodb_client()


@functools.cache
def ssm_client() -> Any:
    return create_ssm_client()


@functools.cache
def signing_keys() -> SigningKeys:
    """Read through the Parameters and Secrets Lambda Extension where the function has it
    (``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``), else with the SSM client."""
    from chalicelib.storage import parameters_extension  # cold starts without secrets skip it

    return load_signing_keys(settings(), ssm_client, parameters_extension.reader(os.environ))


@functools.cache
def token_service() -> TokenService:
    config = settings()
    return TokenService(
        keys=signing_keys(),
        issuer=config.token_issuer,
        audience=config.token_audience,
        lifetime_seconds=config.token_lifetime_seconds,
    )


@functools.cache
def oidc_verifier() -> OidcVerifier:
    """The cognito mode's ``OidcVerifier``, its JWKS fetched on first use (imported here:
    the builtin mode's cold starts do not load it)."""
    from chalicelib.auth.oidc import JwksCache, OidcVerifier

    oidc = settings().oidc
    if oidc is None:
        raise ConfigurationError("the OIDC verifier is for IDENTITY_PROVIDER=cognito")
    return OidcVerifier(oidc, JwksCache(oidc.jwks_url))


@functools.cache
def cognito_client() -> Any:
    return create_cognito_client()


@functools.cache
def closed_accounts() -> ClosedAccounts:
    return ClosedAccounts(dynamodb_client(), settings().users_table)


@functools.cache
def cognito_accounts() -> CognitoAccounts:
    """The cognito mode's profile and account deletion (``services.identity``)."""
    from chalicelib.services.identity import CognitoAccounts

    pool_id = settings().cognito_user_pool_id
    if pool_id is None:
        raise ConfigurationError("Cognito accounts are for IDENTITY_PROVIDER=cognito")
    return CognitoAccounts(cognito_client, pool_id, closed_accounts(), account_purge)


@functools.cache
def records_repository() -> RecordsRepository:
    from chalicelib.storage.records import RecordsRepository

    return RecordsRepository(dynamodb_client(), settings().records_table)


@functools.cache
def user_repository() -> UserRepository:
    return UserRepository(dynamodb_client(), settings().users_table)


@functools.cache
def task_repository() -> TaskRepository:
    return TaskRepository(dynamodb_client(), settings().tasks_table)


@functools.cache
def session_service() -> SessionService:
    from chalicelib.services.sessions import SessionService
    from chalicelib.storage.sessions import SessionRepository

    config = settings()
    return SessionService(
        SessionRepository(dynamodb_client(), config.sessions_table),
        token_service(),
        refresh_lifetime_seconds=config.refresh_token_lifetime_seconds,
    )


@functools.cache
def lambda_client() -> Any:
    return create_lambda_client()


@functools.cache
def account_purge() -> AccountPurge:
    """On AWS stages the rest of a large purge goes to the ``purge_account`` function
    (``PURGE_FUNCTION_NAME``); locally, to a thread of the local server."""
    from chalicelib.services.account_purge import (
        AccountPurge,
        BackgroundPurge,
        LambdaBackgroundPurge,
        ThreadBackgroundPurge,
    )

    function_name = os.environ.get("PURGE_FUNCTION_NAME")
    background: BackgroundPurge
    if function_name:
        background = LambdaBackgroundPurge(lambda_client, function_name)
    elif settings().is_local:
        background = ThreadBackgroundPurge(task_repository)
    else:
        raise ConfigurationError("PURGE_FUNCTION_NAME is not set on an AWS stage")
    return AccountPurge(task_repository(), background)


@functools.cache
def account_service() -> AccountService:
    from chalicelib.auth import passwords
    from chalicelib.services.accounts import AccountService

    return AccountService(
        user_repository(),
        records_repository(),
        session_service(),
        account_purge(),
        password_parameters=passwords.DEFAULT_PARAMETERS,
    )


@functools.cache
def task_service() -> TaskService:
    """A create is conditional on the account: its user record (builtin), or no closed
    marker (cognito): one ``ConditionCheck`` either way."""
    return TaskService(
        task_repository(),
        IdempotencyRepository(dynamodb_client(), settings().tasks_table),
        closed_accounts() if uses_cognito() else user_repository(),
        cursor_codec,
    )


@functools.cache
def cursor_codec() -> CursorCodec:
    keys = signing_keys()
    accepted = [keys.previous] if keys.previous is not None else []
    return CursorCodec(keys.current, *accepted)


def reset() -> None:
    """Forget everything built so far (tests change the environment between cases)."""
    for cached in (
        settings,
        identity_provider,
        oidc_verifier,
        cognito_client,
        closed_accounts,
        cognito_accounts,
        dynamodb_client,
        ssm_client,
        signing_keys,
        token_service,
        records_repository,
        user_repository,
        task_repository,
        session_service,
        lambda_client,
        account_purge,
        account_service,
        task_service,
        cursor_codec,
    ):
        cached.cache_clear()
