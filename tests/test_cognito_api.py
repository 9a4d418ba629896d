"""In-process: the API with ``IDENTITY_PROVIDER=cognito`` over moto (DynamoDB and cognito-idp).

moto's ``cognito-idp`` signs users up and in and issues real RS256 tokens; its public JWKS
is served by a small HTTP server on loopback (in-process moto intercepts boto3, not the
verifier's plain HTTP fetch), exactly as ``make run`` serves it from the moto server. The
user pool and app client are made by ``devstack.cognito``, as ``make run`` makes them.
Also here: the configuration and ``make run``'s preflight rules of the mode.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.test import Client
from joserfc import jwk, jwt
from moto import mock_aws
from moto.utilities.utils import load_resource

from chalicelib import config, runtime
from chalicelib.auth import oidc
from chalicelib.config import Settings
from chalicelib.errors import ConfigurationError
from chalicelib.storage import table_layout
from chalicelib.storage.closed_accounts import CLOSED_PREFIX
from devstack import preflight
from devstack.cognito import LocalUserPool, create_local_user_pool
from devstack.storage_meter import StorageMeter
from tests.conftest import PROJECT_DIR
from tests.test_unit_oidc import JwksServer, b64

REGION = "us-east-1"
PASSWORD = "Correct-Horse-42"
MOTO_PUBLIC_JWKS = json.dumps(load_resource("cognitoidp/resources/jwks-public.json")).encode()
MOTO_PRIVATE_KEY = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
USERS_TABLE = "tasks-api-local-users"
TASKS_TABLE = "tasks-api-local-tasks"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/tasks"


@dataclass
class CognitoUser:
    username: str
    sub: str
    access_token: str
    id_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class Stack:
    client: Client
    idp: Any
    dynamodb: Any
    pool: LocalUserPool
    jwks: JwksServer
    counter: int = 0

    def sign_up(self, prefix: str = "user", client_id: str | None = None) -> CognitoUser:
        """Sign up, confirm (as an admin) and sign in: Cognito's own flow, through moto."""
        self.counter += 1
        username = f"{prefix}{self.counter}"
        client_id = client_id or self.pool.client_id
        self.idp.sign_up(ClientId=client_id, Username=username, Password=PASSWORD)
        self.idp.admin_confirm_sign_up(UserPoolId=self.pool.pool_id, Username=username)
        return self.sign_in(username, client_id)

    def sign_in(self, username: str, client_id: str) -> CognitoUser:
        result = self.idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        claims = json.loads(_segment(result["AccessToken"], 1))
        return CognitoUser(username, claims["sub"], result["AccessToken"], result["IdToken"])

    def request(
        self,
        method: str,
        path: str,
        user: CognitoUser | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        all_headers = dict(headers or {})
        if user is not None:
            all_headers.update(user.auth)
        raw = b""
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.http.request(method, path, headers=all_headers, body=raw)


def _segment(token: str, index: int) -> bytes:
    part = token.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json(response: Any) -> Any:
    return json.loads(response.body)


@pytest.fixture
def stack(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws(), JwksServer() as jwks_server:
        dynamodb = boto3.client("dynamodb")
        table_layout.create_missing_tables(dynamodb, Settings.from_environ(os.environ))
        idp = boto3.client("cognito-idp")
        pool = create_local_user_pool(idp, jwks_server.base_url, REGION)
        path = f"/{pool.pool_id}/.well-known/jwks.json"
        jwks_server.documents[path] = MOTO_PUBLIC_JWKS
        for name, value in pool.api_environment().items():
            if not name.startswith("AWS_"):  # in-process moto needs no endpoint
                monkeypatch.setenv(name, value)
        runtime.reset()
        from app import app

        with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
            yield Stack(client, idp, dynamodb, pool, jwks_server)
    runtime.reset()


# --- a Cognito user manages their tasks -----------------------------------------------------


def test_a_cognito_user_manages_their_tasks_keyed_by_sub(stack: Stack) -> None:
    alice = stack.sign_up("alice")
    created = stack.request("POST", "/tasks", alice, {"title": "from cognito", "tags": ["x"]})
    assert created.status_code == 201, created.body
    task = _json(created)
    listed = _json(stack.request("GET", "/tasks", alice))
    assert [item["id"] for item in listed["items"]] == [task["id"]]
    patched = stack.request(
        "PATCH", f"/tasks/{task['id']}", alice, {"status": "done"}, {"If-Match": '"1"'}
    )
    assert patched.status_code == 200 and _json(patched)["version"] == 2
    stored = stack.dynamodb.get_item(
        TableName=TASKS_TABLE, Key={"user_id": {"S": alice.sub}, "task_id": {"S": task["id"]}}
    )
    assert stored["Item"]["status"]["S"] == "done"
    assert stack.request("DELETE", f"/tasks/{task['id']}", alice).status_code == 204
    assert _json(stack.request("GET", "/tasks", alice))["items"] == []


def test_users_me_answers_from_the_token_and_the_pool(stack: Stack) -> None:
    alice = stack.sign_up("alice")
    reply = stack.request("GET", "/users/me", alice)
    assert reply.status_code == 200, reply.body
    profile = _json(reply)
    assert set(profile) == {"id", "username", "created_at"}
    assert (profile["id"], profile["username"]) == (alice.sub, alice.username)
    created = stack.idp.admin_get_user(UserPoolId=stack.pool.pool_id, Username=alice.username)
    moment = created["UserCreateDate"]
    expected = f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
    assert profile["created_at"] == expected


def test_two_cognito_users_are_isolated(stack: Stack) -> None:
    alice, bob = stack.sign_up("alice"), stack.sign_up("bob")
    task = _json(stack.request("POST", "/tasks", alice, {"title": "alice's"}))
    assert stack.request("GET", f"/tasks/{task['id']}", bob).status_code == 404
    assert stack.request("DELETE", f"/tasks/{task['id']}", bob).status_code == 404
    assert _json(stack.request("GET", "/tasks", bob))["items"] == []
    assert stack.request("GET", f"/tasks/{task['id']}", alice).status_code == 200


# --- every foreign or forged token is refused -----------------------------------------------


def _expired(user: CognitoUser) -> str:
    """The user's access token minted again with moto's private key, expired an hour ago."""
    claims = json.loads(_segment(user.access_token, 1))
    now = int(time.time())
    claims.update(iat=now - 7200, exp=now - 3600, auth_time=now - 7200)
    return jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, MOTO_PRIVATE_KEY)


def _alg_confusion(user: CognitoUser) -> str:
    """The user's claims as HS256, "signed" with the pool's public key (PEM) as the secret."""
    header = b64(json.dumps({"alg": "HS256", "kid": "dummy"}).encode())
    signing_input = f"{header}.{user.access_token.split('.')[1]}"
    secret = MOTO_PRIVATE_KEY.as_pem(private=False)
    return (
        f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    )


def _tampered(user: CognitoUser) -> str:
    header, _, signature = user.access_token.split(".")
    claims = json.loads(_segment(user.access_token, 1))
    claims["sub"] = "00000000-0000-4000-8000-000000000000"
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


def _other_client(stack: Stack, user: CognitoUser) -> str:
    other = stack.idp.create_user_pool_client(
        UserPoolId=stack.pool.pool_id,
        ClientName="another-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return stack.sign_in(user.username, other).access_token


def _other_pool(stack: Stack, user: CognitoUser) -> str:
    other = create_local_user_pool(stack.idp, stack.jwks.base_url, REGION)
    stack.idp.sign_up(ClientId=other.client_id, Username=user.username, Password=PASSWORD)
    stack.idp.admin_confirm_sign_up(UserPoolId=other.pool_id, Username=user.username)
    return stack.sign_in(user.username, other.client_id).access_token


FORGED = {
    "ID token": lambda stack, user: user.id_token,
    "another app client's access token": _other_client,
    "another pool's access token": _other_pool,
    "tampered access token": lambda stack, user: _tampered(user),
    "expired access token": lambda stack, user: _expired(user),
    "HS256 signed with the public key": lambda stack, user: _alg_confusion(user),
    "no signature": lambda stack, user: user.access_token.rsplit(".", 1)[0] + ".",
}


@pytest.mark.parametrize("forgery", sorted(FORGED))
def test_foreign_and_forged_tokens_are_403(stack: Stack, forgery: str) -> None:
    user = stack.sign_up()
    forged = FORGED[forgery](stack, user)
    for method, path in (("GET", "/tasks"), ("POST", "/tasks"), ("GET", "/users/me")):
        reply = stack.request(
            method,
            path,
            body={"title": "x"} if method == "POST" else None,
            headers={"Authorization": f"Bearer {forged}"},
        )
        assert reply.status_code == 403, (forgery, method, path, reply.body)
    assert stack.request("GET", "/tasks", user).status_code == 200  # the real one works


def test_a_builtin_token_is_403_in_the_cognito_mode(stack: Stack) -> None:
    from chalicelib.auth.signing_secret import SigningKeys
    from chalicelib.auth.tokens import Principal, TokenService
    from tests.conftest import TEST_SECRET

    service = TokenService(SigningKeys(TEST_SECRET.encode()), "tasks-api", "tasks-api", 900)
    builtin = service.issue(Principal("01JDQ3AAAAAAAAAAAAAAAAAAAA", "someone"))
    reply = stack.request("GET", "/tasks", headers={"Authorization": f"Bearer {builtin}"})
    assert reply.status_code == 403


# --- the built-in user store's routes are not served ----------------------------------------

NOT_SERVED = [
    ("POST", "/auth/register", {"username": "alice", "password": "correct horse battery"}),
    ("POST", "/auth/login", {"username": "alice", "password": "correct horse battery"}),
    ("POST", "/auth/refresh", {"refresh_token": "x"}),
    ("POST", "/auth/logout", {"refresh_token": "x"}),
    ("POST", "/auth/login", b"not json"),
]


@pytest.mark.parametrize(("method", "path", "body"), NOT_SERVED)
def test_auth_routes_are_404_not_found(stack: Stack, method: str, path: str, body: Any) -> None:
    reply = stack.request(method, path, body=body)
    assert reply.status_code == 404
    assert _json(reply) == {
        "error": {"code": "not_found", "message": "No route matches this method and path."}
    }


def test_changing_the_password_is_404_with_a_valid_token(stack: Stack) -> None:
    alice = stack.sign_up("alice")
    body = {"current_password": PASSWORD, "new_password": "another long password"}
    reply = stack.request("PUT", "/users/me/password", alice, body)
    assert reply.status_code == 404 and _json(reply)["error"]["code"] == "not_found"


# --- deleting the account --------------------------------------------------------------------


def _cognito_user_exists(stack: Stack, username: str) -> bool:
    try:
        stack.idp.admin_get_user(UserPoolId=stack.pool.pool_id, Username=username)
    except stack.idp.exceptions.UserNotFoundException:
        return False
    return True


@pytest.mark.parametrize("body", [None, {}])
def test_deleting_the_account_purges_its_data_and_deletes_the_cognito_user(
    stack: Stack, body: Any
) -> None:
    alice, bob = stack.sign_up("alice"), stack.sign_up("bob")
    for n in range(3):
        stack.request("POST", "/tasks", alice, {"title": f"task {n}"}, {"Idempotency-Key": f"k{n}"})
    bobs = _json(stack.request("POST", "/tasks", bob, {"title": "bob's"}))
    reply = stack.request("DELETE", "/users/me", alice, body)
    assert reply.status_code == 204, reply.body
    assert not _cognito_user_exists(stack, alice.username)
    partition = stack.dynamodb.query(
        TableName=TASKS_TABLE,
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": alice.sub}},
    )
    assert partition["Items"] == []  # tasks and idempotency records
    marker = stack.dynamodb.get_item(
        TableName=USERS_TABLE, Key={"username": {"S": CLOSED_PREFIX + alice.sub}}
    )
    assert marker["Item"]["user_id"]["S"] == alice.sub
    # Alice's access token is still valid (Cognito tokens live up to their exp), yet:
    closed = stack.request("POST", "/tasks", alice, {"title": "after deletion"})
    assert closed.status_code == 401 and _json(closed)["error"]["code"] == "account_closed"
    profile = stack.request("GET", "/users/me", alice)
    assert profile.status_code == 401 and _json(profile)["error"]["code"] == "account_closed"
    assert _json(stack.request("GET", "/tasks", alice))["items"] == []
    assert stack.request("DELETE", "/users/me", alice).status_code == 204  # a retry succeeds
    # Bob is untouched.
    assert _cognito_user_exists(stack, bob.username)
    assert stack.request("GET", f"/tasks/{bobs['id']}", bob).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"password": PASSWORD}, 400, "validation_error"),
        ({"anything": 1}, 400, "validation_error"),
        (b"[]", 400, "invalid_json"),
        (b"not json", 400, "invalid_json"),
    ],
)
def test_deletion_takes_no_password(stack: Stack, body: Any, status: int, code: str) -> None:
    alice = stack.sign_up("alice")
    reply = stack.request("DELETE", "/users/me", alice, body)
    assert reply.status_code == status and _json(reply)["error"]["code"] == code
    assert _cognito_user_exists(stack, alice.username)
    assert stack.request("GET", "/users/me", alice).status_code == 200


