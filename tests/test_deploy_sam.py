"""The SAM / CloudFormation package (``python -m deploy.sam``): what a deployer relies on.

Both stages are packaged once, through the same command ``make package-sam`` runs; the
tests then check the template's structure, lint it with cfn-lint, scan it with checkov
(zero failed checks; every suppression carries a reason) and run the signing-secret custom
resource's inline code against moto's SSM.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.http.gateway_responses import CONTRACT_RESPONSES
from chalicelib.http.web import cors_config
from deploy import sam, sam_template
from deploy.stage import Grant, Stage, grants, load_stage
from tests.gateway_assertions import assert_contract_gateway_responses

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCAN_BIN = PROJECT_DIR / ".venv-scan" / "bin"
STAGES = ["dev", "prod"]
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
# Each function's logical id -> its Chalice name (its policy file) and its own role.
APP_FUNCTIONS = {
    "APIHandler": ("api_handler", "ApiHandlerRole"),
    "JwtAuthorizer": ("jwt_authorizer", "JwtAuthorizerRole"),
    "PurgeAccount": ("purge_account", "PurgeAccountRole"),
}
GATEWAY_ERRORS = ["UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX"]


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


# --- layout -------------------------------------------------------------------------------


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
    template = templates[stage]
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    serverless = resources_of(template, "AWS::Serverless::Function")
    assert set(serverless) == set(APP_FUNCTIONS)
    assert {f["Properties"]["CodeUri"] for f in serverless.values()} == {"./deployment.zip"}


# --- tables -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_tables_follow_the_layout_with_recovery_encryption_and_ttl(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    definition = load_stage(stage)
    tables = {
        t["Properties"]["TableName"]: t
        for t in resources_of(templates[stage], "AWS::DynamoDB::Table").values()
    }
    assert set(tables) == {d["TableName"] for d in definition.tables}
    for layout in definition.tables:
        table = tables[layout["TableName"]]
        properties = table["Properties"]
        for key in ("KeySchema", "AttributeDefinitions", "LocalSecondaryIndexes"):
            assert properties.get(key) == layout.get(key), key
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert properties["SSESpecification"]["SSEEnabled"] is True
        ttl = definition.time_to_live.get(layout["TableName"])
        if ttl:
            assert properties["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in properties
        assert properties["DeletionProtectionEnabled"] is (stage == "prod")
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert definition.time_to_live, "the records table expires items"


# --- IAM ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_each_function_has_a_role_of_its_own(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    resources = templates[stage]["Resources"]
    for function_id, (_, role_id) in APP_FUNCTIONS.items():
        assert resources[function_id]["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert resources[role_id]["Type"] == "AWS::IAM::Role"
        assert "ManagedPolicyArns" not in resources[role_id]["Properties"]


@pytest.mark.parametrize("stage", STAGES)
def test_each_role_grants_its_policy_file_on_the_stacks_own_resources(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    definition = load_stage(stage)
    by_function = {}
    for function_id, (name, role_id) in APP_FUNCTIONS.items():
        (inline,) = template["Resources"][role_id]["Properties"]["Policies"]
        statements = inline["PolicyDocument"]["Statement"]
        assert [(s["Sid"], s["Action"]) for s in statements] == [
            (s["Sid"], s["Action"]) for s in definition.policies[name]["Statement"]
        ]
        for statement in statements:
            for resource in statement["Resource"]:
                if isinstance(resource, str):
                    assert resource == "*", resource
                    assert all(a.startswith("xray:") for a in statement["Action"])
                else:
                    assert references(resource) <= set(template["Resources"]), resource
        by_sid = {s["Sid"]: s for s in statements}
        # Each function writes its own log group only, and never creates one.
        logs = by_sid["FunctionLogs"]
        assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert references(logs["Resource"]) == {f"{function_id}LogGroup"}
        assert ("Tracing" in by_sid) is definition.xray
        by_function[name] = by_sid

    api = by_function["api_handler"]
    assert references(api["UsersTable"]["Resource"]) == {"UsersTable"}
    assert references(api["TasksTable"]["Resource"]) == {"TasksTable"}
    assert api["TaskListingByStatus"]["Action"] == ["dynamodb:Query"]
    assert api["TaskListingByStatus"]["Resource"] == [
        {"Fn::Sub": "${TasksTable.Arn}/index/by_status"}
    ]
    assert references(api["LoginAttemptRecords"]["Resource"]) == {"RecordsTable"}
    assert references(api["SessionsTable"]["Resource"]) == {"SessionsTable"}
    # The API handler may invoke the purge function, nothing else.
    assert api["AccountPurgeHandOff"]["Action"] == ["lambda:InvokeFunction"]
    assert api["AccountPurgeHandOff"]["Resource"] == [{"Fn::GetAtt": ["PurgeAccount", "Arn"]}]
    for name in ("api_handler", "jwt_authorizer"):
        secrets = by_function[name]["TokenSigningSecret"]["Resource"]
        assert [r["Fn::Sub"].rsplit(":parameter", 1)[1] for r in secrets] == (
            definition.secret_parameters
        )

    assert set(by_function["jwt_authorizer"]) - {"Tracing"} == {
        "TokenSigningSecret",
        "FunctionLogs",
    }

    purge = by_function["purge_account"]
    assert set(purge) - {"Tracing"} == {"AccountPurge", "NextPurgeSlice", "FunctionLogs"}
    assert references(purge["AccountPurge"]["Resource"]) == {"TasksTable"}
    # Itself only, by name: a reference from its role to the function would be circular.
    assert purge["NextPurgeSlice"]["Resource"] == [
        sam_template.function_arn(f"tasks-api-{stage}-purge_account")
    ]
    assert template["Resources"]["PurgeAccount"]["Properties"]["FunctionName"] == (
        f"tasks-api-{stage}-purge_account"
    )


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
    for role in resources_of(templates[stage], "AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                for resource in resources:
                    if isinstance(resource, str):
                        assert resource == "*"
                        assert all(a.startswith("xray:") for a in statement["Action"])


def test_packaging_refuses_grants_it_cannot_point_at_a_created_resource() -> None:
    stage = load_stage("dev")
    chalice_like = {"Resources": {}}
    unscoped = Grant("Everything", ["dynamodb:Scan"], [], [], [], [], unscoped=True)
    with pytest.raises(ValueError, match="only X-Ray"):
        sam_template.statement(unscoped, {}, {})
    policy = stage.policies["api_handler"]
    foreign = json.loads(json.dumps(policy).replace("tasks-api-dev-users", "someone-else"))
    with pytest.raises(ValueError, match="someone-else"):
        sam_template.statement(grants(_with_policy(stage, foreign), "api_handler")[0], {}, {})
    with pytest.raises(ValueError, match="not the stage's"):
        sam_template.build_template(stage, chalice_like)
    other = json.loads(json.dumps(policy).replace("-dev-purge_account", "-dev-other"))
    invoke = next(g for g in grants(_with_policy(stage, other), "api_handler") if g.functions)
    with pytest.raises(ValueError, match="tasks-api-dev-other"):
        sam_template.statement(invoke, {}, {}, {"tasks-api-dev-purge_account": "PurgeAccount"})
    with pytest.raises(ValueError, match="StreamSpecifications"):
        sam_template.table_resource(
            {"TableName": "t", "StreamSpecifications": {}}, ttl_attribute=None, production=False
        )


def _with_policy(stage: Stage, policy: dict[str, Any]) -> Stage:
    """``stage`` with ``policy`` as the API handler's policy file."""
    return dataclasses.replace(stage, policies={**stage.policies, "api_handler": policy})


