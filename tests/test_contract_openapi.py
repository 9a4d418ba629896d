"""GET /openapi.json, and the drift tests that keep the document and the code in agreement.

The document is built from the code's own definitions (chalicelib/http/openapi.py). What cannot be
derived is checked here, both ways: every route is documented and nothing else; values the
document's request schemas generate are accepted by the validators and values they exclude are
refused, including at each limit; the document's examples, the contract's and README's
examples, every error the code can raise and real responses (in-process and over HTTP) match the
documented response for their status, headers included.

Schemas are checked with jsonschema-rs, which reads ``pattern`` as ECMA-262 does (``$`` is the
end of the string), as OpenAPI 3.1 requires.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from chalicelib import errors
from chalicelib.domain import validation
from chalicelib.errors import ApiError, FieldError
from chalicelib.http import openapi, web
from tests.support import Api, Reply

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONTRACT = PROJECT_DIR.parent / "shared" / "api-contract.md"
README = PROJECT_DIR / "README.md"
DOCUMENT = json.loads(openapi.document_json("/"))
COMPONENTS = DOCUMENT["components"]
# Served by the API but deliberately not part of the document: the Swagger UI page that renders
# it, and the page's scripts and stylesheet (HTML, JavaScript, CSS; no JSON API).
NOT_DOCUMENTED = {("/docs", "GET"), ("/docs/{asset}", "GET")}
VALID_ID = "01JDQ3A9ZK6V0F3R8Q2W5T7Y1B"
TIMESTAMP = "2026-11-23T09:15:02.123Z"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def validator(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A 2020-12 validator for ``schema``, resolving ``#/components/...`` in the document."""
    return jsonschema_rs.Draft202012Validator(
        {"components": COMPONENTS, **schema}, validate_formats=True
    )