def test_a_user_deleted_in_cognito_directly_has_a_closed_profile(stack: Stack) -> None:
    alice = stack.sign_up("alice")
    stack.idp.admin_delete_user(UserPoolId=stack.pool.pool_id, Username=alice.username)
    reply = stack.request("GET", "/users/me", alice)
    assert reply.status_code == 401 and _json(reply)["error"]["code"] == "account_closed"


def test_deletion_spares_a_new_user_who_took_the_username(stack: Stack) -> None:
    """The token's username now belongs to someone else (another sub): only the token's
    own account is closed and purged; the other Cognito user stays."""
    alice = stack.sign_up("alice")
    stack.idp.admin_delete_user(UserPoolId=stack.pool.pool_id, Username=alice.username)
    stack.idp.sign_up(ClientId=stack.pool.client_id, Username=alice.username, Password=PASSWORD)
    stack.idp.admin_confirm_sign_up(UserPoolId=stack.pool.pool_id, Username=alice.username)
    newcomer = stack.sign_in(alice.username, stack.pool.client_id)
    assert newcomer.sub != alice.sub
    assert stack.request("DELETE", "/users/me", alice).status_code == 204
    assert _cognito_user_exists(stack, alice.username)
    assert stack.request("GET", "/users/me", newcomer).status_code == 200


