"""Accounts: registration, login and the profile, with no HTTP and no DynamoDB in sight."""

from __future__ import annotations

import math
import time

from chalicelib.auth import passwords
from chalicelib.auth.tokens import Principal, TokenService
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import User
from chalicelib.domain.timestamps import utc_now
from chalicelib.domain.validation import (
    PASSWORD_MAX,
    Credentials,
    is_well_formed_username,
)
from chalicelib.errors import (
    InvalidCredentials,
    NotFound,
    TooManyAttempts,
)
from chalicelib.storage.records import RecordsRepository
from chalicelib.storage.users import UserRepository

MAX_FAILED_LOGINS = 5
LOCKOUT_WINDOW_SECONDS = 15 * 60


class AccountService:
    def __init__(
        self,
        users: UserRepository,
        records: RecordsRepository,
        tokens: TokenService,
        password_parameters: passwords.ScryptParameters = passwords.DEFAULT_PARAMETERS,
    ) -> None:
        self._users = users
        self._records = records
        self._tokens = tokens
        self._password_parameters = password_parameters

    def register(self, credentials: Credentials) -> User:
        user = User(
            id=new_id(),
            username=credentials.username,
            password_hash=passwords.hash_password(credentials.password, self._password_parameters),
            created_at=utc_now(),
        )
        self._users.add(user)
        return user

    def login(self, credentials: Credentials) -> str:
        """A fresh access token; the same error and comparable time for any failure.

        After ``MAX_FAILED_LOGINS`` failures for one username within the window, every
        login for it is refused until the window passes, whether or not the user exists.
        """
        now = time.time()
        failures = self._records.login_failures(credentials.username, now)
        if failures is not None and failures.count >= MAX_FAILED_LOGINS:
            raise TooManyAttempts(max(1, math.ceil(failures.window_ends - now)))
        user = None
        # Checked as sent: str.lower() maps some non-ASCII letters (KELVIN SIGN) to ASCII ones.
        if (
            is_well_formed_username(credentials.username)
            and len(credentials.password) <= PASSWORD_MAX
        ):
            user = self._users.get_by_username(credentials.username.lower())
        if user is None:
            passwords.verify_against_dummy(credentials.password, self._password_parameters)
        if user is None or not passwords.verify_password(credentials.password, user.password_hash):
            self._records.record_login_failure(credentials.username, now, LOCKOUT_WINDOW_SECONDS)
            raise InvalidCredentials()
        if failures is not None:
            self._records.clear_login_failures(credentials.username)
        return self._tokens.issue(Principal(user_id=user.id, username=user.username))

    @property
    def token_lifetime_seconds(self) -> int:
        return self._tokens.lifetime_seconds

    def profile(self, principal: Principal) -> User:
        user = self._users.get_by_username(principal.username)
        # A username re-registered after its user was removed is someone else.
        if user is None or user.id != principal.user_id:
            raise NotFound("No such user.")
        return user
