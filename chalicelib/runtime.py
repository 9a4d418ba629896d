"""The composition root: builds each collaborator once per Lambda container, on first use.

Nothing is built at import time, so the authorizer never creates a DynamoDB client and a
cold start pays only for what its first request needs.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from chalicelib.auth import passwords
from chalicelib.auth.signing_secret import SigningKeys, load_signing_keys
from chalicelib.auth.tokens import TokenService
from chalicelib.config import Settings
from chalicelib.domain.cursors import CursorCodec
from chalicelib.errors import ConfigurationError
from chalicelib.services.account_purge import (
    AccountPurge,
    BackgroundPurge,
    LambdaBackgroundPurge,
    ThreadBackgroundPurge,
)
from chalicelib.services.accounts import AccountService
from chalicelib.services.sessions import SessionService
from chalicelib.services.tasks import TaskService
from chalicelib.storage.client import (
    create_dynamodb_client,
    create_lambda_client,
    create_ssm_client,
)
from chalicelib.storage.idempotency import IdempotencyRepository
from chalicelib.storage.records import RecordsRepository
from chalicelib.storage.sessions import SessionRepository
from chalicelib.storage.tasks import TaskRepository
from chalicelib.storage.users import UserRepository


@functools.cache
def settings() -> Settings:
    return Settings.from_environ(os.environ)


@functools.cache
def dynamodb_client() -> Any:
    return create_dynamodb_client()


@functools.cache
def ssm_client() -> Any:
    return create_ssm_client()


@functools.cache
def signing_keys() -> SigningKeys:
    return load_signing_keys(settings(), ssm_client)


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
def records_repository() -> RecordsRepository:
    return RecordsRepository(dynamodb_client(), settings().records_table)


@functools.cache
def user_repository() -> UserRepository:
    return UserRepository(dynamodb_client(), settings().users_table)


@functools.cache
def task_repository() -> TaskRepository:
    return TaskRepository(dynamodb_client(), settings().tasks_table)


@functools.cache
def session_service() -> SessionService:
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
    return AccountService(
        user_repository(),
        records_repository(),
        session_service(),
        account_purge(),
        password_parameters=passwords.DEFAULT_PARAMETERS,
    )


@functools.cache
def task_service() -> TaskService:
    return TaskService(
        task_repository(),
        IdempotencyRepository(dynamodb_client(), settings().tasks_table),
        user_repository(),
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
