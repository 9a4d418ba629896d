"""Tasks API: the HTTP surface. Views parse the request, call ``chalicelib``, shape the reply.

The contract is ``../shared/api-contract.md``; behaviour lives in ``chalicelib``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalice.app import AuthRequest

from chalicelib import observability, request_budget, runtime
from chalicelib.auth.authorizer import AuthorizerUnavailable, VerifierUnavailable, authorize
from chalicelib.auth.tokens import Principal
from chalicelib.config import allowed_origin
from chalicelib.domain import validation
from chalicelib.errors import ApiError, InternalError, NotFound
from chalicelib.http.gateway_responses import UNKNOWN_PATH_BODY
from chalicelib.http.web import (
    ANY_CONTENT_TYPE,
    base_path,
    cors_config,
    error_response,
    json_response,
    parse_idempotency_key,
    parse_if_match,
    read_json_object,
)

app = Chalice(app_name="tasks-api")
# JSON lines on stdout at LOG_LEVEL (default INFO), replacing Chalice's plain-text handler;
# one line per request, which is also the request's CloudWatch EMF metrics.
observability.configure_logging(app.log, os.environ)
STAGE = os.environ.get("STAGE", "local")
app.register_middleware(observability.RequestLog(app.log, STAGE), "http")
# A JSON-only API: no binary media types. Chalice otherwise matches every request's and
# response's content type against its default list of 16 (four times per request), and
# API Gateway would base64-encode such bodies for nothing (they get a 415 anyway).
app.api.binary_types = []


@app.middleware("http")
def within_request_budget(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Every AWS call of the request fits in the function's timeout (request_budget)."""
    request_budget.start()
    try:
        return get_response(event)
    finally:
        request_budget.clear()


@app.authorizer(ttl_seconds=300)
def jwt_authorizer(auth_request: AuthRequest) -> dict[str, Any]:
    """Allow or deny a bearer token; raise when no verdict is possible.

    A deny is cached by API Gateway for the token's TTL, so a verifier that cannot be
    built (the signing secret cannot be read) or cannot get its keys (the cognito mode's
    JWKS cannot be fetched) must not answer Deny: raising makes API Gateway answer its
    AUTHORIZER_FAILURE gateway response (503 with ``Retry-After``) and cache nothing, and
    the next request tries again. The verifier is the stage's (``IDENTITY_PROVIDER``), the
    same for every route.
    """
    request_budget.start()
    try:
        try:
            verify = runtime.token_verifier()
        except Exception as error:
            app.log.exception("authorizer cannot verify tokens; no verdict, the client gets 503")
            raise AuthorizerUnavailable() from error
        try:  # cognito mode: the issuer's keys are fetched on first use, within the budget
            policy = authorize(auth_request.token, auth_request.method_arn, verify)
        except VerifierUnavailable as error:
            app.log.exception("authorizer cannot fetch the JWKS; no verdict, the client gets 503")
            raise AuthorizerUnavailable() from error
    finally:
        request_budget.clear()
    if policy["policyDocument"]["Statement"][0]["Effect"] != "Allow":
        observability.log_token_denied(app.log, STAGE)
    return policy


CORS = cors_config(allowed_origin(os.environ))
# Token responses must not be cached by a browser or a proxy (RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store"}
PUBLIC = {"cors": CORS, "content_types": ANY_CONTENT_TYPE}
PROTECTED = {**PUBLIC, "authorizer": jwt_authorizer}


def contract_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Answer every failure in the contract's error format; never leak internals."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except ApiError as error:
            return error_response(error)
        except Exception:
            request_id = _request_id()
            # One JSON record: message, request id and the traceback as fields.
            app.log.exception(
                "unhandled error, request id %s", request_id, extra={"request_id": request_id}
            )
            return error_response(InternalError(request_id))

    return guarded


