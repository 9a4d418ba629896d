"""The contract's field rules, as pure functions from parsed JSON to clean values.

Every function either returns clean, normalised values or raises ``ValidationFailed``
naming each broken rule, so a client fixes all of them in one round trip.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from chalicelib.errors import FieldError, ValidationFailed, shorten

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

# --- What trimming removes, and what counts as visible (titles and tags) ---------------------
#
# Python's str.isspace() characters (a unit test checks this list against all of Unicode).
WHITE_SPACE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0009, 0x000D),
    (0x001C, 0x0020),
    (0x0085, 0x0085),
    (0x00A0, 0x00A0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)
# Unicode's Default_Ignorable_Code_Point property: characters that render as nothing
# (zero-width spaces and joiners, bidi controls, variation selectors, fillers, tags), which
# Python's unicodedata does not expose. From DerivedCoreProperties.txt of the Unicode
# Character Database (https://www.unicode.org/Public/UCD/latest/ucd/DerivedCoreProperties.txt,
# Unicode 15.1), reserved code points included as the file lists them.
DEFAULT_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # SOFT HYPHEN
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x061C, 0x061C),  # ARABIC LETTER MARK
    (0x115F, 0x1160),  # HANGUL CHOSEONG FILLER..HANGUL JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ..AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR
    (0x200B, 0x200F),  # ZERO WIDTH SPACE..RIGHT-TO-LEFT MARK
    (0x202A, 0x202E),  # LEFT-TO-RIGHT EMBEDDING..RIGHT-TO-LEFT OVERRIDE
    (0x2060, 0x206F),  # WORD JOINER..NOMINAL DIGIT SHAPES
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTOR-1..16
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE (byte order mark)
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # reserved
    (0x1BCA0, 0x1BCA3),  # SHORTHAND FORMAT LETTER OVERLAP..UP STEP
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN BEAM..END PHRASE
    (0xE0000, 0xE0FFF),  # LANGUAGE TAG, TAG characters, VARIATION SELECTOR-17..256, reserved
)
# The default-ignorables that extend the character before them (Grapheme_Cluster_Break
# Extend or ZWJ in GraphemeBreakProperty.txt): the grapheme joiner, variation selectors,
# ZWNJ and ZWJ, emoji tag characters. Right after a kept character they are part of it
# ("\U0001f3f7\ufe0f" is one emoji; a subdivision flag ends in U+E007F CANCEL TAG), so
# trimming keeps such a run; anywhere else in the surrounding run they are trimmed.
GRAPHEME_EXTENDER_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),
    (0x17B4, 0x17B5),
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0x200C, 0x200D),
    (0xFE00, 0xFE0F),
    (0xE0020, 0xE007F),
    (0xE0100, 0xE01EF),
)
# General categories that show nothing by themselves: controls, formats, combining marks.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Mc", "Me"})


def _class_of(ranges: Iterable[tuple[int, int]]) -> str:
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


_TRIMMABLE = _class_of(WHITE_SPACE_RANGES) + _class_of(DEFAULT_IGNORABLE_RANGES)
_TRIMMABLE_RUN = re.compile(f"[{_TRIMMABLE}]*")
_EXTENDER_RUN = re.compile(f"[{_class_of(GRAPHEME_EXTENDER_RANGES)}]*")
_DEFAULT_IGNORABLE_STARTS = [low for low, _ in DEFAULT_IGNORABLE_RANGES]


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
class PasswordChange:
    current_password: str
    new_password: str


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


def validate_refresh_token(body: Mapping[str, Any]) -> str:
    """``{"refresh_token": "..."}`` for refresh and logout: a string; whether it is a token
    this service issued is for the session service to say (401, or silence on logout)."""
    errors = _unknown_fields(body, ("refresh_token",))
    token = _collect(errors, body, "refresh_token", _text, required=True)
    if errors:
        raise ValidationFailed(errors)
    return token


def validate_password_change(body: Mapping[str, Any]) -> PasswordChange:
    """The current password is any string (a wrong one is 401); the new one obeys the rule."""
    errors = _unknown_fields(body, ("current_password", "new_password"))
    current = _collect(errors, body, "current_password", _text, required=True)
    new = _collect(errors, body, "new_password", _new_password, required=True)
    if errors:
        raise ValidationFailed(errors)
    return PasswordChange(current_password=current, new_password=new)


def validate_account_deletion(body: Mapping[str, Any]) -> str:
    """``{"password": "..."}``: any string (a wrong one is 401)."""
    errors = _unknown_fields(body, ("password",))
    password = _collect(errors, body, "password", _text, required=True)
    if errors:
        raise ValidationFailed(errors)
    return password


def validate_provider_account_deletion(body: Mapping[str, Any]) -> None:
    """Cognito mode's ``DELETE /users/me``: ``{}`` (or no body). Cognito holds the password,
    so there is none to confirm; a ``password`` is refused like any unknown field, so that a
    client written for the builtin mode does not believe it was checked."""
    errors = _unknown_fields(body, ())
    if errors:
        raise ValidationFailed(errors)


def is_well_formed_username(username: str) -> bool:
    return USERNAME_PATTERN.fullmatch(username) is not None


class MultiValueQuery(Protocol):
    """Query parameters that keep every value of a repeated name.

    Chalice's ``app.current_request.query_params`` (a ``chalice.app.MultiDict``, built from
    API Gateway's ``multiValueQueryStringParameters``) is one: indexing gives the last
    value, ``getlist`` all of them.
    """

    def __iter__(self) -> Iterator[str]: ...

    def getlist(self, name: str) -> list[str]: ...


def validate_list_query(
    params: MultiValueQuery | Mapping[str, str | list[str]] | None,
) -> ListQuery:
    """Query parameters of GET /tasks; unknown parameters are rejected, not ignored.

    v2: a parameter given more than once (``limit=1&limit=2``) is rejected too, rather than
    letting the last value silently win. ``params`` keeps every value: Chalice's
    ``MultiDict`` as the view receives it, or a mapping of names to a value or a list of
    values (a plain string is a parameter given once).
    """
    values = _query_values(params)
    errors = _unknown_fields(values, LIST_QUERY_PARAMETERS, noun="query parameter")
    single: dict[str, str] = {}
    for name in LIST_QUERY_PARAMETERS:
        given = values.get(name, [])
        if len(given) > 1:
            errors.append(FieldError(name, "must be given at most once"))
        elif given:
            single[name] = given[0]
    limit = _collect(errors, single, "limit", _limit, required=False)
    status = _collect(errors, single, "status", _status, required=False)
    cursor = single.get("cursor")
    if errors:
        raise ValidationFailed(errors)
    return ListQuery(limit=LIMIT_DEFAULT if limit is None else limit, status=status, cursor=cursor)


def _query_values(
    params: MultiValueQuery | Mapping[str, str | list[str]] | None,
) -> dict[str, list[str]]:
    """Every value given for each parameter name, in the order received."""
    if not params:
        return {}
    getlist = getattr(params, "getlist", None)
    if getlist is not None:
        return {name: list(getlist(name)) for name in params}
    return {
        name: list(value) if isinstance(value, list | tuple) else [value]
        for name, value in params.items()  # type: ignore[union-attr]
    }


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
    """Echo a client's unknown field name back, but never a huge one (64 characters)."""
    return shorten(name)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("must be valid Unicode text (no unpaired surrogates)") from None
    return value


