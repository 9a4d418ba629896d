"""Each Lambda function's IAM policy grants exactly what its code uses, nothing more.

Every function has a role of its own (``deploy/stage.py``): the API handler, the authorizer
and ``purge_account`` each get the policy file config.json names for them. The
application's side comes from ``tests/aws_operations.py``, which records every AWS call the
app makes during the session and the function that makes it on AWS; the exactness test runs
after every other test and compares, per function, that recording by resource role with
each stage's policy file for the function, under the stage's identity provider: the
builtin stages' files with what the suite did in the builtin mode, the cognito stage's
(``dev-cognito``) with what it did in the cognito mode. Permissions the platform uses on the
function's behalf (CloudWatch Logs, X-Ray) are checked on their own, as is the shape of the
policy files and of ``.chalice/config.json``.
"""

from __future__ import annotations

import ast
import base64
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from chalice.test import Client
from moto import mock_aws

from chalicelib import runtime
from chalicelib.auth import oidc, passwords
from chalicelib.config import BUILTIN, COGNITO, Settings
from chalicelib.services import account_purge
from chalicelib.storage import table_layout
from deploy import user_pool
from deploy.stage import (
    API_HANDLER,
    APP_NAME,
    CHALICE_DIR,
    USER_POOL_ARN_PLACEHOLDER,
    USER_POOL_VARIABLES,
    Grant,
    Stage,
    chalice_config,
    deployable_stages,
    grants,
    policy_file,
)
from deploy.stage import load_stage as load_deployable_stage
from devstack.stack import stage_environment
from tests.aws_operations import (
    CURRENT_SECRET,
    FUNCTION_ENTRY_POINTS,
    JWT_AUTHORIZER,
    LOCAL_STAND_INS,
    PREVIOUS_SECRET,
    PURGE_ACCOUNT,
    RECORDER,
    RECORDS_TABLE,
    SESSIONS_TABLE,
    TASKS_TABLE,
    USER_POOL,
    USERS_TABLE,
    authorisations,
    function_resource,
    parameter_resource,
    resource_role,
    table_resource,
)
from tests.conftest import CHEAP_SCRYPT, PROJECT_DIR
from tests.support import PASSWORD, Api, chalice_transport
from tests.test_cognito_api import MOTO_PUBLIC_JWKS
from tests.test_cognito_api import PASSWORD as COGNITO_PASSWORD

STAGES = deployable_stages()
# Every (stage, function) pair, by Chalice function name.
STAGE_FUNCTIONS = [
    (stage, function) for stage in STAGES for function in load_deployable_stage(stage).functions
]
PLATFORM_SERVICES = ("logs", "xray")
# Writing its own group; no role creates one (deploy/stage.py: every path pre-creates them).
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
TASKS_INDEX = f"{TASKS_TABLE} index {table_layout.STATUS_INDEX}"
PURGE_FUNCTION = f"{PURGE_ACCOUNT} function"
CURRENT = "current-dev-secret-that-is-long-enough-0123456789"
PREVIOUS = "previous-dev-secret-that-is-long-enough-987654321"
# The deployable stage in the cognito mode (make deploy's; deploy/stage.py).
(COGNITO_STAGE,) = [name for name in STAGES if load_deployable_stage(name).is_cognito]


def user_pool_calls(stage: Stage) -> set[tuple[str, str, str]]:
    """(function, action, ``USER_POOL``) for every action ``stage``'s policy files grant on
    its Cognito user pool."""
    return {
        (function, action, USER_POOL)
        for function in stage.functions
        for grant in grants(stage, function)
        if grant.user_pool
        for action in grant.actions
    }


# What the cognito mode needs beyond the builtin mode's grants: the cognito stage's grants on
# its user pool, which its policy files state and the exactness test holds to the recording.
# The Terraform and SAM packages add exactly these, on the pool they create, to the builtin
# policy files' grants when their identity provider is cognito (tests/test_infra_terraform.py,
# tests/test_deploy_sam.py).
COGNITO_MODE_CALLS = user_pool_calls(load_deployable_stage(COGNITO_STAGE))


