"""The API's OpenAPI 3.1 document, built from the definitions the code itself enforces.

Limits, patterns and enums come from ``validation``, body and header rules from ``web`` and
``ids``, error codes, statuses and messages from ``errors``: changing a rule there changes the
document. ``tests/test_contract_openapi.py`` checks what cannot be derived (which route raises
which error, the calendar and trimming rules) against the code and the running API.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib import errors
from chalicelib.domain import ids, validation
from chalicelib.errors import (
    AccountClosed,
    ApiError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InternalError,
    InvalidCredentials,
    InvalidCursor,
    InvalidJson,
    InvalidRefreshToken,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceUnavailable,
    TooManyAttempts,
    UnsupportedMediaType,
    UsernameTaken,
    ValidationFailed,
)
from chalicelib.http import web

OPENAPI_VERSION = "3.1.0"
API_VERSION = "2"  # the contract version the API implements
SECURITY_SCHEME = "bearerAuth"
MEDIA_TYPE = "application/json"
# The highest code point for which str.isspace() holds (U+3000 IDEOGRAPHIC SPACE); a test
# scans all of Unicode to keep this true.
MAX_WHITESPACE_CODE_POINT = 0x3000
# The document changes only with a deployment; clients may keep it for a few minutes.
RESPONSE_HEADERS = {"Cache-Control": "public, max-age=300"}
# API Gateway's own answers for the authorizer step; they are not the contract's envelope.
GATEWAY_UNAUTHORIZED = "GatewayUnauthorized"
GATEWAY_FORBIDDEN = "GatewayForbidden"

Schema = dict[str, Any]


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema_ref(name: str) -> dict[str, str]:
    return _ref("schemas", name)


def _anchored(regex: str) -> str:
    """A whole-value pattern: JSON Schema patterns match anywhere unless anchored."""
    return f"^(?:{regex})$"


def _white_space() -> list[str]:
    """The characters ``str.isspace()`` holds for, spelled out: neither engine's ``\\s`` is
    Python's notion of white space (they differ on U+001C-U+001F, U+0085 and U+FEFF)."""
    return [chr(code) for code in range(MAX_WHITESPACE_CODE_POINT + 1) if chr(code).isspace()]


def _from_ranges(ranges: Iterable[tuple[int, int]]) -> list[str]:
    return [chr(code) for low, high in ranges for code in range(low, high + 1)]


@functools.cache
def trimmable_class() -> str:
    """What trimming removes from both ends: white space and default-ignorable code points."""
    return _character_class(_white_space() + _from_ranges(validation.DEFAULT_IGNORABLE_RANGES))


@functools.cache
def extender_class() -> str:
    """Default-ignorables that trimming keeps right after the last kept character."""
    return _character_class(_from_ranges(validation.GRAPHEME_EXTENDER_RANGES))


@functools.cache
def trimmed_off_class() -> str:
    """Trimmable characters that always start the trimmed-off tail: not extenders."""
    extenders = set(_from_ranges(validation.GRAPHEME_EXTENDER_RANGES))
    return _character_class(
        character
        for character in _white_space() + _from_ranges(validation.DEFAULT_IGNORABLE_RANGES)
        if character not in extenders
    )


@functools.cache
def invisible_class() -> str:
    """Characters that show nothing by themselves (``validation.has_visible_character``).

    White space, default-ignorables, controls, format characters and combining marks, from
    the running Python's Unicode database: the document says what this server does.
    """
    return _character_class(
        _white_space()
        + _from_ranges(validation.DEFAULT_IGNORABLE_RANGES)
        + [
            chr(code)
            for code in range(sys.maxunicode + 1)
            if unicodedata.category(chr(code)) in validation.INVISIBLE_CATEGORIES
        ]
    )


def _character_class(characters: Iterable[str]) -> str:
    """A regex class of exactly ``characters``, read alike by Python and ECMA-262.

    Code points up to U+FFFF are written as ``\\uXXXX`` escapes; those above, which an escape
    can only spell as a surrogate pair (a different thing to Python), are written as the
    characters themselves, which ECMA-262 reads as code points with the ``u`` flag that
    JSON Schema validators use. The serialised document stays ASCII either way.
    """
    codes = sorted({ord(character) for character in characters})
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    parts = [
        _class_member(first) if first == last else f"{_class_member(first)}-{_class_member(last)}"
        for first, last in ranges
    ]
    return "[" + "".join(parts) + "]"


