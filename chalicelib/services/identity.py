"""Accounts of the cognito mode: the profile and account deletion, for users that Amazon
Cognito signs up and in. No HTTP here; Cognito through its admin API, DynamoDB through the
repositories.

- ``GET /users/me``: the id is the token's ``sub``, the username the token's; ``created_at``
  is the Cognito user's ``UserCreateDate`` (``AdminGetUser``), the account's real creation
  time. The same call tells a deleted account (401 ``account_closed``, as in the builtin
  mode), including one deleted in Cognito directly or whose username now belongs to
  someone else (another ``sub``).
- ``DELETE /users/me``: close the account (the marker of ``ClosedAccounts``: from then on
  nothing can be stored for it), delete the Cognito user (``AdminDeleteUser``, only if the
  pool's user of that username is still this ``sub``), then purge the account's data
  (``AccountPurge``, as in the builtin mode). Each step is idempotent, so a retry after a
  failure finishes the work; deleting a closed account succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from chalicelib.auth.tokens import Principal
from chalicelib.domain.timestamps import from_datetime
from chalicelib.errors import AccountClosed, ServiceUnavailable
from chalicelib.services.account_purge import AccountPurge
from chalicelib.storage.client import RETRY_AFTER_SECONDS, UNANSWERED_CALL_ERRORS, error_code
from chalicelib.storage.closed_accounts import ClosedAccounts

# Cognito's answers that mean "try again later" (throttling, its own failures): 503.
TRANSIENT_COGNITO_ERRORS = frozenset(
    {"TooManyRequestsException", "InternalErrorException", "ServiceUnavailable"}
)
USER_NOT_FOUND = "UserNotFoundException"

T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """``GET /users/me`` in the cognito mode (the contract's ``User`` schema)."""

    id: str
    username: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "created_at": self.created_at}


class CognitoAccounts:
    def __init__(
        self,
        cognito: Callable[[], Any],
        user_pool_id: str,
        closed: ClosedAccounts,
        purge: Callable[[], AccountPurge],
    ) -> None:
        """``cognito`` and ``purge`` are built on first use: a profile needs no purge."""
        self._cognito = cognito
        self._pool = user_pool_id
        self._closed = closed
        self._purge = purge

    def profile(self, principal: Principal) -> Profile:
        if self._closed.is_closed(principal.user_id):
            raise AccountClosed()
        user = self._cognito_user(principal)
        if user is None:
            raise AccountClosed()
        return Profile(
            id=principal.user_id,
            username=principal.username,
            created_at=from_datetime(user["UserCreateDate"]),
        )

    def delete_account(self, principal: Principal) -> None:
        """Close the account, delete its Cognito user, purge its data (see the module)."""
        self._closed.close(principal.user_id)
        user = self._cognito_user(principal)
        if user is not None:
            try:
                _call_cognito(
                    self._cognito().admin_delete_user,
                    UserPoolId=self._pool,
                    Username=user["Username"],
                )
            except ClientError as error:
                if error_code(error) != USER_NOT_FOUND:  # deleted meanwhile: done too
                    raise
        self._purge().purge(principal.user_id)

    def _cognito_user(self, principal: Principal) -> Mapping[str, Any] | None:
        """The pool's user of the token's username, if it is still this ``sub``."""
        try:
            user = _call_cognito(
                self._cognito().admin_get_user, UserPoolId=self._pool, Username=principal.username
            )
        except ClientError as error:
            if error_code(error) == USER_NOT_FOUND:
                return None
            raise
        attributes = {item["Name"]: item["Value"] for item in user.get("UserAttributes", [])}
        return user if attributes.get("sub") == principal.user_id else None


def _call_cognito(operation: Callable[..., T], **kwargs: Any) -> T:
    """One Cognito call; throttling and what got no answer in time become a 503."""
    try:
        return operation(**kwargs)
    except ClientError as error:
        if error_code(error) in TRANSIENT_COGNITO_ERRORS:
            raise ServiceUnavailable(RETRY_AFTER_SECONDS) from error
        raise
    except UNANSWERED_CALL_ERRORS as error:
        raise ServiceUnavailable(RETRY_AFTER_SECONDS) from error