def granted_pairs(stage: Stage, function: str) -> set[tuple[str, str]]:
    """Every (IAM action, resource role) ``function``'s policy allows on ``stage``, roles as
    the recording names them (log groups as ``log-group:<name>``, unscoped grants as ``*``)."""
    pairs = set()
    for grant in grants(stage, function):
        resources = [table_resource(table) for table in grant.tables]
        resources += [table_resource(table, index) for table, index in grant.indexes]
        resources += [parameter_resource(name) for name in grant.parameters]
        resources += [function_resource(name) for name in grant.functions]
        resources += [f"log-group:{group}" for group in grant.log_groups]
        resources += ["*"] if grant.unscoped else []
        # The placeholder names the stage's own pool (deploy.stage.USER_POOL_ARN_PLACEHOLDER).
        resources += [f"userpool/{stage.settings.cognito_user_pool_id}"] if grant.user_pool else []
        roles = {resource_role(stage.settings, resource) for resource in resources}
        pairs |= {(action, role) for action in grant.actions for role in roles}
    return pairs


def _is_platform(pair: tuple[str, str]) -> bool:
    return pair[0].split(":", 1)[0] in PLATFORM_SERVICES


def _app_functions() -> list[str]:
    """The app's Lambda functions by Chalice name: the API handler, then one per built-in
    authorizer and per pure Lambda function."""
    from app import app

    extra = [auth.name for auth in app.builtin_auth_handlers]
    extra += [function.name for function in app.pure_lambda_functions]
    return [API_HANDLER, *extra]


def _listing(pairs: set[tuple[str, str]]) -> str:
    return "".join(f"\n    {action} on {role}" for action, role in sorted(pairs)) or " none"


# --- the recording against the policies ----------------------------------------------------


def test_the_cognito_mode_grants_the_api_handler_its_user_pool_calls_only() -> None:
    """What the Terraform and SAM packages add in the cognito mode (to the API handler's role
    alone, as their tests check), and what no builtin stage may grant."""
    assert COGNITO_MODE_CALLS
    assert {function for function, _, _ in COGNITO_MODE_CALLS} == {API_HANDLER}
    for name in STAGES:
        if name != COGNITO_STAGE:
            assert user_pool_calls(load_deployable_stage(name)) == set(), name


@pytest.mark.after_whole_suite
def test_the_cognito_mode_needs_the_builtin_grants_and_the_user_pool_calls(
    request: pytest.FixtureRequest,
) -> None:
    """The Terraform and SAM packages grant a cognito-mode stack the builtin policy files
    plus COGNITO_MODE_CALLS: enough, as the cognito mode calls nothing else beyond the
    builtin mode's calls."""
    incomplete = RECORDER.incompleteness(request.session)
    if incomplete:
        pytest.skip(f"needs the whole suite's recording, but {incomplete}")
    builtin = {
        (function, *pair)
        for function in (API_HANDLER, JWT_AUTHORIZER, PURGE_ACCOUNT)
        for pair in RECORDER.pairs(function, BUILTIN)
    }
    cognito = {
        (function, *pair)
        for function in (API_HANDLER, JWT_AUTHORIZER, PURGE_ACCOUNT)
        for pair in RECORDER.pairs(function, COGNITO)
    }
    assert cognito - builtin == COGNITO_MODE_CALLS


@pytest.mark.after_whole_suite
@pytest.mark.parametrize(("stage_name", "function"), STAGE_FUNCTIONS)
def test_each_functions_policy_grants_exactly_the_operations_the_suite_performed_in_it(
    stage_name: str, function: str, request: pytest.FixtureRequest
) -> None:
    incomplete = RECORDER.incompleteness(request.session)
    if incomplete:
        pytest.skip(
            f"IAM exactness needs the whole suite's recording, but {incomplete}; "
            "run make test, make unit or plain pytest"
        )
    assert not RECORDER.errors, f"the recording hook failed: {RECORDER.errors[:3]}"
    stage = load_deployable_stage(stage_name)
    # A call attributed to a function the stage does not deploy would be checked nowhere.
    assert RECORDER.functions() <= set(stage.functions)
    # The calls made under this stage's identity provider: the cognito stage's files are
    # held to what the cognito mode did, the builtin stages' to what the builtin mode did.
    recorded = RECORDER.pairs(function, stage.settings.identity_provider)
    granted = {pair for pair in granted_pairs(stage, function) if not _is_platform(pair)}
    missing = "".join(
        f"\n    {action} on {role} (first used by {first.test})"
        for action, role in sorted(recorded - granted)
        if (first := RECORDER.first_use((action, role), function))
    )
    file = policy_file(chalice_config(), stage_name, function)
    assert recorded == granted, (
        f".chalice/{file} ({function}) is not exact.\n"
        f"  missing from policy:{missing or ' none'}\n"
        f"  granted but never used:{_listing(granted - recorded)}"
    )


