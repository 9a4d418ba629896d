"""The service layer: what each endpoint does, with no HTTP and no DynamoDB in sight."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalicelib import passwords
from chalicelib.cursors import CursorCodec
from chalicelib.errors import InvalidCredentials, NotFound
from chalicelib.ids import is_valid_id, new_id
from chalicelib.models import Task, User
from chalicelib.tasks_repository import TaskRepository
from chalicelib.timestamps import utc_now
from chalicelib.tokens import Principal, TokenService
from chalicelib.users_repository import UserRepository
from chalicelib.validation import (
    PASSWORD_MAX,
    Credentials,
    ListQuery,
    TaskFields,
    is_well_formed_username,
)


class AccountService:
    def __init__(
        self,
        users: UserRepository,
        tokens: TokenService,
        password_parameters: passwords.ScryptParameters = passwords.DEFAULT_PARAMETERS,
    ) -> None:
        self._users = users
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
        """A fresh access token; the same error and comparable time for any failure."""
        user = None
        # Checked as sent: str.lower() maps some non-ASCII letters (KELVIN SIGN) to ASCII ones.
        if (
            is_well_formed_username(credentials.username)
            and len(credentials.password) <= PASSWORD_MAX
        ):
            user = self._users.get_by_username(credentials.username.lower())
        if user is None:
            passwords.verify_against_dummy(credentials.password, self._password_parameters)
            raise InvalidCredentials()
        if not passwords.verify_password(credentials.password, user.password_hash):
            raise InvalidCredentials()
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


class TaskService:
    def __init__(self, tasks: TaskRepository, cursors: CursorCodec) -> None:
        self._tasks = tasks
        self._cursors = cursors

    def create(self, principal: Principal, fields: TaskFields) -> Task:
        now = utc_now()
        task = Task(id=new_id(), created_at=now, updated_at=now, version=1, **asdict(fields))
        self._tasks.add(principal.user_id, task)
        return task

    def list(self, principal: Principal, query: ListQuery) -> tuple[list[Task], str | None]:
        """One page, newest first, and the cursor of the next page (``None`` at the end)."""
        after = None
        if query.cursor is not None:
            after = self._cursors.decode(
                query.cursor, user_id=principal.user_id, status=query.status
            )
        page = self._tasks.list_page(
            principal.user_id, status=query.status, after_task_id=after, limit=query.limit
        )
        next_cursor = None
        if page.has_more:
            next_cursor = self._cursors.encode(
                user_id=principal.user_id, status=query.status, last_task_id=page.tasks[-1].id
            )
        return page.tasks, next_cursor

    def get(self, principal: Principal, task_id: str) -> Task:
        task = self._tasks.get(principal.user_id, task_id) if is_valid_id(task_id) else None
        if task is None:
            raise NotFound()
        return task

    def patch(
        self,
        principal: Principal,
        task_id: str,
        changes: dict[str, Any],
        expected_versions: frozenset[int] | None,
    ) -> Task:
        if not is_valid_id(task_id):
            raise NotFound()
        return self._tasks.update(
            principal.user_id,
            task_id,
            changes,
            expected_versions=expected_versions,
            updated_at=utc_now(),
        )

    def replace(
        self,
        principal: Principal,
        task_id: str,
        fields: TaskFields,
        expected_versions: frozenset[int] | None,
    ) -> Task:
        """Full replacement: every writable field is written, omitted ones as defaults."""
        return self.patch(principal, task_id, asdict(fields), expected_versions)

    def delete(
        self, principal: Principal, task_id: str, expected_versions: frozenset[int] | None
    ) -> None:
        if not is_valid_id(task_id):
            raise NotFound()
        self._tasks.delete(principal.user_id, task_id, expected_versions=expected_versions)
