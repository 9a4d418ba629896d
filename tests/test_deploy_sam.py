"""The SAM / CloudFormation package (``python -m deploy.sam``): what a deployer relies on.

``infra/sam/template.yaml`` is the checked-in stack; ``chalice package --merge-template``
adds the functions, their roles and the API definition, and ``deploy/sam.py`` does the few
things a merge cannot. Both stages are packaged once, through the command ``make
package-sam`` runs; the tests then check the packaged template (runtime, architecture, log
format and tags of every function; the tables against ``table_layout.py``; each role against
its function's policy file; retention and Retain policies; alarms, topic and dashboard; the
API's stage and gateway responses), lint it with cfn-lint (and ``sam validate --lint`` where
the SAM CLI is installed), scan it with checkov (zero failed checks; every skip carries a
reason) and run the signing-secret custom resource's inline code against moto's SSM.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.http.gateway_responses import CONTRACT_RESPONSES
from chalicelib.http.web import cors_config
from chalicelib.observability import NAMESPACE
from chalicelib.storage import parameters_extension, table_layout
from deploy import chalice_package, sam
from deploy.stage import API_HANDLER, Grant, Stage, chalice_config, grants, load_stage
from tests.gateway_assertions import assert_contract_gateway_responses
from tests.test_iam_policy import COGNITO_MODE_CALLS

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCAN_BIN = PROJECT_DIR / ".venv-scan" / "bin"
STAGES = ["dev", "prod"]
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
FUNCTION_TYPES = (SERVERLESS_FUNCTION, "AWS::Lambda::Function")
RUNTIME, ARCHITECTURE = "python3.13", "arm64"
# Each app function's logical id -> its Chalice name (its policy file), role and log group.
APP_FUNCTIONS = {
    "APIHandler": ("api_handler", "ApiHandlerRole", "APIHandlerLogGroup"),
    "JwtAuthorizer": ("jwt_authorizer", "JwtAuthorizerRole", "JwtAuthorizerLogGroup"),
    "PurgeAccount": ("purge_account", "PurgeAccountRole", "PurgeAccountLogGroup"),
}
MEMORY_PARAMETERS = {
    "api_handler": "ApiHandlerMemorySize",
    "jwt_authorizer": "AuthorizerMemorySize",
    "purge_account": "PurgeMemorySize",
}
TABLES = {"UsersTable": "users", "TasksTable": "tasks", "RecordsTable": "records"}
TABLES["SessionsTable"] = "sessions"
GATEWAY_ERRORS = ["UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX"]
TAGS = {"app": "tasks-api", "stage": {"Ref": "Stage"}, "managed-by": "sam"}
# Resource types and where their tags are; a new type must be placed in one of the two.
TAGGED_AS_LIST = {
    "AWS::DynamoDB::Table",
    "AWS::Logs::LogGroup",
    "AWS::IAM::Role",
    "AWS::Lambda::Function",
    "AWS::SNS::Topic",
    "AWS::CloudWatch::Alarm",
    "Custom::SigningSecret",  # passed on to the SSM parameter it creates
}
# Tagged with a map under another name.
TAGGED_AS_MAP = {"AWS::Cognito::UserPool": "UserPoolTags"}
UNTAGGABLE = {
    "AWS::Cognito::UserPoolClient",
    "AWS::IAM::Policy",
    "AWS::Lambda::Permission",
    "AWS::ApiGateway::Account",
    "AWS::CloudFormation::WaitConditionHandle",
    "AWS::SNS::Subscription",
    "AWS::CloudWatch::Dashboard",
}
# Logical id -> (namespace, metric, what it watches, its threshold parameter).
ALARMS = {
    "Api5xxRateAlarm": ("AWS/ApiGateway", "5XXError", "RestAPI", "Api5xxRateThresholdPercent"),
    "ApiP99LatencyAlarm": ("AWS/ApiGateway", "Latency", "RestAPI", "ApiP99LatencyThresholdMs"),
    "APIHandlerErrorsAlarm": ("AWS/Lambda", "Errors", "APIHandler", "LambdaErrorsThreshold"),
    "PurgeAccountErrorsAlarm": ("AWS/Lambda", "Errors", "PurgeAccount", "LambdaErrorsThreshold"),
    "AuthorizerFailuresAlarm": (
        "AWS/Lambda",
        "Errors",
        "JwtAuthorizer",
        "AuthorizerErrorsThreshold",
    ),
    **{
        f"{function}ThrottlesAlarm": (
            "AWS/Lambda",
            "Throttles",
            function,
            "LambdaThrottlesThreshold",
        )
        for function in APP_FUNCTIONS
    },
    **{
        f"{table}ThrottledRequestsAlarm": (
            "AWS/DynamoDB",
            "ThrottledRequests",
            table,
            "DynamoDbThrottledRequestsThreshold",
        )
        for table in TABLES
    },
    **{
        f"{table}SystemErrorsAlarm": (
            "AWS/DynamoDB",
            "SystemErrors",
            table,
            "DynamoDbSystemErrorsThreshold",
        )
        for table in TABLES
    },
}


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each stage's output directory, written by the command the Makefile runs."""
    directories = {}
    for stage in STAGES:
        directory = tmp_path_factory.mktemp(f"sam-{stage}")
        result = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed args
            [sys.executable, "-m", "deploy.sam", "--stage", stage, "--output-dir", str(directory)],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        directories[stage] = directory
    return directories


@pytest.fixture(scope="module")
def templates(packaged: dict[str, Path]) -> dict[str, dict[str, Any]]:
    return {stage: json.loads((d / "template.json").read_text()) for stage, d in packaged.items()}


def resources_of(template: dict[str, Any], *types_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] in types_}


def defaults(template: dict[str, Any]) -> dict[str, str]:
    return {k: str(v["Default"]) for k, v in template["Parameters"].items()}


