"""Unit: the field rules, without HTTP or AWS."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from chalice.app import MultiDict

from chalicelib.domain.validation import (
    DEFAULT_IGNORABLE_RANGES,
    GRAPHEME_EXTENDER_RANGES,
    WHITE_SPACE_RANGES,
    ListQuery,
    TaskFields,
    trim,
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


# --- v2: repeated query parameters -----------------------------------------------------------


class _MultiDict(dict):
    """Chalice's ``MultiDict`` in short: a name maps to every value; ``getlist`` gives them."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name)[-1]

    def getlist(self, name: str) -> list[str]:
        return list(super().__getitem__(name))


@pytest.mark.parametrize(
    "query",
    [
        {"limit": ["1", "2"]},
        {"limit": ["abc", "1"]},
        {"status": ["todo", "done"]},
        {"status": ["done", "done"]},
        {"cursor": ["a", "b"]},
    ],
    ids=repr,
)
def test_a_query_parameter_given_twice_is_rejected_naming_it(query: dict[str, list[str]]) -> None:
    (name,) = query
    for params in (query, _MultiDict(query)):
        with pytest.raises(ValidationFailed) as raised:
            validate_list_query(params)
        assert [(d.field, d.message) for d in raised.value.details] == [
            (name, "must be given at most once")
        ]


def test_chalices_multidict_is_read_with_every_value() -> None:
    assert validate_list_query(MultiDict({"limit": ["5"], "status": ["done"]})) == ListQuery(
        limit=5, status="done"
    )
    with pytest.raises(ValidationFailed) as raised:
        validate_list_query(MultiDict({"limit": ["1", "2"], "colour": ["a", "b"]}))
    assert _fields(raised.value) == ["colour", "limit"]


def test_single_values_may_be_given_as_one_item_lists() -> None:
    assert validate_list_query({"limit": ["7"], "cursor": ["c"]}) == ListQuery(limit=7, cursor="c")


# --- v2: error amplification ------------------------------------------------------------------


def test_thousands_of_unknown_keys_give_twenty_details_the_first_ones() -> None:
    body = {"title": "t", **{f"k{index}": 0 for index in range(8_280)}}
    with pytest.raises(ValidationFailed) as raised:
        validate_new_task(body)
    assert _fields(raised.value) == [f"k{index}" for index in range(20)]


def test_thousands_of_unknown_query_parameters_give_twenty_details() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_list_query({f"p{index}": "1" for index in range(5_000)})
    assert _fields(raised.value) == [f"p{index}" for index in range(20)]