def _class_member(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def trimmed_text_regex(max_length: int, *, padded: bool) -> str:
    """1 to ``max_length`` characters once trimmed, at least one of them visible.

    Trimming (``validation.trim``) removes white space and default-ignorable code points from
    both ends, but keeps grapheme extenders right after the last kept character. ``padded``
    admits what trimming removes (requests); without it the value must already be trimmed
    (responses, which hold the stored value). Lookaheads carry the rules a plain pattern
    cannot: some visible character (``(?!invisible*$)``) and, for padded values, the length
    of the trimmed text alone (``(?!(?!...))``: "whatever follows the first ``max_length``
    characters is the trimmed-off tail").
    """
    trimmable = trimmable_class()
    kept = "[^" + trimmable[1:]
    invisible = invisible_class()
    some_visible = f"(?!{invisible}*$)"
    span = kept if max_length == 1 else f"{kept}(?:[\\s\\S]{{0,{max_length - 2}}}{kept})?"
    if not padded:
        return f"(?![\\s\\S]{{{max_length + 1}}}){some_visible}{span}{extender_class()}*"
    tail = f"(?:{trimmed_off_class()}{trimmable}*)?"
    fits = f"(?!(?![\\s\\S]{{0,{max_length}}}{tail}$))"
    return f"{trimmable}*{fits}{some_visible}{span}{trimmable}*"


def _trimmed_text(max_length: int, *, padded: bool, description: str) -> Schema:
    return {
        "type": "string",
        "pattern": _anchored(trimmed_text_regex(max_length, padded=padded)),
        "description": description,
    }


# ---------------------------------------------------------------------------------------------
# Schemas of bodies
# ---------------------------------------------------------------------------------------------

_TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$",
    "description": "RFC 3339, UTC, millisecond precision, `Z` suffix.",
    "examples": ["2026-11-23T09:15:02.123Z"],
}
_ID = {
    "type": "string",
    "pattern": _anchored(ids.ULID_PATTERN.pattern),
    "description": "Opaque; task ids sort by creation time.",
    "examples": ["01JDQ3A9ZK6V0F3R8Q2W5T7Y1B"],
}


def _due_date() -> Schema:
    return {
        "type": ["string", "null"],
        "format": "date",
        # Year 0000 is a valid RFC 3339 full-date but no calendar date Python knows.
        "pattern": _anchored(f"(?!0000){validation.DATE_REGEX}"),
        "description": "`null`, or a real calendar date `YYYY-MM-DD`.",
        "examples": ["2026-12-01", None],
    }


def _task_fields(*, padded: bool) -> dict[str, Schema]:
    """The writable fields: as a request may send them (``padded``) or as stored."""
    trim_note = (
        " after trimming surrounding white space and default-ignorable code points (U+200B, "
        "U+FEFF, ...), at least one of them visible (not only format or control characters "
        "or combining marks)"
        if padded
        else ", at least one of them visible"
    )
    return {
        "title": _trimmed_text(
            validation.TITLE_MAX,
            padded=padded,
            description=f"1-{validation.TITLE_MAX} characters{trim_note}"
            + ("; stored trimmed." if padded else "."),
        ),
        "description": {
            "type": "string",
            "maxLength": validation.DESCRIPTION_MAX,
            "description": f"0-{validation.DESCRIPTION_MAX} characters.",
        },
        "status": {"type": "string", "enum": list(validation.TASK_STATUSES)},
        "due_date": _due_date(),
        "tags": {
            "type": "array",
            "maxItems": validation.TAGS_MAX,
            "items": _trimmed_text(
                validation.TAG_MAX,
                padded=padded,
                description=f"1-{validation.TAG_MAX} characters{trim_note}.",
            ),
            **(
                {
                    "description": (
                        f"At most {validation.TAGS_MAX} tags, counted as sent; stored trimmed, "
                        "duplicates dropped, first-seen order kept."
                    )
                }
                if padded
                else {"uniqueItems": True}
            ),
        },
    }


