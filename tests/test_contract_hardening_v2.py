"""Contract v2 hardening: exact entity tags, bounded error bodies, repeated query parameters
and invisible-only titles and tags.

Each test runs in-process and over HTTP against the real local stack (the ``api`` fixture).
"""

from __future__ import annotations

import itertools
import json
import string
from urllib.parse import quote

import pytest

from tests.support import JSON, Api, Reply, User

MAX_DETAILS = 20
MAX_ERROR_BODY = 16 * 1024
MAX_BODY = 64 * 1024


def _task(api: Api) -> tuple[User, str]:
    user = api.new_user()
    return user, f"/tasks/{api.create_task(user, title='original')['id']}"


def _validation_error(reply: Reply) -> list[dict[str, str]]:
    """The details of a ``400 validation_error``, after checking the envelope."""
    assert reply.status == 400, reply
    assert reply.error_code == "validation_error", reply
    assert set(reply.json()["error"]) == {"code", "message", "details"}
    return reply.json()["error"]["details"]


# --- 1. entity tags compare as exact strings ---------------------------------------------------

NOT_THE_SPELLING_OF_1 = ['"01"', '"001"', '"1.0"', '"+1"', '" 1"', '"1 "', 'W/"1"', '"01", "02"']


@pytest.mark.parametrize("if_match", NOT_THE_SPELLING_OF_1)
def test_an_entity_tag_that_only_reads_as_the_version_does_not_match(
    api: Api, if_match: str
) -> None:
    user, path = _task(api)
    before = api.request("GET", path, user=user).json()
    reply = api.request(
        "PATCH", path, json_body={"title": "changed"}, headers={"If-Match": if_match}, user=user
    )
    assert reply.status == 412, reply
    assert reply.error_code == "precondition_failed"
    after = api.request("GET", path, user=user).json()
    assert after == before and after["version"] == 1
    exact = api.request(
        "PATCH", path, json_body={"title": "changed"}, headers={"If-Match": '"1"'}, user=user
    )
    assert exact.status == 200, exact
    assert exact.json()["version"] == 2


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_put_and_delete_compare_entity_tags_exactly_too(api: Api, method: str) -> None:
    user, path = _task(api)
    body = {"title": "replaced"} if method == "PUT" else None
    for if_match in ('"01"', '"1.0"'):
        reply = api.request(method, path, json_body=body, headers={"If-Match": if_match}, user=user)
        assert reply.status == 412, (if_match, reply)
    assert api.request("GET", path, user=user).json()["title"] == "original"
    matching = api.request(method, path, json_body=body, headers={"If-Match": '"1"'}, user=user)
    assert matching.status == (200 if method == "PUT" else 204), matching


def test_a_list_of_tags_and_the_wildcard_still_match(api: Api) -> None:
    user, path = _task(api)
    listed = api.request(
        "PATCH", path, json_body={"title": "v2"}, headers={"If-Match": '"01", "1"'}, user=user
    )
    assert listed.status == 200, listed
    wildcard = api.request(
        "PATCH", path, json_body={"title": "v3"}, headers={"If-Match": "*"}, user=user
    )
    assert wildcard.status == 200, wildcard
    assert wildcard.json()["version"] == 3


# --- 2. error bodies are bounded ---------------------------------------------------------------


def _short_names(count: int, taken: set[str]) -> list[str]:
    """``count`` distinct names of one to three letters and digits, none in ``taken``."""
    alphabet = string.ascii_letters + string.digits
    names = (
        "".join(letters)
        for size in (1, 2, 3)
        for letters in itertools.product(alphabet, repeat=size)
    )
    return list(itertools.islice((name for name in names if name not in taken), count))


def test_thousands_of_unknown_keys_give_twenty_details_in_a_small_body(api: Api) -> None:
    user = api.new_user()
    names = _short_names(8_000, {"title", "description", "status", "due_date", "tags"})
    body = json.dumps({"title": "t", **dict.fromkeys(names, 0)}, separators=(",", ":"))
    assert len(body) < MAX_BODY
    reply = api.request("POST", "/tasks", body=body, headers=JSON, user=user)
    details = _validation_error(reply)
    assert len(reply.body) <= MAX_ERROR_BODY
    assert [detail["field"] for detail in details] == names[:MAX_DETAILS]  # the first ones found
    assert all(detail["message"] == "is not a known field" for detail in details)
    assert api.request("GET", "/tasks", user=user).json()["items"] == []


def test_long_unknown_keys_are_shortened_and_the_body_stays_bounded(api: Api) -> None:
    user = api.new_user()
    # The costliest names to echo: an emoji is 12 bytes of escaped JSON in the error body.
    keys = [f"{index:02d}" + "\U0001f600" * 100 for index in range(30)]
    body = json.dumps({"title": "t", **dict.fromkeys(keys, 0)}, ensure_ascii=False).encode()
    assert len(body) < MAX_BODY
    reply = api.request("POST", "/tasks", body=body, headers=JSON, user=user)
    details = _validation_error(reply)
    assert len(reply.body) <= MAX_ERROR_BODY
    assert [detail["field"] for detail in details] == [key[:61] + "..." for key in keys[:20]]