# --- v2 hardening: invisible-only titles and tags --------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "\u200b",  # ZERO WIDTH SPACE
        "\ufeff \u2060",  # BOM, space, WORD JOINER
        "\u0301",  # a lone COMBINING ACUTE ACCENT
        "\u0301\u0302 \u20dd",  # combining marks only
        "\u00ad",  # SOFT HYPHEN
        "\u3164",  # HANGUL FILLER
        "\ufe0f",  # a lone VARIATION SELECTOR-16
        "\U000e0001\U000e0020",  # tag characters
        "\x00",  # a control character
        "\u200e\u202e\u2066",  # bidi controls
        " \t\u00a0\u3000",
    ],
    ids=ascii,
)
def test_a_title_with_nothing_visible_is_empty(title: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_new_task({"title": title})
    assert [(d.field, d.message) for d in raised.value.details] == [("title", "must not be empty")]
    with pytest.raises(ValidationFailed):
        validate_task_patch({"title": title})


@pytest.mark.parametrize("tag", ["\u200b", "\ufeff", "\u0301", " \u2060 ", "\ufe0f"], ids=ascii)
def test_a_tag_with_nothing_visible_is_rejected(tag: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_new_task({"title": "t", "tags": ["ok", tag]})
    assert [(d.field, d.message) for d in raised.value.details] == [
        ("tags", "item 1 must be 1 to 40 characters after trimming")
    ]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("  Write report  ", "Write report"),
        ("\u200bReport\u200b", "Report"),
        ("\ufeff\u2060 Report \u200e\u00ad", "Report"),
        ("Zero\u200bwidth", "Zero\u200bwidth"),  # only the ends are trimmed
        ("e\u0301", "e\u0301"),  # a combining mark after a letter is kept
        ("\u0301a", "\u0301a"),  # not trimmed (not default-ignorable), and "a" is visible
        ("Done \u2705", "Done \u2705"),
        ("\U0001f3f7\ufe0f", "\U0001f3f7\ufe0f"),  # the emoji keeps its variation selector
        ("Tag \U0001f3f7\ufe0f \u200b", "Tag \U0001f3f7\ufe0f"),
        ("a \ufe0f", "a"),  # a variation selector after a space belongs to nothing
        ("\U0001f468\u200d\U0001f4bb", "\U0001f468\u200d\U0001f4bb"),  # a ZWJ sequence
        (
            "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
            "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
        ),  # a subdivision flag: tag characters, ending in CANCEL TAG
        ("\x00a\x00", "\x00a\x00"),  # controls are not trimmed; "a" is visible
    ],
    ids=ascii,
)
def test_titles_and_tags_are_trimmed_of_white_space_and_default_ignorables(
    sent: str, stored: str
) -> None:
    assert validate_new_task({"title": sent}).title == stored
    assert validate_new_task({"title": "t", "tags": [sent]}).tags == [stored]


def test_length_limits_apply_after_trimming() -> None:
    padded = "\u200b" * 50 + "x" * 200 + "\ufeff" * 50
    assert validate_new_task({"title": padded}).title == "x" * 200
    with pytest.raises(ValidationFailed):
        validate_new_task({"title": "x" * 200 + "\ufe0f"})  # the selector is kept: 201
    assert validate_new_task({"title": "x" * 200 + " \ufe0f"}).title == "x" * 200
    assert validate_new_task({"title": "t", "tags": ["\u2060" + "y" * 40]}).tags == ["y" * 40]


def test_tags_that_differ_only_in_invisible_padding_are_duplicates() -> None:
    tags = ["work", "\u200bwork", "work\ufeff"]
    assert validate_new_task({"title": "t", "tags": tags}).tags == ["work"]


def test_the_white_space_table_is_exactly_str_isspace() -> None:
    table = {code for low, high in WHITE_SPACE_RANGES for code in range(low, high + 1)}
    assert table == {code for code in range(sys.maxunicode + 1) if chr(code).isspace()}


def test_the_default_ignorable_table_holds_the_known_characters() -> None:
    table = {code for low, high in DEFAULT_IGNORABLE_RANGES for code in range(low, high + 1)}
    named = [
        "ZERO WIDTH SPACE", "ZERO WIDTH NO-BREAK SPACE", "WORD JOINER", "SOFT HYPHEN",
        "COMBINING GRAPHEME JOINER", "HANGUL FILLER", "VARIATION SELECTOR-16",
        "MONGOLIAN VOWEL SEPARATOR", "LEFT-TO-RIGHT MARK", "LANGUAGE TAG", "CANCEL TAG",
        "VARIATION SELECTOR-256", "SHORTHAND FORMAT UP STEP", "MUSICAL SYMBOL END PHRASE",
    ]  # fmt: skip
    assert all(ord(unicodedata.lookup(name)) in table for name in named)
    visible = ["LATIN SMALL LETTER A", "HAIR SPACE", "COMBINING ACUTE ACCENT", "EM DASH"]
    assert not any(ord(unicodedata.lookup(name)) in table for name in visible)
    assert len(table) == 4_174  # DerivedCoreProperties.txt, Unicode 15.1
    extenders = {code for low, high in GRAPHEME_EXTENDER_RANGES for code in range(low, high + 1)}
    assert extenders <= table
    for code in table:  # every default-ignorable is trimmed: alone, it leaves nothing
        assert trim(chr(code)) == "", hex(code)
