"""Properties of the field rules and the pagination cursors, over generated input (hypothesis).

The strategies make the awkward inputs common rather than lucky: lone surrogates, non-ASCII
digits, Unicode white space, invisible characters (default-ignorables, combining marks,
controls), names just over the 64-character echo limit, values at the length bounds. Runs
are bounded (a few hundred examples per property, no deadline) and write no example database.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.ids import is_valid_id, new_id
from chalicelib.domain.validation import (
    DEFAULT_IGNORABLE_RANGES,
    GRAPHEME_EXTENDER_RANGES,
    LIST_QUERY_PARAMETERS,
    TASK_FIELDS,
    TASK_STATUSES,
    validate_list_query,
    validate_login,
    validate_new_task,
    validate_registration,
    validate_task_patch,
)
from chalicelib.errors import (
    MAX_ERROR_BODY_BYTES,
    MAX_ERROR_DETAILS,
    InvalidCursor,
    ValidationFailed,
)

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
VALIDATORS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "validate_new_task": validate_new_task,
    "validate_task_patch": validate_task_patch,
    "validate_registration": validate_registration,
    "validate_login": validate_login,
}
ALLOWED_KEYS = {
    "validate_new_task": set(TASK_FIELDS),
    "validate_task_patch": set(TASK_FIELDS),
    "validate_registration": {"username", "password"},
    "validate_login": {"username", "password"},
}
ECHO_LIMIT = 64  # unknown names longer than this are echoed as their first 61 chars + "..."
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE64URL = string.ascii_letters + string.digits + "-_"
WHITE_SPACE = " \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000"
# Default-ignorables that trimming removes wherever they are in the surrounding run (no
# grapheme extenders): ZERO WIDTH SPACE, BOM, WORD JOINER, SOFT HYPHEN, LRM, LANGUAGE TAG.
IGNORABLE = "\u200b\ufeff\u2060\u00ad\u200e\U000e0001"
# Characters that are neither trimmed nor visible, and extenders kept after a kept character.
INVISIBLE = "\u0301\u20dd\x00\x1b\u0600\u034f\ufe0f\u200d\U000e0067\U000e007f"
NON_ASCII_ZEROS = ("\u0660", "\u06f0", "\u0966", "\uff10", "\U0001d7ce")  # Arabic-Indic, ...

# Characters: anything, with the awkward ones made common rather than left to luck.
lone_surrogates = st.characters(categories=["Cs"])
awkward_chars = st.one_of(
    st.characters(),
    lone_surrogates,
    st.characters(categories=["Nd"]),
    st.sampled_from(WHITE_SPACE + IGNORABLE + INVISIBLE),
)
clean_chars = st.one_of(
    st.characters(codec="utf-8"),  # valid Unicode text: no surrogates
    st.sampled_from(WHITE_SPACE + IGNORABLE + INVISIBLE),
)


def _is_default_ignorable(character: str) -> bool:
    return any(low <= ord(character) <= high for low, high in DEFAULT_IGNORABLE_RANGES)


def _is_extender(character: str) -> bool:
    return any(low <= ord(character) <= high for low, high in GRAPHEME_EXTENDER_RANGES)


def _is_trimmable(character: str) -> bool:
    return character.isspace() or _is_default_ignorable(character)


def _is_visible(character: str) -> bool:
    return not _is_trimmable(character) and unicodedata.category(character) not in (
        "Cc", "Cf", "Mn", "Mc", "Me",
    )  # fmt: skip


def _trimmed(text: str) -> str:
    """The trimming rule, restated plainly as the oracle: drop white space and
    default-ignorables from both ends, except the extenders right after the last kept one."""
    characters = list(text)
    while characters and _is_trimmable(characters[0]):
        characters.pop(0)
    end = len(characters)
    while end and _is_trimmable(characters[end - 1]):
        end -= 1
    while end and end < len(characters) and _is_extender(characters[end]):
        end += 1
    return "".join(characters[:end])


def _fits(text: str, limit: int) -> bool:
    """Whether a title or tag is acceptable: some visible character, at most ``limit``
    characters once trimmed."""
    trimmed = _trimmed(text)
    return any(_is_visible(character) for character in trimmed) and len(trimmed) <= limit


visible_chars = st.characters(
    exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc", "Cf", "Cn", "Mn", "Mc", "Me")
).filter(_is_visible)
any_text = st.text(awkward_chars, max_size=30)
clean_text = st.text(clean_chars, max_size=30)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | any_text
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)
arbitrary_bodies = st.dictionaries(
    st.sampled_from([*TASK_FIELDS, "username", "password"]) | any_text, json_values, max_size=7
)


def _padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``core`` with some Unicode white space and default-ignorables on either side."""
    space = st.text(st.sampled_from(WHITE_SPACE + IGNORABLE), max_size=3)
    return st.tuples(space, core, space).map("".join)