# --- the hook itself -----------------------------------------------------------------------


def test_the_hook_records_the_apps_calls_and_nothing_else(
    inprocess_api: Api, moto_tables: Any, request: pytest.FixtureRequest
) -> None:
    """So the exactness test cannot pass on an empty or polluted recording."""
    setup = [o for o in RECORDER.observations if o.test == request.node.nodeid]
    assert {o.action for o in setup} >= {"dynamodb:CreateTable", "dynamodb:DescribeTable"}
    assert not any(o.application for o in setup), "the fixture creating tables was recorded"

    start = RECORDER.mark()
    moto_tables.list_tables()  # the test itself, through boto3
    table_layout.create_missing_tables(moto_tables, Settings.from_environ({}))  # provisioning
    assert [o.action for o in RECORDER.since(start)] == ["dynamodb:ListTables"] * 2
    assert not any(o.application for o in RECORDER.since(start))

    start = RECORDER.mark()
    user = inprocess_api.new_user()
    created = inprocess_api.request(
        "POST", "/tasks", json_body={"title": "t"}, headers={"Idempotency-Key": "k"}, user=user
    )
    assert created.status == 201
    listed = inprocess_api.request("GET", "/tasks?status=todo", user=user)
    assert listed.status == 200
    recorded = [(o.action, o.role) for o in RECORDER.since(start) if o.application]
    assert recorded == [
        ("dynamodb:PutItem", USERS_TABLE),  # register
        ("dynamodb:UpdateItem", RECORDS_TABLE),  # login: count the attempt per address
        ("dynamodb:UpdateItem", RECORDS_TABLE),  # ... and per username
        ("dynamodb:GetItem", USERS_TABLE),  # login: the user
        ("dynamodb:DeleteItem", RECORDS_TABLE),  # login: the address's count starts again
        ("dynamodb:UpdateItem", RECORDS_TABLE),  # ... and the username's loses this attempt
        ("dynamodb:PutItem", SESSIONS_TABLE),  # login: the session
        ("dynamodb:PutItem", TASKS_TABLE),  # create: claim the idempotency key
        ("dynamodb:PutItem", TASKS_TABLE),  # create: TransactWriteItems' Put of the task,
        ("dynamodb:ConditionCheckItem", USERS_TABLE),  # ... its check the account exists
        ("dynamodb:UpdateItem", TASKS_TABLE),  # ... and its Update completing the key
        ("dynamodb:Query", TASKS_INDEX),  # list by status
    ]
    assert all(o.application for o in RECORDER.since(start))
    # The local stage's authorizer checks tokens with no AWS call: all the API handler's.
    assert {o.function for o in RECORDER.since(start)} == {API_HANDLER}


def test_transactions_batches_and_invocations_are_authorised_as_iam_evaluates_them() -> None:
    transaction = {
        "TransactItems": [
            {"Put": {"TableName": "a"}},
            {"Update": {"TableName": "b"}},
            {"Delete": {"TableName": "arn:aws:dynamodb:us-east-1:1:table/c"}},
            {"ConditionCheck": {"TableName": "d"}},
        ]
    }
    assert authorisations("dynamodb", "TransactWriteItems", transaction) == [
        ("dynamodb:PutItem", "table/a"),
        ("dynamodb:UpdateItem", "table/b"),
        ("dynamodb:DeleteItem", "table/c"),
        ("dynamodb:ConditionCheckItem", "table/d"),
    ]
    batch = {"RequestItems": {"a": [], "b": []}}
    assert authorisations("dynamodb", "BatchWriteItem", batch) == [
        ("dynamodb:BatchWriteItem", "table/a"),
        ("dynamodb:BatchWriteItem", "table/b"),
    ]
    query = {"TableName": "t", "IndexName": "i"}
    assert authorisations("dynamodb", "Query", query) == [("dynamodb:Query", "table/t/index/i")]
    assert authorisations("ssm", "GetParameter", {"Name": "/x/y"}) == [
        ("ssm:GetParameter", "parameter/x/y")
    ]
    for name in ("f", "f:live", "arn:aws:lambda:us-east-1:1:function:f"):
        invoke = {"FunctionName": name, "InvocationType": "Event"}
        assert authorisations("lambda", "Invoke", invoke) == [
            ("lambda:InvokeFunction", "function:f")  # botocore's Invoke, IAM's InvokeFunction
        ]
    assert authorisations("sts", "GetCallerIdentity", {}) == [("sts:GetCallerIdentity", "*")]