def trim(text: str) -> str:
    """``text`` without surrounding white space and default-ignorable code points.

    Both ends lose every ``str.isspace()`` character and every Default_Ignorable_Code_Point
    (U+200B ZERO WIDTH SPACE, U+FEFF, U+2060 WORD JOINER, ...): invisible padding is not
    stored, and cannot make two tags that look alike differ. One exception keeps emoji
    whole: grapheme extenders (variation selectors, ZWJ, tag characters) directly after the
    last kept character belong to it and stay (a trailing U+FE0F after an emoji stays).
    """
    start = _run_end(_TRIMMABLE_RUN, text)
    # The trailing run is measured on the reversed text: a backward regex search would
    # rescan every run of white space inside the text, quadratic on hostile input.
    end = len(text) - _run_end(_TRIMMABLE_RUN, text[::-1])
    if end <= start:
        return ""
    return text[start : _run_end(_EXTENDER_RUN, text, end)]


def _run_end(run: re.Pattern[str], text: str, position: int = 0) -> int:
    """Where the run of ``run``'s characters starting at ``position`` ends."""
    match = run.match(text, position)
    return position if match is None else match.end()


def has_visible_character(text: str) -> bool:
    """Whether ``text`` shows anything: a character that is not white space, not
    default-ignorable, not a control or format character and not a combining mark.

    A title of only U+200B, or of a lone U+0301 COMBINING ACUTE ACCENT, is as empty as
    one of spaces. Usually decided by the first character; callers bound the length first.
    """
    return any(not _is_invisible(character) for character in text)


def _is_invisible(character: str) -> bool:
    return (
        character.isspace()
        or _is_default_ignorable(character)
        or unicodedata.category(character) in INVISIBLE_CATEGORIES
    )


def _is_default_ignorable(character: str) -> bool:
    code = ord(character)
    index = bisect.bisect_right(_DEFAULT_IGNORABLE_STARTS, code) - 1
    return index >= 0 and code <= DEFAULT_IGNORABLE_RANGES[index][1]


def _title(value: Any) -> str:
    title = trim(_text(value))
    # Length first: then the visibility scan reads at most TITLE_MAX characters.
    if len(title) > TITLE_MAX:
        raise _Invalid(f"must be at most {TITLE_MAX} characters")
    if not has_visible_character(title):
        raise _Invalid("must not be empty")
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
            tag = trim(_text(item))
        except _Invalid as invalid:
            raise _Invalid(f"item {index} {invalid}") from None
        if len(tag) > TAG_MAX or not has_visible_character(tag):
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
