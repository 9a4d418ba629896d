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
from chalicelib.storage.records import (
    RecordsRepository,
    login_counter_for_address,
    login_counter_for_username,
)
from chalicelib.storage.users import UserRepository

MAX_FAILED_LOGINS_PER_ADDRESS = 5
MAX_FAILED_LOGINS_PER_USERNAME = 50
LOCKOUT_WINDOW_SECONDS = 15 * 60
# The client address when the request carries none (never X-Forwarded-For: see app.py).
UNKNOWN_ADDRESS = "unknown"


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

    def login(self, credentials: Credentials, client_address: str = UNKNOWN_ADDRESS) -> str:
        """A fresh access token; the same error and comparable time for any failure.

        Login throttling (contract v2): the attempt is counted *before* the password is
        checked, per username and client address (``MAX_FAILED_LOGINS_PER_ADDRESS``) and
        per username over every address (``MAX_FAILED_LOGINS_PER_USERNAME``), both within
        ``LOCKOUT_WINDOW_SECONDS``. Each count is one conditional write, so parallel
        guesses cannot exceed the limits. A right password gives its attempt back: the
        address's count starts again, and the username-wide count loses this one.
        """
        now = time.time()
        self._reserve_attempts(credentials.username, client_address, now)
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
            raise InvalidCredentials()
        by_address = login_counter_for_address(credentials.username, client_address)
        self._records.clear_attempts(by_address)
        self._records.release_attempt(login_counter_for_username(credentials.username), now)
        return self._tokens.issue(Principal(user_id=user.id, username=user.username))

    def _reserve_attempts(self, username: str, client_address: str, now: float) -> None:
        """Count this attempt on both counters, or refuse it with ``TooManyAttempts``."""
        by_address = login_counter_for_address(username, client_address)
        locked_until = self._records.reserve_attempt(
            by_address, MAX_FAILED_LOGINS_PER_ADDRESS, LOCKOUT_WINDOW_SECONDS, now
        )
        if locked_until is None:
            locked_until = self._records.reserve_attempt(
                login_counter_for_username(username),
                MAX_FAILED_LOGINS_PER_USERNAME,
                LOCKOUT_WINDOW_SECONDS,
                now,
            )
            if locked_until is not None:  # not checked after all: not this address's failure
                self._records.release_attempt(by_address, now)
        if locked_until is not None:
            raise TooManyAttempts(max(1, math.ceil(locked_until - now)))

    @property
    def token_lifetime_seconds(self) -> int:
        return self._tokens.lifetime_seconds

    def profile(self, principal: Principal) -> User:
        user = self._users.get_by_username(principal.username)
        # A username re-registered after its user was removed is someone else.
        if user is None or user.id != principal.user_id:
            raise NotFound("No such user.")
        return user
