"""Unit: request body, Content-Type and If-Match parsing."""

from __future__ import annotations

import pytest

from chalicelib.errors import InvalidJson, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from chalicelib.http.web import is_json_media_type, parse_if_match, read_json_object

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
    ],
)
def test_if_match(header: str | None, versions: frozenset[int] | None) -> None:
    assert parse_if_match(header) == versions


@pytest.mark.parametrize("header", ["3", '"3', "", '"1",', ",".join(['"1"'] * 21)])
def test_malformed_if_match_is_a_validation_error(header: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_if_match(header)
