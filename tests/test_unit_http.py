"""Unit: request body, Content-Type and If-Match parsing, and the size of error bodies."""

from __future__ import annotations

import json

import pytest

from chalicelib.errors import (
    MAX_ERROR_BODY_BYTES,
    MAX_ERROR_DETAILS,
    FieldError,
    InvalidJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.http.web import (
    error_response,
    is_json_media_type,
    parse_idempotency_key,
    parse_if_match,
    read_json_object,
)

JSON = {"content-type": "application/json"}


def test_a_json_object_is_read() -> None:
    assert read_json_object(b'{"a": [1, "\\u00e9"]}', JSON) == {"a": [1, "é"]}


def test_size_is_checked_before_type_and_type_before_syntax() -> None:
    with pytest.raises(PayloadTooLarge):
        read_json_object(b"x" * (64 * 1024 + 1), {"content-type": "text/plain"})
    with pytest.raises(UnsupportedMediaType):
        read_json_object(b"not json", {"content-type": "text/plain"})
    with pytest.raises(InvalidJson):
        read_json_object(b"not json", JSON)


def test_an_empty_body_is_invalid_json_whatever_its_type() -> None:
    for headers in (JSON, {}):
        with pytest.raises(InvalidJson):
            read_json_object(None, headers)


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [
        ("application/json", True),
        ("application/json; charset=UTF-8", True),
        ('application/json; charset="utf-8"', True),
        ("application/json; charset=utf-16", False),
        ("application/jsonx", False),
        ("application/vnd.api+json", False),
        ("text/json", False),
        ("", False),
        (None, False),
    ],
)
def test_json_media_types(content_type: str | None, is_json: bool) -> None:
    assert is_json_media_type(content_type) is is_json


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        (None, None),
        ("*", None),
        ('"3"', frozenset({3})),
        ('"3", "4"', frozenset({3, 4})),
        ('W/"3"', frozenset({-1})),
        ('"abc"', frozenset({-1})),
        ('"\u0663"', frozenset({-1})),
        ('"99999999999999999999"', frozenset({-1})),
        ('"1234567890123456"', frozenset({1234567890123456})),
        ('"7", "01"', frozenset({7, -1})),
    ],
)
def test_if_match(header: str | None, versions: frozenset[int] | None) -> None:
    assert parse_if_match(header) == versions


@pytest.mark.parametrize(
    "tag", ['"01"', '"001"', '"1.0"', '"+1"', '" 1"', '"1 "', '"1e0"', '"0x1"', 'W/"1"', '"0"']
)
def test_only_the_exact_spelling_of_a_version_matches_it(tag: str) -> None:
    """v2: strong comparison; ``"01"`` used to be read as version 1."""
    assert 1 not in parse_if_match(tag)  # type: ignore[operator]
    assert parse_if_match(tag) == frozenset({-1})
    assert parse_if_match(f'"1", {tag}') == frozenset({1, -1})


@pytest.mark.parametrize("header", ["3", '"3', "", '"1",', ",".join(['"1"'] * 21)])
def test_malformed_if_match_is_a_validation_error(header: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_if_match(header)


def _error_body(error: ValidationFailed) -> bytes:
    """The body exactly as Chalice sends it."""
    return error_response(error).to_dict()["body"].encode()


def test_details_keep_the_first_twenty_problems() -> None:
    problems = [FieldError(f"field{index}", "is not a known field") for index in range(8_282)]
    error = ValidationFailed(problems)
    body = json.loads(_error_body(error))["error"]
    assert [detail["field"] for detail in body["details"]] == [
        f"field{index}" for index in range(MAX_ERROR_DETAILS)
    ]
    assert "8282" in body["message"]
    assert ValidationFailed(problems[:20]).message == ValidationFailed.message


@pytest.mark.parametrize("character", ["x", "\u00e9", "\u20ac", "\U0001f600", "\x00", '"'])
def test_an_error_body_never_exceeds_16_kib_whatever_it_echoes(character: str) -> None:
    """Field names and messages are cut to 64 and 200 characters; escaping can still make
    twenty of them large (an emoji is 12 bytes as JSON), so the body itself is bounded too."""
    huge = character * 10_000
    error = ValidationFailed([FieldError(huge, huge) for _ in range(1_000)])
    body = _error_body(error)
    assert len(body) <= MAX_ERROR_BODY_BYTES
    details = json.loads(body)["error"]["details"]
    assert 1 <= len(details) <= MAX_ERROR_DETAILS
    assert all(len(detail["field"]) <= 64 and len(detail["message"]) <= 200 for detail in details)
    assert details[0]["field"] == character * 61 + "..."


def test_fields_are_shortened_where_they_are_made() -> None:
    assert FieldError("a" * 65, "b" * 201) == FieldError("a" * 61 + "...", "b" * 197 + "...")
    assert FieldError("a" * 64, "b" * 200).to_json() == {"field": "a" * 64, "message": "b" * 200}


@pytest.mark.parametrize(
    ("parse", "value"),
    [(parse_if_match, '"' + "\U0001f600" * 20_000), (parse_idempotency_key, "\u00e9" * 20_000)],
)
def test_header_errors_do_not_echo_the_header(parse: object, value: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse(value)  # type: ignore[operator]
    assert len(_error_body(raised.value)) < 300