def _sized(
    low: int, high: int, chars: st.SearchStrategy[str] = visible_chars
) -> st.SearchStrategy[str]:
    """Text of exactly ``low`` to ``high`` characters, to probe length bounds."""
    return st.integers(low, high).flatmap(lambda n: st.text(chars, min_size=n, max_size=n))


def _fits_a_title(text: str) -> bool:
    return _fits(text, 200)


def _fits_a_tag(text: str) -> bool:
    return _fits(text, 40)


# Valid values, in the form a client might send them (untrimmed where trimming applies).
valid_titles = _padded(
    st.one_of(
        st.text(clean_chars, min_size=1, max_size=200).map(_trimmed).filter(_fits_a_title),
        _sized(199, 200),
    )
)
valid_descriptions = clean_text | _sized(3990, 4000, st.sampled_from("ab é\n"))
valid_due_dates = st.none() | st.dates().map(date.isoformat)
valid_tag_values = _padded(
    st.one_of(
        st.text(clean_chars, min_size=1, max_size=40).map(_trimmed).filter(_fits_a_tag),
        _sized(40, 40),
        st.sampled_from(["a", "b", "work"]),  # duplicates, once trimmed
    )
)
valid_tags = st.lists(valid_tag_values, max_size=20)
VALID_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "title": valid_titles,
    "description": valid_descriptions,
    "status": st.sampled_from(TASK_STATUSES),
    "due_date": valid_due_dates,
    "tags": valid_tags,
}
valid_task_bodies = st.fixed_dictionaries(
    {"title": valid_titles}, optional={name: VALID_VALUES[name] for name in TASK_FIELDS[1:]}
)
valid_patch_bodies = st.fixed_dictionaries({}, optional=VALID_VALUES).filter(bool)


def _is_real_date(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text, re.ASCII):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _non_ascii_digits(text: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(c)) if c in string.digits else c for c in text)


# Values that break exactly one rule of their field.
not_strings = json_values.filter(lambda value: not isinstance(value, str))
with_lone_surrogate = st.tuples(clean_text, lone_surrogates, clean_text).map("".join)
blank = st.text(st.sampled_from(WHITE_SPACE + IGNORABLE + INVISIBLE), max_size=4)
INVALID_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "title": st.one_of(
        not_strings, blank, with_lone_surrogate, _padded(_sized(201, 240, visible_chars))
    ),
    "description": st.one_of(
        not_strings, with_lone_surrogate, st.integers(4001, 4100).map("d".__mul__)
    ),
    "status": st.one_of(
        json_values.filter(lambda value: value not in TASK_STATUSES),
        st.sampled_from(["TODO", "todo ", " done", "in-progress", "Done", ""]),
    ),
    "due_date": st.one_of(
        json_values.filter(lambda value: value is not None and not isinstance(value, str)),
        any_text.filter(lambda text: not _is_real_date(text)),
        st.sampled_from(["2023-02-29", "2024-13-01", "2024-00-10", "0000-01-01", "2024-1-01"]),
        st.tuples(st.dates().map(date.isoformat), st.sampled_from(NON_ASCII_ZEROS)).map(
            lambda pair: _non_ascii_digits(*pair)
        ),
    ),
    "tags": st.one_of(
        json_values.filter(lambda value: not isinstance(value, list)),
        st.lists(st.just("t"), min_size=21, max_size=25),
        st.tuples(valid_tags.map(lambda tags: tags[:19]), not_strings).map(
            lambda pair: [*pair[0], pair[1]]
        ),
        st.tuples(valid_tags.map(lambda tags: tags[:19]), blank | with_lone_surrogate).map(
            lambda pair: [*pair[0], pair[1]]
        ),
        _padded(_sized(41, 60)).map(lambda tag: [tag]),
    ),
}


