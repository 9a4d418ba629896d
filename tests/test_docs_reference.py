"""docs/api.md against the code: its routes and its error codes, both ways.

A route or an error code added in the code without a line in the reference fails here, and so
does one the reference still lists after the code dropped it. What is compared:

- the route index (the table under ``## Routes``) and the route headings (``### GET /tasks``)
  with the OpenAPI document's operations, plus the routes the app serves outside the document
  (``/docs`` and its assets), read from the Chalice app itself;
- the table under ``### Error codes`` with ``openapi.error_classes()``: code and status.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.http import openapi

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_METHOD = "|".join(METHODS)
_INDEX_ROW = re.compile(rf"^\| ({_METHOD}) \| `(/[^`]*)` \|", re.MULTILINE)
_HEADING = re.compile(rf"^### ({_METHOD}) (/\S*)$", re.MULTILINE)
_ERROR_ROW = re.compile(r"^\| (\d{3}) \| `([a-z_]+)` \|", re.MULTILINE)

Route = tuple[str, str]


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    match = re.search(rf"^{re.escape(heading)}$", text, re.MULTILINE)
    assert match, f"docs/api.md has no {heading!r} section"
    rest = text[match.end() :]
    higher = "|".join("#" * n for n in range(1, len(level) + 1))
    end = re.search(rf"^(?:{higher}) ", rest, re.MULTILINE)
    return rest if end is None else rest[: end.start()]


@pytest.fixture(scope="module")
def api_doc() -> str:
    return API_DOC.read_text()


def openapi_routes() -> set[Route]:
    return {
        (method.upper(), path)
        for path, operations in openapi.document()["paths"].items()
        for method in operations
    }


def served_routes() -> set[Route]:
    """Every route the Chalice app serves (CORS preflights aside)."""
    from app import app

    return {(method, path) for path, entries in app.routes.items() for method in entries}


def _described(routes: set[Route]) -> str:
    return ", ".join(f"{method} {path}" for method, path in sorted(routes, key=lambda r: r[::-1]))


def test_the_route_index_lists_every_route_the_api_serves(api_doc: str) -> None:
    index = _INDEX_ROW.findall(section(api_doc, "## Routes"))
    listed = set(index)
    assert len(index) == len(listed), "a route is listed twice in the index"
    served = served_routes()
    assert openapi_routes() <= served
    missing, stale = served - listed, listed - served
    assert not missing, f"add to the route index of docs/api.md: {_described(missing)}"
    assert not stale, f"docs/api.md lists routes the API does not serve: {_described(stale)}"


def test_every_openapi_operation_is_in_the_route_index(api_doc: str) -> None:
    listed = set(_INDEX_ROW.findall(section(api_doc, "## Routes")))
    missing = openapi_routes() - listed
    assert not missing, f"add to the route index of docs/api.md: {_described(missing)}"


def test_every_route_has_a_section_of_its_own(api_doc: str) -> None:
    headings = _HEADING.findall(section(api_doc, "## Routes"))
    described = set(headings)
    assert len(headings) == len(described), "a route has two sections"
    served = served_routes()
    missing, stale = served - described, described - served
    assert not missing, f"add a '### METHOD /path' section to docs/api.md: {_described(missing)}"
    assert not stale, f"docs/api.md describes routes the API does not serve: {_described(stale)}"


def test_the_error_table_lists_every_error_code_with_its_status(api_doc: str) -> None:
    rows = _ERROR_ROW.findall(section(api_doc, "### Error codes"))
    documented = {code: int(status) for status, code in rows}
    assert len(rows) == len(documented), "an error code is listed twice"
    in_code = {error.code: error.status for error in openapi.error_classes()}
    missing = sorted(set(in_code) - set(documented))
    stale = sorted(set(documented) - set(in_code))
    assert not missing, f"add to the error table of docs/api.md: {missing}"
    assert not stale, f"docs/api.md lists error codes the code does not have: {stale}"
    wrong = {code: (documented[code], status) for code, status in in_code.items()}
    wrong = {code: pair for code, pair in wrong.items() if pair[0] != pair[1]}
    assert not wrong, f"status in docs/api.md differs from the code (doc, code): {wrong}"


def test_the_parsers_read_the_reference_as_intended(api_doc: str) -> None:
    """Guards the guards: a reformatted table must not make the checks above pass vacuously."""
    assert len(_INDEX_ROW.findall(section(api_doc, "## Routes"))) >= len(openapi_routes())
    assert len(_ERROR_ROW.findall(section(api_doc, "### Error codes"))) == len(
        openapi.error_classes()
    )