def test_resources_are_named_by_their_role_in_any_stage() -> None:
    dev = load_deployable_stage("dev").settings
    local = Settings.from_environ({"TOKEN_SIGNING_SECRET_PARAMETER": "/l/current"})
    assert resource_role(dev, "table/tasks-api-dev-tasks/index/by_status") == TASKS_INDEX
    assert resource_role(local, "table/tasks-api-local-users") == USERS_TABLE
    assert resource_role(dev, "table/tasks-api-dev-sessions") == SESSIONS_TABLE
    assert resource_role(dev, "table/tasks-api-prod-users") == "foreign table tasks-api-prod-users"
    assert resource_role(local, parameter_resource("/l/current")) == CURRENT_SECRET
    assert resource_role(dev, parameter_resource(dev.previous_signing_secret_parameter or "")) == (
        PREVIOUS_SECRET
    )
    assert resource_role(local, "parameter/other") == "foreign parameter /other"
    assert resource_role(dev, "function:tasks-api-dev-purge_account") == PURGE_FUNCTION
    assert resource_role(local, "function:tasks-api-local-purge_account") == PURGE_FUNCTION
    assert resource_role(dev, "function:tasks-api-dev") == f"{API_HANDLER} function"
    assert resource_role(dev, "function:tasks-api-prod-purge_account") == (
        "foreign function tasks-api-prod-purge_account"
    )


def test_the_attribution_rules_name_code_that_exists() -> None:
    """An entry point or stand-in renamed in the code would silently become the API
    handler's: each must still exist, and every function but the API handler has one."""
    for path, qualname in [*FUNCTION_ENTRY_POINTS, *LOCAL_STAND_INS]:
        assert qualname in _qualified_names(path), f"{qualname} is not in {path}"
    assert set(FUNCTION_ENTRY_POINTS.values()) == set(_app_functions()) - {API_HANDLER}
    assert set(LOCAL_STAND_INS.values()) <= set(_app_functions()) - {API_HANDLER}


