"""Tasks: create, list, read, change and delete one user's tasks; no HTTP, no DynamoDB."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from chalicelib.auth.tokens import Principal
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.ids import is_valid_id, new_id
from chalicelib.domain.models import Task
from chalicelib.domain.timestamps import utc_now
from chalicelib.domain.validation import (
    ListQuery,
    TaskFields,
)
from chalicelib.errors import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    NotFound,
)
from chalicelib.storage.idempotency import COMPLETED, IdempotencyRepository
from chalicelib.storage.tasks import TaskRepository


@dataclass(frozen=True)
class Created:
    """The answer to a create: the task as first stored, and whether it is a replay."""

    body: dict[str, Any]
    replayed: bool = False

    @property
    def location(self) -> str:
        return f"/tasks/{self.body['id']}"

    @property
    def etag(self) -> str:
        return f'"{self.body["version"]}"'


class AccountCheck(Protocol):
    """Where a create's "the account still exists" condition comes from: the user record
    (``UserRepository``, builtin mode) or the absence of a closed marker (``ClosedAccounts``,
    cognito mode). Either is one ``ConditionCheck`` in the create's transaction."""

    def ownership_check(self, username: str, user_id: str) -> dict[str, Any]: ...


class TaskService:
    def __init__(
        self,
        tasks: TaskRepository,
        idempotency: IdempotencyRepository,
        users: AccountCheck,
        cursors: Callable[[], CursorCodec],
    ) -> None:
        """``cursors`` builds the codec on first use: only listings need the signing keys,
        so other requests of a cold container skip reading them."""
        self._tasks = tasks
        self._idempotency = idempotency
        self._users = users
        self._cursors = cursors

    def create(
        self, principal: Principal, fields: TaskFields, idempotency_key: str | None = None
    ) -> Created:
        """A new task; with an idempotency key, at most one per key and request body.

        Repeating a key with the same fields within 24 hours returns the original response
        and creates nothing; with other fields it is refused, as it is while the first
        request with that key is still in flight. The write is conditional on the account
        still existing (``AccountClosed`` once it is deleted).
        """
        now = utc_now()
        task = Task(id=new_id(), created_at=now, updated_at=now, version=1, **vars(fields))
        owner_check = self._users.ownership_check(principal.username, principal.user_id)
        if idempotency_key is None:
            self._tasks.add(principal.user_id, task, owner_check=owner_check)
            return Created(task.to_json())
        fingerprint = _fingerprint(fields)
        holder = self._idempotency.claim(
            principal.user_id, idempotency_key, fingerprint, time.time()
        )
        if holder is not None:
            if holder.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            if holder.state != COMPLETED or holder.response is None:
                raise IdempotencyInProgress()
            return Created(json.loads(holder.response), replayed=True)
        body = task.to_json()
        record = self._idempotency.completion(
            principal.user_id, idempotency_key, fingerprint, json.dumps(body)
        )
        try:
            self._tasks.add(principal.user_id, task, owner_check=owner_check, together_with=record)
        except Exception:
            self._idempotency.release(principal.user_id, idempotency_key, fingerprint)
            raise
        return Created(body)

    def list(self, principal: Principal, query: ListQuery) -> tuple[list[Task], str | None]:
        """One page, newest first, and the cursor of the next page (``None`` at the end)."""
        after = None
        if query.cursor is not None:
            after = self._cursors().decode(
                query.cursor, user_id=principal.user_id, status=query.status
            )
        page = self._tasks.list_page(
            principal.user_id, status=query.status, after_task_id=after, limit=query.limit
        )
        next_cursor = None
        if page.has_more:
            next_cursor = self._cursors().encode(
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
        return self.patch(principal, task_id, dict(vars(fields)), expected_versions)

    def delete(
        self, principal: Principal, task_id: str, expected_versions: frozenset[int] | None
    ) -> None:
        if not is_valid_id(task_id):
            raise NotFound()
        self._tasks.delete(principal.user_id, task_id, expected_versions=expected_versions)


def _fingerprint(fields: TaskFields) -> str:
    """What makes two creates "the same request": their validated fields."""
    canonical = json.dumps(asdict(fields), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
