"""What the server acknowledged to one virtual user: the truth the checks compare against.

Each virtual user is the only writer of its own tasks, so the order of its acknowledged
writes is the order the server applied them, and the expected state of every task follows
from replaying them. A write that got no answer (or a 5xx) has an unknown outcome: the task,
or the whole listing for a lost create, is marked uncertain rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TASK_FIELDS = ("title", "description", "status", "due_date", "tags")
TASK_DEFAULTS: dict[str, Any] = {"description": "", "status": "todo", "due_date": None, "tags": []}


@dataclass(frozen=True)
class AcknowledgedUpdate:
    """One 2xx PATCH (``replace=False``) or PUT (``replace=True``) and the fields it sent."""

    sent: dict[str, Any]
    replace: bool


@dataclass
class TaskRecord:
    id: str
    created_with: dict[str, Any]
    updates: list[AcknowledgedUpdate] = field(default_factory=list)
    deleted: bool = False
    uncertain: bool = False  # a write to it got no usable answer: its state is unknown

    @property
    def version(self) -> int:
        """Every acknowledged update raises the version by exactly one."""
        return 1 + len(self.updates)

    def expected_fields(self) -> dict[str, Any]:
        """The last acknowledged values: the create, then each update replayed in order."""
        fields = {**TASK_DEFAULTS, **self.created_with}
        for update in self.updates:
            base = {**TASK_DEFAULTS} if update.replace else fields
            fields = {**base, **update.sent}
        return fields


@dataclass
class Ledger:
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    lost_creates: int = 0  # creates with no usable answer: a task may exist we cannot name

    def record_create(self, task_id: str, sent: dict[str, Any]) -> TaskRecord:
        record = TaskRecord(task_id, dict(sent))
        self.tasks[task_id] = record
        return record

    def record_update(self, task_id: str, sent: dict[str, Any], *, replace: bool) -> None:
        self.tasks[task_id].updates.append(AcknowledgedUpdate(dict(sent), replace))

    def record_delete(self, task_id: str) -> None:
        self.tasks[task_id].deleted = True

    def mark_uncertain(self, task_id: str) -> None:
        self.tasks[task_id].uncertain = True

    @property
    def listing_is_certain(self) -> bool:
        """Whether the exact set of existing tasks is known."""
        return self.lost_creates == 0 and not any(r.uncertain for r in self.tasks.values())

    def live(self) -> list[TaskRecord]:
        return [record for record in self.tasks.values() if not record.deleted]

    def expected_listing(self, status: str | None = None) -> list[str]:
        """Ids of the live tasks with ``status`` (any when ``None``), newest first."""
        return sorted(
            (
                record.id
                for record in self.live()
                if status is None or record.expected_fields()["status"] == status
            ),
            reverse=True,
        )

    @property
    def acknowledged_updates(self) -> int:
        return sum(len(record.updates) for record in self.tasks.values())


def field_disagreements(record: TaskRecord, task: Any) -> list[str]:
    """How a task from the server differs from the last acknowledged values (empty: agrees)."""
    if not isinstance(task, dict):
        return [f"task {record.id}: body is not a JSON object: {task!r:.120}"]
    problems = []
    if task.get("id") != record.id:
        problems.append(f"task {record.id}: id is {task.get('id')!r}")
    for name, expected in record.expected_fields().items():
        if task.get(name) != expected:
            problems.append(
                f"task {record.id}: {name} is {task.get(name)!r:.80},"
                f" last acknowledged {expected!r:.80}"
            )
    return problems


def version_disagreement(record: TaskRecord, task: Any, etag: str | None) -> str | None:
    """Why the version (body and ``ETag``) is not 1 + the acknowledged updates, or ``None``."""
    version = task.get("version") if isinstance(task, dict) else None
    if version == record.version and etag == f'"{record.version}"':
        return None
    return (
        f"task {record.id}: version {version!r}, ETag {etag!r}; expected {record.version}"
        f" (1 + {len(record.updates)} acknowledged updates)"
    )