# --- the signing secret ---------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_signing_secret_is_created_by_a_scoped_custom_resource(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    name = load_stage(stage).secret_parameters[0]
    secret = template["Resources"]["SigningSecret"]
    assert secret["Type"] == "Custom::SigningSecret"
    assert secret["Properties"]["ParameterName"] == name
    assert secret["Properties"]["DeleteOnStackDelete"] == {
        "Ref": "DeleteSigningSecretOnStackDelete"
    }
    assert template["Parameters"]["DeleteSigningSecretOnStackDelete"]["Default"] == "false"

    function = template["Resources"]["SigningSecretFunction"]["Properties"]
    assert function["Runtime"] in ("python3.11", "python3.12")
    assert function["Code"]["ZipFile"] == sam_template.SECRET_SOURCE.read_text()
    (policy,) = template["Resources"]["SigningSecretFunctionRole"]["Properties"]["Policies"]
    ssm, logs = policy["PolicyDocument"]["Statement"]
    assert sorted(ssm["Action"]) == ["ssm:DeleteParameter", "ssm:PutParameter"]
    assert ssm["Resource"] == sam_template.parameter_arn(name)
    assert logs["Resource"] == {"Fn::GetAtt": ["SigningSecretFunctionLogGroup", "Arn"]}

    # The functions read that parameter and start only once it exists; no output holds it.
    for function_id in ("APIHandler", "JwtAuthorizer"):
        resource = template["Resources"][function_id]
        variables = resource["Properties"]["Environment"]["Variables"]
        assert variables["TOKEN_SIGNING_SECRET_PARAMETER"] == name
        assert "SigningSecret" in resource["DependsOn"]
    assert "TOKEN_SIGNING_SECRET" not in json.dumps(template["Outputs"])
    assert references(template["Outputs"]).isdisjoint({"SigningSecret"})