def builtin_identity_only(view: Callable[..., Response]) -> Callable[..., Response]:
    """A route of the built-in user store. With ``IDENTITY_PROVIDER=cognito``, signing up and
    in, refreshing, logging out and changing passwords are Cognito's: such a request is
    answered as a path no route matches (404 ``not_found``), before its body is read."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Response:
        if runtime.uses_cognito():
            raise NotFound(UNKNOWN_PATH_BODY["error"]["message"])
        return view(*args, **kwargs)

    return guarded


@app.route("/health", methods=["GET"], **PUBLIC)
@contract_errors
def health() -> Response:
    return json_response({"status": "ok"})


@app.route("/openapi.json", methods=["GET"], **PUBLIC)
@contract_errors
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document (chalicelib/http/openapi.py), built once per container."""
    from chalicelib.http import openapi  # on first use: cold starts of other routes skip it

    server = openapi.server_url(app.current_request.context)
    return json_response(openapi.document_json(server), headers=openapi.RESPONSE_HEADERS)


@app.route("/docs", methods=["GET"], **PUBLIC)
@contract_errors
def docs() -> Response:
    """Swagger UI for this API's OpenAPI document (chalicelib/http/docs_page.py)."""
    from chalicelib.http import docs_page  # on first use: cold starts of other routes skip it

    return docs_page.page_response(app.current_request.context.get("path", ""))


@app.route("/docs/{asset}", methods=["GET"], **PUBLIC)
@contract_errors
def docs_asset(asset: str) -> Response:
    """The page's allow-listed scripts and stylesheet; any other name is a 404."""
    from chalicelib.http import docs_page  # on first use: cold starts of other routes skip it

    request = app.current_request
    version = (request.query_params or {}).get("v")
    return docs_page.asset_response(asset, version, request.headers.get("if-none-match"))


@app.route("/auth/register", methods=["POST"], **PUBLIC)
@contract_errors
@builtin_identity_only
def register() -> Response:
    credentials = validation.validate_registration(_json_body())
    user = runtime.account_service().register(credentials)
    return json_response(user.to_json(), 201)


@app.route("/auth/login", methods=["POST"], **PUBLIC)
@contract_errors
@builtin_identity_only
def login() -> Response:
    credentials = validation.validate_login(_json_body())
    tokens = runtime.account_service().login(credentials, _client_address())
    return json_response(tokens.to_json(), headers=NO_STORE)


@app.route("/auth/refresh", methods=["POST"], **PUBLIC)
@contract_errors
@builtin_identity_only
def refresh() -> Response:
    refresh_token = validation.validate_refresh_token(_json_body())
    tokens = runtime.session_service().refresh(refresh_token)
    return json_response(tokens.to_json(), headers=NO_STORE)


@app.route("/auth/logout", methods=["POST"], **PUBLIC)
@contract_errors
@builtin_identity_only
def logout() -> Response:
    refresh_token = validation.validate_refresh_token(_json_body())
    runtime.session_service().logout(refresh_token)
    return Response(body="", status_code=204)


@app.route("/users/me", methods=["GET"], **PROTECTED)
@contract_errors
def current_user() -> Response:
    if runtime.uses_cognito():
        return json_response(runtime.cognito_accounts().profile(_principal()).to_json())
    return json_response(runtime.account_service().profile(_principal()).to_json())


@app.route("/users/me/password", methods=["PUT"], **PROTECTED)
@contract_errors
@builtin_identity_only
def change_password() -> Response:
    change = validation.validate_password_change(_json_body())
    runtime.account_service().change_password(_principal(), change, _client_address())
    return Response(body="", status_code=204)


@app.route("/users/me", methods=["DELETE"], **PROTECTED)
@contract_errors
def delete_account() -> Response:
    if runtime.uses_cognito():  # no password to confirm: Cognito holds it
        validation.validate_provider_account_deletion(_json_body_or_empty())
        runtime.cognito_accounts().delete_account(_principal())
        return Response(body="", status_code=204)
    password = validation.validate_account_deletion(_json_body())
    runtime.account_service().delete_account(_principal(), password, _client_address())
    return Response(body="", status_code=204)