def component(name: str) -> jsonschema_rs.Validator:
    return validator({"$ref": f"#/components/schemas/{name}"})


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` into the document's components."""
    while "$ref" in node:
        _, _, kind, name = node["$ref"].split("/")
        node = COMPONENTS[kind][name]
    return node


def documented_operation(method: str, path: str) -> dict[str, Any]:
    """The operation whose path template matches a concrete request path."""
    for template, operations in DOCUMENT["paths"].items():
        regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(regex, path.split("?")[0]) and method.lower() in operations:
            return operations[method.lower()]
    raise AssertionError(f"{method} {path} is not documented")


# --- the document itself ---------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1() -> None:
    errors_found = [str(error) for error in OpenAPIV31SpecValidator(DOCUMENT).iter_errors()]
    assert errors_found == []
    assert DOCUMENT["openapi"].startswith("3.1.")


def test_every_route_and_method_is_documented_and_nothing_else() -> None:
    from app import app

    routes = {
        (path, method): entry
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if (path, method) not in NOT_DOCUMENTED
    }
    documented = {
        (path, method.upper()): operation
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
    }
    assert set(routes) == set(documented)
    for key, entry in routes.items():
        operation = documented[key]
        assert operation["operationId"] == entry.view_name, key
        protected = entry.authorizer is not None
        assert operation["security"] == ([{openapi.SECURITY_SCHEME: []}] if protected else [])
        assert ({"401", "403"} <= set(operation["responses"])) == protected, key
        assert re.findall(r"\{(\w+)\}", key[0]) == entry.view_args, key


def test_every_operation_documents_a_success_and_its_errors_as_json() -> None:
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert any(status.startswith("2") for status in statuses), (method, path)
            assert "500" in statuses, (method, path)
            for status, response in operation["responses"].items():
                response = resolve(response)
                if status == "204":
                    assert "content" not in response
                else:
                    assert list(response["content"]) == ["application/json"], (method, path)


# What a view's source reads, and what the document must then declare for its operation.
VIEW_INPUTS = {
    "_json_body(": "requestBody",
    "_if_match(": "If-Match",
    '"idempotency-key"': "Idempotency-Key",
    "validate_list_query(": "limit",
}


def test_views_read_exactly_the_inputs_the_document_declares() -> None:
    """A view that starts reading a body, a header or the query must get it documented."""
    from app import app

    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            view = app.routes[path][method.upper()].view_function
            source = inspect.getsource(inspect.unwrap(view))
            declared = {resolve(parameter)["name"] for parameter in operation.get("parameters", [])}
            if "requestBody" in operation:
                declared.add("requestBody")
            for call, documented in VIEW_INPUTS.items():
                assert (call in source) == (documented in declared), (method, path, documented)
            body_errors = {"413", "415"} <= set(operation["responses"])
            assert body_errors == ("requestBody" in declared), (method, path)


def test_documented_headers_are_exposed_and_allowed_by_cors() -> None:
    """Browsers can only read exposed response headers and send allowed request headers."""
    cors = web.cors_config("*").get_access_control_headers()
    exposed = {name.strip().lower() for name in cors["Access-Control-Expose-Headers"].split(",")}
    allowed = {name.strip().lower() for name in cors["Access-Control-Allow-Headers"].split(",")}
    safelisted = {"cache-control", "content-type"}
    for operations in DOCUMENT["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                for name in resolve(response).get("headers", {}):
                    assert name.lower() in exposed | safelisted, name
            for parameter in operation.get("parameters", []):
                parameter = resolve(parameter)
                if parameter["in"] == "header":
                    assert parameter["name"].lower() in allowed, parameter["name"]
    assert "authorization" in allowed


def test_every_error_the_code_defines_is_documented_with_its_status() -> None:
    schemas = COMPONENTS["schemas"]
    classes = openapi.error_classes()
    assert {cls.__name__ for cls in classes} == {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, ApiError) and value is not ApiError
    }
    assert len({cls.code for cls in classes}) == len(classes)
    for cls in classes:
        assert schemas[cls.__name__]["properties"]["error"]["properties"]["code"] == {
            "const": cls.code
        }
        documented_in = [
            op
            for op in openapi.OPERATIONS
            if str(cls.status) in DOCUMENT["paths"][op.path][op.method.lower()]["responses"]
        ]
        assert documented_in, f"{cls.__name__} is never documented"


def sample_errors() -> Iterator[ApiError]:
    """One instance of every error class, as the code raises them."""
    yield errors.InvalidJson()
    yield errors.ValidationFailed([FieldError("title", "must not be empty")])
    yield errors.InvalidCursor()
    yield errors.InvalidCredentials()
    yield errors.InvalidRefreshToken()
    yield errors.AccountClosed()
    yield errors.NotFound()
    yield errors.UsernameTaken()
    yield errors.IdempotencyInProgress()
    yield errors.PreconditionFailed()
    yield errors.PayloadTooLarge()
    yield errors.UnsupportedMediaType()
    yield errors.IdempotencyKeyReused()
    yield errors.TooManyAttempts(899)
    yield errors.ServiceUnavailable()
    yield errors.InternalError("a1b2c3")


def test_every_error_response_matches_its_documented_schema_and_headers() -> None:
    seen = set()
    for error in sample_errors():
        seen.add(type(error))
        response = web.error_response(error).to_dict()
        body = json.loads(response["body"])
        component(type(error).__name__).validate(body)
        sends = set(error.headers())
        assert sends == ({"Retry-After"} if openapi.sends_retry_after(type(error)) else set())
        for operation in openapi.OPERATIONS:
            if type(error) in operation.errors:
                reply = Reply(
                    error.status, _headers(response["headers"]), response["body"].encode()
                )
                assert_conforms(operation.method, operation.path, reply)
    assert seen == set(openapi.error_classes())


def test_the_whitespace_bound_covers_all_of_unicode() -> None:
    above = [
        code
        for code in range(openapi.MAX_WHITESPACE_CODE_POINT + 1, sys.maxunicode + 1)
        if chr(code).isspace()
    ]
    assert above == []


@pytest.mark.parametrize(
    ("context", "server"),
    [
        ({"path": "/api/openapi.json", "resourcePath": "/openapi.json"}, "/api"),  # API Gateway
        ({"path": "/v1/tasks-api/openapi.json", "resourcePath": "/openapi.json"}, "/v1/tasks-api"),
        ({"path": "/openapi.json", "resourcePath": "/openapi.json"}, "/"),  # chalice local
        ({}, "/"),
        ({"path": "/elsewhere", "resourcePath": "/openapi.json"}, "/"),
    ],
)
def test_the_server_url_is_the_base_path_the_document_was_fetched_under(
    context: dict[str, str], server: str
) -> None:
    assert openapi.server_url(context) == server
    served = json.loads(openapi.document_json(server))
    assert served["servers"] == [{"url": server}]
    assert {**served, "servers": None} == {**DOCUMENT, "servers": None}


def test_the_served_document_is_the_built_one(api: Api) -> None:
    reply = api.request("GET", "/openapi.json")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["Cache-Control"] == openapi.RESPONSE_HEADERS["Cache-Control"]
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert reply.json() == DOCUMENT  # no stage prefix, in-process or under chalice local
    assert_conforms("GET", "/openapi.json", reply)


# --- request schemas against the validators ---------------------------------------------------

SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
BODY_VALIDATORS: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
    ("POST", "/auth/register"): validation.validate_registration,
    ("POST", "/auth/login"): validation.validate_login,
    ("POST", "/auth/refresh"): validation.validate_refresh_token,
    ("POST", "/auth/logout"): validation.validate_refresh_token,
    ("PUT", "/users/me/password"): validation.validate_password_change,
    ("DELETE", "/users/me"): validation.validate_account_deletion,
    ("POST", "/tasks"): validation.validate_new_task,
    ("PUT", "/tasks/{task_id}"): validation.validate_new_task,
    ("PATCH", "/tasks/{task_id}"): validation.validate_task_patch,
}


def test_every_documented_request_body_has_its_validator_here() -> None:
    with_bodies = {
        (method.upper(), path)
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert with_bodies == set(BODY_VALIDATORS)


def body_cases(mode: GenerationMode) -> st.SearchStrategy[tuple[tuple[str, str], Any]]:
    """Bodies the document's schemas generate, as schemathesis would send them."""

    def strategy(key: tuple[str, str]) -> st.SearchStrategy[tuple[tuple[str, str], Any]]:
        method, path = key
        cases = SCHEMA[path][method].as_strategy(generation_mode=mode)
        if mode is GenerationMode.NEGATIVE:
            cases = cases.filter(lambda case: _component_mode(case, ParameterLocation.BODY) == mode)
        return cases.map(lambda case: (key, case.body))

    return st.one_of([strategy(key) for key in sorted(BODY_VALIDATORS)])


def _component_mode(case: schemathesis.Case, location: ParameterLocation) -> GenerationMode | None:
    info = case.meta.components.get(location) if case.meta else None
    return info.mode if info else None


def parse_as_the_api_does(key: tuple[str, str], body: Any) -> Any:
    """What the view does with a body: read it as a JSON object, then validate it."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    parsed = web.read_json_object(raw, {"content-type": "application/json"})
    return BODY_VALIDATORS[key](parsed)


@FAST
@given(body_cases(GenerationMode.POSITIVE))
def test_bodies_the_document_allows_are_accepted(generated: tuple[tuple[str, str], Any]) -> None:
    key, body = generated
    parse_as_the_api_does(key, body)


@FAST
@given(body_cases(GenerationMode.NEGATIVE))
def test_bodies_the_document_forbids_are_refused(generated: tuple[tuple[str, str], Any]) -> None:
    key, body = generated
    with pytest.raises(ApiError) as refused:
        parse_as_the_api_does(key, body)
    assert refused.value.status == 400


WS = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_WS = "a\ufeff\u200b\u180e\x00é😀"
# v2 hardening: default-ignorables are trimmed like white space, and a value must keep a
# visible character (not only controls, format characters or combining marks). Grapheme
# extenders right after the last kept character stay: they belong to it.
FLAG = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
INVISIBLE_TITLES = [
    "\u200b",
    "\ufeff \u2060",
    "\u0301",
    "\u0301\u20dd",
    "\ufe0f",
    "\U000e0001",
    "\U000e0020\U000e007f",
    "\U0001d173",
    "\u3164",
    "\x00\x1b",
    "\u0600",
    "\u200bReport\u200b",
    "e\u0301",
    "\u0301a",
    "\U0001f3f7\ufe0f",
    "\U0001f3f7\ufe0f \u200b",
    "a \ufe0f",
    "\U000e0001a\U000e0001",
    "\U0001f468\u200d\U0001f4bb",
    FLAG,
    "\x00a",
    "x" * validation.TITLE_MAX + "\ufe0f",
    "x" * (validation.TITLE_MAX - 1) + "\ufe0f",
    "x" * validation.TITLE_MAX + " \ufe0f",
    "x" * validation.TITLE_MAX + "\ufe0f \ufe0f",
    "\u2060" * 10 + "x" * validation.TITLE_MAX + "\u200b" * 10,
    "\u2060" * 10 + "x" * (validation.TITLE_MAX + 1) + "\u200b" * 10,
]

# Values at and around every documented limit, each checked against both the document and the
# validator: they must agree on every one.
FIELD_VALUES: dict[str, list[Any]] = {
    "title": [
        "",
        "a",
        "x" * validation.TITLE_MAX,
        "x" * (validation.TITLE_MAX + 1),
        " " + "x" * validation.TITLE_MAX + "\n",
        " x" + " " * validation.TITLE_MAX + "x ",
        *WS,
        *[space + "a" + space for space in WS],
        *NOT_WS,
        *[space + "a" + space for space in NOT_WS],
        *INVISIBLE_TITLES,
        "a\nb",
        5,
        None,
        ["a"],
    ],
    "description": [
        "",
        " ",
        "x" * validation.DESCRIPTION_MAX,
        "x" * (validation.DESCRIPTION_MAX + 1),
        "😀" * validation.DESCRIPTION_MAX,
        1,
        None,
    ],
    "status": [*validation.TASK_STATUSES, "TODO", "", "todo ", None, 1],
    "due_date": [
        None,
        "2026-12-01",
        "2024-02-29",
        "2026-02-29",
        "2026-13-01",
        "2026-00-10",
        "2026-04-31",
        "0000-01-01",
        "0001-01-01",
        "9999-12-31",
        "2026-1-01",
        "20261201",
        "2026-12-01T00:00:00Z",
        "2026-12-01\n",
        " 2026-12-01",
        "\uff12026-12-01",
        "\u0662026-12-01",
        "",
        20261201,
    ],
    "tags": [
        [],
        ["a"],
        ["a"] * validation.TAGS_MAX,
        ["a"] * (validation.TAGS_MAX + 1),
        [f"t{i}" for i in range(validation.TAGS_MAX)],
        ["x" * validation.TAG_MAX],
        ["x" * (validation.TAG_MAX + 1)],
        ["\u3000" + "x" * validation.TAG_MAX + "\x1c"],
        [""],
        [" "],
        ["\x85"],
        ["\ufeff"],
        ["\u200b"],
        ["\u0301"],
        ["\u2060 \u200b"],
        ["\u200bwork", "work\ufeff"],
        ["\U0001f3f7\ufe0f"],
        ["x" * validation.TAG_MAX + "\ufe0f"],
        ["x" * (validation.TAG_MAX - 1) + "\ufe0f"],
        ["\u200b" + "x" * validation.TAG_MAX + "\u2060"],
        [FLAG],
        [" a ", "a"],
        [1],
        [None],
        "a",
        None,
        {},
    ],
}
USERNAMES = [
    "abc",
    "ab",
    "a" * validation.USERNAME_MAX,
    "a" * (validation.USERNAME_MAX + 1),
    "Alice",
    "ALICE.b_c-d",
    "0pt",
    "_abc",
    ".abc",
    "-abc",
    "ab c",
    "abc\n",
    "\u212aate",  # KELVIN SIGN: lower-cases to an ASCII "k", still refused
    "\u0130ce",
    "éclair",
    "abc!",
    "",
    5,
    None,
]
PASSWORDS = [
    "x" * (validation.PASSWORD_MIN - 1),
    "x" * validation.PASSWORD_MIN,
    "x" * validation.PASSWORD_MAX,
    "x" * (validation.PASSWORD_MAX + 1),
    "é" * validation.PASSWORD_MIN,  # characters, not bytes
    "😀" * validation.PASSWORD_MIN,
    "😀" * validation.PASSWORD_MAX,
    " " * validation.PASSWORD_MIN,
    12345678,
    None,
]


def agree(schema_name: str, body: Any, check: Callable[[Any], Any]) -> None:
    documented = component(schema_name).is_valid(body)
    try:
        check(body)
        accepted = True
    except errors.ValidationFailed:
        accepted = False
    assert documented == accepted, f"{schema_name} {body!r}: document says {documented}"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"title": "a", name: value}, id=f"{name}={value!r:.40}")
        for name, values in FIELD_VALUES.items()
        for value in values
        if name != "title"
    ]
    + [pytest.param({"title": value}, id=f"title={value!r:.40}") for value in FIELD_VALUES["title"]]
    + [
        pytest.param({}, id="empty"),
        pytest.param({"title": "a", "colour": "red"}, id="unknown field"),
        pytest.param({"title": "a", "id": VALID_ID}, id="read-only field"),
        pytest.param({"description": "no title"}, id="no title"),
    ],
)
def test_task_bodies_at_the_limits(body: dict[str, Any]) -> None:
    agree("NewTask", body, validation.validate_new_task)
    patch = {name: value for name, value in body.items() if name != "title" or len(body) == 1}
    agree("TaskPatch", patch, validation.validate_task_patch)


@pytest.mark.parametrize(
    "value", [value for value in FIELD_VALUES["title"] if isinstance(value, str)], ids=ascii
)
def test_stored_titles_and_tags_match_the_response_schema(value: str) -> None:
    """What trimming stores is what the ``Task`` schema describes, and trimmed again it stays."""
    title = validator(COMPONENTS["schemas"]["Task"]["properties"]["title"])
    tag = validator(COMPONENTS["schemas"]["Task"]["properties"]["tags"]["items"])
    try:
        stored = validation.validate_new_task({"title": value}).title
    except errors.ValidationFailed:
        return
    assert title.is_valid(stored), ascii(stored)
    assert validation.trim(stored) == stored
    if len(stored) <= validation.TAG_MAX:
        assert tag.is_valid(stored), ascii(stored)
        assert validation.validate_new_task({"title": "t", "tags": [value]}).tags == [stored]
    if stored != value:  # what trimming removed is never a stored value on its own
        assert not title.is_valid(value), ascii(value)


def test_error_details_are_documented_with_their_bounds() -> None:
    """v2: at most 20 details, echoed names and messages cut short, a bounded body."""
    details = COMPONENTS["schemas"]["ValidationFailed"]["properties"]["error"]["properties"][
        "details"
    ]
    assert details["maxItems"] == errors.MAX_ERROR_DETAILS == 20
    assert errors.MAX_ERROR_BODY_BYTES == 16 * 1024
    field = COMPONENTS["schemas"]["FieldError"]["properties"]
    assert field["field"]["maxLength"] == errors.MAX_FIELD_CHARS
    assert field["message"]["maxLength"] == errors.MAX_MESSAGE_CHARS
    many = errors.ValidationFailed([FieldError(f"f{index}", "x") for index in range(500)])
    component("ValidationFailed").validate(json.loads(web.error_response(many).to_dict()["body"]))


@pytest.mark.parametrize("username", USERNAMES, ids=repr)
@pytest.mark.parametrize("password", PASSWORDS[:2], ids=["short", "shortest"])
def test_registration_usernames_at_the_limits(username: Any, password: str) -> None:
    body = {"username": username, "password": password}
    agree("Registration", body, validation.validate_registration)
    agree("Login", body, validation.validate_login)


@pytest.mark.parametrize("password", PASSWORDS, ids=lambda value: f"{value!r:.20}")
def test_registration_passwords_at_the_limits(password: Any) -> None:
    body = {"username": "alice", "password": password}
    agree("Registration", body, validation.validate_registration)
    agree("Login", body, validation.validate_login)


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice"},
        {"password": "correct horse"},
        {"username": "alice", "password": "correct horse", "remember": True},
        {},
    ],
    ids=repr,
)
def test_credentials_need_exactly_username_and_password(body: dict[str, Any]) -> None:
    agree("Registration", body, validation.validate_registration)
    agree("Login", body, validation.validate_login)


def parameter_schema(name: str) -> jsonschema_rs.Validator:
    return validator(COMPONENTS["parameters"][name]["schema"])


@pytest.mark.parametrize(
    "value",
    [
        "*",
        " * ",
        "\t*",
        '"1"',
        '"1", "2"',
        '"1","2"',
        ' "1" , W/"2" ',
        'W/"1"',
        '"abc"',
        '""',
        ",".join(['"1"'] * web.MAX_IF_MATCH_TAGS),
        ",".join(['"1"'] * (web.MAX_IF_MATCH_TAGS + 1)),
        "1",
        "",
        '"1",',
        ',"1"',
        '"1" "2"',
        '"a,b"',
        '"1',
        "**",
        '*, "1"',
        "\x85*",
        "*\xa0",
        '\x0b"1"',
        '\x1c"1"',
    ],
    ids=repr,
)
def test_if_match_values_at_the_limits(value: str) -> None:
    documented = parameter_schema("IfMatch").is_valid(value)
    assert documented == _accepted_by(web.parse_if_match, value)


def test_unicode_space_around_a_star_is_not_a_wildcard(api: Api) -> None:
    """Regression: ``str.strip()`` made ``"*\\xa0"`` match any version, unlike the document."""
    user = api.new_user()
    task = api.create_task(user)
    path = f"/tasks/{task['id']}"
    reply = api.request("DELETE", path, headers={"If-Match": "*\xa0"}, user=user)
    assert reply.status == 400
    assert reply.json()["error"]["details"][0]["field"] == "If-Match"
    assert api.request("GET", path, user=user).status == 200


@pytest.mark.parametrize(
    "value",
    ["a", "~" * 255, "x" * 256, "", " ", "a b", "a\tb", "é", "\x7f", "key-1:2/3?="],
    ids=lambda value: f"{value!r:.20}",
)
def test_idempotency_keys_at_the_limits(value: str) -> None:
    documented = parameter_schema("IdempotencyKey").is_valid(value)
    assert documented == _accepted_by(web.parse_idempotency_key, value)


@pytest.mark.parametrize(
    "limit",
    [
        validation.LIMIT_MIN - 1,
        validation.LIMIT_MIN,
        validation.LIMIT_MAX,
        validation.LIMIT_MAX + 1,
    ],
)
@pytest.mark.parametrize("status", [None, *validation.TASK_STATUSES, "later"])
def test_list_query_parameters_at_the_limits(limit: int, status: str | None) -> None:
    documented = parameter_schema("Limit").is_valid(limit) and (
        status is None or parameter_schema("Status").is_valid(status)
    )
    query = {"limit": str(limit), **({"status": status} if status else {})}
    try:
        validation.validate_list_query(query)
        accepted = True
    except errors.ValidationFailed:
        accepted = False
    assert documented == accepted


def test_repeated_query_parameters_are_documented_as_refused() -> None:
    """v2: ``limit=1&limit=2`` is a 400; the list operation says so (a query schema cannot)."""
    assert "more than once" in DOCUMENT["paths"]["/tasks"]["get"]["description"]
    for name in validation.LIST_QUERY_PARAMETERS:
        with pytest.raises(errors.ValidationFailed):
            validation.validate_list_query({name: ["1", "1"]})


def test_the_list_query_parameters_are_the_documented_ones() -> None:
    documented = {
        resolve(parameter)["name"] for parameter in DOCUMENT["paths"]["/tasks"]["get"]["parameters"]
    }
    assert documented == set(validation.LIST_QUERY_PARAMETERS)
    assert resolve(COMPONENTS["parameters"]["Limit"])["schema"]["default"] == (
        validation.validate_list_query({}).limit
    )


def test_documented_defaults_are_what_an_omitted_field_becomes() -> None:
    properties = COMPONENTS["schemas"]["NewTask"]["properties"]
    documented = {
        name: schema["default"] for name, schema in properties.items() if "default" in schema
    }
    created = vars(validation.validate_new_task({"title": "a"}))
    assert documented == {name: value for name, value in created.items() if name != "title"}


# --- examples ---------------------------------------------------------------------------------


def test_the_documents_own_examples_match_their_schemas() -> None:
    checked = 0
    for name, schema in COMPONENTS["schemas"].items():
        for example in schema.get("examples", []):
            component(name).validate(example)
            checked += 1
    for name, parameter in COMPONENTS["parameters"].items():
        for example in parameter["schema"].get("examples", []):
            parameter_schema(name).validate(example)
            checked += 1
    assert checked >= 20


def _filled_placeholders(text: str) -> str:
    """The contract elides ids and timestamps (``"01JDQ3..."``, ``"..."``); fill them in."""
    text = re.sub(r'"(\w+_at)": "\.\.\."', rf'"\1": "{TIMESTAMP}"', text)
    return re.sub(r'"id": "[0-9A-Z]*\.\.\."', f'"id": "{VALID_ID}"', text)


@pytest.mark.skipif(not CONTRACT.exists(), reason="the shared contract is not checked out")
def test_the_contracts_examples_match_the_response_schemas() -> None:
    blocks = re.findall(r"```json\n(.*?)```", CONTRACT.read_text(), flags=re.DOTALL)
    examples = [json.loads(_filled_placeholders(block)) for block in blocks]
    assert len(examples) == 2
    error, task = examples
    component("ValidationFailed").validate(error)
    component("Task").validate(task)
    inline = {
        "Health": '{"status": "ok"}',
        "Token": (
            r'\{"access_token": "<JWT>", "token_type": "Bearer", "expires_in": \d+,\s+'
            r'"refresh_token": "<opaque>", "refresh_expires_in": \d+\}'
        ),
        "User": r'\{"id": "\.\.\.", "username": "alice", "created_at": "\.\.\."\}',
    }
    for name, pattern in inline.items():
        found = re.search(pattern, CONTRACT.read_text())
        assert found, name
        example = json.loads(
            found.group(0)
            .replace('"<JWT>"', '"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"')
            .replace('"<opaque>"', f'"{"r" * 100}"')
            .replace('"id": "..."', f'"id": "{VALID_ID}"')
            .replace('"created_at": "..."', f'"created_at": "{TIMESTAMP}"')
        )
        component(name).validate(example)


def test_the_readme_walkthroughs_replies_match_a_documented_schema() -> None:
    text = README.read_text()
    start = text.index("\n## Walkthrough\n")
    walkthrough = text[start : text.index("\n## ", start + 1)]  # up to the next section
    replies = [json.loads(line) for line in walkthrough.splitlines() if _is_json_object(line)]
    schemas = [component(name) for name in ("User", "Task", "TaskList", "Token", "Health")] + [
        component(cls.__name__) for cls in openapi.error_classes()
    ]
    assert len(replies) >= 4
    for reply in replies:
        assert any(schema.is_valid(reply) for schema in schemas), reply


def _is_json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


# --- real responses ---------------------------------------------------------------------------


def _headers(headers: dict[str, str]) -> Any:
    from requests.structures import CaseInsensitiveDict

    return CaseInsensitiveDict(headers)


def assert_conforms(method: str, path: str, reply: Reply) -> None:
    """The reply is documented for its status: content type, body schema, required headers."""
    operation = documented_operation(method, path)
    responses = operation["responses"]
    assert str(reply.status) in responses, f"{method} {path} undocumented status {reply}"
    response = resolve(responses[str(reply.status)])
    content = response.get("content")
    if content is None:
        assert reply.body == b"", reply
    else:
        (media_type,) = content
        # chalice's local gateway sends its 401/403 without a Content-Type (API Gateway sends
        # application/json): a local-only artefact, tolerated for those two responses only.
        gateway = (
            responses[str(reply.status)]
            .get("$ref", "")
            .endswith((openapi.GATEWAY_UNAUTHORIZED, openapi.GATEWAY_FORBIDDEN))
        )
        if not (gateway and "Content-Type" not in reply.headers):
            assert reply.headers["Content-Type"].split(";")[0] == media_type, reply
        validator(content[media_type]["schema"]).validate(reply.json())
    for name, header in response.get("headers", {}).items():
        header = resolve(header)
        value = reply.headers.get(name)
        if value is None:
            assert not header.get("required"), f"{method} {path} {reply.status}: no {name}"
            continue
        schema = header["schema"]
        validator(schema).validate(int(value) if schema.get("type") == "integer" else value)


def test_real_responses_match_the_document(api: Api) -> None:
    """A walk through the API that meets most documented statuses of every operation."""
    seen: set[tuple[str, str, int]] = set()

    def call(method: str, path: str, **kwargs: Any) -> Reply:
        reply = api.request(method, path, **kwargs)
        assert_conforms(method, path, reply)
        template = documented_operation(method, path)["operationId"]
        seen.add((template, method, reply.status))
        return reply

    call("GET", "/health")
    call("GET", "/openapi.json")
    user = api.new_user("doc")
    assert call("POST", "/auth/register", json_body={"username": user.username}).status == 400
    body = {"username": user.username, "password": user.password}
    assert call("POST", "/auth/register", json_body=body).status == 409
    json_type = {"Content-Type": "application/json"}
    assert call("POST", "/auth/register", body=b"{", headers=json_type).status == 400
    logged_in = call("POST", "/auth/login", json_body=body)
    assert logged_in.status == 200
    refresh_body = {"refresh_token": logged_in.json()["refresh_token"]}
    refreshed = call("POST", "/auth/refresh", json_body=refresh_body)
    assert refreshed.status == 200
    assert call("POST", "/auth/refresh", json_body=refresh_body).status == 401  # spent
    assert call("POST", "/auth/refresh", json_body={"refresh_token": 1}).status == 400
    assert call("POST", "/auth/logout", json_body=refresh_body).status == 204
    text = {"Content-Type": "text/plain"}
    assert call("POST", "/auth/login", body="x", headers=text).status == 415
    big = b'{"username": "' + b"x" * web.MAX_BODY_BYTES + b'"}'
    assert call("POST", "/auth/login", body=big, headers=json_type).status == 413
    assert call("GET", "/users/me", user=user).status == 200
    assert call("GET", "/users/me").status == 401
    assert call("GET", "/users/me", headers={"Authorization": "Bearer nope"}).status == 403
    assert call("GET", "/users/me", headers={"Authorization": f"Bearer {api.token()}"}).status == (
        401
    )
    change = {"current_password": "wrong password", "new_password": "new password 123"}
    assert call("PUT", "/users/me/password", json_body=change, user=user).status == 401
    change["current_password"] = user.password
    assert call("PUT", "/users/me/password", json_body={}, user=user).status == 400

    created = call("POST", "/tasks", json_body={"title": "x", "tags": ["a"]}, user=user)
    assert created.status == 201
    task_path = created.headers["Location"]
    key = {"Idempotency-Key": "doc-1"}
    assert call("POST", "/tasks", json_body={"title": "y"}, headers=key, user=user).status == 201
    replayed = call("POST", "/tasks", json_body={"title": "y"}, headers=key, user=user)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert call("POST", "/tasks", json_body={"title": "z"}, headers=key, user=user).status == 422
    assert call("POST", "/tasks", json_body={"title": ""}, user=user).status == 400

    page = call("GET", "/tasks?limit=1", user=user)
    assert page.json()["next_cursor"] is not None
    assert call("GET", "/tasks?limit=1&cursor=nope", user=user).status == 400
    assert call("GET", "/tasks?limit=0", user=user).status == 400
    assert call("GET", "/tasks?status=done", user=user).status == 200

    assert call("GET", task_path, user=user).status == 200
    assert call("GET", f"/tasks/{VALID_ID}", user=user).status == 404
    assert call("PATCH", task_path, json_body={"status": "done"}, user=user).status == 200
    stale = {"If-Match": '"1"'}
    patched = call("PATCH", task_path, json_body={"status": "todo"}, headers=stale, user=user)
    assert patched.status == 412
    assert call("PATCH", task_path, json_body={}, user=user).status == 400
    assert call("PUT", task_path, json_body={"title": "new"}, user=user).status == 200
    assert call("PUT", f"/tasks/{VALID_ID}", json_body={"title": "new"}, user=user).status == 404
    assert call("DELETE", task_path, headers=stale, user=user).status == 412
    assert call("DELETE", task_path, headers={"If-Match": "1"}, user=user).status == 400
    assert call("DELETE", task_path, user=user).status == 204
    assert call("DELETE", task_path, user=user).status == 404

    for _ in range(4):  # with the password change's wrong attempt above: 5 failures
        call("POST", "/auth/login", json_body={**body, "password": "wrong password"})
    locked = call("POST", "/auth/login", json_body=body)
    assert locked.status == 429

    leaving = api.new_user("doc-leaving")
    assert call("DELETE", "/users/me", json_body={"pass": 1}, user=leaving).status == 400
    assert call("DELETE", "/users/me", json_body={"password": "nope"}, user=leaving).status == 401
    gone = call("DELETE", "/users/me", json_body={"password": leaving.password}, user=leaving)
    assert gone.status == 204
    closed = call("POST", "/tasks", json_body={"title": "late"}, user=leaving)
    assert closed.error_code == "account_closed"
    changed = api.new_user("doc-changing")
    change = {"current_password": changed.password, "new_password": "new password 123"}
    assert call("PUT", "/users/me/password", json_body=change, user=changed).status == 204

    expected = {
        ("register", "POST", 400),
        ("register", "POST", 409),
        ("login", "POST", 200),
        ("login", "POST", 401),
        ("login", "POST", 413),
        ("login", "POST", 415),
        ("login", "POST", 429),
        ("current_user", "GET", 401),
        ("current_user", "GET", 403),
        ("current_user", "GET", 401),
        ("refresh", "POST", 200),
        ("refresh", "POST", 400),
        ("refresh", "POST", 401),
        ("logout", "POST", 204),
        ("change_password", "PUT", 204),
        ("change_password", "PUT", 400),
        ("change_password", "PUT", 401),
        ("delete_account", "DELETE", 204),
        ("delete_account", "DELETE", 400),
        ("delete_account", "DELETE", 401),
        ("create_task", "POST", 401),
        ("create_task", "POST", 422),
        ("list_tasks", "GET", 400),
        ("patch_task", "PATCH", 412),
        ("delete_task", "DELETE", 204),
    }
    assert expected <= seen


def _accepted_by(parse: Callable[[str], object], value: str) -> bool:
    """Whether a header parser accepts ``value`` (it raises ``ValidationFailed`` if not)."""
    try:
        parse(value)
    except errors.ValidationFailed:
        return False
    return True