@st.composite
def bodies_with_one_bad_field(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid task body with one field replaced by a value of the wrong type or range."""
    body = dict(draw(valid_task_bodies))
    name = draw(st.sampled_from(TASK_FIELDS))
    body[name] = draw(INVALID_VALUES[name])
    return body, name


any_bodies = st.one_of(
    arbitrary_bodies,
    valid_task_bodies,
    bodies_with_one_bad_field().map(lambda pair: pair[0]),
)


def _echoed(name: str) -> str:
    """How an unknown name appears in ``details``: itself, or shortened when over the limit."""
    return name if len(name) <= ECHO_LIMIT else name[: ECHO_LIMIT - 3] + "..."


def _outcome(validate: Callable[[Any], Any], body: Any) -> Any:
    """The clean value, or the ``ValidationFailed``; any other exception fails the test."""
    try:
        return validate(body)
    except ValidationFailed as failed:
        assert failed.details, "a ValidationFailed must name at least one field"
        for detail in failed.details:
            assert isinstance(detail.field, str)
            assert isinstance(detail.message, str)
            assert detail.message
        return failed


# Validation


@PROPERTY
@given(body=any_bodies)
def test_every_validator_returns_clean_values_or_raises_validation_failed(
    body: dict[str, Any],
) -> None:
    for validate in VALIDATORS.values():
        _outcome(validate, body)


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(["limit", "status", "cursor"]) | any_text, any_text))
def test_list_queries_return_clean_values_or_raise_validation_failed(
    params: dict[str, str],
) -> None:
    _outcome(validate_list_query, params)


@PROPERTY
@given(title=valid_titles | any_text | _sized(195, 205) | not_strings)
def test_a_title_is_accepted_exactly_when_it_trims_to_1_to_200_characters(title: Any) -> None:
    outcome = _outcome(validate_new_task, {"title": title})
    acceptable = (
        isinstance(title, str)
        and not any("\ud800" <= c <= "\udfff" for c in title)
        and _fits(title, 200)
    )
    if not acceptable:
        assert isinstance(outcome, ValidationFailed)
        assert [detail.field for detail in outcome.details] == ["title"]
        return
    assert not isinstance(outcome, ValidationFailed), outcome.details
    assert outcome.title == _trimmed(title) == _trimmed(outcome.title)
    assert 1 <= len(outcome.title) <= 200
    assert outcome.title in title  # trimming only ever removes from the ends


@PROPERTY
@given(tags=valid_tags | st.lists(valid_tag_values | any_text, max_size=24))
def test_accepted_tags_are_trimmed_unique_bounded_and_in_first_seen_order(tags: list[str]) -> None:
    outcome = _outcome(validate_new_task, {"title": "t", "tags": tags})
    if isinstance(outcome, ValidationFailed):
        assert [detail.field for detail in outcome.details] == ["tags"]
        trimmed_ok = all(
            not any("\ud800" <= c <= "\udfff" for c in tag) and _fits(tag, 40) for tag in tags
        )
        assert len(tags) > 20 or not trimmed_ok
        return
    accepted = outcome.tags
    trimmed_input = [_trimmed(tag) for tag in tags]
    assert len(tags) <= 20
    assert len(accepted) <= 20
    assert all(tag == _trimmed(tag) and 1 <= len(tag) <= 40 for tag in accepted)
    assert len(set(accepted)) == len(accepted)
    assert set(accepted) == set(trimmed_input)
    first_seen = [trimmed_input.index(tag) for tag in accepted]
    assert first_seen == sorted(first_seen)


@PROPERTY
@given(case=bodies_with_one_bad_field())
def test_one_bad_field_fails_naming_that_field_only(case: tuple[dict[str, Any], str]) -> None:
    body, bad_field = case
    for validate in (validate_new_task, validate_task_patch):
        outcome = _outcome(validate, body)
        assert isinstance(outcome, ValidationFailed), body
        assert [detail.field for detail in outcome.details] == [bad_field]


@PROPERTY
@given(
    validator=st.sampled_from(sorted(VALIDATORS)),
    body=st.one_of(valid_task_bodies, arbitrary_bodies),
    unknown=st.lists(any_text | _sized(60, 70, awkward_chars), min_size=1, max_size=3),
)
def test_every_unknown_key_is_named_in_the_details(
    validator: str, body: dict[str, Any], unknown: list[str]
) -> None:
    extra = [name for name in unknown if name not in ALLOWED_KEYS[validator]]
    body = {**body, **dict.fromkeys(extra, "x")}
    outcome = _outcome(VALIDATORS[validator], body)
    if not extra:
        return
    assert isinstance(outcome, ValidationFailed)
    named = {(detail.field, detail.message) for detail in outcome.details}
    for name in extra:
        assert (_echoed(name), "is not a known field") in named
    assert all(len(detail.field) <= ECHO_LIMIT for detail in outcome.details)


@PROPERTY
@given(
    params=st.dictionaries(st.sampled_from(["limit", "status", "cursor"]), any_text),
    unknown=st.lists(any_text | _sized(60, 70, awkward_chars), min_size=1, max_size=3),
)
def test_every_unknown_query_parameter_is_named_in_the_details(
    params: dict[str, str], unknown: list[str]
) -> None:
    extra = [name for name in unknown if name not in ("limit", "status", "cursor")]
    outcome = _outcome(validate_list_query, {**params, **dict.fromkeys(extra, "1")})
    if not extra:
        return
    assert isinstance(outcome, ValidationFailed)
    named = {(detail.field, detail.message) for detail in outcome.details}
    for name in extra:
        assert (_echoed(name), "is not a known query parameter") in named


@PROPERTY
@given(
    params=st.dictionaries(
        st.sampled_from(LIST_QUERY_PARAMETERS) | any_text,
        st.lists(any_text, min_size=1, max_size=3),
        max_size=6,
    )
)
def test_a_query_parameter_given_more_than_once_is_named_as_repeated(
    params: dict[str, list[str]],
) -> None:
    outcome = _outcome(validate_list_query, params)
    repeated = [name for name in LIST_QUERY_PARAMETERS if len(params.get(name, [])) > 1]
    if repeated:
        assert isinstance(outcome, ValidationFailed)
        named = {(detail.field, detail.message) for detail in outcome.details}
        assert {(name, "must be given at most once") for name in repeated} <= named
        assert all(  # a repeated parameter's values are not judged: which would count?
            detail.message == "must be given at most once"
            for detail in outcome.details
            if detail.field in repeated
        )
    once = {name: values[0] for name, values in params.items() if len(values) == 1}
    if not repeated and len(once) == len(params):  # each given once: as if given plainly
        plain = _outcome(validate_list_query, once)
        if isinstance(plain, ValidationFailed):
            assert isinstance(outcome, ValidationFailed)
            assert outcome.details == plain.details
        else:
            assert outcome == plain


@PROPERTY
@given(
    validator=st.sampled_from(sorted(VALIDATORS)),
    unknown=st.lists(any_text | _sized(60, 70, awkward_chars), min_size=1, max_size=60),
)
def test_error_bodies_hold_at_most_twenty_details_and_16_kib(
    validator: str, unknown: list[str]
) -> None:
    outcome = _outcome(VALIDATORS[validator], dict.fromkeys(unknown, 0))
    assert isinstance(outcome, ValidationFailed)
    assert 1 <= len(outcome.details) <= MAX_ERROR_DETAILS
    body = outcome.to_json()
    assert len(json.dumps(body, separators=(",", ":"))) <= MAX_ERROR_BODY_BYTES
    assert body["error"]["details"] == [detail.to_json() for detail in outcome.details]


@PROPERTY
@given(body=valid_task_bodies)
def test_validating_a_new_task_is_idempotent(body: dict[str, Any]) -> None:
    first = validate_new_task(body)
    assert validate_new_task(dataclasses.asdict(first)) == first


@PROPERTY
@given(body=valid_patch_bodies)
def test_validating_a_patch_is_idempotent(body: dict[str, Any]) -> None:
    first = validate_task_patch(body)
    assert set(first) == set(body)
    assert validate_task_patch(first) == first


limit_texts = st.one_of(
    st.integers(-200, 10**6).map(str),
    st.integers(0, 150).map(lambda n: f"{n:0{len(str(n)) + 1}d}"),  # one leading zero
    st.tuples(st.integers(1, 100).map(str), st.sampled_from(NON_ASCII_ZEROS)).map(
        lambda pair: _non_ascii_digits(*pair)
    ),
    st.tuples(
        st.sampled_from(["", "+", "-", " ", "\t", "0x", "1e"]),
        st.integers(1, 100).map(str),
        st.sampled_from(["", " ", "\n", ".0", "e0", "_"]),
    ).map("".join),
    st.text(st.characters(categories=["Nd"]) | st.sampled_from(string.digits), max_size=5),
    any_text,
)


@PROPERTY
@given(limit=limit_texts)
def test_limit_accepts_exactly_1_to_100_in_plain_ascii_digits(limit: str) -> None:
    outcome = _outcome(validate_list_query, {"limit": limit})
    plain_digits = limit.isascii() and limit.isdigit()
    if not plain_digits or not 1 <= int(limit) <= 100:
        assert isinstance(outcome, ValidationFailed), limit
        assert [detail.field for detail in outcome.details] == ["limit"]
        return
    if limit == str(int(limit)):  # canonical form: always accepted
        assert not isinstance(outcome, ValidationFailed), limit
    if not isinstance(outcome, ValidationFailed):  # zero-padded forms: the value, if accepted
        assert outcome.limit == int(limit)


@pytest.mark.parametrize("limit", range(1, 101))
def test_every_limit_from_1_to_100_is_accepted(limit: int) -> None:
    assert validate_list_query({"limit": str(limit)}).limit == limit


@PROPERTY
@given(
    status=st.sampled_from([*TASK_STATUSES, "TODO", "todo ", "in-progress"]) | any_text,
    cursor=any_text,
)
def test_status_is_one_of_three_and_the_cursor_passes_through(status: str, cursor: str) -> None:
    outcome = _outcome(validate_list_query, {"status": status, "cursor": cursor})
    if status not in TASK_STATUSES:
        assert isinstance(outcome, ValidationFailed)
        assert [detail.field for detail in outcome.details] == ["status"]
        return
    assert (outcome.status, outcome.cursor, outcome.limit) == (status, cursor, 20)


username_chars = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + "_.-"),
    st.sampled_from("\u212a\u0131\u017f\uff41\u00e9\u0130"),  # KELVIN SIGN, dotless i, ...
    awkward_chars,
)


@PROPERTY
@given(
    username=st.text(username_chars, max_size=34) | not_strings,
    password=st.text(clean_chars, max_size=260) | with_lone_surrogate | not_strings,
)
def test_registered_usernames_are_lower_case_ascii_and_passwords_unchanged(
    username: Any, password: Any
) -> None:
    outcome = _outcome(validate_registration, {"username": username, "password": password})
    if isinstance(outcome, ValidationFailed):
        return
    assert outcome.username == username.lower()
    assert re.fullmatch(r"[a-z0-9][a-z0-9_.\-]{2,31}", outcome.username, re.ASCII)
    assert outcome.password == password
    assert 8 <= len(password) <= 256


@PROPERTY
@given(username=any_text | not_strings, password=any_text | not_strings)
def test_login_takes_any_valid_text_unchanged(username: Any, password: Any) -> None:
    outcome = _outcome(validate_login, {"username": username, "password": password})

    def is_text(value: Any) -> bool:
        return isinstance(value, str) and not any("\ud800" <= c <= "\udfff" for c in value)

    if is_text(username) and is_text(password):
        assert (outcome.username, outcome.password) == (username, password)
    else:
        assert isinstance(outcome, ValidationFailed)


# Cursors

ulids = st.builds(new_id) | st.tuples(
    st.sampled_from("01234567"), st.text(st.sampled_from(CROCKFORD), min_size=25, max_size=25)
).map("".join)
user_ids = ulids | st.text(awkward_chars, min_size=1, max_size=20)
statuses = st.sampled_from([None, *TASK_STATUSES])
signing_secrets = st.binary(min_size=32, max_size=64)
cursor_chars = st.sampled_from(BASE64URL) | awkward_chars | st.sampled_from("=.+/%")


@PROPERTY
@given(secret=signing_secrets, user_id=user_ids, status=statuses, task_id=ulids)
def test_a_cursor_decodes_to_its_task_id(
    secret: bytes, user_id: str, status: str | None, task_id: str
) -> None:
    assert is_valid_id(task_id)
    codec = CursorCodec(secret)
    cursor = codec.encode(user_id=user_id, status=status, last_task_id=task_id)
    assert codec.decode(cursor, user_id=user_id, status=status) == task_id


@st.composite
def mutated_cursors(draw: st.DrawFn) -> tuple[CursorCodec, str, str | None, str]:
    """A codec, a user and status, and one of their valid cursors altered in one way."""
    codec = CursorCodec(draw(signing_secrets))
    user_id, status = draw(user_ids), draw(statuses)
    cursor = codec.encode(user_id=user_id, status=status, last_task_id=draw(ulids))
    kind = draw(
        st.sampled_from(["replace", "replace_last", "insert", "delete", "truncate", "append"])
    )
    if kind == "replace_last":  # spare bits: only a strict decoder notices some of these
        char = draw(st.sampled_from(BASE64URL).filter(lambda c: c != cursor[-1]))
        altered = cursor[:-1] + char
    elif kind == "replace":
        index = draw(st.integers(0, len(cursor) - 1))
        char = draw(cursor_chars.filter(lambda c: c != cursor[index]))
        altered = cursor[:index] + char + cursor[index + 1 :]
    elif kind == "insert":
        index = draw(st.integers(0, len(cursor)))
        altered = cursor[:index] + draw(cursor_chars) + cursor[index:]
    elif kind == "delete":
        index = draw(st.integers(0, len(cursor) - 1))
        altered = cursor[:index] + cursor[index + 1 :]
    elif kind == "truncate":
        altered = cursor[: draw(st.integers(0, len(cursor) - 1))]
    else:
        altered = cursor + draw(st.text(cursor_chars, min_size=1, max_size=8))
    return codec, user_id, status, altered


@PROPERTY
@given(case=mutated_cursors())
def test_any_altered_cursor_is_rejected(case: tuple[CursorCodec, str, str | None, str]) -> None:
    codec, user_id, status, altered = case
    with pytest.raises(InvalidCursor):
        codec.decode(altered, user_id=user_id, status=status)


@PROPERTY
@given(
    text=st.text(cursor_chars, max_size=700) | st.text(st.sampled_from(BASE64URL), max_size=600),
    user_id=user_ids,
    status=statuses,
)
def test_arbitrary_text_is_only_ever_an_invalid_cursor(
    text: str, user_id: str, status: str | None
) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec(b"s" * 32).decode(text, user_id=user_id, status=status)


@PROPERTY
@given(user_id=user_ids, status=statuses, not_an_id=any_text.filter(lambda t: not is_valid_id(t)))
def test_a_signed_cursor_without_a_valid_task_id_is_rejected(
    user_id: str, status: str | None, not_an_id: str
) -> None:
    codec = CursorCodec(b"s" * 32)
    cursor = codec.encode(user_id=user_id, status=status, last_task_id=not_an_id)
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, user_id=user_id, status=status)


@PROPERTY
@given(
    secret=signing_secrets,
    owner=user_ids,
    other_user=user_ids,
    status=statuses,
    other_status=statuses,
    task_id=ulids,
)
def test_a_cursor_never_decodes_for_another_user_or_status(
    secret: bytes,
    owner: str,
    other_user: str,
    status: str | None,
    other_status: str | None,
    task_id: str,
) -> None:
    codec = CursorCodec(secret)
    cursor = codec.encode(user_id=owner, status=status, last_task_id=task_id)
    if other_user != owner:
        with pytest.raises(InvalidCursor):
            codec.decode(cursor, user_id=other_user, status=status)
    if other_status != status:
        with pytest.raises(InvalidCursor):
            codec.decode(cursor, user_id=owner, status=other_status)
    with pytest.raises(InvalidCursor):
        CursorCodec(secret + b"!").decode(cursor, user_id=owner, status=status)
