"""Each deployable stage's IAM policy grants exactly what the code uses, nothing more.

The application's side comes from ``tests/aws_operations.py``, which records every AWS call
the app makes during the session; the exactness test runs after every other test and compares
that recording, by resource role, with each stage's policy file. Permissions the platform uses
on the function's behalf (CloudWatch Logs, X-Ray) are checked on their own, as is the shape of
the policy files and of ``.chalice/config.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import runtime
from chalicelib.auth import passwords
from chalicelib.config import Settings
from chalicelib.storage import table_layout
from deploy.stage import (
    APP_NAME,
    CHALICE_DIR,
    Grant,
    Stage,
    chalice_config,
    deployable_stages,
    grants,
)
from deploy.stage import load_stage as load_deployable_stage
from devstack.stack import stage_environment
from tests.aws_operations import (
    CURRENT_SECRET,
    PREVIOUS_SECRET,
    RECORDER,
    RECORDS_TABLE,
    TASKS_TABLE,
    USERS_TABLE,
    authorisations,
    parameter_resource,
    resource_role,
    table_resource,
)
from tests.conftest import CHEAP_SCRYPT, PROJECT_DIR
from tests.support import Api, chalice_transport

STAGES = deployable_stages()
PLATFORM_SERVICES = ("logs", "xray")
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
TASKS_INDEX = f"{TASKS_TABLE} index {table_layout.STATUS_INDEX}"
CURRENT = "current-dev-secret-that-is-long-enough-0123456789"
PREVIOUS = "previous-dev-secret-that-is-long-enough-987654321"


def granted_pairs(stage: Stage) -> set[tuple[str, str]]:
    """Every (IAM action, resource role) the stage's policy allows, roles as the recording
    names them (log groups as ``log-group:<name>``, unscoped grants as ``*``)."""
    pairs = set()
    for grant in grants(stage):
        resources = [table_resource(table) for table in grant.tables]
        resources += [table_resource(table, index) for table, index in grant.indexes]
        resources += [parameter_resource(name) for name in grant.parameters]
        resources += [f"log-group:{group}" for group in grant.log_groups]
        resources += ["*"] if grant.unscoped else []
        roles = {resource_role(stage.settings, resource) for resource in resources}
        pairs |= {(action, role) for action in grant.actions for role in roles}
    return pairs


def _is_platform(pair: tuple[str, str]) -> bool:
    return pair[0].split(":", 1)[0] in PLATFORM_SERVICES


def _function_names(stage_name: str) -> list[str]:
    """The stage's Lambda functions as Chalice names them: the API handler, then one per
    built-in authorizer (and per pure Lambda function, should one be added)."""
    from app import app

    names = [f"{APP_NAME}-{stage_name}"]
    extra = [auth.name for auth in app.builtin_auth_handlers]
    extra += [function.name for function in app.pure_lambda_functions]
    return names + [f"{APP_NAME}-{stage_name}-{name}" for name in extra]


def _listing(pairs: set[tuple[str, str]]) -> str:
    return "".join(f"\n    {action} on {role}" for action, role in sorted(pairs)) or " none"


# --- the recording against the policies ----------------------------------------------------


@pytest.mark.after_whole_suite
@pytest.mark.parametrize("stage_name", STAGES)
def test_the_policy_grants_exactly_the_operations_the_suite_performed(
    stage_name: str, request: pytest.FixtureRequest
) -> None:
    incomplete = RECORDER.incompleteness(request.session)
    if incomplete:
        pytest.skip(
            f"IAM exactness needs the whole suite's recording, but {incomplete}; "
            "run make test, make unit or plain pytest"
        )
    assert not RECORDER.errors, f"the recording hook failed: {RECORDER.errors[:3]}"
    recorded = RECORDER.pairs()
    stage = load_deployable_stage(stage_name)
    granted = {pair for pair in granted_pairs(stage) if not _is_platform(pair)}
    missing = "".join(
        f"\n    {action} on {role} (first used by {first.test})"
        for action, role in sorted(recorded - granted)
        if (first := RECORDER.first_use((action, role)))
    )
    assert recorded == granted, (
        f".chalice/policy-{stage_name}.json is not exact.\n"
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
        ("dynamodb:GetItem", RECORDS_TABLE),  # login: failed-login counter
        ("dynamodb:GetItem", USERS_TABLE),  # login: the user
        ("dynamodb:PutItem", RECORDS_TABLE),  # create: claim the idempotency key
        ("dynamodb:PutItem", TASKS_TABLE),  # create: TransactWriteItems' Put
        ("dynamodb:UpdateItem", RECORDS_TABLE),  # create: TransactWriteItems' Update
        ("dynamodb:Query", TASKS_INDEX),  # list by status
    ]
    assert all(o.application for o in RECORDER.since(start))


def test_transactions_and_batches_are_authorised_as_iam_evaluates_them() -> None:
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
    assert authorisations("sts", "GetCallerIdentity", {}) == [("sts:GetCallerIdentity", "*")]


def test_resources_are_named_by_their_role_in_any_stage() -> None:
    dev = load_deployable_stage("dev").settings
    local = Settings.from_environ({"TOKEN_SIGNING_SECRET_PARAMETER": "/l/current"})
    assert resource_role(dev, "table/tasks-api-dev-tasks/index/by_status") == TASKS_INDEX
    assert resource_role(local, "table/tasks-api-local-users") == USERS_TABLE
    assert resource_role(dev, "table/tasks-api-prod-users") == "foreign table tasks-api-prod-users"
    assert resource_role(local, parameter_resource("/l/current")) == CURRENT_SECRET
    assert resource_role(dev, parameter_resource(dev.previous_signing_secret_parameter or "")) == (
        PREVIOUS_SECRET
    )
    assert resource_role(local, "parameter/other") == "foreign parameter /other"


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


def test_the_dev_stage_reads_both_secret_parameters(dev_stage_api: Api) -> None:
    start = RECORDER.mark()
    user = dev_stage_api.new_user()
    old_token = dev_stage_api.token(key=PREVIOUS, sub=user.id, username=user.username)
    me = dev_stage_api.request("GET", "/users/me", headers={"Authorization": f"Bearer {old_token}"})
    assert me.status == 200, me  # a token signed with the previous secret still works
    recorded = {(o.action, o.role) for o in RECORDER.since(start) if o.application}
    assert {("ssm:GetParameter", CURRENT_SECRET), ("ssm:GetParameter", PREVIOUS_SECRET)} <= recorded
    assert ("dynamodb:PutItem", USERS_TABLE) in recorded  # the dev stage's names, by role
    known = {USERS_TABLE, TASKS_TABLE, RECORDS_TABLE, CURRENT_SECRET, PREVIOUS_SECRET}
    assert {role for _, role in recorded} <= known


# --- what the platform does on the function's behalf ----------------------------------------


@pytest.mark.parametrize("stage_name", STAGES)
def test_logs_and_tracing_are_granted_exactly_for_the_stages_functions(stage_name: str) -> None:
    stage = load_deployable_stage(stage_name)
    groups = [f"/aws/lambda/{name}" for name in _function_names(stage_name)]
    expected = {(action, f"log-group:{group}") for action in LOG_ACTIONS for group in groups}
    if stage.xray:
        expected |= {(action, "*") for action in XRAY_ACTIONS}
    platform = {pair for pair in granted_pairs(stage) if _is_platform(pair)}
    assert platform == expected, (
        f"missing:{_listing(expected - platform)}\n  extra:{_listing(platform - expected)}"
    )
    log_arns = {
        arn
        for statement in stage.policy["Statement"]
        if any(action.startswith("logs:") for action in _as_list(statement["Action"]))
        for arn in _as_list(statement["Resource"])
    }
    prefix = "arn:aws:logs:*:*:log-group:"
    assert log_arns == {
        f"{prefix}{g}{streams}" for g in groups for streams in ("", ":log-stream:*")
    }


# --- the shape of the policy files and of config.json ----------------------------------------


@pytest.mark.parametrize("stage_name", STAGES)
def test_every_statement_allows_named_actions_on_this_stages_resources(stage_name: str) -> None:
    stage = load_deployable_stage(stage_name)
    settings = stage.settings
    for statement in stage.policy["Statement"]:
        assert statement["Effect"] == "Allow", statement
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), statement
        actions = _as_list(statement["Action"])
        assert all("*" not in action and "?" not in action for action in actions), statement
        if "*" in _as_list(statement["Resource"]):
            assert all(a.startswith("xray:") for a in actions), f"unscoped: {statement}"
    tables = {settings.users_table, settings.tasks_table, settings.records_table}
    parameters = set(stage.secret_parameters)
    for grant in grants(stage):
        assert set(grant.tables) <= tables, f"{grant.sid}: not this stage's tables"
        assert {table for table, _ in grant.indexes} <= {settings.tasks_table}, grant.sid
        assert {index for _, index in grant.indexes} <= {table_layout.STATUS_INDEX}, grant.sid
        assert set(grant.parameters) <= parameters, f"{grant.sid}: not this stage's parameters"
    foreign = set()
    for other in ["local", *STAGES]:
        if other != stage_name:
            theirs = Settings.from_environ({**stage_environment(other), "STAGE": other})
            foreign |= {theirs.users_table, theirs.tasks_table, theirs.records_table}
            foreign |= {theirs.signing_secret_parameter, theirs.previous_signing_secret_parameter}
            foreign |= {f"/aws/lambda/{name}" for name in _function_names(other)}
    named = {name for grant in grants(stage) for name in _names(grant)}
    assert not named & foreign, f"another stage's resources: {sorted(named & foreign)}"


def test_config_turns_off_generated_policies_and_names_each_stages_file() -> None:
    config = chalice_config()
    assert config["autogen_policy"] is False
    for name, stage in config["stages"].items():
        assert stage.get("autogen_policy", False) is False, name
        if name == "local":  # chalice local only; never deployed
            continue
        assert name in STAGES
        assert stage["iam_policy_file"] == f"policy-{name}.json"
        assert (CHALICE_DIR / stage["iam_policy_file"]).is_file()
    assert set(STAGES) == {"dev", "prod"}


def _names(grant: Grant) -> list[str]:
    """Every table, parameter and log group a grant names."""
    return [*grant.tables, *(t for t, _ in grant.indexes), *grant.parameters, *grant.log_groups]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