def _qualified_names(path: Path) -> set[str]:
    """The ``__qualname__`` of every function defined in a source file."""
    names: set[str] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(prefix + child.name)
                visit(child, f"{prefix}{child.name}.<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(path.read_text()), "")
    return names


@pytest.fixture
def dev_stage_api(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The ``dev`` stage as config.json defines it over in-process moto, with both secrets in
    SSM: the SSM grant is proven by the app reading them, not assumed."""
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    monkeypatch.delenv("STAGE")
    monkeypatch.setattr(passwords, "DEFAULT_PARAMETERS", CHEAP_SCRYPT)
    environment = stage_environment("dev")
    with mock_aws():
        table_layout.create_missing_tables(
            boto3.client("dynamodb"), Settings.from_environ(environment)
        )
        ssm = boto3.client("ssm")
        for variable, value in [
            ("TOKEN_SIGNING_SECRET_PARAMETER", CURRENT),
            ("TOKEN_SIGNING_SECRET_PREVIOUS_PARAMETER", PREVIOUS),
        ]:
            ssm.put_parameter(Name=environment[variable], Value=value, Type="SecureString")
        from app import app

        with Client(app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
            yield Api(chalice_transport(client), CURRENT, "dev")
        runtime.reset()


def _recorded_by_function(start: int) -> dict[str, set[tuple[str, str]]]:
    recorded: dict[str, set[tuple[str, str]]] = {}
    for o in RECORDER.since(start):
        if o.function is not None:
            recorded.setdefault(o.function, set()).add((o.action, o.role))
    return recorded


def test_the_dev_stage_reads_both_secret_parameters_in_both_functions(
    dev_stage_api: Api,
) -> None:
    secrets = {("ssm:GetParameter", CURRENT_SECRET), ("ssm:GetParameter", PREVIOUS_SECRET)}
    start = RECORDER.mark()
    user = dev_stage_api.new_user()  # the API handler signs the login's tokens
    recorded = _recorded_by_function(start)
    assert set(recorded) == {API_HANDLER}
    assert secrets <= recorded[API_HANDLER]
    assert ("dynamodb:PutItem", USERS_TABLE) in recorded[API_HANDLER]  # dev's names, by role

    # On AWS the authorizer is a container of its own: it reads the secrets itself.
    runtime.reset()
    start = RECORDER.mark()
    old_token = dev_stage_api.token(key=PREVIOUS, sub=user.id, username=user.username)
    me = dev_stage_api.request("GET", "/users/me", headers={"Authorization": f"Bearer {old_token}"})
    assert me.status == 200, me  # a token signed with the previous secret still works
    recorded = _recorded_by_function(start)
    assert recorded[JWT_AUTHORIZER] == secrets  # and nothing else
    known = {USERS_TABLE, TASKS_TABLE, RECORDS_TABLE, SESSIONS_TABLE}
    assert {role for _, role in recorded[API_HANDLER]} <= known | {CURRENT_SECRET, PREVIOUS_SECRET}


class _NearTimeout:
    """A Lambda context whose timeout is already near: the slice hands everything on."""

    def get_remaining_time_in_millis(self) -> int:
        return 1_000


def test_the_dev_stage_hands_a_large_purge_to_the_purge_function_and_it_to_itself(
    dev_stage_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``lambda:InvokeFunction`` on the stage's purge function: by the API handler when a
    deletion does not finish within the request, by ``purge_account`` for its next slice.
    Lambda itself is stubbed (moto would need Docker to run the function)."""
    from app import purge_account

    monkeypatch.setattr(account_purge, "IN_REQUEST_SECONDS", 0.0)
    function_name = stage_environment("dev")["PURGE_FUNCTION_NAME"]
    user = dev_stage_api.new_user()
    lambda_client = runtime.lambda_client()
    expected = {"FunctionName": function_name, "InvocationType": "Event", "Payload": ANY}
    start = RECORDER.mark()
    with Stubber(lambda_client) as stubber:
        stubber.add_response("invoke", {"StatusCode": 202}, expected)
        deleted = dev_stage_api.request(
            "DELETE", "/users/me", json_body={"password": PASSWORD}, user=user
        )
        assert deleted.status == 204, deleted
        stubber.assert_no_pending_responses()

        for name, value in stage_environment("dev").items():
            monkeypatch.setenv(name, value)  # as the purge function's own environment
        stubber.add_response("invoke", {"StatusCode": 202}, expected)
        assert purge_account({"user_id": user.id}, _NearTimeout()) == {
            "user_id": user.id,
            "done": False,
        }
        stubber.assert_no_pending_responses()
    recorded = _recorded_by_function(start)
    invoke = ("lambda:InvokeFunction", PURGE_FUNCTION)
    assert invoke in recorded[API_HANDLER]
    assert recorded[PURGE_ACCOUNT] == {invoke}


def test_the_local_background_purge_is_the_purge_functions_work(
    inprocess_api: Api, moto_tables: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under ``make run`` the rest of a purge runs on a thread of the API process; on AWS it
    is ``purge_account``, so that is whose calls they are."""
    monkeypatch.setattr(account_purge, "IN_REQUEST_SECONDS", 0.0)
    user = inprocess_api.new_user()
    inprocess_api.create_task(user)
    threads = set(account_purge.threading.enumerate())
    start = RECORDER.mark()
    deleted = inprocess_api.request(
        "DELETE", "/users/me", json_body={"password": PASSWORD}, user=user
    )
    assert deleted.status == 204, deleted
    for thread in set(account_purge.threading.enumerate()) - threads:
        thread.join(30)
    recorded = _recorded_by_function(start)
    assert recorded[PURGE_ACCOUNT] == {
        ("dynamodb:Query", TASKS_TABLE),
        ("dynamodb:BatchWriteItem", TASKS_TABLE),
    }
    assert ("dynamodb:DeleteItem", USERS_TABLE) in recorded[API_HANDLER]


@dataclass
class CognitoStageApi:
    """The cognito stage over in-process moto, as make deploy stands it up: its user pool and
    client made by ``deploy.user_pool`` and its environment completed with them."""

    client: Client
    idp: Any
    stage: Stage

    def sign_in(self, username: str) -> dict[str, str]:
        """Sign ``username`` up, confirm it (as an admin) and sign in: Authorization headers."""
        assert self.stage.user_pool is not None
        pool, client_id = self.stage.user_pool.pool_id, self.stage.user_pool.client_id
        self.idp.sign_up(ClientId=client_id, Username=username, Password=COGNITO_PASSWORD)
        self.idp.admin_confirm_sign_up(UserPoolId=pool, Username=username)
        result = self.idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": COGNITO_PASSWORD},
        )["AuthenticationResult"]
        return {"Authorization": f"Bearer {result['AccessToken']}"}

    def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        headers = {**headers, "Content-Type": "application/json"} if body is not None else headers
        return self.client.http.request(method, path, headers=headers, body=raw)


@pytest.fixture
def cognito_stage_api(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[CognitoStageApi]:
    """The cognito stage as config.json defines it, plus its pool's settings. moto signs the
    tokens with its fixed key, whose public JWKS is served to the verifier in place of the
    pool's https URL (in-process moto intercepts boto3 only)."""
    monkeypatch.delenv("TOKEN_SIGNING_SECRET")
    monkeypatch.delenv("STAGE")
    monkeypatch.setattr(
        oidc, "JwksCache", functools.partial(oidc.JwksCache, fetch=lambda *_: MOTO_PUBLIC_JWKS)
    )
    with mock_aws():
        idp = boto3.client("cognito-idp")
        stage = load_deployable_stage(COGNITO_STAGE)
        pool = user_pool.ensure(idp, stage, lambda _: None, allow_password_auth=True)
        stage = stage.with_user_pool(pool)
        table_layout.create_missing_tables(boto3.client("dynamodb"), stage.settings)
        for name, value in pool.environment().items():
            monkeypatch.setenv(name, value)  # what the rendered project's config.json adds
        from app import app

        with Client(app, stage_name=COGNITO_STAGE, project_dir=str(PROJECT_DIR)) as client:
            yield CognitoStageApi(client, idp, stage)
        runtime.reset()


def test_the_cognito_stage_lists_by_status_and_hands_a_large_purge_on(
    cognito_stage_api: CognitoStageApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cognito stage's calls beyond test_cognito_api.py's: the status index, the Cognito
    user, and ``lambda:InvokeFunction`` on the stage's purge function by the API handler and
    by ``purge_account`` for its next slice (Lambda stubbed, as for the dev stage)."""
    from app import purge_account

    api = cognito_stage_api
    monkeypatch.setattr(account_purge, "IN_REQUEST_SECONDS", 0.0)
    auth = api.sign_in("alice")
    start = RECORDER.mark()
    assert api.request("POST", "/tasks", auth, {"title": "t"}).status_code == 201
    assert api.request("GET", "/tasks?status=todo", auth).status_code == 200
    assert api.request("GET", "/users/me", auth).status_code == 200
    function_name = api.stage.environment["PURGE_FUNCTION_NAME"]
    expected = {"FunctionName": function_name, "InvocationType": "Event", "Payload": ANY}
    lambda_client = runtime.lambda_client()
    with Stubber(lambda_client) as stubber:
        stubber.add_response("invoke", {"StatusCode": 202}, expected)
        deleted = api.request("DELETE", "/users/me", auth)
        assert deleted.status_code == 204, deleted.body
        stubber.assert_no_pending_responses()

        for name, value in api.stage.environment.items():
            monkeypatch.setenv(name, value)  # as the purge function's own environment
        stubber.add_response("invoke", {"StatusCode": 202}, expected)
        sub = _subject(auth)
        assert purge_account({"user_id": sub}, _NearTimeout()) == {"user_id": sub, "done": False}
        stubber.assert_no_pending_responses()
    observed = [o for o in RECORDER.since(start) if o.application]
    assert {o.identity_provider for o in observed} == {COGNITO}
    recorded = _recorded_by_function(start)
    invoke = ("lambda:InvokeFunction", PURGE_FUNCTION)
    assert {
        ("dynamodb:Query", TASKS_INDEX),
        ("cognito-idp:AdminGetUser", USER_POOL),
        ("cognito-idp:AdminDeleteUser", USER_POOL),
        invoke,
    } <= recorded[API_HANDLER]
    assert recorded[PURGE_ACCOUNT] == {invoke}
    assert JWT_AUTHORIZER not in recorded  # the keys come from the JWKS, over plain HTTPS


def _subject(auth: dict[str, str]) -> str:
    """The ``sub`` of the access token in ``auth``."""
    token = auth["Authorization"].removeprefix("Bearer ")
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


# --- what the platform does on the function's behalf ----------------------------------------


@pytest.mark.parametrize(("stage_name", "function"), STAGE_FUNCTIONS)
def test_each_function_may_write_only_its_own_log_group_and_trace_where_on(
    stage_name: str, function: str
) -> None:
    stage = load_deployable_stage(stage_name)
    group = stage.log_group(function)
    expected = {(action, f"log-group:{group}") for action in LOG_ACTIONS}
    if stage.xray:
        expected |= {(action, "*") for action in XRAY_ACTIONS}
    platform = {pair for pair in granted_pairs(stage, function) if _is_platform(pair)}
    assert platform == expected, (
        f"missing:{_listing(expected - platform)}\n  extra:{_listing(platform - expected)}"
    )
    log_arns = {
        arn
        for statement in stage.policies[function]["Statement"]
        if any(action.startswith("logs:") for action in _as_list(statement["Action"]))
        for arn in _as_list(statement["Resource"])
    }
    prefix = "arn:aws:logs:*:*:log-group:"
    assert log_arns == {f"{prefix}{group}", f"{prefix}{group}:log-stream:*"}


def test_the_functions_are_the_apps_and_deploy_under_chalices_names() -> None:
    for stage_name in STAGES:
        stage = load_deployable_stage(stage_name)
        assert stage.functions == _app_functions()
        assert stage.function_name(API_HANDLER) == f"{APP_NAME}-{stage_name}"
        assert (
            stage.log_group(PURGE_ACCOUNT) == f"/aws/lambda/{APP_NAME}-{stage_name}-purge_account"
        )
        assert stage.environment["PURGE_FUNCTION_NAME"] == stage.function_name(PURGE_ACCOUNT)


# --- the shape of the policy files and of config.json ----------------------------------------


@pytest.mark.parametrize(("stage_name", "function"), STAGE_FUNCTIONS)
def test_every_statement_allows_named_actions_on_this_stages_resources(
    stage_name: str, function: str
) -> None:
    stage = load_deployable_stage(stage_name)
    settings = stage.settings
    for statement in stage.policies[function]["Statement"]:
        assert statement["Effect"] == "Allow", statement
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), statement
        actions = _as_list(statement["Action"])
        assert all("*" not in action and "?" not in action for action in actions), statement
        if "*" in _as_list(statement["Resource"]):
            assert all(a.startswith("xray:") for a in actions), f"unscoped: {statement}"
    tables = _tables(settings)
    parameters = set(stage.secret_parameters)
    for grant in grants(stage, function):
        assert set(grant.tables) <= tables, f"{grant.sid}: not this stage's tables"
        assert {table for table, _ in grant.indexes} <= {settings.tasks_table}, grant.sid
        assert {index for _, index in grant.indexes} <= {table_layout.STATUS_INDEX}, grant.sid
        assert set(grant.parameters) <= parameters, f"{grant.sid}: not this stage's parameters"
        # A function may invoke the purge function only (the API handler and itself).
        assert set(grant.functions) <= {stage.function_name(PURGE_ACCOUNT)}, grant.sid
        # Only a cognito stage names a user pool: its own, by the placeholder.
        assert not grant.user_pool or stage.is_cognito, grant.sid
    for statement in stage.policies[function]["Statement"]:
        pools = [arn for arn in _as_list(statement["Resource"]) if ":cognito-idp:" in arn]
        assert pools in ([], [USER_POOL_ARN_PLACEHOLDER]), statement
    foreign = set()
    for other in ["local", *STAGES]:
        if other != stage_name:
            theirs = (
                load_deployable_stage(other).settings
                if other in STAGES
                else Settings.from_environ({**stage_environment(other), "STAGE": other})
            )
            foreign |= _tables(theirs)
            foreign |= {theirs.signing_secret_parameter, theirs.previous_signing_secret_parameter}
            prefix = f"{APP_NAME}-{other}"
            names = [prefix, *(f"{prefix}-{name}" for name in _app_functions()[1:])]
            foreign |= {*names, *(f"/aws/lambda/{name}" for name in names)}
    named = {name for grant in grants(stage, function) for name in _names(grant)}
    assert not named & foreign, f"another stage's resources: {sorted(named & foreign)}"


def test_config_gives_every_function_a_policy_file_of_its_own() -> None:
    config = chalice_config()
    assert config["autogen_policy"] is False
    assert "iam_policy_file" not in config  # no file for every stage's functions
    # Top-level per-function settings hold memory sizes only, never a policy file.
    for function, settings in config.get("lambda_functions", {}).items():
        assert set(settings) == {"lambda_memory_size"}, function
    for name, stage in config["stages"].items():
        assert stage.get("autogen_policy", False) is False, name
        if name == "local":  # chalice local only; never deployed
            continue
        assert name in STAGES
        # The API handler's file is the stage's; every other function has its own.
        assert stage["iam_policy_file"] == f"policy-{name}.json"
        functions = stage["lambda_functions"]
        assert [API_HANDLER, *sorted(functions)] == [API_HANDLER, *sorted(_app_functions()[1:])]
        for function, settings in functions.items():
            assert settings == {"iam_policy_file": f"policy-{name}-{function}.json"}
        files = [stage["iam_policy_file"], *(f["iam_policy_file"] for f in functions.values())]
        assert all((CHALICE_DIR / file).is_file() for file in files)
        assert len(set(files)) == len(files)
    assert set(STAGES) == {"dev", "prod", COGNITO_STAGE}


def test_the_cognito_stage_is_dev_in_the_cognito_mode() -> None:
    """Its own names, no signing secret (Cognito signs the tokens), and none of the pool's
    settings: deploy.bootstrap adds those once the pool exists (deploy/chalice_project.py)."""
    dev = stage_environment("dev")
    cognito = stage_environment(COGNITO_STAGE)
    assert not set(USER_POOL_VARIABLES) & set(cognito)
    expected = {
        name: value.replace("tasks-api-dev-", f"tasks-api-{COGNITO_STAGE}-")
        for name, value in dev.items()
        if not name.startswith("TOKEN_SIGNING_SECRET")
    }
    expected |= {"STAGE": COGNITO_STAGE, "IDENTITY_PROVIDER": COGNITO}
    assert cognito == expected
    # Its functions and policy files as dev's, named for it (other settings may differ).
    config = chalice_config()["stages"]
    shared = ("api_gateway_stage", "iam_policy_file", "lambda_functions", "xray")
    renamed = json.dumps({k: config["dev"][k] for k in shared}).replace(
        "policy-dev", f"policy-{COGNITO_STAGE}"
    )
    assert {k: config[COGNITO_STAGE][k] for k in shared} == json.loads(renamed)
    assert load_deployable_stage(COGNITO_STAGE).secret_parameters == []


def _tables(settings: Settings) -> set[str]:
    return {
        settings.users_table,
        settings.tasks_table,
        settings.records_table,
        settings.sessions_table,
    }


def _names(grant: Grant) -> list[str]:
    """Every table, parameter, function and log group a grant names."""
    return [
        *grant.tables,
        *(t for t, _ in grant.indexes),
        *grant.parameters,
        *grant.functions,
        *grant.log_groups,
    ]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