def resolved(template: dict[str, Any], value: Any) -> str:
    """A name in the template, with its parameters' (the packaged stage's) defaults."""
    return sam.resolve(value, defaults(template))


def references(value: Any) -> set[str]:
    """Logical ids a template value refers to through Ref, GetAtt or ${...} in Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                for part in text.split("${")[1:]:
                    name = part.split("}")[0].split(".")[0]
                    if not name.startswith("AWS::"):
                        found.add(name)
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def tag_map(tags: list[dict[str, Any]]) -> dict[str, Any]:
    return {tag["Key"]: tag["Value"] for tag in tags}


# --- layout ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_output_is_a_template_and_the_code_it_points_to(
    stage: str, packaged: dict[str, Path], templates: dict[str, dict[str, Any]]
) -> None:
    directory = packaged[stage]
    assert sorted(p.name for p in directory.iterdir()) == ["deployment.zip", "template.json"]
    with zipfile.ZipFile(directory / "deployment.zip") as archive:
        names = archive.namelist()
    assert "app.py" in names
    assert any(name.startswith("chalicelib/") for name in names)
    # Pure Python, with no bytecode but the pinned 3.13's: it runs on 3.13 / arm64.
    assert not [n for n in names if n.endswith(chalice_package.COMPILED_SUFFIXES)]
    assert not [
        n
        for n in names
        if ("__pycache__/" in n or n.endswith(".pyc")) and not n.endswith(".cpython-313.pyc")
    ]
    template = templates[stage]
    assert template["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]
    serverless = resources_of(template, SERVERLESS_FUNCTION)
    assert set(serverless) == set(APP_FUNCTIONS)
    assert {f["Properties"]["CodeUri"] for f in serverless.values()} == {"./deployment.zip"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_checked_in_template_is_the_stack_and_chalice_adds_the_app(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    """Every resource, parameter and output of infra/sam/template.yaml is in the stack;
    Chalice adds the functions' code and roles and one API path per route of app.py."""
    from app import app

    checked_in = yaml.load(sam.MERGE_TEMPLATE.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    template = templates[stage]
    assert set(checked_in["Resources"]) <= set(template["Resources"])
    assert set(checked_in["Parameters"]) == set(template["Parameters"])
    assert set(checked_in["Outputs"]) <= set(template["Outputs"])
    chalice_only = set(template["Resources"]) - set(checked_in["Resources"])
    assert chalice_only == {
        "APIHandlerInvokePermission",
        "JwtAuthorizerInvokePermission",
    }, "Chalice's own resources beyond those the template overrides"
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert set(body["paths"]) == set(app.routes)
    assert template["Resources"]["RestAPI"]["Properties"]["StageName"] == (
        load_stage(stage).api_gateway_stage
    )


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads the checked-in template's short-form intrinsics (!Ref, !Sub ...) as tags."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: suffix)


# --- functions ------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_runs_python313_on_arm64_with_json_logs_to_its_own_group(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    groups = resources_of(template, "AWS::Logs::LogGroup")
    functions = resources_of(template, *FUNCTION_TYPES)
    assert len(functions) == len(APP_FUNCTIONS) + 1  # and the signing-secret function
    for logical_id, function in functions.items():
        properties = function["Properties"]
        assert properties["Runtime"] == RUNTIME, logical_id
        assert properties["Architectures"] == [ARCHITECTURE], logical_id
        logging = properties["LoggingConfig"]
        assert logging["LogFormat"] == "JSON", logical_id
        group = groups[logging["LogGroup"]["Ref"]]["Properties"]["LogGroupName"]
        name = resolved(template, properties["FunctionName"])
        assert resolved(template, group) == f"/aws/lambda/{name}", logical_id
    definition = load_stage(stage)
    for logical_id, (name, _, group_id) in APP_FUNCTIONS.items():
        properties = functions[logical_id]["Properties"]
        assert resolved(template, properties["FunctionName"]) == definition.function_name(name)
        assert properties["LoggingConfig"]["LogGroup"] == {"Ref": group_id}
        memory_parameter = properties["MemorySize"]["Ref"]
        assert memory_parameter == MEMORY_PARAMETERS[name]
        # Each function's memory is the one config.json gives it (chalice deploy's).
        assert (
            int(template["Parameters"][memory_parameter]["Default"])
            == (definition.memory_sizes[name])
        )
        assert properties["Timeout"] == {"Ref": "LambdaTimeoutSeconds"}
        variables = properties["Environment"]["Variables"]
        # The app's time budget is the function's timeout, whatever the parameter says.
        assert variables["FUNCTION_TIMEOUT_SECONDS"] == {"Ref": "LambdaTimeoutSeconds"}
        assert properties["Tracing"] == ("Active" if definition.xray else "PassThrough")
    parameters = template["Parameters"]
    config = chalice_config()
    assert parameters["LambdaTimeoutSeconds"]["Default"] == str(config["lambda_timeout"])
    assert (
        parameters["LambdaTimeoutSeconds"]["Default"]
        == (definition.environment["FUNCTION_TIMEOUT_SECONDS"])
    )


@pytest.mark.parametrize("stage", STAGES)
def test_every_taggable_resource_carries_the_stack_tags(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    # SAM adds the Globals' tags to each function (beside Chalice's own) and, through
    # PropagateTags, to the API's RestApi and Stage.
    function_globals = template["Globals"]["Function"]
    assert function_globals["Tags"] == TAGS
    assert function_globals["PropagateTags"] is True
    api = template["Resources"]["RestAPI"]["Properties"]
    assert api["Tags"] == TAGS
    assert api["PropagateTags"] is True
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind in TAGGED_AS_LIST:
            assert tag_map(resource["Properties"]["Tags"]) == TAGS, logical_id
        elif kind in TAGGED_AS_MAP:
            assert resource["Properties"][TAGGED_AS_MAP[kind]] == TAGS, logical_id
        elif kind not in UNTAGGABLE | {SERVERLESS_FUNCTION, "AWS::Serverless::Api"}:
            pytest.fail(f"{logical_id}: is {kind} taggable? add it to TAGGED_AS_LIST or UNTAGGABLE")


# --- tables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_tables_follow_the_layout_with_recovery_encryption_ttl_and_protection(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    definition = load_stage(stage)
    tables = {
        resolved(template, t["Properties"]["TableName"]): t
        for t in resources_of(template, "AWS::DynamoDB::Table").values()
    }
    assert set(tables) == {d["TableName"] for d in definition.tables}
    for layout in definition.tables:
        table = tables[layout["TableName"]]
        properties = table["Properties"]
        for key in ("KeySchema", "AttributeDefinitions", "LocalSecondaryIndexes"):
            assert properties.get(key) == layout.get(key), key
        assert "GlobalSecondaryIndexes" not in properties
        assert properties["BillingMode"] == layout["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert properties["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        ttl = definition.time_to_live.get(layout["TableName"])
        if ttl:
            assert properties["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in properties
        assert properties["DeletionProtectionEnabled"] == {"Fn::If": ["ProtectTables", True, False]}
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert definition.time_to_live, "the records table expires items"
    assert template["Conditions"]["ProtectTables"] == {
        "Fn::Equals": [{"Ref": "TableDeletionProtection"}, "true"]
    }
    protected = template["Parameters"]["TableDeletionProtection"]["Default"]
    assert protected == ("true" if definition.is_production else "false")
    # Each table's logical id is the variable that passes its name to the code.
    for logical_id, name in TABLES.items():
        variable = f"{name.upper()}_TABLE"
        assert (
            resolved(template, template["Resources"][logical_id]["Properties"]["TableName"])
            == (definition.environment[variable])
        )
        for function_id in APP_FUNCTIONS:
            variables = template["Resources"][function_id]["Properties"]["Environment"]
            assert variables["Variables"][variable] == {"Ref": logical_id}
    assert table_layout.STATUS_INDEX == "by_status"


# --- IAM ------------------------------------------------------------------------------------


def _role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    (inline,) = template["Resources"][role_id]["Properties"]["Policies"]
    return inline["PolicyDocument"]["Statement"]


@pytest.mark.parametrize("stage", STAGES)
def test_each_function_has_a_role_of_its_own(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    resources = templates[stage]["Resources"]
    for function_id, (_, role_id, _) in APP_FUNCTIONS.items():
        assert resources[function_id]["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert resources[role_id]["Type"] == "AWS::IAM::Role"
        assert "ManagedPolicyArns" not in resources[role_id]["Properties"]


@pytest.mark.parametrize("stage", STAGES)
def test_each_role_grants_exactly_its_policy_file_on_the_stacks_own_resources(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    """Per function: the role's statements are its policy file's (``deploy.stage.grants``),
    action for action, and each resource of the kind the file names, pointed at the resource
    of that name the stack creates."""
    template = templates[stage]
    definition = load_stage(stage)
    names = {
        "AWS::DynamoDB::Table": "TableName",
        "AWS::Logs::LogGroup": "LogGroupName",
        SERVERLESS_FUNCTION: "FunctionName",
    }
    created = {
        (kind, resolved(template, r["Properties"][key])): logical_id
        for kind, key in names.items()
        for logical_id, r in resources_of(template, kind).items()
    }
    for function_id, (name, role_id, group_id) in APP_FUNCTIONS.items():
        statements = _role_statements(template, role_id)
        file_grants = grants(definition, name)
        assert [s["Sid"] for s in statements] == [g.sid for g in file_grants]
        for statement, grant in zip(statements, file_grants, strict=True):
            assert statement["Effect"] == "Allow"
            assert statement["Action"] == grant.actions, grant.sid
            expected: list[Any] = []
            for table in grant.tables:
                table_id = created["AWS::DynamoDB::Table", table]
                expected.append({"Fn::GetAtt": [table_id, "Arn"]})
            for table, index in grant.indexes:
                table_id = created["AWS::DynamoDB::Table", table]
                expected.append({"Fn::Sub": f"${{{table_id}.Arn}}/index/{index}"})
            expected += [sam.parameter_arn(parameter) for parameter in grant.parameters]
            for group in grant.log_groups:
                # Its own log group only: the one its LoggingConfig writes to.
                assert created["AWS::Logs::LogGroup", group] == group_id, grant.sid
                expected.append(
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:"
                        f"${{AWS::AccountId}}:log-group:${{{group_id}}}"
                    }
                )
                expected.append({"Fn::GetAtt": [group_id, "Arn"]})
            for target in grant.functions:
                target_id = created[SERVERLESS_FUNCTION, target]
                # Itself by name: a reference from its role to the function would be circular.
                expected.append(
                    sam.function_arn(target)
                    if target_id == function_id
                    else {"Fn::GetAtt": [target_id, "Arn"]}
                )
            if grant.unscoped:
                expected.append("*")
            assert statement["Resource"] == expected, grant.sid
        by_sid = {s["Sid"]: s for s in statements}
        assert by_sid["FunctionLogs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert ("Tracing" in by_sid) is definition.xray

    jwt = {s["Sid"] for s in _role_statements(template, "JwtAuthorizerRole")}
    assert jwt - {"Tracing"} == {"TokenSigningSecret", "FunctionLogs"}
    purge = {s["Sid"] for s in _role_statements(template, "PurgeAccountRole")}
    assert purge - {"Tracing"} == {"AccountPurge", "NextPurgeSlice", "FunctionLogs"}


@pytest.mark.parametrize("stage", STAGES)
def test_no_role_may_create_a_log_group_or_invoke_another_function(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    for role_id, role in resources_of(templates[stage], "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                actions = actions if isinstance(actions, list) else [actions]
                assert "logs:CreateLogGroup" not in actions, role_id
                if "lambda:InvokeFunction" in actions:
                    assert role_id in ("ApiHandlerRole", "PurgeAccountRole"), role_id


@pytest.mark.parametrize("stage", STAGES)
def test_no_role_in_the_template_grants_a_wildcard_resource_but_x_ray(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    seen = 0
    for role in resources_of(templates[stage], "AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                for resource in resources:
                    seen += 1
                    if isinstance(resource, str):
                        assert resource == "*"
                        assert all(a.startswith("xray:") for a in statement["Action"])
    assert seen > 10


def test_packaging_refuses_what_it_cannot_point_at_a_created_resource() -> None:
    stage = load_stage("dev")
    created = sam.Created(tables={}, log_groups={}, functions={})
    unscoped = Grant("Everything", ["dynamodb:Scan"], [], [], [], [], unscoped=True)
    with pytest.raises(ValueError, match="only X-Ray"):
        sam.statement(unscoped, created)
    policy = stage.policies["api_handler"]
    foreign = json.loads(json.dumps(policy).replace("tasks-api-dev-users", "someone-else"))
    with pytest.raises(ValueError, match="someone-else"):
        sam.statement(grants(_with_policy(stage, foreign), "api_handler")[0], created)
    other = json.loads(json.dumps(policy).replace("-dev-purge_account", "-dev-other"))
    invoke = next(g for g in grants(_with_policy(stage, other), "api_handler") if g.functions)
    known = dataclasses.replace(created, functions={"tasks-api-dev-purge_account": "PurgeAccount"})
    with pytest.raises(ValueError, match="tasks-api-dev-other"):
        sam.statement(invoke, known)
    # A function the stage does not list (no policy file of its own) is refused.
    with pytest.raises(ValueError, match="not the stage's"):
        sam.function_logical_ids(stage, {"Extra": {"Type": SERVERLESS_FUNCTION}})
    # An override in the checked-in template of a resource Chalice no longer generates.
    with pytest.raises(ValueError, match="did not generate"):
        sam.complete({"Resources": {"APIHandler": {"Properties": {}}}}, stage, {})
    with pytest.raises(ValueError, match="cannot resolve"):
        sam.resolve({"Fn::GetAtt": ["X", "Arn"]}, {})
    with pytest.raises(ValueError, match="not a parameter"):
        sam.resolve({"Fn::Sub": "${AWS::Region}-x"}, {})


def test_a_stage_file_must_set_every_parameter_and_nothing_else() -> None:
    template = {"Parameters": {"Stage": {}, "A": {}, "B": {}}}
    with pytest.raises(ValueError, match=r"unknown parameters \['C'\], missing \['B'\]"):
        sam.set_defaults(copy.deepcopy(template), "dev", {"A": "1", "C": "2"})
    sam.set_defaults(template, "dev", {"A": "1", "B": "2"})
    assert template["Parameters"]["Stage"] == {"Default": "dev", "AllowedValues": ["dev"]}


def _with_policy(stage: Stage, policy: dict[str, Any]) -> Stage:
    """``stage`` with ``policy`` as the API handler's policy file."""
    return dataclasses.replace(stage, policies={**stage.policies, "api_handler": policy})


# --- the signing secret ---------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_signing_secret_is_created_by_a_scoped_custom_resource_and_retained(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    name = load_stage(stage).secret_parameters[0]
    secret = template["Resources"]["SigningSecret"]
    assert secret["Type"] == "Custom::SigningSecret"
    # Deleting the stack, or replacing the resource, never deletes the secret.
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
    assert resolved(template, secret["Properties"]["ParameterName"]) == name

    function = template["Resources"]["SigningSecretFunction"]["Properties"]
    assert function["Code"]["ZipFile"] == (sam.SAM_DIR / "signing_secret.py").read_text()
    assert len(function["Code"]["ZipFile"]) <= sam.ZIP_FILE_LIMIT
    (policy,) = template["Resources"]["SigningSecretFunctionRole"]["Properties"]["Policies"]
    ssm, logs = policy["PolicyDocument"]["Statement"]
    # Put (and tag) that one parameter: never read it, never delete it.
    assert sorted(ssm["Action"]) == ["ssm:AddTagsToResource", "ssm:PutParameter"]
    arn = ssm["Resource"]["Fn::Sub"].replace("${Stage}", stage)
    assert arn == sam.parameter_arn(name)["Fn::Sub"]
    assert logs["Resource"] == {"Fn::GetAtt": ["SigningSecretFunctionLogGroup", "Arn"]}

    # The functions read the parameter the resource made, so they start once it exists.
    for function_id in APP_FUNCTIONS:
        variables = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]
        assert variables["TOKEN_SIGNING_SECRET_PARAMETER"] == {
            "Fn::GetAtt": ["SigningSecret", "ParameterName"]
        }
    assert template["Outputs"]["SigningSecretParameterName"]["Value"] == {
        "Fn::GetAtt": ["SigningSecret", "ParameterName"]
    }


# --- logs, API stage, CORS ------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_log_group_is_created_with_retention_and_prods_are_retained(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    groups = resources_of(template, "AWS::Logs::LogGroup")
    assert set(groups) == {
        "APIHandlerLogGroup",
        "JwtAuthorizerLogGroup",
        "PurgeAccountLogGroup",
        "SigningSecretFunctionLogGroup",
        "ApiAccessLogGroup",
    }
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        assert (
            group["DeletionPolicy"]
            == group["UpdateReplacePolicy"]
            == {"Fn::If": ["RetainLogs", "Retain", "Delete"]}
        )
    assert template["Conditions"]["RetainLogs"] == {
        "Fn::Equals": [{"Ref": "RetainLogGroups"}, "true"]
    }
    definition = load_stage(stage)
    parameters = template["Parameters"]
    assert parameters["RetainLogGroups"]["Default"] == str(definition.is_production).lower()
    retention = parameters["LogRetentionInDays"]
    assert retention["Default"] in retention["AllowedValues"]
    assert retention["Default"] == str(definition.log_retention_days)


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_handler_hands_purges_to_the_created_purge_function(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    resources = template["Resources"]
    handler = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert handler["PURGE_FUNCTION_NAME"] == {"Ref": "PurgeAccount"}
    purge = resources["PurgeAccount"]["Properties"]
    # Its own name, literal (a Ref to itself would be circular), is the name it is given.
    variables = purge["Environment"]["Variables"]
    assert variables["PURGE_FUNCTION_NAME"] == resolved(template, purge["FunctionName"])
    assert purge["Handler"] == "app.purge_account"


@pytest.mark.parametrize("stage", STAGES)
def test_api_is_regional_with_an_access_log_throttling_and_the_configured_tracing(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    definition = load_stage(stage)
    api = template["Resources"]["RestAPI"]["Properties"]
    assert api["EndpointConfiguration"] == {"Type": "REGIONAL"}
    assert resolved(template, api["Name"]) == f"tasks-api-{stage}"
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    log_format = api["AccessLogSetting"]["Format"]["Fn::ToJsonString"]
    assert log_format["requestId"] == "$context.requestId"
    assert log_format["status"] == "$context.status"
    (settings,) = api["MethodSettings"]
    assert settings["ResourcePath"] == "/*"
    assert settings["HttpMethod"] == "*"
    for limit in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
        assert settings[limit] == {"Ref": limit}
        assert int(template["Parameters"][limit]["Default"]) > 0
    assert api["TracingEnabled"] == {"Fn::If": ["Tracing", True, False]}
    assert template["Parameters"]["TracingEnabled"]["Default"] == str(definition.xray).lower()
    # No second, unlogged "Stage" stage; every update redeploys (parameters in the body).
    assert api["OpenApiVersion"] == "2.0"
    assert api["AlwaysDeploy"] is True
    # One stack per account and region owns API Gateway's CloudWatch role: prod, by default.
    owner = template["Parameters"]["CreateApiGatewayCloudWatchRole"]["Default"]
    assert owner == str(definition.is_production).lower()
    for resource_id in ("ApiGatewayAccount", "ApiGatewayCloudWatchRole"):
        resource = template["Resources"][resource_id]
        assert resource["Condition"] == "CreateApiGatewayCloudWatchRole"
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    assert template["Resources"]["RestAPI"]["DependsOn"] == "ApiGatewayAccountReady"


@pytest.mark.parametrize("stage", STAGES)
def test_api_gateways_own_errors_carry_the_apps_cors_headers_and_the_contract(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    body = templates[stage]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == set(GATEWAY_ERRORS) | set(CONTRACT_RESPONSES)
    expected = {
        f"gatewayresponse.header.{name}": f"'{value}'"
        for name, value in cors_config("*").get_access_control_headers().items()
    }
    expected["gatewayresponse.header.Access-Control-Allow-Origin"] = sam.ALLOWED_ORIGIN
    for response_type in GATEWAY_ERRORS:
        assert responses[response_type]["responseParameters"] == expected, response_type
    for response_type, contract in CONTRACT_RESPONSES.items():
        response = responses[response_type]
        assert response["statusCode"] == contract.status, response_type
        assert response["responseParameters"] == {**expected, **contract.header_parameters}
        assert response["responseTemplates"] == {"application/json": contract.template}
    assert_contract_gateway_responses(responses)
    # The contract: a missing token is 401 {"message": "Unauthorized"}, API Gateway's body.
    assert responses["UNAUTHORIZED"]["statusCode"] == 401
    assert responses["UNAUTHORIZED"]["responseTemplates"] == {
        "application/json": '{"message":$context.error.messageString}'
    }
    assert responses["ACCESS_DENIED"]["statusCode"] == 403


@pytest.mark.parametrize("stage", STAGES)
def test_parameters_govern_origin_and_token_lifetime_everywhere(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    settings = load_stage(stage).settings
    assert template["Parameters"]["AllowedOrigin"]["Default"] == settings.allowed_origin
    lifetime = template["Parameters"]["TokenLifetimeSeconds"]
    assert lifetime["Default"] == str(settings.token_lifetime_seconds)
    assert (lifetime["MinValue"], lifetime["MaxValue"]) == (60, 86400)
    for function_id in APP_FUNCTIONS:
        variables = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]
        assert variables["ALLOWED_ORIGIN"] == {"Ref": "AllowedOrigin"}
        assert variables["TOKEN_LIFETIME_SECONDS"] == {"Ref": "TokenLifetimeSeconds"}
    # Chalice baked the literal origin into every OPTIONS response; none is left.
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    text = json.dumps(body["paths"])
    assert text.count('Access-Control-Allow-Origin": {"Fn::Sub": "\'${AllowedOrigin}\'"}') >= 3
    assert f"\"'{settings.allowed_origin}'\"" not in text


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_file_sets_every_parameter_which_the_package_makes_its_defaults(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    values = sam.parameter_values(stage)
    parameters = template["Parameters"]
    assert set(values) == set(parameters) - {"Stage"}
    for name, parameter in parameters.items():
        assert len(parameter.get("Description", "")) > 20, name
        assert parameter["Default"] == values.get(name, stage), name
    # The packaged template is for its stage only: Chalice baked the stage into the code's
    # configuration and the policy files.
    assert parameters["Stage"]["AllowedValues"] == [stage]


# --- alarms and dashboard -------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_alarms_notify_one_topic_with_every_threshold_a_parameter(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(ALARMS)
    for logical_id, (namespace, metric, watched, threshold) in ALARMS.items():
        properties = alarms[logical_id]["Properties"]
        assert properties["Threshold"] == {"Ref": threshold}, logical_id
        assert threshold in template["Parameters"]
        assert properties["EvaluationPeriods"] == {"Ref": "AlarmEvaluationPeriods"}
        assert properties["AlarmActions"] == properties["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert properties["TreatMissingData"] == "notBreaching"
        text = json.dumps(properties)
        assert namespace in text and metric in text, logical_id
        if watched in APP_FUNCTIONS:
            assert properties["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": watched}}]
        elif watched in TABLES:
            (query,) = properties["Metrics"]
            assert references(query["Expression"]) == {watched}
            assert query["Period"] == {"Ref": "AlarmPeriodSeconds"}
        else:
            assert '"ApiName", "Value": {"Fn::Sub": "tasks-api-${Stage}"}' in text
    rate = alarms["Api5xxRateAlarm"]["Properties"]["Metrics"]
    assert [m["Id"] for m in rate if m["ReturnData"]] == ["rate"]
    assert "${Api5xxMinRequests}" in rate[0]["Expression"]["Fn::Sub"]
    latency = alarms["ApiP99LatencyAlarm"]["Properties"]
    assert latency["ExtendedStatistic"] == "p99"
    # The API dimensions name the stage Chalice deploys.
    api_stage = load_stage(stage).api_gateway_stage
    assert {"Name": "Stage", "Value": api_stage} in latency["Dimensions"]

    topic = template["Resources"]["AlarmTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "SubscribeAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert template["Conditions"]["SubscribeAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("stage", STAGES)
def test_the_dashboard_shows_the_apps_metrics_beside_aws_s_and_every_alarm(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    dashboard = template["Resources"]["Dashboard"]["Properties"]
    assert resolved(template, dashboard["DashboardName"]) == f"tasks-api-{stage}"
    body = dashboard["DashboardBody"]["Fn::ToJsonString"]
    metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
    rows = [row for w in metric_widgets for row in w["properties"]["metrics"]]
    namespaces = {row[0] for row in rows if isinstance(row[0], str)}
    assert {NAMESPACE, "AWS/ApiGateway", "AWS/Lambda", "AWS/DynamoDB"} <= namespaces
    app_metrics = {row[1] for row in rows if row[0] == NAMESPACE}
    searches = " ".join(s for s in _strings(body) if "SEARCH(" in s)
    for metric in ("Requests", "Latency"):  # per route, found by SEARCH
        assert f'{{{NAMESPACE},Route,Stage}} MetricName="{metric}"' in searches
    assert {"Requests", "4xx", "5xx", "TokensDenied"} <= app_metrics
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert alarm_widget["properties"]["alarms"] == [
        {"Fn::GetAtt": [alarm, "Arn"]} for alarm in ALARMS
    ]
    for widget in metric_widgets:
        assert widget["properties"]["region"] == {"Ref": "AWS::Region"}


@pytest.mark.parametrize("stage", STAGES)
def test_outputs_name_the_url_tables_topic_and_dashboard(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    outputs = templates[stage]["Outputs"]
    assert "execute-api" in outputs["EndpointURL"]["Value"]["Fn::Sub"]
    for table in TABLES:
        assert outputs[f"{table}Name"]["Value"] == {"Ref": table}
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert references(outputs["DashboardURL"]["Value"]) == {"Dashboard"}
    assert references(outputs["AccessLogGroupName"]["Value"]) == {"ApiAccessLogGroup"}


# --- the cognito mode (IdentityProvider=cognito) ------------------------------------------
# Cognito resources, outputs and settings, all under the UseCognito condition.
COGNITO_RESOURCES = {
    "UserPool": "AWS::Cognito::UserPool",
    "UserPoolClient": "AWS::Cognito::UserPoolClient",
    "ApiHandlerCognitoPolicy": "AWS::IAM::Policy",
}
COGNITO_OUTPUTS = {
    "CognitoUserPoolId": {"Ref": "UserPool"},
    "CognitoClientId": {"Ref": "UserPoolClient"},
    "CognitoIssuer": {"Fn::Sub": "https://${UserPool.ProviderURL}"},
}
NO_VALUE = {"Ref": "AWS::NoValue"}
BASE_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_identity_provider_is_builtin_unless_the_parameter_says_cognito(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    parameter = template["Parameters"]["IdentityProvider"]
    assert parameter["AllowedValues"] == ["builtin", "cognito"]
    assert parameter["Default"] == "builtin"
    assert template["Conditions"]["UseCognito"] == {
        "Fn::Equals": [{"Ref": "IdentityProvider"}, "cognito"]
    }
    resources = template["Resources"]
    cognito = {
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"].startswith("AWS::Cognito::")
        or "cognito-idp:" in json.dumps(resource.get("Properties", {}))
    }
    assert cognito == set(COGNITO_RESOURCES)
    for logical_id, kind in COGNITO_RESOURCES.items():
        assert resources[logical_id]["Type"] == kind
        assert resources[logical_id]["Condition"] == "UseCognito", logical_id
    outputs = template["Outputs"]
    for name, value in COGNITO_OUTPUTS.items():
        assert outputs[name] == {**outputs[name], "Condition": "UseCognito", "Value": value}
    # Every function reads the mode's settings, which are absent in the builtin mode.
    for function_id in APP_FUNCTIONS:
        variables = resources[function_id]["Properties"]["Environment"]["Variables"]
        assert {name: variables[name] for name in COGNITO_SETTINGS} == {
            "IDENTITY_PROVIDER": {"Fn::If": ["UseCognito", "cognito", NO_VALUE]},
            "OIDC_ISSUER": {"Fn::If": ["UseCognito", COGNITO_OUTPUTS["CognitoIssuer"], NO_VALUE]},
            "OIDC_AUDIENCE": {"Fn::If": ["UseCognito", {"Ref": "UserPoolClient"}, NO_VALUE]},
            "COGNITO_USER_POOL_ID": {"Fn::If": ["UseCognito", {"Ref": "UserPool"}, NO_VALUE]},
        }, function_id


COGNITO_SETTINGS = ("IDENTITY_PROVIDER", "OIDC_ISSUER", "OIDC_AUDIENCE", "COGNITO_USER_POOL_ID")


EXTENSION_LAYER = {"Ref": "ParametersSecretsExtensionLayerArn"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_secrets_extension_is_off_unless_its_layer_is_given_and_then_only_for_secret_readers(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    """ParametersSecretsExtensionLayerArn (empty by default): set, the API handler and the
    authorizer get AWS's layer and the port chalicelib/storage/parameters_extension.py
    reads; the purge function, which reads no secret, neither."""
    template = templates[stage]
    parameter = template["Parameters"]["ParametersSecretsExtensionLayerArn"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("")
    aws_layer = "arn:aws:lambda:eu-west-1:123456789012:layer:"
    assert pattern.fullmatch(aws_layer + "AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:12")
    assert not pattern.fullmatch(aws_layer + "someone-elses-layer:1")
    assert template["Conditions"]["UseParametersSecretsExtension"] == {
        "Fn::Not": [{"Fn::Equals": [EXTENSION_LAYER, ""]}]
    }
    resources = template["Resources"]
    for function_id, (name, _, _) in APP_FUNCTIONS.items():
        properties = resources[function_id]["Properties"]
        variables = properties["Environment"]["Variables"]
        if name == "purge_account":
            assert "Layers" not in properties
            assert parameters_extension.PORT_VARIABLE not in variables
            continue
        assert properties["Layers"] == {
            "Fn::If": ["UseParametersSecretsExtension", [EXTENSION_LAYER], NO_VALUE]
        }, function_id
        assert variables[parameters_extension.PORT_VARIABLE] == {
            "Fn::If": ["UseParametersSecretsExtension", "2773", NO_VALUE]
        }, function_id


@pytest.mark.parametrize("stage", STAGES)
def test_the_user_pool_and_its_public_client(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    prod = load_stage(stage).is_production
    parameters = defaults(template)
    pool = template["Resources"]["UserPool"]
    properties = pool["Properties"]
    assert resolved(template, properties["UserPoolName"]) == f"tasks-api-{stage}-users"
    assert properties["AliasAttributes"] == ["email"]
    assert "UsernameAttributes" not in properties
    assert properties["AutoVerifiedAttributes"] == ["email"]
    policy = properties["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert policy["RequireLowercase"] and policy["RequireUppercase"] and policy["RequireNumbers"]
    # Deletion protection (and the pool kept with the stack) on prod.
    assert properties["DeletionProtection"] == {"Fn::If": ["ProtectUserPool", "ACTIVE", "INACTIVE"]}
    assert pool["DeletionPolicy"] == pool["UpdateReplacePolicy"]
    assert pool["DeletionPolicy"] == {"Fn::If": ["ProtectUserPool", "Retain", "Delete"]}
    assert template["Conditions"]["ProtectUserPool"] == {
        "Fn::Equals": [{"Ref": "UserPoolDeletionProtection"}, "true"]
    }
    assert parameters["UserPoolDeletionProtection"] == ("true" if prod else "false")
    # Advanced security off unless asked for.
    assert properties["UserPoolAddOns"] == {
        "AdvancedSecurityMode": {"Fn::If": ["CognitoAdvancedSecurity", "ENFORCED", "OFF"]}
    }
    assert parameters["CognitoAdvancedSecurity"] == "false"

    client = template["Resources"]["UserPoolClient"]["Properties"]
    assert client["UserPoolId"] == {"Ref": "UserPool"}
    assert client["GenerateSecret"] is False
    assert client["ExplicitAuthFlows"] == {
        "Fn::If": [
            "AllowCognitoPasswordAuth",
            [*BASE_FLOWS, "ALLOW_USER_PASSWORD_AUTH"],
            BASE_FLOWS,
        ]
    }
    assert parameters["CognitoAllowPasswordAuth"] == "false"
    assert "AllowedOAuthFlows" not in client
    # Access tokens: TokenLifetimeSeconds, in seconds, at most a day (the app refuses more).
    assert client["AccessTokenValidity"] == {"Ref": "TokenLifetimeSeconds"}
    assert client["TokenValidityUnits"]["AccessToken"] == "seconds"
    assert template["Parameters"]["TokenLifetimeSeconds"]["MaxValue"] <= 86400


@pytest.mark.parametrize("stage", STAGES)
def test_the_cognito_mode_grants_the_api_handler_exactly_its_calls_on_the_pool(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    """COGNITO_MODE_CALLS (tests/test_iam_policy.py: the dev-cognito stage's grants on its
    pool), on this stack's pool only, through a policy of its own on the API handler's role."""
    resources = templates[stage]["Resources"]
    assert {function for function, _, _ in COGNITO_MODE_CALLS} == {API_HANDLER}
    (role_id,) = [r for _, (name, r, _) in APP_FUNCTIONS.items() if name == API_HANDLER]
    policy = resources["ApiHandlerCognitoPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": role_id}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == sorted(action for _, action, _ in COGNITO_MODE_CALLS)
    assert statement["Resource"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    # No other policy in the stack grants anything on Cognito.
    for logical_id, resource in resources.items():
        if logical_id != "ApiHandlerCognitoPolicy" and resource["Type"].startswith("AWS::IAM::"):
            assert "cognito" not in json.dumps(resource).lower(), logical_id


# --- linters --------------------------------------------------------------------------------


def _scanner(name: str) -> Path:
    path = SCAN_BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in .venv-scan; run `make install`")
    return path


# Runs an external scanner, never the app: out of process, like the end-to-end tests, so its
# skipping where the tool is missing leaves the IAM exactness recording complete.
@pytest.mark.e2e
def test_cfn_lint_reports_nothing(packaged: dict[str, Path]) -> None:
    cfn_lint = _scanner("cfn-lint")
    files = [str(packaged[stage] / "template.json") for stage in STAGES]
    result = subprocess.run(  # noqa: S603 - the scan venv's cfn-lint, fixed args
        [str(cfn_lint), "--format", "parseable", *files],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    # Exit code 0: no error, no warning, no informational finding.
    assert result.returncode == 0, result.stdout + result.stderr


# Runs an external scanner, never the app: out of process, like the end-to-end tests, so its
# skipping where the tool is missing leaves the IAM exactness recording complete.
@pytest.mark.e2e
def test_sam_validate_lint_reports_nothing(packaged: dict[str, Path]) -> None:
    """The SAM CLI's own check (its translator, then cfn-lint), where it is installed.

    aws-sam-cli cannot share .venv-scan (its pins and checkov 3.3.30's have no common
    solution), so it is looked for in a virtualenv of its own (.venv-sam), then on PATH.
    """
    candidates = [PROJECT_DIR / ".venv-sam" / "bin" / "sam", shutil.which("sam")]
    found = next((Path(c) for c in candidates if c and Path(c).exists()), None)
    if found is None:
        pytest.skip("the SAM CLI (aws-sam-cli) is neither in .venv-sam nor on PATH")
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    environment.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for stage in STAGES:
        result = subprocess.run(  # noqa: S603 - the SAM CLI, fixed args
            [
                str(found),
                "validate",
                "--lint",
                "--template-file",
                str(packaged[stage] / "template.json"),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            env=environment,
        )
        assert result.returncode == 0, result.stdout + result.stderr


# Runs an external scanner, never the app: out of process, like the end-to-end tests, so its
# skipping where the tool is missing leaves the IAM exactness recording complete.
@pytest.mark.e2e
def test_checkov_finds_nothing_unexplained(packaged: dict[str, Path]) -> None:
    checkov = _scanner("checkov")
    files = [arg for stage in STAGES for arg in ("-f", str(packaged[stage] / "template.json"))]
    options = ["--framework", "cloudformation", "--compact", "--skip-download", "--output", "json"]
    result = subprocess.run(  # noqa: S603 - the scan venv's checkov, fixed args
        [str(checkov), *files, *options],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert len(reason) > 40, (skipped["check_id"], skipped["resource"], reason)


# --- the custom resource's code, against moto's SSM -----------------------------------------


class FakeCfnResponse(types.ModuleType):
    """Stands in for Lambda's ``cfnresponse`` module and records what would be sent."""

    SUCCESS = "SUCCESS"
    FAILED = "FAILED"

    def __init__(self) -> None:
        super().__init__("cfnresponse")
        self.sent: list[dict[str, Any]] = []

    def send(
        self,
        event: dict[str, Any],
        context: object,
        status: str,
        data: dict[str, Any],
        physical_id: str | None = None,
        noEcho: bool = False,  # cfnresponse's own parameter name
        reason: str | None = None,
    ) -> None:
        self.sent.append(
            {"status": status, "data": data, "physical_id": physical_id, "reason": reason}
        )


@pytest.fixture
def secret_function(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[types.ModuleType, FakeCfnResponse, Any]]:
    """The inline function's module, loaded like Lambda does, over moto's SSM."""
    responses = FakeCfnResponse()
    monkeypatch.setitem(sys.modules, "cfnresponse", responses)
    with mock_aws():
        module = types.ModuleType("index")
        source = (sam.SAM_DIR / "signing_secret.py").read_text()
        exec(compile(source, "index.py", "exec"), module.__dict__)  # noqa: S102 - our own file
        yield module, responses, boto3.client("ssm")


NAME = "/tasks-api/dev/token-signing-secret"
STACK_TAGS = [{"Key": "app", "Value": "tasks-api"}, {"Key": "stage", "Value": "dev"}]


def _event(request: str, physical_id: str | None = None) -> dict:
    event = {
        "RequestType": request,
        "ResponseURL": "https://example.invalid/response",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "ParameterName": NAME,
            "Tags": STACK_TAGS,
        },
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


def test_custom_resource_creates_a_tagged_secret_once_and_never_deletes_it(
    secret_function: tuple[types.ModuleType, FakeCfnResponse, Any],
) -> None:
    module, responses, ssm = secret_function

    module.handler(_event("Create"), object())
    parameter = ssm.get_parameter(Name=NAME, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    first = parameter["Value"]
    assert len(first.encode()) >= 32
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=NAME)["TagList"]
    assert sorted(tags, key=lambda t: t["Key"]) == STACK_TAGS

    module.handler(_event("Create"), object())  # e.g. a stack re-created over a kept secret
    module.handler(_event("Update", physical_id=NAME), object())
    module.handler(_event("Delete", physical_id=NAME), object())
    assert ssm.get_parameter(Name=NAME, WithDecryption=True)["Parameter"]["Value"] == first

    assert [r["status"] for r in responses.sent] == ["SUCCESS"] * 4
    assert {r["physical_id"] for r in responses.sent} == {NAME}
    assert first not in json.dumps(responses.sent)


def test_custom_resource_reports_a_failure_instead_of_hanging(
    secret_function: tuple[types.ModuleType, FakeCfnResponse, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module, responses, _ = secret_function

    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "PutParameter")

    monkeypatch.setattr(module.ssm, "put_parameter", denied)
    module.handler(_event("Create"), object())
    (response,) = responses.sent
    assert response["status"] == "FAILED"
    assert "AccessDeniedException" in response["reason"]
    assert response["physical_id"] is None  # a failed Create names no parameter


def test_custom_resource_code_only_uses_what_its_role_grants() -> None:
    """The inline code's SSM calls are exactly the two its role allows."""
    source = (sam.SAM_DIR / "signing_secret.py").read_text()
    calls = set(re.findall(r"ssm\.([a-z_]+)\(", source))
    assert calls == {"put_parameter", "add_tags_to_resource"}


def test_packaging_never_clears_a_directory_holding_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match=r"notes\.txt"):
        sam.clear(tmp_path)
    assert (tmp_path / "notes.txt").exists()