def _task_defaults() -> dict[str, Any]:
    """What an omitted field becomes on create and replace: ``TaskFields``' own defaults."""
    defaults: dict[str, Any] = {}
    for field in dataclasses.fields(validation.TaskFields):
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = field.default_factory()
    return defaults


def _task_request(*, require_title: bool, description: str) -> Schema:
    properties = _task_fields(padded=True)
    if require_title:
        for name, default in _task_defaults().items():
            properties[name] = {**properties[name], "default": default}
    schema: Schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "properties": properties,
    }
    if require_title:
        schema["required"] = ["title"]
        schema["examples"] = [{"title": "Write report", "tags": ["work"], "due_date": "2026-12-01"}]
    else:
        schema["minProperties"] = 1
        schema["examples"] = [{"status": "done"}]
    return schema


def _task() -> Schema:
    properties = {
        "id": _ID,
        **_task_fields(padded=False),
        "created_at": _TIMESTAMP,
        "updated_at": _TIMESTAMP,
        "version": {
            "type": "integer",
            "minimum": 1,
            "description": "Raised by one on every change; the `ETag` is this number, quoted.",
        },
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
        "examples": [
            {
                "id": "01JDQ3A9ZK6V0F3R8Q2W5T7Y1B",
                "title": "Write report",
                "description": "",
                "status": "todo",
                "due_date": None,
                "tags": [],
                "created_at": "2026-11-23T09:15:02.123Z",
                "updated_at": "2026-11-23T09:15:02.123Z",
                "version": 1,
            }
        ],
    }


def _username(*, as_stored: bool) -> Schema:
    if as_stored:
        return {
            "type": "string",
            "pattern": _anchored(validation.USERNAME_REGEX.replace("A-Za-z", "a-z")),
            "description": "Lower case.",
        }
    return {
        "type": "string",
        "pattern": _anchored(validation.USERNAME_REGEX),
        "description": (
            f"{validation.USERNAME_MIN}-{validation.USERNAME_MAX} characters of `a-z`, `0-9`, "
            "`_`, `.`, `-`, starting with a letter or digit. Letter case is ignored: `Alice` "
            "registers and is returned as `alice`."
        ),
    }