def test_the_purge_function_accepts_a_cognito_sub(stack: Stack) -> None:
    from app import purge_account

    alice = stack.sign_up("alice")
    for n in range(3):
        stack.request("POST", "/tasks", alice, {"title": f"task {n}"})

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    assert purge_account({"user_id": alice.sub}, Context()) == {"user_id": alice.sub, "done": True}
    assert _json(stack.request("GET", "/tasks", alice))["items"] == []
    assert purge_account({"user_id": "has space"}, Context()) == {"done": False}


# --- cost and availability ---------------------------------------------------------------------


def test_a_create_costs_one_transaction_with_one_condition_check(stack: Stack) -> None:
    """As in the builtin mode: the closed-account check replaces the user-record check."""
    alice = stack.sign_up("alice")
    meter = StorageMeter(runtime.dynamodb_client())
    transactions: list[Any] = []
    runtime.dynamodb_client().meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems",
        lambda params, **_: transactions.append(params["TransactItems"]),
    )
    assert stack.request("POST", "/tasks", alice, {"title": "x"}).status_code == 201
    assert dict(meter.calls) == {"TransactWriteItems": 1}
    (items,) = transactions
    assert [next(iter(item)) for item in items] == ["Put", "ConditionCheck"]
    check = items[1]["ConditionCheck"]
    assert check["TableName"] == USERS_TABLE
    assert check["Key"] == {"username": {"S": CLOSED_PREFIX + alice.sub}}