def test_many_unknown_query_parameters_give_twenty_details(api: Api) -> None:
    user = api.new_user()
    names = _short_names(1_500, {"limit", "status", "cursor"})
    query = "&".join(f"{name}=1" for name in names)
    assert len(query) < 8_000  # what the local server accepts in a request line
    reply = api.request("GET", f"/tasks?{query}", user=user)
    details = _validation_error(reply)
    assert len(reply.body) <= MAX_ERROR_BODY
    assert [detail["field"] for detail in details] == names[:MAX_DETAILS]
    assert all(detail["message"] == "is not a known query parameter" for detail in details)


def test_long_query_parameter_names_are_shortened(api: Api) -> None:
    user = api.new_user()
    names = [f"{index}" + "\u00e9" * 150 for index in range(6)]
    query = "&".join(f"{quote(name)}=1" for name in names)
    assert len(query) < 8_000
    reply = api.request("GET", f"/tasks?{query}", user=user)
    details = _validation_error(reply)
    assert [detail["field"] for detail in details] == [name[:61] + "..." for name in names]


def test_a_huge_malformed_header_is_not_echoed(api: Api) -> None:
    user, path = _task(api)
    reply = api.request(
        "PATCH", path, json_body={"title": "x"}, headers={"If-Match": "x" * 6_000}, user=user
    )
    assert [detail["field"] for detail in _validation_error(reply)] == ["If-Match"]
    assert len(reply.body) < 1_000


# --- 3. a query parameter given twice ----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("limit=1&limit=2", "limit"),
        ("limit=abc&limit=1", "limit"),
        ("status=todo&status=done", "status"),
        ("status=done&status=done", "status"),
        ("cursor=a&cursor=b", "cursor"),
    ],
)
def test_a_query_parameter_given_twice_is_a_validation_error_naming_it(
    api: Api, query: str, name: str
) -> None:
    user = api.new_user()
    api.create_task(user)
    reply = api.request("GET", f"/tasks?{query}", user=user)
    assert _validation_error(reply) == [{"field": name, "message": "must be given at most once"}]


def test_each_repeated_and_unknown_parameter_is_named(api: Api) -> None:
    user = api.new_user()
    query = "limit=1&sort=a&limit=2&status=todo&cursor=x&cursor=y"
    reply = api.request("GET", f"/tasks?{query}", user=user)
    fields = [detail["field"] for detail in _validation_error(reply)]
    assert sorted(fields) == ["cursor", "limit", "sort"]


def test_parameters_given_once_still_work(api: Api) -> None:
    user = api.new_user()
    api.create_task(user, status="done")
    reply = api.request("GET", "/tasks?limit=1&status=done", user=user)
    assert reply.status == 200, reply
    assert len(reply.json()["items"]) == 1


# --- 4. invisible-only titles and tags ---------------------------------------------------------


@pytest.mark.parametrize(
    "title", ["\u200b", "\ufeff \u2060", "\u0301", "\u00ad\u200e", "\ufe0f"], ids=ascii
)
def test_a_title_of_only_invisible_characters_is_empty(api: Api, title: str) -> None:
    user = api.new_user()
    reply = api.request("POST", "/tasks", json_body={"title": title}, user=user)
    assert _validation_error(reply) == [{"field": "title", "message": "must not be empty"}]
    assert api.request("GET", "/tasks", user=user).json()["items"] == []


def test_patch_and_put_refuse_invisible_only_titles_too(api: Api) -> None:
    user, path = _task(api)
    for method in ("PATCH", "PUT"):
        reply = api.request(method, path, json_body={"title": "\u200b\u2060"}, user=user)
        assert [detail["field"] for detail in _validation_error(reply)] == ["title"], method
    assert api.request("GET", path, user=user).json()["title"] == "original"


@pytest.mark.parametrize("tag", ["\u200b", "\ufeff", "\u0301", " \u2060 "], ids=ascii)
def test_a_tag_of_only_invisible_characters_is_rejected(api: Api, tag: str) -> None:
    user = api.new_user()
    reply = api.request("POST", "/tasks", json_body={"title": "t", "tags": [tag]}, user=user)
    assert [detail["field"] for detail in _validation_error(reply)] == ["tags"]


def test_invisible_characters_around_titles_and_tags_are_trimmed(api: Api) -> None:
    user = api.new_user()
    created = api.create_task(
        user, title="\u200bReport\u200b", tags=["\ufeffwork", "work\u2060", "\U0001f3f7\ufe0f"]
    )
    assert created["title"] == "Report"
    assert created["tags"] == ["work", "\U0001f3f7\ufe0f"]  # the emoji keeps its selector
    fetched = api.request("GET", f"/tasks/{created['id']}", user=user).json()
    assert (fetched["title"], fetched["tags"]) == (created["title"], created["tags"])


def test_ordinary_titles_keep_their_characters(api: Api) -> None:
    user = api.new_user()
    for sent, stored in [
        ("  Write report  ", "Write report"),
        ("Caf\u00e9 \u2615", "Caf\u00e9 \u2615"),
        ("Cafe\u0301", "Cafe\u0301"),  # a combining mark after a letter
        ("\U0001f468\u200d\U0001f4bb review", "\U0001f468\u200d\U0001f4bb review"),
    ]:
        assert api.create_task(user, title=sent)["title"] == stored