def _schemas() -> dict[str, Schema]:
    user_properties = {
        "id": _ID,
        "username": _username(as_stored=True),
        "created_at": _TIMESTAMP,
    }
    schemas: dict[str, Schema] = {
        "Health": {
            "type": "object",
            "additionalProperties": False,
            "required": ["status"],
            "properties": {"status": {"const": "ok"}},
        },
        "Registration": {
            "type": "object",
            "additionalProperties": False,
            "required": ["username", "password"],
            "properties": {
                "username": _username(as_stored=False),
                "password": {
                    "type": "string",
                    "minLength": validation.PASSWORD_MIN,
                    "maxLength": validation.PASSWORD_MAX,
                    "description": (
                        f"{validation.PASSWORD_MIN}-{validation.PASSWORD_MAX} characters "
                        "(Unicode code points), any characters. Never stored or returned."
                    ),
                },
            },
            "examples": [{"username": "Alice", "password": "correct horse battery"}],
        },
        "Login": {
            "type": "object",
            "additionalProperties": False,
            "required": ["username", "password"],
            "properties": {
                "username": {
                    "type": "string",
                    "description": "Any string; letter case is ignored.",
                },
                "password": {"type": "string"},
            },
            "examples": [{"username": "alice", "password": "correct horse battery"}],
        },
        "User": {
            "type": "object",
            "additionalProperties": False,
            "required": list(user_properties),
            "properties": user_properties,
            "examples": [
                {
                    "id": "01JDQ3A9ZK6V0F3R8Q2W5T7Y1B",
                    "username": "alice",
                    "created_at": "2026-11-23T09:15:02.123Z",
                }
            ],
        },
        "Token": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "access_token",
                "token_type",
                "expires_in",
                "refresh_token",
                "refresh_expires_in",
            ],
            "properties": {
                "access_token": {
                    "type": "string",
                    "pattern": r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$",
                    "description": "A JWT (HS256); send it as `Authorization: Bearer <token>`.",
                },
                "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer", "minimum": 1, "description": "Seconds."},
                "refresh_token": {
                    "type": "string",
                    "minLength": 43,
                    "description": (
                        "Opaque (not a JWT), 256 random bits; send it to `/auth/refresh` for "
                        "new tokens. Each one works once: a refresh returns the next."
                    ),
                },
                "refresh_expires_in": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Seconds until the session ends (counted from the login).",
                },
            },
        },
        "RefreshToken": {
            "type": "object",
            "additionalProperties": False,
            "required": ["refresh_token"],
            "properties": {"refresh_token": {"type": "string"}},
            "examples": [{"refresh_token": "<the refresh_token from login or refresh>"}],
        },
        "PasswordChange": {
            "type": "object",
            "additionalProperties": False,
            "required": ["current_password", "new_password"],
            "properties": {
                "current_password": {"type": "string"},
                "new_password": {
                    "type": "string",
                    "minLength": validation.PASSWORD_MIN,
                    "maxLength": validation.PASSWORD_MAX,
                },
            },
            "examples": [
                {"current_password": "correct horse battery", "new_password": "a new passphrase"}
            ],
        },
        "AccountDeletion": {
            "type": "object",
            "additionalProperties": False,
            "required": ["password"],
            "properties": {"password": {"type": "string"}},
            "examples": [{"password": "correct horse battery"}],
        },
        "NewTask": _task_request(
            require_title=True,
            description="Create or replace: `title` required, omitted fields take defaults.",
        ),
        "TaskPatch": _task_request(
            require_title=False,
            description="Any non-empty subset of the writable fields; `due_date: null` clears it.",
        ),
        "Task": _task(),
        "TaskList": {
            "type": "object",
            "additionalProperties": False,
            "required": ["items", "next_cursor"],
            "properties": {
                "items": {
                    "type": "array",
                    "maxItems": validation.LIMIT_MAX,
                    "items": _schema_ref("Task"),
                    "description": "At most `limit` tasks, newest first.",
                },
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "Pass as `cursor` for the next page; `null` at the end.",
                },
            },
        },
        "FieldError": {
            "type": "object",
            "additionalProperties": False,
            "required": ["field", "message"],
            "properties": {
                "field": {
                    "type": "string",
                    "maxLength": errors.MAX_FIELD_CHARS,
                    "description": (
                        "A body field, query parameter, header, or `body`; a longer unknown "
                        f"name is cut to its first {errors.MAX_FIELD_CHARS - 3} characters "
                        'and "...".'
                    ),
                },
                "message": {"type": "string", "maxLength": errors.MAX_MESSAGE_CHARS},
            },
        },
        GATEWAY_UNAUTHORIZED: {
            "type": "object",
            "description": "API Gateway's body: no `Authorization` header.",
            "properties": {"message": {"type": "string"}},
            "examples": [{"message": "Unauthorized"}],
        },
        GATEWAY_FORBIDDEN: {
            "type": "object",
            "description": "API Gateway's authorizer-deny body: the token was refused.",
            "properties": {"Message": {"type": "string"}, "message": {"type": "string"}},
            "examples": [{"Message": "User is not authorized to access this resource"}],
        },
    }
    for error in error_classes():
        schemas[error.__name__] = _error_schema(error)
    return schemas


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def error_classes() -> list[type[ApiError]]:
    """Every error a client can receive, in definition order (one per contract row)."""
    found: list[type[ApiError]] = []
    pending = [ApiError]
    while pending:
        for subclass in pending.pop(0).__subclasses__():
            found.append(subclass)
            pending.append(subclass)
    return found


def sends_retry_after(error: type[ApiError]) -> bool:
    """Errors that override ``headers()`` answer with ``Retry-After`` (a test pins this)."""
    return error.headers is not ApiError.headers


def _error_schema(error: type[ApiError]) -> Schema:
    body: Schema = {
        "code": {"const": error.code},
        "message": {
            "type": "string",
            "minLength": 1,
            "maxLength": errors.MAX_ERROR_MESSAGE_CHARS,
        },
    }
    required = ["code", "message"]
    if issubclass(error, ValidationFailed):
        body["details"] = {
            "type": "array",
            "minItems": 1,
            "maxItems": errors.MAX_ERROR_DETAILS,
            "items": _schema_ref("FieldError"),
            "description": (
                f"The first {errors.MAX_ERROR_DETAILS} problems found, at most; the message "
                "says when there were more. No error body exceeds "
                f"{errors.MAX_ERROR_BODY_BYTES // 1024} KiB."
            ),
        }
        required.append("details")
    example: dict[str, Any] = {"code": error.code, "message": error.message}
    if issubclass(error, ValidationFailed):
        example["details"] = [{"field": "title", "message": "must not be empty"}]
    return {
        "type": "object",
        "description": f"`{error.status} {error.code}`",
        "additionalProperties": False,
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "additionalProperties": False,
                "required": required,
                "properties": body,
            }
        },
        "examples": [{"error": example}],
    }


