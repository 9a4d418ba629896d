"""One virtual user: registers, logs in, then runs a weighted mix of task operations.

Each virtual user owns one account and is the only writer of its tasks, so its ledger
predicts every answer: which status, which values, which version. Some conditional writes
deliberately carry a stale version (as a client holding an old copy would), so 412 is a
normal, predicted outcome. A few requests aim at other users' tasks and must be 404.
Register and login cost a deliberately slow scrypt hash, so they are a small share.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import requests

from loadtest.findings import Findings
from loadtest.ledger import (
    TASK_FIELDS,
    Ledger,
    TaskRecord,
    field_disagreements,
    version_disagreement,
)
from loadtest.timed_session import Sample, TimedSession, json_or_none

TASK_STATUSES = ("todo", "in_progress", "done")
# Relative frequency of each operation after register + login.
OPERATION_WEIGHTS: dict[str, float] = {
    "create": 16,
    "get": 16,
    "get_deleted": 2,
    "patch": 12,
    "patch_if_match": 10,
    "put": 7,
    "delete": 5,
    "list": 9,
    "list_status": 7,
    "me": 3,
    "foreign_get": 3,
    "foreign_write": 2,
    "login": 0.3,  # scrypt: ~0.3 s of server CPU each
}
MAX_PAGES_PER_WALK = 4  # like a person scrolling; the verification walks whole listings
PAGE_LIMITS = (5, 10, 20, 50)
STALE_IF_MATCH_SHARE = 0.3
WILDCARD_IF_MATCH_SHARE = 0.1
CONDITIONAL_PUT_SHARE = 0.4
CONDITIONAL_DELETE_SHARE = 0.5
WORDS = (
    "write", "report", "call", "plan", "review", "budget", "deploy", "fix", "groceries",
    "Ärzte", "naïve", "café", "草稿", "🚀 launch", "invoice", "draft", "meeting",
)  # fmt: skip
TAGS = ("work", "home", "urgent", "errand", "q3", "ideas", "café", "健康", "later", "blocked")


class TaskDirectory:
    """Every created task id with its owner, so other virtual users can try to reach it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[int, str]] = []

    def publish(self, owner: int, task_id: str) -> None:
        with self._lock:
            self._entries.append((owner, task_id))

    def pick_foreign(self, rng: random.Random, me: int) -> str | None:
        """Some other user's task id, or ``None`` if none is known yet."""
        with self._lock:
            for _ in range(8):
                if not self._entries:
                    return None
                owner, task_id = rng.choice(self._entries)
                if owner != me:
                    return task_id
        return None


