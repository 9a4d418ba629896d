"""Accounts: registration, login, the profile, password change and account deletion, with
no HTTP and no DynamoDB in sight."""

from __future__ import annotations

import math
import time

from chalicelib.auth import passwords
from chalicelib.auth.tokens import Principal
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import User
from chalicelib.domain.timestamps import utc_now
from chalicelib.domain.validation import (
    PASSWORD_MAX,
    Credentials,
    PasswordChange,
    is_well_formed_username,
)
from chalicelib.errors import AccountClosed, InvalidCredentials, TooManyAttempts
from chalicelib.services.account_purge import AccountPurge
from chalicelib.services.sessions import SessionService, Tokens
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
        sessions: SessionService,
        purge: AccountPurge,
        password_parameters: passwords.ScryptParameters = passwords.DEFAULT_PARAMETERS,
    ) -> None:
        self._users = users
        self._records = records
        self._sessions = sessions
        self._purge = purge
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

    def login(self, credentials: Credentials, client_address: str = UNKNOWN_ADDRESS) -> Tokens:
        """A new session's tokens; the same error and comparable time for any failure."""
        user = self._check_password(credentials.username, credentials.password, client_address)
        return self._sessions.start(Principal(user_id=user.id, username=user.username))

    def profile(self, principal: Principal) -> User:
        return self._current_user(principal)

    def change_password(
        self, principal: Principal, change: PasswordChange, client_address: str
    ) -> None:
        """Check the current password (a wrong one counts as a failed login), store the new
        one's hash, and end every session of the user."""
        self._current_user(principal)  # a closed account has no password to change
        try:
            user = self._check_password(principal.username, change.current_password, client_address)
        except InvalidCredentials:
            if not self._has_password(principal, change.new_password):
                raise
            # A retry of a change whose new hash was stored but whose sessions were not all
            # ended (a storage failure answered 503): finish it.
            self._sessions.end_all(principal.user_id)
            return
        if user.id != principal.user_id:
            raise AccountClosed()
        new_hash = passwords.hash_password(change.new_password, self._password_parameters)
        if not self._users.change_password_hash(
            user.username, user.id, user.password_hash, new_hash
        ):
            raise AccountClosed() if self._is_closed(principal) else InvalidCredentials()
        self._sessions.end_all(user.id)

    def delete_account(self, principal: Principal, password: str, client_address: str) -> None:
        """Close the account: its user record first (login is impossible from that instant,
        and no task can be stored for it: see ``TaskRepository.add``), then its sessions,
        then its tasks and records (``AccountPurge``).

        Deleting an account that is already closed finishes that work and succeeds, so a
        retry after a storage failure completes what the first attempt began.
        """
        if not self._is_closed(principal):
            user = self._check_password(principal.username, password, client_address)
            if user.id == principal.user_id:
                self._users.remove(user.username, user.id)
        self._sessions.end_all(principal.user_id)
        self._purge.purge(principal.user_id)

    def _current_user(self, principal: Principal) -> User:
        user = self._users.get_by_username(principal.username)
        # A username re-registered after its account was deleted is someone else.
        if user is None or user.id != principal.user_id:
            raise AccountClosed()
        return user

    def _has_password(self, principal: Principal, password: str) -> bool:
        user = self._users.get_by_username(principal.username)
        return (
            user is not None
            and user.id == principal.user_id
            and passwords.verify_password(password, user.password_hash)
        )

    def _is_closed(self, principal: Principal) -> bool:
        user = self._users.get_by_username(principal.username)
        return user is None or user.id != principal.user_id

    def _check_password(self, username: str, password: str, client_address: str) -> User:
        """The user whose password this is, or ``InvalidCredentials`` in comparable time.

        Login throttling (contract v2): the attempt is counted *before* the password is
        checked, per username and client address (``MAX_FAILED_LOGINS_PER_ADDRESS``) and
        per username over every address (``MAX_FAILED_LOGINS_PER_USERNAME``), both within
        ``LOCKOUT_WINDOW_SECONDS``. Each count is one conditional write, so parallel
        guesses cannot exceed the limits. A right password gives its attempt back: the
        address's count starts again, and the username-wide count loses this one.
        """
        now = time.time()
        self._reserve_attempts(username, client_address, now)
        user = None
        # Checked as sent: str.lower() maps some non-ASCII letters (KELVIN SIGN) to ASCII ones.
        if is_well_formed_username(username) and len(password) <= PASSWORD_MAX:
            user = self._users.get_by_username(username.lower())
        if user is None:
            passwords.verify_against_dummy(password, self._password_parameters)
        if user is None or not passwords.verify_password(password, user.password_hash):
            raise InvalidCredentials()
        self._records.clear_attempts(login_counter_for_address(username, client_address))
        self._records.release_attempt(login_counter_for_username(username), now)
        return user

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