def test_the_authorizer_fetches_the_jwks_once_and_reads_no_database(stack: Stack) -> None:
    from app import jwt_authorizer

    alice = stack.sign_up("alice")
    runtime.reset()  # a fresh container
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {alice.access_token}",
        "methodArn": ARN,
    }
    for _ in range(3):
        policy = jwt_authorizer(event, None)
        assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["context"] == {"sub": alice.sub, "username": alice.username}
    assert stack.jwks.requests == 1
    assert runtime.dynamodb_client.cache_info().currsize == 0


def test_a_jwks_that_cannot_be_fetched_is_503_and_no_cached_deny(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = stack.sign_up("alice")
    monkeypatch.setattr(oidc, "RETRY_AFTER_FAILURE_SECONDS", 0.0)
    stack.jwks.status = 500
    reply = stack.request("GET", "/tasks", alice)
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert _json(reply)["error"]["code"] == "service_unavailable"
    bad = stack.request("GET", "/tasks", headers={"Authorization": "Bearer a.b.c"})
    assert bad.status_code == 403  # not even a token: refused without the keys
    stack.jwks.status = 200
    assert stack.request("GET", "/tasks", alice).status_code == 200


# --- configuration -----------------------------------------------------------------------------

COGNITO_ENV = {
    "STAGE": "dev",
    "IDENTITY_PROVIDER": "cognito",
    "OIDC_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz",
    "OIDC_AUDIENCE": "3n4b5urk1ft4fl3mg5e62d9ado",
}


def test_the_cognito_settings_and_their_defaults() -> None:
    settings = Settings.from_environ(COGNITO_ENV)
    assert settings.identity_provider == "cognito"
    assert settings.cognito_user_pool_id == "eu-west-1_AbC123xyz"
    assert settings.oidc == config.OidcSettings(
        issuer=COGNITO_ENV["OIDC_ISSUER"],
        audience=COGNITO_ENV["OIDC_AUDIENCE"],
        jwks_url=COGNITO_ENV["OIDC_ISSUER"] + "/.well-known/jwks.json",
        audience_claim="client_id",
        token_use="access",
    )
    assert Settings.from_environ({}).identity_provider == "builtin"
    assert Settings.from_environ({}).oidc is None


def test_another_issuer_by_configuration() -> None:
    settings = Settings.from_environ(
        {
            **COGNITO_ENV,
            "OIDC_ISSUER": "https://example.eu.auth0.com/",
            "OIDC_AUDIENCE": "https://tasks.example.com",
            "OIDC_AUDIENCE_CLAIM": "aud",
            "OIDC_TOKEN_USE": "",
            "COGNITO_USER_POOL_ID": "eu-west-1_AbC123xyz",
        }
    )
    assert settings.oidc is not None
    assert settings.oidc.jwks_url == "https://example.eu.auth0.com/.well-known/jwks.json"
    assert (settings.oidc.audience_claim, settings.oidc.token_use) == ("aud", None)


@pytest.mark.parametrize(
    "overrides",
    [
        {"IDENTITY_PROVIDER": "Cognito"},
        {"IDENTITY_PROVIDER": ""},
        {"OIDC_ISSUER": ""},
        {"OIDC_ISSUER": "http://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz"},
        {"OIDC_ISSUER": "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz"},
        {"OIDC_ISSUER": "https://issuer.example.com/?x=1"},
        {"OIDC_AUDIENCE": ""},
        {"OIDC_AUDIENCE": " padded "},
        {"OIDC_JWKS_URL": "http://127.0.0.1:5000/jwks.json"},  # http only on the local stage
        {"OIDC_AUDIENCE_CLAIM": "azp"},
        {"COGNITO_USER_POOL_ID": "eu-west-1_Other"},  # not the issuer's pool
        {"COGNITO_USER_POOL_ID": "not a pool"},
        {"OIDC_ISSUER": "https://issuer.example.com"},  # not Cognito: the pool must be named
    ],
)
def test_a_bad_cognito_setting_is_a_configuration_error(overrides: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_environ({**COGNITO_ENV, **overrides})


def test_the_local_stage_accepts_http_urls_for_moto() -> None:
    local = {
        **COGNITO_ENV,
        "STAGE": "local",
        "OIDC_JWKS_URL": "http://127.0.0.1:5000/eu-west-1_AbC123xyz/.well-known/jwks.json",
    }
    assert Settings.from_environ(local).oidc is not None


def test_builtin_settings_ignore_the_oidc_variables() -> None:
    settings = Settings.from_environ({"OIDC_ISSUER": "nonsense", "IDENTITY_PROVIDER": "builtin"})
    assert settings.oidc is None and settings.cognito_user_pool_id is None


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"IDENTITY_PROVIDER": "okta"}, "IDENTITY_PROVIDER"),
        ({"IDENTITY_PROVIDER": "cognito", "OIDC_ISSUER": "https://x"}, "OIDC_ISSUER"),
        ({"IDENTITY_PROVIDER": "cognito", "COGNITO_USER_POOL_ID": "p"}, "COGNITO_USER_POOL_ID"),
    ],
)
def test_make_run_refuses_a_bad_identity_setting_in_one_line(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(preflight.PreflightError) as raised:
        preflight.check_identity_provider(environ)
    assert raised.value.variable == variable
    assert "\n" not in str(raised.value) and str(raised.value).startswith(f"{variable}=")


def test_make_run_accepts_both_modes() -> None:
    assert preflight.check_identity_provider({}) == "builtin"
    assert preflight.check_identity_provider({"IDENTITY_PROVIDER": "cognito"}) == "cognito"
    assert preflight.check_identity_provider({"IDENTITY_PROVIDER": "builtin"}) == "builtin"