def _error_responses(errors: tuple[type[ApiError], ...]) -> dict[str, Any]:
    by_status: dict[int, list[type[ApiError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    responses: dict[str, Any] = {}
    for status, group in sorted(by_status.items()):
        refs = [_schema_ref(error.__name__) for error in group]
        response: dict[str, Any] = {
            "description": "; ".join(f"`{error.code}`: {error.message}" for error in group),
            "content": {MEDIA_TYPE: {"schema": refs[0] if len(refs) == 1 else {"oneOf": refs}}},
        }
        if any(sends_retry_after(error) for error in group):
            response["headers"] = {"Retry-After": _ref("headers", "RetryAfter")}
        responses[str(status)] = response
    return responses


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------

_BODY_ERRORS: tuple[type[ApiError], ...] = (
    InvalidJson,
    ValidationFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
)
_STORAGE_ERRORS: tuple[type[ApiError], ...] = (ServiceUnavailable, InternalError)


@dataclasses.dataclass(frozen=True)
class Operation:
    """One route and method: what it takes and every response it can give."""

    path: str
    method: str
    view: str  # the Chalice view's name, also the operationId
    tag: str
    summary: str
    protected: bool
    status: int
    response_schema: str | None
    errors: tuple[type[ApiError], ...]
    request_body: str | None = None
    parameters: tuple[str, ...] = ()
    response_headers: tuple[str, ...] = ()  # components/headers names
    description: str = ""
    links: tuple[str, ...] = ()  # operations a created task's id and ETag lead to


_TASK_ETAG = ("ETag",)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "/health",
        "GET",
        "health",
        "meta",
        "Liveness check; touches no storage",
        protected=False,
        status=200,
        response_schema="Health",
        errors=(InternalError,),
    ),
    Operation(
        "/openapi.json",
        "GET",
        "openapi_document",
        "meta",
        "This document",
        protected=False,
        status=200,
        response_schema=None,
        errors=(InternalError,),
        response_headers=("CacheControl",),
    ),
    Operation(
        "/auth/register",
        "POST",
        "register",
        "accounts",
        "Register a user",
        protected=False,
        status=201,
        response_schema="User",
        errors=(*_BODY_ERRORS, UsernameTaken, *_STORAGE_ERRORS),
        request_body="Registration",
        description="Two simultaneous registrations of one name: exactly one wins.",
    ),
    Operation(
        "/auth/login",
        "POST",
        "login",
        "accounts",
        "Log in: start a session (an access and a refresh token)",
        protected=False,
        status=200,
        response_schema="Token",
        errors=(*_BODY_ERRORS, InvalidCredentials, TooManyAttempts, *_STORAGE_ERRORS),
        request_body="Login",
        response_headers=("CacheControl",),
        description=(
            "An unknown username and a wrong password give the same `401`. Failed logins are "
            "counted per username and client address (5 within 15 minutes) and per username "
            "over all addresses (50); past either limit the login is `429` until its window "
            "ends. Existing sessions are not affected."
        ),
    ),
    Operation(
        "/auth/refresh",
        "POST",
        "refresh",
        "accounts",
        "Trade a refresh token for new tokens (the one sent is spent)",
        protected=False,
        status=200,
        response_schema="Token",
        errors=(*_BODY_ERRORS, InvalidRefreshToken, *_STORAGE_ERRORS),
        request_body="RefreshToken",
        response_headers=("CacheControl",),
        description=(
            "No `Authorization` header. A spent token sent again ends its session: the newest "
            "refresh token of that session stops working too. Of concurrent refreshes with one "
            "token, at most one succeeds."
        ),
    ),
    Operation(
        "/auth/logout",
        "POST",
        "logout",
        "accounts",
        "End the refresh token's session",
        protected=False,
        status=204,
        response_schema=None,
        errors=(*_BODY_ERRORS, *_STORAGE_ERRORS),
        request_body="RefreshToken",
        description=(
            "`204` whether or not the token was valid. Access tokens already issued stay valid "
            "until they expire."
        ),
    ),
    Operation(
        "/users/me",
        "GET",
        "current_user",
        "accounts",
        "The caller's profile",
        protected=True,
        status=200,
        response_schema="User",
        errors=(AccountClosed, *_STORAGE_ERRORS),
        description="`401 account_closed` when the token's account has been deleted.",
    ),
    Operation(
        "/users/me/password",
        "PUT",
        "change_password",
        "accounts",
        "Change the password; every session ends",
        protected=True,
        status=204,
        response_schema=None,
        errors=(
            *_BODY_ERRORS,
            InvalidCredentials,
            AccountClosed,
            TooManyAttempts,
            *_STORAGE_ERRORS,
        ),
        request_body="PasswordChange",
        description=(
            "A wrong `current_password` is `401 invalid_credentials` and counts as a failed "
            "login for the username."
        ),
    ),
    Operation(
        "/users/me",
        "DELETE",
        "delete_account",
        "accounts",
        "Delete the account and all of its data",
        protected=True,
        status=204,
        response_schema=None,
        errors=(*_BODY_ERRORS, InvalidCredentials, TooManyAttempts, *_STORAGE_ERRORS),
        request_body="AccountDeletion",
        description=(
            "Login and refresh fail at once, every session ends, and the username can be "
            "registered again by anyone, who sees none of the old data. Tasks are purged before "
            "the `204`, or for a large account within minutes in the background. Afterwards "
            "the account's access tokens store nothing: `POST /tasks` and `GET /users/me` are "
            "`401 account_closed`. Deleting an account that is already closed is `204`."
        ),
    ),
    Operation(
        "/tasks",
        "POST",
        "create_task",
        "tasks",
        "Create a task",
        protected=True,
        status=201,
        response_schema="Task",
        errors=(
            *_BODY_ERRORS,
            AccountClosed,
            IdempotencyInProgress,
            IdempotencyKeyReused,
            *_STORAGE_ERRORS,
        ),
        request_body="NewTask",
        parameters=("IdempotencyKey",),
        response_headers=("Location", "ETag", "IdempotentReplayed"),
        links=("get_task", "patch_task", "replace_task", "delete_task"),
    ),
    Operation(
        "/tasks",
        "GET",
        "list_tasks",
        "tasks",
        "List the caller's tasks, newest first",
        protected=True,
        status=200,
        response_schema="TaskList",
        errors=(ValidationFailed, InvalidCursor, *_STORAGE_ERRORS),
        parameters=("Limit", "Status", "Cursor"),
        description=(
            "Any other query parameter, or one given more than once (`limit=1&limit=2`), is "
            "a `400 validation_error` naming it."
        ),
    ),
    Operation(
        "/tasks/{task_id}",
        "GET",
        "get_task",
        "tasks",
        "Read a task",
        protected=True,
        status=200,
        response_schema="Task",
        errors=(NotFound, *_STORAGE_ERRORS),
        parameters=("TaskId",),
        response_headers=_TASK_ETAG,
    ),
    Operation(
        "/tasks/{task_id}",
        "PATCH",
        "patch_task",
        "tasks",
        "Change some fields of a task",
        protected=True,
        status=200,
        response_schema="Task",
        errors=(*_BODY_ERRORS, NotFound, PreconditionFailed, *_STORAGE_ERRORS),
        request_body="TaskPatch",
        parameters=("TaskId", "IfMatch"),
        response_headers=_TASK_ETAG,
    ),
    Operation(
        "/tasks/{task_id}",
        "PUT",
        "replace_task",
        "tasks",
        "Replace a task (no upsert)",
        protected=True,
        status=200,
        response_schema="Task",
        errors=(*_BODY_ERRORS, NotFound, PreconditionFailed, *_STORAGE_ERRORS),
        request_body="NewTask",
        parameters=("TaskId", "IfMatch"),
        response_headers=_TASK_ETAG,
    ),
    Operation(
        "/tasks/{task_id}",
        "DELETE",
        "delete_task",
        "tasks",
        "Delete a task",
        protected=True,
        status=204,
        response_schema=None,
        errors=(ValidationFailed, NotFound, PreconditionFailed, *_STORAGE_ERRORS),
        parameters=("TaskId", "IfMatch"),
    ),
)


def _parameters() -> dict[str, Any]:
    return {
        "TaskId": {
            "name": "task_id",
            "in": "path",
            "required": True,
            "description": "A task id; any other string is `404 not_found`, like another "
            "user's task.",
            "schema": {"type": "string"},
        },
        "IfMatch": {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "description": (
                "Write only if the task's version matches: `*`, or a comma-separated list of "
                f'at most {web.MAX_IF_MATCH_TAGS} quoted versions (`"3"`, `"3", "4"`). Tags '
                'compare as exact strings (strong comparison): `"01"`, `"1.0"`, `"+1"`, weak '
                '`W/"1"` and other tags never match (`412`); a value that is not an '
                "entity-tag list is a `400 validation_error` on field `If-Match`."
            ),
            "schema": {
                "type": "string",
                "pattern": _if_match_pattern(),
                "examples": ['"1"', "*", '"1", "2"'],
            },
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": (
                "Makes the create idempotent for 24 hours: the same key and body replay the "
                "first `201` (with `Idempotent-Replayed: true`); another body is `422`; a "
                "request still in flight is `409`. Keys are scoped per user."
            ),
            "schema": {
                "type": "string",
                "pattern": _anchored(web.IDEMPOTENCY_KEY_PATTERN.pattern),
                "examples": ["0b6f1c0e-6a57-4c43-9c43-2a8f0e1f6b2d"],
            },
        },
        "Limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": validation.LIMIT_MIN,
                "maximum": validation.LIMIT_MAX,
                "default": validation.LIMIT_DEFAULT,
            },
        },
        "Status": {
            "name": "status",
            "in": "query",
            "required": False,
            "description": "Only tasks with this status.",
            "schema": {"type": "string", "enum": list(validation.TASK_STATUSES)},
        },
        "Cursor": {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": (
                "The previous page's `next_cursor`, sent with the same `status`; an altered or "
                "foreign cursor is `400 invalid_cursor`."
            ),
            "schema": {"type": "string"},
        },
    }


