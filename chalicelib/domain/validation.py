"""The contract's field rules, as pure functions from parsed JSON to clean values.

Every function either returns clean, normalised values or raises ``ValidationFailed``
naming each broken rule, so a client fixes all of them in one round trip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from chalicelib.errors import FieldError, ValidationFailed

TASK_STATUSES = ("todo", "in_progress", "done")
TASK_FIELDS = ("title", "description", "status", "due_date", "tags")
TITLE_MAX = 200
DESCRIPTION_MAX = 4000
TAGS_MAX = 20
TAG_MAX = 40
USERNAME_MIN, USERNAME_MAX = 3, 32
# Regex sources shared with the OpenAPI document (chalicelib/http/openapi.py), so they are
# written in the subset Python and ECMA-262 read alike: letter case is ignored, so both cases
# are spelled out.
USERNAME_REGEX = rf"[A-Za-z0-9][A-Za-z0-9_.\-]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}"
DATE_REGEX = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
USERNAME_PATTERN = re.compile(USERNAME_REGEX, re.ASCII | re.IGNORECASE)
PASSWORD_MIN, PASSWORD_MAX = 8, 256
LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 100, 20
LIST_QUERY_PARAMETERS = ("limit", "status", "cursor")
_DATE_PATTERN = re.compile(DATE_REGEX, re.ASCII)
_DIGITS = re.compile(r"[0-9]{1,9}", re.ASCII)  # plain ASCII digits, short enough for int()


@dataclass(frozen=True)
class TaskFields:
    """The writable fields of a task, validated and normalised."""

    title: str
    description: str = ""
    status: str = "todo"
    due_date: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class ListQuery:
    limit: int = LIMIT_DEFAULT
    status: str | None = None
    cursor: str | None = None


class _Invalid(Exception):
    """One rule broken by one value; collected into ``ValidationFailed``."""


def validate_new_task(body: Mapping[str, Any]) -> TaskFields:
    """Fields for POST /tasks and PUT /tasks/{id}: title required, the rest defaulted."""
    changes = _validate_task_fields(body, require_title=True)
    return TaskFields(**changes)


def validate_task_patch(body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields PATCH /tasks/{id} changes: a non-empty subset, each validated."""
    if not body:
        raise ValidationFailed(
            [FieldError("body", "must contain at least one of: " + ", ".join(TASK_FIELDS))]
        )
    return _validate_task_fields(body, require_title=False)


def validate_registration(body: Mapping[str, Any]) -> Credentials:
    """Username normalised to lower case; password checked for length only."""
    return _credentials(body, username=_username, password=_new_password)


def validate_login(body: Mapping[str, Any]) -> Credentials:
    """Only the shape is checked: any string may be tried, and fails as invalid credentials."""
    return _credentials(body, username=_text, password=_text)


def is_well_formed_username(username: str) -> bool:
    return USERNAME_PATTERN.fullmatch(username) is not None


def validate_list_query(params: Mapping[str, str] | None) -> ListQuery:
    """Query parameters of GET /tasks; unknown parameters are rejected, not ignored."""
    params = params or {}
    errors = _unknown_fields(params, LIST_QUERY_PARAMETERS, noun="query parameter")
    limit = _collect(errors, params, "limit", _limit, required=False)
    status = _collect(errors, params, "status", _status, required=False)
    cursor = params.get("cursor")
    if errors:
        raise ValidationFailed(errors)
    return ListQuery(limit=LIMIT_DEFAULT if limit is None else limit, status=status, cursor=cursor)


def _credentials(
    body: Mapping[str, Any],
    *,
    username: Callable[[Any], str],
    password: Callable[[Any], str],
) -> Credentials:
    errors = _unknown_fields(body, ("username", "password"))
    clean_username = _collect(errors, body, "username", username, required=True)
    clean_password = _collect(errors, body, "password", password, required=True)
    if errors:
        raise ValidationFailed(errors)
    return Credentials(username=clean_username, password=clean_password)


def _validate_task_fields(body: Mapping[str, Any], *, require_title: bool) -> dict[str, Any]:
    errors = _unknown_fields(body, TASK_FIELDS)
    clean: dict[str, Any] = {}
    for name, check in _TASK_FIELD_CHECKS.items():
        if name in body or (name == "title" and require_title):
            clean[name] = _collect(errors, body, name, check, required=True)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _collect(
    errors: list[FieldError],
    source: Mapping[str, Any],
    name: str,
    check: Callable[[Any], Any],
    *,
    required: bool,
) -> Any:
    if name not in source:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    try:
        return check(source[name])
    except _Invalid as invalid:
        errors.append(FieldError(name, str(invalid)))
        return None


def _unknown_fields(
    source: Mapping[str, Any], allowed: tuple[str, ...], noun: str = "field"
) -> list[FieldError]:
    return [
        FieldError(_shorten(name), f"is not a known {noun}")
        for name in source
        if name not in allowed
    ]


def _shorten(name: str) -> str:
    """Echo a client's unknown field name back, but never a huge one."""
    return name if len(name) <= 64 else name[:61] + "..."


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("must be valid Unicode text (no unpaired surrogates)") from None
    return value


def _title(value: Any) -> str:
    title = _text(value).strip()
    if not title:
        raise _Invalid("must not be empty")
    if len(title) > TITLE_MAX:
        raise _Invalid(f"must be at most {TITLE_MAX} characters")
    return title


def _description(value: Any) -> str:
    description = _text(value)
    if len(description) > DESCRIPTION_MAX:
        raise _Invalid(f"must be at most {DESCRIPTION_MAX} characters")
    return description


def _status(value: Any) -> str:
    if not isinstance(value, str) or value not in TASK_STATUSES:
        raise _Invalid("must be one of: " + ", ".join(TASK_STATUSES))
    return value


def _due_date(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE_PATTERN.fullmatch(value):
        raise _Invalid("must be null or a date formatted YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _Invalid("must be a real calendar date") from None
    return value


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _Invalid("must be an array of strings")
    if len(value) > TAGS_MAX:
        raise _Invalid(f"must hold at most {TAGS_MAX} tags")
    tags: list[str] = []
    for index, item in enumerate(value):
        try:
            tag = _text(item).strip()
        except _Invalid as invalid:
            raise _Invalid(f"item {index} {invalid}") from None
        if not tag or len(tag) > TAG_MAX:
            raise _Invalid(f"item {index} must be 1 to {TAG_MAX} characters after trimming")
        if tag not in tags:
            tags.append(tag)
    return tags


def _username(value: Any) -> str:
    username = _text(value)
    if not is_well_formed_username(username):
        raise _Invalid(
            "must be 3 to 32 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit"
        )
    return username.lower()


def _new_password(value: Any) -> str:
    password = _text(value)
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise _Invalid(f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    return password


def _limit(value: Any) -> int:
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise _Invalid(f"must be an integer from {LIMIT_MIN} to {LIMIT_MAX}")
    limit = int(value)
    if not LIMIT_MIN <= limit <= LIMIT_MAX:
        raise _Invalid(f"must be an integer from {LIMIT_MIN} to {LIMIT_MAX}")
    return limit


_TASK_FIELD_CHECKS: dict[str, Callable[[Any], Any]] = {
    "title": _title,
    "description": _description,
    "status": _status,
    "due_date": _due_date,
    "tags": _tags,
}