class VirtualUser:
    """One account and one HTTP session, driven from one thread until the deadline."""

    def __init__(
        self,
        index: int,
        base_url: str,
        *,
        run_tag: str,
        directory: TaskDirectory,
        rng: random.Random,
        deadline: float,
        stop: threading.Event,
    ) -> None:
        self.index = index
        self.username = f"load-{run_tag}-{index:02d}"
        self.password = secrets.token_urlsafe(18)
        self.samples: list[Sample] = []
        self.client = TimedSession(base_url, self.samples)
        self.ledger = Ledger()
        self.findings = Findings()
        self.finished = False
        self._directory = directory
        self._rng = rng
        self._deadline = deadline
        self._stop = stop
        self._live_ids: list[str] = []
        self._deleted_ids: list[str] = []
        self._operations: dict[str, Callable[[], object]] = {
            "create": self._create,
            "get": self._get,
            "get_deleted": self._get_deleted,
            "patch": lambda: self._patch(conditional=False),
            "patch_if_match": lambda: self._patch(conditional=True),
            "put": self._put,
            "delete": self._delete,
            "list": lambda: self._walk(status=None),
            "list_status": lambda: self._walk(status=self._rng.choice(TASK_STATUSES)),
            "me": self._me,
            "foreign_get": self._foreign_get,
            "foreign_write": self._foreign_write,
            "login": self._login,
        }

    @property
    def token(self) -> str | None:
        return self.client.token

    def run(self) -> None:
        """Register, log in, then run random operations until time is up. Never raises."""
        try:
            if self._register() and self._login():
                names = list(OPERATION_WEIGHTS)
                weights = list(OPERATION_WEIGHTS.values())
                while not self._time_is_up():
                    self._operations[self._rng.choices(names, weights)[0]]()
            self.finished = True
        except Exception as error:
            self.findings.add("finished", f"{self.username} crashed: {error!r}")

    # Accounts

    def _register(self) -> bool:
        credentials = {"username": self.username, "password": self.password}
        response = self.client.request(
            "register", "POST", "/auth/register", json_body=credentials, anonymous=True
        )
        return self._expect("register", response, {201})

    def _login(self) -> bool:
        credentials = {"username": self.username, "password": self.password}
        response = self.client.request(
            "login", "POST", "/auth/login", json_body=credentials, anonymous=True
        )
        if not self._expect("login", response, {200}):
            return False
        body = json_or_none(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            self.findings.add("agrees_during_load", f"login: 200 without an access_token: {body}")
            return False
        self.client.token = token
        return True

    def _me(self) -> None:
        response = self.client.request("me", "GET", "/users/me")
        if self._expect("me", response, {200}):
            body = json_or_none(response)
            if not isinstance(body, dict) or body.get("username") != self.username:
                self.findings.add("agrees_during_load", f"me: not {self.username}: {body!r:.200}")

    # Tasks

    def _create(self) -> None:
        sent = {"title": self._title(), **self._optional_fields()}
        response = self.client.request("create", "POST", "/tasks", json_body=sent)
        if response is None or response.status_code >= 500:
            self.ledger.lost_creates += 1
            return
        if not self._expect("create", response, {201}):
            return
        task = json_or_none(response)
        task_id = task.get("id") if isinstance(task, dict) else None
        if not isinstance(task_id, str):
            self.ledger.lost_creates += 1
            self.findings.add("agrees_during_load", f"create: 201 without an id: {task!r:.200}")
            return
        record = self.ledger.record_create(task_id, sent)
        self._live_ids.append(task_id)
        self._directory.publish(self.index, task_id)
        self._compare("create", record, response)

    def _get(self) -> None:
        record = self._live_task()
        if record is None:
            return self._create()
        response = self.client.request("get", "GET", f"/tasks/{record.id}")
        if self._expect("get", response, {200}):
            self._compare("get", record, response)

    def _get_deleted(self) -> None:
        if not self._deleted_ids:
            return self._get()
        task_id = self._rng.choice(self._deleted_ids)
        response = self.client.request("get_deleted", "GET", f"/tasks/{task_id}")
        self._expect("get_deleted", response, {404})

    def _patch(self, *, conditional: bool) -> None:
        record = self._live_task()
        if record is None:
            return self._create()
        names = self._rng.sample(TASK_FIELDS, k=self._rng.randint(1, 3))
        sent = {name: self._value(name) for name in names}
        operation = "patch_if_match" if conditional else "patch"
        self._update(operation, "PATCH", record, sent, conditional=conditional, replace=False)

    def _put(self) -> None:
        record = self._live_task()
        if record is None:
            return self._create()
        sent = {"title": self._title(), **self._optional_fields()}
        conditional = self._rng.random() < CONDITIONAL_PUT_SHARE
        self._update("put", "PUT", record, sent, conditional=conditional, replace=True)

    def _update(
        self,
        operation: str,
        method: str,
        record: TaskRecord,
        sent: dict[str, Any],
        *,
        conditional: bool,
        replace: bool,
    ) -> None:
        headers, expected = self._preconditions(record, conditional, success=200)
        response = self.client.request(
            operation, method, f"/tasks/{record.id}", json_body=sent, headers=headers
        )
        if response is None or response.status_code >= 500:
            self._lose_track_of(record)
            return
        self._expect(operation, response, expected, f"{record.id} {headers}")
        if 200 <= response.status_code < 300:  # acknowledged: recorded even if unexpected
            self.ledger.record_update(record.id, sent, replace=replace)
            self._compare(operation, record, response)

    def _delete(self) -> None:
        record = self._live_task()
        if record is None:
            return self._create()
        conditional = self._rng.random() < CONDITIONAL_DELETE_SHARE
        headers, expected = self._preconditions(record, conditional, success=204)
        response = self.client.request("delete", "DELETE", f"/tasks/{record.id}", headers=headers)
        if response is None or response.status_code >= 500:
            self._lose_track_of(record)
            return
        self._expect("delete", response, expected, f"{record.id} {headers}")
        if 200 <= response.status_code < 300:
            self.ledger.record_delete(record.id)
            self._live_ids.remove(record.id)
            self._deleted_ids.append(record.id)

    def _walk(self, *, status: str | None) -> None:
        """Read up to a few pages, checking each against the ledger as it comes."""
        operation = "list" if status is None else "list_status"
        limit = self._rng.choice(PAGE_LIMITS)
        certain = self.ledger.listing_is_certain
        expected = self.ledger.expected_listing(status)
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES_PER_WALK):
            params = listing_params(limit, status, cursor)
            response = self.client.request(operation, "GET", "/tasks", params=params)
            if not self._expect(operation, response, {200}, str(params)):
                return
            page = json_or_none(response)
            items = page.get("items") if isinstance(page, dict) else None
            if (
                not isinstance(items, list)
                or len(items) > limit
                or not all(isinstance(item, dict) for item in items)
            ):
                self.findings.add("agrees_during_load", f"{operation}: bad page {page!r:.200}")
                return
            seen.extend(item.get("id") for item in items)
            cursor = page.get("next_cursor")
            if certain:
                problems = _page_problems(seen, expected, cursor is None)
                for item in items:
                    record = self.ledger.tasks.get(item.get("id"))
                    if record is not None:
                        problems += field_disagreements(record, item)
                if problems:
                    prefix = f"{operation} {params}: "
                    for problem in problems:
                        self.findings.add("agrees_during_load", prefix + problem)
                    return
            if cursor is None or self._time_is_up():
                return

    # Other users' tasks: always "not found", and never changed.

    def _foreign_get(self) -> None:
        task_id = self._directory.pick_foreign(self._rng, self.index)
        if task_id is None:
            return self._get()
        response = self.client.request("foreign_get", "GET", f"/tasks/{task_id}")
        self._expect("foreign_get", response, {404}, task_id)

    def _foreign_write(self) -> None:
        task_id = self._directory.pick_foreign(self._rng, self.index)
        if task_id is None:
            return self._get()
        if self._rng.random() < 0.5:
            response = self.client.request(
                "foreign_write", "PATCH", f"/tasks/{task_id}", json_body={"title": "not yours"}
            )
        else:
            response = self.client.request("foreign_write", "DELETE", f"/tasks/{task_id}")
        self._expect("foreign_write", response, {404}, task_id)

    # Helpers

    def _preconditions(
        self, record: TaskRecord, conditional: bool, *, success: int
    ) -> tuple[dict[str, str], set[int]]:
        """Headers for a write and the statuses the ledger predicts for them."""
        if not conditional:
            return {}, {success}
        draw = self._rng.random()
        if draw < WILDCARD_IF_MATCH_SHARE:
            return {"If-Match": "*"}, {success}
        if draw < WILDCARD_IF_MATCH_SHARE + STALE_IF_MATCH_SHARE:
            stale_versions = [v for v in range(1, record.version + 3) if v != record.version]
            return {"If-Match": f'"{self._rng.choice(stale_versions)}"'}, {412}
        return {"If-Match": f'"{record.version}"'}, {success}

    def _expect(
        self,
        operation: str,
        response: requests.Response | None,
        expected: set[int],
        context: str = "",
    ) -> bool:
        """Whether the status is one of ``expected``; a surprise (not a 5xx) is a finding."""
        if response is None:
            return False  # counted from the samples
        if response.status_code in expected:
            return True
        if response.status_code < 500:  # 5xx have their own check
            self.findings.add(
                "expected_status",
                f"{operation} {context}: {response.status_code}, expected"
                f" {sorted(expected)}: {response.text[:200]!r}",
            )
        return False

    def _compare(self, operation: str, record: TaskRecord, response: requests.Response) -> None:
        task = json_or_none(response)
        problems = field_disagreements(record, task)
        version_problem = version_disagreement(record, task, response.headers.get("ETag"))
        if version_problem:
            problems.append(version_problem)
        for problem in problems:
            self.findings.add("agrees_during_load", f"{operation}: {problem}")

    def _lose_track_of(self, record: TaskRecord) -> None:
        """A write with an unknown outcome: stop predicting this task."""
        self.ledger.mark_uncertain(record.id)
        self._live_ids.remove(record.id)

    def _live_task(self) -> TaskRecord | None:
        if not self._live_ids:
            return None
        return self.ledger.tasks[self._rng.choice(self._live_ids)]

    def _time_is_up(self) -> bool:
        return self._stop.is_set() or time.monotonic() >= self._deadline

    def _title(self) -> str:
        words = " ".join(self._rng.sample(WORDS, k=self._rng.randint(1, 4)))
        return f"{words.capitalize()} #{self._rng.randint(1, 9999)}"

    def _optional_fields(self) -> dict[str, Any]:
        return {name: self._value(name) for name in TASK_FIELDS[1:] if self._rng.random() < 0.5}

    def _value(self, name: str) -> Any:
        """A valid value for a task field, already in the form the server stores."""
        rng = self._rng
        if name == "title":
            return self._title()
        if name == "description":
            return rng.choice(("", "Remember the receipts.", " ".join(rng.choices(WORDS, k=60))))
        if name == "status":
            return rng.choice(TASK_STATUSES)
        if name == "due_date":
            if rng.random() < 0.25:
                return None
            return (date(2026, 1, 1) + timedelta(days=rng.randint(0, 730))).isoformat()
        return rng.sample(TAGS, k=rng.randint(0, 4))  # tags: distinct, trimmed


def _page_problems(seen: list[str], expected: list[str], at_end: bool) -> list[str]:
    """Pages so far must be the start of the expected newest-first listing, all of it at the end."""
    if seen != expected[: len(seen)]:
        return [f"pages so far {seen[-3:]}... are not a prefix of the expected listing"]
    if at_end and len(seen) != len(expected):
        return [f"next_cursor is null after {len(seen)} of {len(expected)} tasks"]
    if not at_end and len(seen) == len(expected):
        return [f"next_cursor is set after all {len(seen)} tasks"]
    return []


def listing_params(limit: int, status: str | None, cursor: str | None) -> dict[str, str]:
    """Query parameters of one GET /tasks page."""
    params = {"limit": str(limit)}
    if status is not None:
        params["status"] = status
    if cursor is not None:
        params["cursor"] = cursor
    return params