def _if_match_pattern() -> str:
    """``*`` or 1 to ``MAX_IF_MATCH_TAGS`` entity tags, as ``web.parse_if_match`` reads them."""
    space = _character_class(web.ASCII_SPACE) + "*"
    tag = f'{space}(?:W/)?"[^",]*"{space}'
    return _anchored(f"{space}\\*{space}|{tag}(?:,{tag}){{0,{web.MAX_IF_MATCH_TAGS - 1}}}")


def _headers() -> dict[str, Any]:
    return {
        "ETag": {
            "description": 'The task\'s version, quoted (`"3"`); send it back in `If-Match`.',
            "required": True,
            "schema": {"type": "string", "pattern": r'^"[1-9][0-9]*"$'},
        },
        "Location": {
            "description": "The new task's path, `/tasks/{id}`.",
            "required": True,
            "schema": {
                "type": "string",
                "pattern": _anchored("/tasks/" + ids.ULID_PATTERN.pattern),
            },
        },
        "IdempotentReplayed": {
            "description": (
                "`true` when this `201` replays an earlier create with the same key: the "
                "original body, `Location` and `ETag`, even if the task has changed or been "
                "deleted since."
            ),
            "required": False,
            "schema": {"const": "true"},
        },
        "RetryAfter": {
            "description": "Seconds to wait before retrying.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        },
        "CacheControl": {
            "description": "How long the response may be cached (`no-store` for tokens).",
            "required": True,
            "schema": {"type": "string"},
        },
    }


def _operation(operation: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": operation.summary}
    if operation.response_schema is not None:
        success["content"] = {MEDIA_TYPE: {"schema": _schema_ref(operation.response_schema)}}
    elif operation.status != 204:  # this document
        success["content"] = {
            MEDIA_TYPE: {"schema": {"type": "object", "required": ["openapi", "info", "paths"]}}
        }
    if operation.response_headers:
        success["headers"] = {
            _HEADER_NAMES[name]: _ref("headers", name) for name in operation.response_headers
        }
    if operation.links:
        success["links"] = {_link_name(view): _link(view) for view in operation.links}
    responses: dict[str, Any] = {str(operation.status): success}
    errors = _error_responses(operation.errors)
    if operation.protected:
        errors["401"] = _ref("responses", GATEWAY_UNAUTHORIZED)
        errors["403"] = _ref("responses", GATEWAY_FORBIDDEN)
    responses.update(sorted(errors.items()))
    document: dict[str, Any] = {
        "operationId": operation.view,
        "tags": [operation.tag],
        "summary": operation.summary,
    }
    if operation.description:
        document["description"] = operation.description
    document["security"] = [{SECURITY_SCHEME: []}] if operation.protected else []
    if operation.parameters:
        document["parameters"] = [_ref("parameters", name) for name in operation.parameters]
    if operation.request_body is not None:
        document["requestBody"] = {
            "required": True,
            "description": (
                f"JSON (UTF-8), at most {web.MAX_BODY_BYTES} bytes; larger is `413`, another "
                "content type `415`, anything but a JSON object `400 invalid_json`."
            ),
            "content": {MEDIA_TYPE: {"schema": _schema_ref(operation.request_body)}},
        }
    document["responses"] = responses
    return document


_HEADER_NAMES = {
    "ETag": "ETag",
    "Location": "Location",
    "IdempotentReplayed": "Idempotent-Replayed",
    "RetryAfter": "Retry-After",
    "CacheControl": "Cache-Control",
}


def _link_name(view: str) -> str:
    return "".join(part.capitalize() for part in view.split("_"))


def _link(view: str) -> dict[str, Any]:
    parameters: dict[str, str] = {"task_id": "$response.body#/id"}
    if view != "get_task":
        parameters["header.If-Match"] = "$response.header.ETag"
    return {"operationId": view, "parameters": parameters}


def _responses() -> dict[str, Any]:
    return {
        GATEWAY_UNAUTHORIZED: {
            "description": "No `Authorization` header (answered by API Gateway).",
            "content": {MEDIA_TYPE: {"schema": _schema_ref(GATEWAY_UNAUTHORIZED)}},
        },
        GATEWAY_FORBIDDEN: {
            "description": (
                "The token is not a valid `Bearer` token of this API: malformed, bad signature, "
                "another algorithm, expired, not yet valid, wrong issuer or audience (answered "
                "by API Gateway; the API code is never invoked)."
            ),
            "content": {MEDIA_TYPE: {"schema": _schema_ref(GATEWAY_FORBIDDEN)}},
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    """The document without ``servers``, which depends on where it is served from."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Tasks API",
            "version": API_VERSION,
            "summary": "Personal task lists: register, log in for a JWT, manage your own tasks.",
            "description": (
                "Every error the service itself produces is "
                '`{"error": {"code": ..., "message": ...}}`, with `details` for '
                "`validation_error` only. The `401`/`403` of protected operations come from "
                "API Gateway's authorizer step and have its bodies instead. Every response "
                "carries CORS headers."
            ),
        },
        "tags": [
            {"name": "meta", "description": "Health and this document"},
            {"name": "accounts", "description": "Registration, login, profile"},
            {"name": "tasks", "description": "The caller's own tasks"},
        ],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "parameters": _parameters(),
            "headers": _headers(),
            "responses": _responses(),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The `access_token` from `POST /auth/login`.",
                }
            },
        },
    }


def server_url(context: Mapping[str, Any]) -> str:
    """The API's base path as the client sees it, from the request's context.

    API Gateway puts the stage (or a custom domain's base path) in ``path`` but not in
    ``resourcePath``: ``/api/openapi.json`` vs ``/openapi.json``. ``chalice local`` has no
    prefix. A relative URL resolves against wherever the document was fetched from.
    """
    return web.base_path(context) or "/"


@functools.lru_cache(maxsize=8)
def document_json(server: str) -> str:
    """The serialised document for one server URL; built once per URL and container."""
    base = document()
    with_server = {"openapi": base["openapi"], "info": base["info"], "servers": [{"url": server}]}
    return json.dumps({**with_server, **base}, separators=(",", ":"))
