"""Unit: the field rules, without HTTP or AWS."""

from __future__ import annotations

import pytest

from chalicelib.domain.validation import (
    ListQuery,
    TaskFields,
    validate_list_query,
    validate_login,
    validate_new_task,
    validate_registration,
    validate_task_patch,
)
from chalicelib.errors import ValidationFailed


def _fields(error: ValidationFailed) -> list[str]:
    return [detail.field for detail in error.details]


def test_a_new_task_gets_defaults_and_is_normalised() -> None:
    assert validate_new_task({"title": " a ", "tags": [" x", "y ", "x"]}) == TaskFields(
        title="a", tags=["x", "y"]
    )


def test_titles_are_counted_in_characters_not_bytes() -> None:
    assert validate_new_task({"title": "é" * 200}).title == "é" * 200
    with pytest.raises(ValidationFailed):
        validate_new_task({"title": "é" * 201})


def test_a_lone_surrogate_is_rejected_rather_than_failing_in_storage() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_new_task({"title": "bad \ud800 text"})
    assert _fields(raised.value) == ["title"]


def test_duplicate_tags_are_dropped_after_trimming_keeping_first_seen_order() -> None:
    assert validate_new_task({"title": "t", "tags": ["b", " a", "b ", "a", "c"]}).tags == [
        "b",
        "a",
        "c",
    ]


def test_twenty_tags_are_counted_before_duplicates_are_dropped() -> None:
    with pytest.raises(ValidationFailed):
        validate_new_task({"title": "t", "tags": ["same"] * 21})


@pytest.mark.parametrize("due_date", ["2024-02-29", "2026-12-31", "0001-01-01", None])
def test_real_calendar_dates_are_accepted(due_date: str | None) -> None:
    assert validate_new_task({"title": "t", "due_date": due_date}).due_date == due_date


@pytest.mark.parametrize(
    "due_date",
    [
        "2025-02-29",
        "2026-13-01",
        "2026-00-10",
        "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0660\u0661",
    ],
)
def test_impossible_or_non_ascii_dates_are_rejected(due_date: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_new_task({"title": "t", "due_date": due_date})


def test_a_patch_keeps_only_the_given_fields_and_null_clears_the_due_date() -> None:
    assert validate_task_patch({"due_date": None, "status": "done"}) == {
        "due_date": None,
        "status": "done",
    }


def test_an_empty_patch_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_task_patch({})
    assert _fields(raised.value) == ["body"]


def test_a_huge_unknown_field_name_is_not_echoed_in_full() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_new_task({"title": "t", "x" * 10_000: 1})
    assert len(_fields(raised.value)[0]) <= 64


def test_registration_lower_cases_the_username() -> None:
    assert validate_registration({"username": "Alice.B-2", "password": "12345678"}).username == (
        "alice.b-2"
    )


def test_login_accepts_any_strings_but_checks_types() -> None:
    assert validate_login({"username": "?", "password": ""}).username == "?"
    with pytest.raises(ValidationFailed) as raised:
        validate_login({"username": None, "password": 1})
    assert _fields(raised.value) == ["username", "password"]


def test_list_query_defaults() -> None:
    assert validate_list_query(None) == ListQuery(limit=20, status=None, cursor=None)
    assert validate_list_query({"limit": "100", "status": "done", "cursor": "c"}) == ListQuery(
        limit=100, status="done", cursor="c"
    )


@pytest.mark.parametrize("limit", ["\u0663", "\u00b2", "1_0", " 5", "5 ", "0x10"])
def test_limit_must_be_plain_ascii_digits(limit: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_list_query({"limit": limit})