@app.route("/tasks", methods=["POST"], **PROTECTED)
@contract_errors
def create_task() -> Response:
    body = _json_body()
    idempotency_key = parse_idempotency_key(app.current_request.headers.get("idempotency-key"))
    fields = validation.validate_new_task(body)
    created = runtime.task_service().create(_principal(), fields, idempotency_key)
    location = base_path(app.current_request.context) + created.location
    headers = {"Location": location, "ETag": created.etag}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(created.body, 201, headers)


@app.route("/tasks", methods=["GET"], **PROTECTED)
@contract_errors
def list_tasks() -> Response:
    query = validation.validate_list_query(app.current_request.query_params)
    tasks, next_cursor = runtime.task_service().list(_principal(), query)
    return json_response({"items": [task.to_json() for task in tasks], "next_cursor": next_cursor})


@app.route("/tasks/{task_id}", methods=["GET"], **PROTECTED)
@contract_errors
def get_task(task_id: str) -> Response:
    task = runtime.task_service().get(_principal(), task_id)
    return json_response(task.to_json(), headers={"ETag": task.etag})


@app.route("/tasks/{task_id}", methods=["PATCH"], **PROTECTED)
@contract_errors
def patch_task(task_id: str) -> Response:
    changes = validation.validate_task_patch(_json_body())
    task = runtime.task_service().patch(_principal(), task_id, changes, _if_match())
    return json_response(task.to_json(), headers={"ETag": task.etag})


@app.route("/tasks/{task_id}", methods=["PUT"], **PROTECTED)
@contract_errors
def replace_task(task_id: str) -> Response:
    fields = validation.validate_new_task(_json_body())
    task = runtime.task_service().replace(_principal(), task_id, fields, _if_match())
    return json_response(task.to_json(), headers={"ETag": task.etag})


@app.route("/tasks/{task_id}", methods=["DELETE"], **PROTECTED)
@contract_errors
def delete_task(task_id: str) -> Response:
    runtime.task_service().delete(_principal(), task_id, _if_match())
    return Response(body="", status_code=204)


def _json_body() -> dict[str, Any]:
    request = app.current_request
    return read_json_object(request.raw_body, request.headers)


def _json_body_or_empty() -> dict[str, Any]:
    """The body as a JSON object, ``{}`` when there is none."""
    if not app.current_request.raw_body:
        return {}
    return _json_body()


def _if_match() -> frozenset[int] | None:
    return parse_if_match(app.current_request.headers.get("if-match"))


def _principal() -> Principal:
    context = app.current_request.context["authorizer"]
    return Principal(user_id=context["sub"], username=context["username"])


def _client_address() -> str:
    """API Gateway's ``sourceIp`` (locally the TCP peer); ``X-Forwarded-For`` is never read,
    since any client can write it."""
    # Only the account routes ask, and they load the accounts service anyway: cold starts of
    # the other routes do not import it (nor password hashing and sessions with it).
    from chalicelib.services.accounts import UNKNOWN_ADDRESS

    identity = app.current_request.context.get("identity") or {}
    return identity.get("sourceIp") or UNKNOWN_ADDRESS


def _request_id() -> str:
    return observability.request_id_of(app.current_request)


@app.lambda_function(name="purge_account")
def purge_account(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Continue deleting a closed account's tasks and records in the background.

    ``DELETE /users/me`` invokes this asynchronously when an account is too large to purge
    within the request; each invocation works until its timeout is near and then invokes
    the next, until nothing of the account remains (chalicelib/services/account_purge.py).
    """
    user_id = event.get("user_id") if isinstance(event, dict) else None
    if not isinstance(user_id, str) or not runtime.is_account_id(user_id):
        app.log.error("purge_account: no valid user_id in the event; nothing to do")
        return {"done": False}
    done = runtime.account_purge().continue_purge(
        user_id, lambda: context.get_remaining_time_in_millis() / 1000
    )
    return {"user_id": user_id, "done": done}