# --- logs, API stage, CORS ----------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_logs_to_a_created_group_with_retention(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    groups = resources_of(template, "AWS::Logs::LogGroup")
    names = {g["Properties"]["LogGroupName"]: k for k, g in groups.items()}
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    retention = template["Parameters"]["LogRetentionInDays"]
    assert retention["Default"] in retention["AllowedValues"]
    for function in resources_of(template, *FUNCTION_TYPES).values():
        group_id = names[f"/aws/lambda/{function['Properties']['FunctionName']}"]
        assert group_id in function["DependsOn"]
    assert template["Resources"]["APIHandler"]["Properties"]["FunctionName"] == f"tasks-api-{stage}"
    assert set(names) >= {load_stage(stage).log_group(name) for name, _ in APP_FUNCTIONS.values()}
    assert retention["Default"] == str(load_stage(stage).log_retention_days)


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_handler_hands_purges_to_the_created_purge_function(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    resources = templates[stage]["Resources"]
    handler = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert handler["PURGE_FUNCTION_NAME"] == {"Ref": "PurgeAccount"}
    purge = resources["PurgeAccount"]["Properties"]
    # Its own name, literal (a Ref to itself would be circular), is the name it is given.
    assert purge["Environment"]["Variables"]["PURGE_FUNCTION_NAME"] == purge["FunctionName"]
    assert purge["Handler"] == "app.purge_account"
    assert purge["Timeout"] == resources["APIHandler"]["Properties"]["Timeout"]


@pytest.mark.parametrize("stage", STAGES)
def test_api_stage_has_an_access_log_throttling_and_the_configured_tracing(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    template = templates[stage]
    api = template["Resources"]["RestAPI"]["Properties"]
    assert api["StageName"] == load_stage(stage).api_gateway_stage
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.requestId" in json.loads(api["AccessLogSetting"]["Format"]).values()
    (settings,) = api["MethodSettings"]
    assert settings["ResourcePath"] == "/*"
    assert settings["HttpMethod"] == "*"
    for limit in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
        assert settings[limit] == {"Ref": limit}
        assert int(template["Parameters"][limit]["Default"]) > 0
    assert api["TracingEnabled"] is load_stage(stage).xray
    # No second, unlogged "Stage" stage; every update redeploys (parameters in the body).
    assert api["OpenApiVersion"] == "2.0"
    assert api["AlwaysDeploy"] is True
    # The account's CloudWatch role is created by default (a fresh account's first deploy
    # needs it for access logging), and kept when the stack is deleted.
    assert template["Parameters"]["CreateApiGatewayCloudWatchRole"]["Default"] == "true"
    account = template["Resources"]["ApiGatewayAccount"]
    assert account["Condition"] == "CreateApiGatewayCloudWatchRole"
    assert account["DeletionPolicy"] == "Retain"
    assert "ApiGatewayAccountReady" in template["Resources"]["RestAPI"]["DependsOn"]


@pytest.mark.parametrize("stage", STAGES)
def test_api_gateways_own_errors_carry_the_apps_cors_headers(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    body = templates[stage]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert set(GATEWAY_ERRORS) <= set(responses)
    expected = {
        f"gatewayresponse.header.{name}": f"'{value}'"
        for name, value in cors_config("*").get_access_control_headers().items()
    }
    expected["gatewayresponse.header.Access-Control-Allow-Origin"] = {
        "Fn::Sub": "'${AllowedOrigin}'"
    }
    for response_type in GATEWAY_ERRORS:
        assert responses[response_type]["responseParameters"] == expected, response_type
    for response_type in CONTRACT_RESPONSES:
        parameters = responses[response_type]["responseParameters"]
        assert parameters.items() >= expected.items(), response_type
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
    for function_id in ("APIHandler", "JwtAuthorizer"):
        variables = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]
        assert variables["ALLOWED_ORIGIN"] == {"Ref": "AllowedOrigin"}
        assert variables["TOKEN_LIFETIME_SECONDS"] == {"Ref": "TokenLifetimeSeconds"}
        assert variables["USERS_TABLE"] == {"Ref": "UsersTable"}
    # Chalice baked the literal origin into every OPTIONS response; none is left.
    body = json.dumps(template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"])
    assert body.count('Access-Control-Allow-Origin": {"Fn::Sub": "\'${AllowedOrigin}\'"}') >= 3
    assert f"\"'{settings.allowed_origin}'\"" not in body


@pytest.mark.parametrize("stage", STAGES)
def test_outputs_name_the_url_and_the_tables(
    stage: str, templates: dict[str, dict[str, Any]]
) -> None:
    outputs = templates[stage]["Outputs"]
    assert "execute-api" in outputs["EndpointURL"]["Value"]["Fn::Sub"]
    for table in ("UsersTable", "TasksTable", "RecordsTable", "SessionsTable"):
        assert outputs[f"{table}Name"]["Value"] == {"Ref": table}
    assert outputs["SigningSecretParameterName"]["Value"] == load_stage(stage).secret_parameters[0]


# --- linters --------------------------------------------------------------------------------


def _scanner(name: str) -> Path:
    path = SCAN_BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in .venv-scan; run `make install`")
    return path


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


# --- the custom resource's code, against moto's SSM -------------------------------------------


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
        source = sam_template.SECRET_SOURCE.read_text()
        exec(compile(source, "index.py", "exec"), module.__dict__)  # noqa: S102 - our own file
        yield module, responses, boto3.client("ssm")


def _event(request: str, delete: str = "false", physical_id: str | None = None) -> dict:
    event = {
        "RequestType": request,
        "ResponseURL": "https://example.invalid/response",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "ParameterName": "/tasks-api/dev/token-signing-secret",
            "DeleteOnStackDelete": delete,
        },
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


def test_custom_resource_creates_a_secret_once_and_deletes_it_only_when_asked(
    secret_function: tuple[types.ModuleType, FakeCfnResponse, Any],
) -> None:
    module, responses, ssm = secret_function
    name = "/tasks-api/dev/token-signing-secret"

    module.handler(_event("Create"), object())
    parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    first = parameter["Value"]
    assert len(first.encode()) >= 32

    module.handler(_event("Create"), object())  # e.g. a stack re-created over a kept secret
    module.handler(_event("Update", physical_id=name), object())
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == first

    module.handler(_event("Delete", "false", physical_id=name), object())
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == first
    module.handler(_event("Delete", "true", physical_id="some-log-stream"), object())
    assert ssm.get_parameter(Name=name)["Parameter"]["Name"] == name  # not ours to delete
    module.handler(_event("Delete", "true", physical_id=name), object())
    with pytest.raises(ClientError, match="ParameterNotFound"):
        ssm.get_parameter(Name=name)
    module.handler(_event("Delete", "true", physical_id=name), object())  # already gone

    assert [r["status"] for r in responses.sent] == ["SUCCESS"] * 7
    assert {r["physical_id"] for r in responses.sent} == {name}
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


def test_custom_resource_code_fits_inline() -> None:
    assert len(sam_template.SECRET_SOURCE.read_text()) <= sam_template.ZIP_FILE_LIMIT


def test_packaging_never_clears_a_directory_holding_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match=r"notes\.txt"):
        sam.clear(tmp_path)
    assert (tmp_path / "notes.txt").exists()
