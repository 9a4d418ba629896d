"""End to end: ``IDENTITY_PROVIDER=cognito`` on the real local stack (moto server + chalice local).

What ``make run`` starts in the cognito mode: moto's server answers DynamoDB and
``cognito-idp``, a user pool and public app client are created in it, and ``chalice local``
verifies the pool's RS256 access tokens against the JWKS the server serves. Users sign up,
are confirmed and sign in through ``cognito-idp`` over HTTP, as the AWS CLI does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from joserfc import jwk, jwt
from moto.utilities.utils import load_resource

from devstack.cognito import create_local_user_pool
from devstack.stack import LocalStack

pytestmark = pytest.mark.e2e
PROJECT_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "Correct-Horse-42"
MOTO_PRIVATE_KEY = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
NOT_FOUND = {"error": {"code": "not_found", "message": "No route matches this method and path."}}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def cognito_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    log = (tmp_path_factory.mktemp("cognito-stack") / "stack.log").open("w")
    with LocalStack(output=log, identity_provider="cognito") as stack:
        yield stack
    log.close()


@pytest.fixture(scope="module")
def idp(cognito_stack: LocalStack) -> Any:
    env = cognito_stack.environ
    return boto3.client(
        "cognito-idp",
        endpoint_url=cognito_stack.moto_endpoint,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
    )


_counter = iter(range(10**6))


def sign_up(idp: Any, pool_id: str, client_id: str, prefix: str = "user") -> dict[str, str]:
    """sign-up, admin-confirm-sign-up, initiate-auth (USER_PASSWORD_AUTH): the printed flow."""
    username = f"{prefix}{os.getpid()}x{next(_counter)}"
    idp.sign_up(ClientId=client_id, Username=username, Password=PASSWORD)
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    return sign_in(idp, client_id, username)


def sign_in(idp: Any, client_id: str, username: str) -> dict[str, str]:
    result = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return {
        "username": username,
        "sub": _claims(result["AccessToken"])["sub"],
        "access": result["AccessToken"],
        "id": result["IdToken"],
    }


def call(stack: LocalStack, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, stack.base_url + path, headers=headers, timeout=10, **kwargs)


def test_a_user_signed_in_through_cognito_manages_their_tasks(
    cognito_stack: LocalStack, idp: Any
) -> None:
    pool = cognito_stack.user_pool
    assert pool is not None
    alice = sign_up(idp, pool.pool_id, pool.client_id, "alice")
    assert _claims(alice["access"])["iss"] == pool.issuer
    created = call(cognito_stack, "POST", "/tasks", alice["access"], json={"title": "via Cognito"})
    assert created.status_code == 201, created.text
    task = created.json()
    listed = call(cognito_stack, "GET", "/tasks", alice["access"]).json()
    assert [item["id"] for item in listed["items"]] == [task["id"]]
    me = call(cognito_stack, "GET", "/users/me", alice["access"]).json()
    assert (me["id"], me["username"]) == (alice["sub"], alice["username"])
    assert me["created_at"].endswith("Z")


def test_every_foreign_or_forged_token_is_403(cognito_stack: LocalStack, idp: Any) -> None:
    pool = cognito_stack.user_pool
    assert pool is not None
    user = sign_up(idp, pool.pool_id, pool.client_id)
    other_client = idp.create_user_pool_client(
        UserPoolId=pool.pool_id,
        ClientName="another-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    other_pool = create_local_user_pool(idp, pool.endpoint, pool.region)
    header, payload, signature = user["access"].split(".")
    tampered = dict(_claims(user["access"]), sub="00000000-0000-4000-8000-000000000000")
    now = int(time.time())
    expired = dict(_claims(user["access"]), iat=now - 7200, exp=now - 3600)
    confused = f"{_b64(json.dumps({'alg': 'HS256', 'kid': 'dummy'}).encode())}.{payload}"
    pem = MOTO_PRIVATE_KEY.as_pem(private=False)
    forged = {
        "ID token": user["id"],
        "another app client's token": sign_in(idp, other_client, user["username"])["access"],
        "another pool's token": sign_up(idp, other_pool.pool_id, other_pool.client_id)["access"],
        "tampered": f"{header}.{_b64(json.dumps(tampered).encode())}.{signature}",
        "expired (minted with moto's key)": jwt.encode(
            {"kid": "dummy", "alg": "RS256"}, expired, MOTO_PRIVATE_KEY
        ),
        "HS256 signed with the public key": (
            f"{confused}.{_b64(hmac.new(pem, confused.encode(), hashlib.sha256).digest())}"
        ),
        "alg none": f"{_b64(json.dumps({'alg': 'none'}).encode())}.{payload}.",
    }
    for name, token in forged.items():
        reply = call(cognito_stack, "GET", "/tasks", token)
        assert reply.status_code == 403, (name, reply.text)
    assert call(cognito_stack, "GET", "/tasks", user["access"]).status_code == 200


def test_two_cognito_users_are_isolated(cognito_stack: LocalStack, idp: Any) -> None:
    pool = cognito_stack.user_pool
    assert pool is not None
    alice = sign_up(idp, pool.pool_id, pool.client_id, "alice")
    bob = sign_up(idp, pool.pool_id, pool.client_id, "bob")
    task = call(cognito_stack, "POST", "/tasks", alice["access"], json={"title": "mine"}).json()
    assert call(cognito_stack, "GET", f"/tasks/{task['id']}", bob["access"]).status_code == 404
    assert call(cognito_stack, "GET", "/tasks", bob["access"]).json()["items"] == []
    assert call(cognito_stack, "GET", f"/tasks/{task['id']}", alice["access"]).status_code == 200


def test_the_builtin_auth_routes_are_404(cognito_stack: LocalStack, idp: Any) -> None:
    credentials = {"username": "alice", "password": "correct horse battery"}
    for path in ("/auth/register", "/auth/login", "/auth/refresh", "/auth/logout"):
        reply = call(cognito_stack, "POST", path, json=credentials)
        assert (reply.status_code, reply.json()) == (404, NOT_FOUND), path
    pool = cognito_stack.user_pool
    assert pool is not None
    user = sign_up(idp, pool.pool_id, pool.client_id)
    change = {"current_password": PASSWORD, "new_password": "another long password"}
    reply = call(cognito_stack, "PUT", "/users/me/password", user["access"], json=change)
    assert (reply.status_code, reply.json()) == (404, NOT_FOUND)


def test_deleting_the_account_removes_its_data_and_the_cognito_user(
    cognito_stack: LocalStack, idp: Any
) -> None:
    pool = cognito_stack.user_pool
    assert pool is not None
    alice = sign_up(idp, pool.pool_id, pool.client_id, "alice")
    for n in range(3):
        call(cognito_stack, "POST", "/tasks", alice["access"], json={"title": f"task {n}"})
    assert call(cognito_stack, "DELETE", "/users/me", alice["access"]).status_code == 204
    with pytest.raises(idp.exceptions.UserNotFoundException):
        idp.admin_get_user(UserPoolId=pool.pool_id, Username=alice["username"])
    assert call(cognito_stack, "GET", "/tasks", alice["access"]).json()["items"] == []
    closed = call(cognito_stack, "POST", "/tasks", alice["access"], json={"title": "later"})
    assert closed.status_code == 401 and closed.json()["error"]["code"] == "account_closed"
    with pytest.raises(idp.exceptions.UserNotFoundException):  # cannot sign in any more
        sign_in(idp, pool.client_id, alice["username"])


def test_make_run_refuses_an_unknown_identity_provider_in_one_line() -> None:
    env = {**os.environ, "IDENTITY_PROVIDER": "okta", "PORT": "1"}
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "devstack"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "make run: IDENTITY_PROVIDER='okta': must be builtin or cognito"
    ]
    assert time.monotonic() - started < 5
