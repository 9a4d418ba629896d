"""The Terraform package (``make package-terraform``): what a deployer relies on, then
Terraform itself (init from the environment's provider source, validate, plan against moto's
server) and checkov over the generated files.

Both stages are packaged once per module. Terraform and checkov tests skip, saying why,
when the tool is missing; they start processes, so they are ``e2e`` (``make unit`` skips them).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy import terraform as packager
from deploy.stage import PROJECT_DIR, grants, load_stage
from deploy.terraform_hcl import COMMENT_KEY, JsonEncode, render, template
from devstack.stack import free_port

STAGES = ("dev", "prod")
TERRAFORM = shutil.which("terraform")
REQUIRED_VARIABLE = "TERRAFORM_TESTS_REQUIRED"
CHECKOV = PROJECT_DIR / ".venv-scan" / "bin" / "checkov"
needs_terraform = pytest.mark.skipif(
    TERRAFORM is None,
    reason="terraform is not on PATH: install Terraform >= 1.5 to run the Terraform package tests",
)
needs_checkov = pytest.mark.skipif(
    not CHECKOV.exists(),
    reason=".venv-scan/bin/checkov is missing: run `make install` to create the scan venv",
)
TOOL_TIMEOUT = 300
MOTO_SERVICES = ("apigateway", "dynamodb", "iam", "lambda", "logs", "ssm", "sts")


def assert_contract_gateway_responses(responses: dict[str, Any]) -> None:
    """An unknown path is 404 not_found; an authorizer that raises is 503 + Retry-After."""
    unknown = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert str(unknown["statusCode"]) == "404"
    body = json.loads(unknown["responseTemplates"]["application/json"])
    assert body["error"]["code"] == "not_found"
    for response_type in ("AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"):
        failure = responses[response_type]
        assert str(failure["statusCode"]) == "503"
        assert failure["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
        body = json.loads(failure["responseTemplates"]["application/json"])
        assert body["error"]["code"] == "service_unavailable"


EXPECTED_RESOURCES = {
    "aws_api_gateway_account.this[0]",
    "aws_api_gateway_deployment.rest_api",
    "aws_api_gateway_method_settings.all",
    "aws_api_gateway_rest_api.rest_api",
    "aws_api_gateway_stage.rest_api",
    "aws_cloudwatch_log_group.api_access",
    "aws_cloudwatch_log_group.api_execution",
    "aws_cloudwatch_log_group.api_handler",
    "aws_cloudwatch_log_group.jwt_authorizer",
    "aws_cloudwatch_log_group.purge_account",
    "aws_dynamodb_table.records",
    "aws_dynamodb_table.sessions",
    "aws_dynamodb_table.tasks",
    "aws_dynamodb_table.users",
    "aws_iam_role.api_gateway_cloudwatch[0]",
    "aws_iam_role.api_handler_role",
    "aws_iam_role.jwt_authorizer_role",
    "aws_iam_role.purge_account_role",
    "aws_iam_role_policy.api_handler_role",
    "aws_iam_role_policy.jwt_authorizer_role",
    "aws_iam_role_policy.purge_account_role",
    "aws_iam_role_policy_attachment.api_gateway_cloudwatch[0]",
    "aws_lambda_function.api_handler",
    "aws_lambda_function.jwt_authorizer",
    "aws_lambda_function.purge_account",
    "aws_lambda_permission.jwt_authorizer_invoke",
    "aws_lambda_permission.rest_api_invoke",
    "aws_ssm_parameter.token_signing_secret",
    "aws_ssm_parameter.token_signing_secret_previous",
}


@dataclass(frozen=True)
class Package:
    stage: str
    directory: Path
    config: dict[str, Any]

    def resources(self, type_name: str) -> dict[str, dict[str, Any]]:
        return self.config["resource"][type_name]

    def text(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.directory.glob("*.tf")))


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Package]:
    root = tmp_path_factory.mktemp("terraform-packages")
    result = {}
    for stage in STAGES:
        config = packager.package(load_stage(stage), root / stage)
        result[stage] = Package(stage, root / stage, config)
    return result


@pytest.fixture(params=STAGES)
def package(request: pytest.FixtureRequest, packages: dict[str, Package]) -> Package:
    return packages[request.param]


# -- the package's structure ---------------------------------------------------------------


def test_pins_are_lifted_and_only_the_aws_provider_is_needed(package: Package) -> None:
    terraform = package.config["terraform"]
    assert terraform["required_version"] == ">= 1.5"
    assert terraform["required_providers"] == {
        "aws": {"source": "hashicorp/aws", "version": "~> 5.0"}
    }
    text = package.text()
    assert "null_data_source" not in text
    assert "< 1.4.0" not in text
    assert sorted(path.name for path in package.directory.iterdir()) == [
        "api_gateway.tf",
        "deployment.zip",
        "dynamodb.tf",
        "iam.tf",
        "lambda.tf",
        "logs.tf",
        "outputs.tf",
        "ssm.tf",
        "variables.tf",
        "versions.tf",
    ]


def test_the_deployment_has_no_stage_and_a_stage_resource_serves_it(package: Package) -> None:
    deployment = package.resources("aws_api_gateway_deployment")["rest_api"]
    assert "stage_name" not in deployment
    assert "stage_description" not in deployment
    assert deployment["triggers"]["redeployment"].startswith("${sha1(aws_api_gateway_rest_api.")
    assert deployment["lifecycle"] == {"create_before_destroy": True}
    stage = package.resources("aws_api_gateway_stage")["rest_api"]
    assert stage["stage_name"] == load_stage(package.stage).api_gateway_stage
    assert stage["deployment_id"] == "${aws_api_gateway_deployment.rest_api.id}"
    assert stage["access_log_settings"]["destination_arn"] == (
        "${aws_cloudwatch_log_group.api_access.arn}"
    )
    settings = package.resources("aws_api_gateway_method_settings")["all"]["settings"]
    assert settings["throttling_burst_limit"] == "${var.throttling_burst_limit}"
    assert settings["throttling_rate_limit"] == "${var.throttling_rate_limit}"
    assert settings["data_trace_enabled"] is False  # bodies carry passwords and tokens
    assert "aws_api_gateway_deployment.rest_api.invoke_url" not in package.text()
    assert package.config["output"]["api_url"]["value"] == (
        "${aws_api_gateway_stage.rest_api.invoke_url}"
    )


def test_tables_come_from_the_layout_with_recovery_encryption_and_ttl(package: Package) -> None:
    stage = load_stage(package.stage)
    tables = {
        body["name"].replace("${local.name_prefix}", f"tasks-api-{stage.name}"): body
        for body in package.resources("aws_dynamodb_table").values()
    }
    assert set(tables) == {definition["TableName"] for definition in stage.tables}
    for definition in stage.tables:
        table = tables[definition["TableName"]]
        assert table["billing_mode"] == "PAY_PER_REQUEST"
        assert table["point_in_time_recovery"] == {"enabled": True}
        assert table["server_side_encryption"] == {"enabled": True}
        assert table["deletion_protection_enabled"] == "${var.deletion_protection}"
        assert {(a["name"], a["type"]) for a in table["attribute"]} == {
            (a["AttributeName"], a["AttributeType"]) for a in definition["AttributeDefinitions"]
        }
        assert [index["name"] for index in table.get("local_secondary_index", [])] == [
            index["IndexName"] for index in definition.get("LocalSecondaryIndexes", [])
        ]
        ttl = stage.time_to_live.get(definition["TableName"])
        expected_ttl = {"attribute_name": ttl, "enabled": True} if ttl else None
        assert table.get("ttl") == expected_ttl


def test_deletion_protection_is_on_by_default_only_on_prod(package: Package) -> None:
    default = package.config["variable"]["deletion_protection"]["default"]
    assert default is (package.stage == "prod")


def test_iam_resources_are_references_and_only_xray_is_unscoped(package: Package) -> None:
    stage = load_stage(package.stage)
    functions = package.resources("aws_lambda_function")
    assert set(functions) == set(stage.functions)
    policies = package.resources("aws_iam_role_policy")
    for function, body in functions.items():
        # Each function has a role of its own, granted its own policy file.
        role = body["role"].removeprefix("${aws_iam_role.").removesuffix(".arn}")
        assert role == f"{function}_role"
        policy = policies[role]
        assert policy["role"] == f"${{aws_iam_role.{role}.id}}"
        assert isinstance(policy["policy"], JsonEncode)
        statements = policy["policy"].value["Statement"]
        expected = grants(stage, function)
        assert [statement["Sid"] for statement in statements] == [g.sid for g in expected]
        assert [statement["Action"] for statement in statements] == [g.actions for g in expected]
        for statement in statements:
            assert "logs:CreateLogGroup" not in statement["Action"]
            if any(action.startswith("logs:") for action in statement["Action"]):
                own = f"${{aws_cloudwatch_log_group.{function}.arn}}"
                assert statement["Resource"] == [own, f"{own}:log-stream:*"]
            if "lambda:InvokeFunction" in statement["Action"]:
                assert function in ("api_handler", "purge_account")
                assert statement["Resource"] == ["${aws_lambda_function.purge_account.arn}"]
    assert set(policies) == {f"{function}_role" for function in functions}
    for policy in policies.values():
        statements = policy["policy"].value["Statement"]
        for statement in statements:
            for resource in statement["Resource"]:
                if resource == "*":
                    assert all(action.startswith("xray:") for action in statement["Action"])
                else:
                    assert resource.startswith(
                        (
                            "${aws_dynamodb_table.",
                            "${aws_ssm_parameter.",
                            "${aws_cloudwatch_log_group.",
                            "${aws_lambda_function.",
                        )
                    ), resource
                    assert "arn:aws" not in resource
    unscoped = '"*"' in package.directory.joinpath("iam.tf").read_text()
    assert unscoped is stage.xray


def test_the_signing_secrets_are_generated_once_without_extra_providers(package: Package) -> None:
    parameters = package.resources("aws_ssm_parameter")
    assert set(parameters) == {"token_signing_secret", "token_signing_secret_previous"}
    current, previous = (
        parameters["token_signing_secret"],
        parameters["token_signing_secret_previous"],
    )
    assert current["type"] == previous["type"] == "SecureString"
    assert "uuid()" in current["value"]
    assert previous["value"] == "${aws_ssm_parameter.token_signing_secret.value}"
    assert current["lifecycle"] == previous["lifecycle"] == {"ignore_changes": ["value"]}


def test_functions_are_configured_from_resources_and_variables(package: Package) -> None:
    for key, function in package.resources("aws_lambda_function").items():
        variables = function["environment"]["variables"]
        assert variables["USERS_TABLE"] == "${aws_dynamodb_table.users.name}"
        assert variables["TASKS_TABLE"] == "${aws_dynamodb_table.tasks.name}"
        assert variables["RECORDS_TABLE"] == "${aws_dynamodb_table.records.name}"
        assert variables["SESSIONS_TABLE"] == "${aws_dynamodb_table.sessions.name}"
        assert variables["TOKEN_SIGNING_SECRET_PARAMETER"] == (
            "${aws_ssm_parameter.token_signing_secret.name}"
        )
        assert variables["ALLOWED_ORIGIN"] == "${var.allowed_origin}"
        assert variables["TOKEN_LIFETIME_SECONDS"] == "${var.token_lifetime_seconds}"
        assert variables["STAGE"] == "${var.stage}"
        assert (
            function["logging_config"]["log_group"] == f"${{aws_cloudwatch_log_group.{key}.name}}"
        )
        # The created purge function; its own name is a template (it cannot refer to itself).
        assert variables["PURGE_FUNCTION_NAME"] == (
            "${local.name_prefix}-purge_account"
            if key == "purge_account"
            else "${aws_lambda_function.purge_account.function_name}"
        )
    purge = package.resources("aws_lambda_function")["purge_account"]
    assert purge["function_name"] == "${local.name_prefix}-purge_account"
    assert purge["handler"] == "app.purge_account"
    for group in package.resources("aws_cloudwatch_log_group").values():
        assert group["retention_in_days"] == "${var.log_retention_days}"


def test_the_allowed_origin_governs_every_cors_answer(package: Package) -> None:
    swagger = package.config["locals"]["chalice_api_swagger"].value
    preflights = [
        operation["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]
        for path in swagger["paths"].values()
        for operation in [path["options"]]
    ]
    assert len(preflights) == len(swagger["paths"])
    for parameters in preflights:
        assert parameters["method.response.header.Access-Control-Allow-Origin"] == (
            "'${var.allowed_origin}'"
        )
    responses = swagger["x-amazon-apigateway-gateway-responses"]
    assert responses["UNAUTHORIZED"]["statusCode"] == "401"
    assert responses["ACCESS_DENIED"]["statusCode"] == "403"
    for response in responses.values():
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == (
            "'${var.allowed_origin}'"
        )
        assert "Authorization" in headers["gatewayresponse.header.Access-Control-Allow-Headers"]
    # The contract's body for API Gateway's own 401/403: {"message": "Unauthorized"}.
    for response_type in ("UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX"):
        assert responses[response_type]["responseTemplates"] == {
            "application/json": '{"message":$context.error.messageString}'
        }
    assert_contract_gateway_responses(responses)
    origin = load_stage(package.stage).settings.allowed_origin
    assert package.config["variable"]["allowed_origin"]["default"] == origin
    if origin != "*":  # the variable's default is the only place the origin is spelt out
        for path in package.directory.glob("*.tf"):
            assert (origin in path.read_text()) is (path.name == "variables.tf"), path.name


def test_variables_and_outputs_exist(package: Package) -> None:
    assert set(package.config["variable"]) >= {
        "region",
        "stage",
        "allowed_origin",
        "token_lifetime_seconds",
        "log_retention_days",
        "throttling_rate_limit",
        "throttling_burst_limit",
        "deletion_protection",
        "manage_api_gateway_account",
    }
    assert package.config["variable"]["stage"]["default"] == package.stage
    assert set(package.config["output"]) >= {
        "api_url",
        "users_table",
        "tasks_table",
        "records_table",
        "sessions_table",
        "signing_secret_parameter",
    }


def test_the_cli_rewrites_generated_files_and_keeps_state(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    out.mkdir()
    (out / "terraform.tfstate").write_text("{}")
    (out / "backend.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    (out / "old.tf").write_text(f"{packager.GENERATED_HEADER} for stage 'dev'\n")
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "deploy.terraform", "--stage", "dev", "--output", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "terraform init && terraform apply" in result.stdout
    assert (out / "terraform.tfstate").read_text() == "{}"
    assert (out / "backend.tf").exists()
    assert not (out / "old.tf").exists()
    assert (out / "deployment.zip").stat().st_size > 0


def test_hcl_templates_keep_expressions_and_escape_literals() -> None:
    assert template("plain") == '"plain"'
    assert template("${var.stage}") == "var.stage"
    assert template('${filebase64sha256("${path.module}/x.zip")}') == (
        'filebase64sha256("${path.module}/x.zip")'
    )
    assert template('say "${var.a}"\n') == '"say \\"${var.a}\\"\\n"'
    assert template("$${literal}") == '"$${literal}"'
    assert render({"variable": {"a": {"type": "string", "default": "${x}"}}}) == (
        'variable "a" {\n  type    = string\n  default = "$${x}"\n}\n'
    )
    assert "# note" in render({"locals": {COMMENT_KEY: "note", "a": 1}})
    with pytest.raises(ValueError, match="neither a known nested block"):
        render({"resource": {"aws_x": {"y": {"mystery": {"a": 1}}}}})


# -- Terraform ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TerraformRun:
    validate: dict[str, Any]
    plan_output: str
    plan: dict[str, Any]

    def planned(self, address: str) -> dict[str, Any]:
        for resource in self.plan["planned_values"]["root_module"]["resources"]:
            if resource["address"] == address:
                return resource["values"]
        raise KeyError(address)


def _terraform_env() -> dict[str, str]:
    """The caller's environment (TF_CLI_CONFIG_FILE and all) minus anything that reaches AWS."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(
        CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0", AWS_EC2_METADATA_DISABLED="true"
    )
    return environment


def _run(command: list[str], cwd: Path, environment: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - fixed argv
        command,
        cwd=cwd,
        env=environment or _terraform_env(),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed in {cwd}:\n{output}"
    return output


def _init(directory: Path) -> None:
    """``terraform init``; skips, saying why, when the provider cannot be had at all (no
    registry access and no mirror configured) unless ``TERRAFORM_TESTS_REQUIRED=1``, which
    CI sets so that a broken mirror fails instead."""
    command = [TERRAFORM, "init", "-input=false", "-no-color"]
    result = subprocess.run(  # noqa: S603 - fixed argv
        command,
        cwd=directory,
        env=_terraform_env(),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    unavailable = "Failed to query available provider packages" in output
    if result.returncode != 0 and unavailable and os.environ.get(REQUIRED_VARIABLE) != "1":
        pytest.skip(
            "terraform init cannot obtain hashicorp/aws: no registry access and no provider "
            "mirror in TF_CLI_CONFIG_FILE (.ci/run writes one for CI's mirror)"
        )
    assert result.returncode == 0, f"{' '.join(command)} failed in {directory}:\n{output}"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _moto_override(endpoint: str) -> dict[str, Any]:
    """Provider settings for moto: fake credentials, every service the stack uses on moto.

    Credentials are validated and the account id looked up (STS on moto), so a service
    left off the list would fail the plan instead of silently reaching AWS.
    """
    return {
        "provider": {
            "aws": {
                "region": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "skip_metadata_api_check": True,
                "skip_region_validation": True,
                "endpoints": {service: endpoint for service in MOTO_SERVICES},
            }
        }
    }


@pytest.fixture(scope="module")
def terraform_runs(
    packages: dict[str, Package], moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, TerraformRun]:
    """init + validate on each generated directory, then plan a copy against moto."""
    if TERRAFORM is None:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.5 to run these tests")
    root = tmp_path_factory.mktemp("terraform-plans")

    def run(stage: str) -> TerraformRun:
        directory = packages[stage].directory
        _init(directory)
        validate = json.loads(_run([TERRAFORM, "validate", "-json", "-no-color"], directory))
        copy = root / stage
        shutil.copytree(
            directory, copy, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl")
        )
        override = _moto_override(moto_endpoint)
        (copy / "zz_moto_override.tf.json").write_text(json.dumps(override))
        _init(copy)
        plan_output = _run(
            [TERRAFORM, "plan", "-input=false", "-no-color", "-lock=false", "-out=plan.tfplan"],
            copy,
        )
        plan = json.loads(_run([TERRAFORM, "show", "-json", "plan.tfplan"], copy))
        return TerraformRun(validate, plan_output, plan)

    with ThreadPoolExecutor(max_workers=len(STAGES)) as pool:
        return dict(zip(STAGES, pool.map(run, STAGES), strict=True))


@pytest.fixture(params=STAGES)
def terraform_run(
    request: pytest.FixtureRequest, terraform_runs: dict[str, TerraformRun]
) -> TerraformRun:
    return terraform_runs[request.param]


@needs_terraform
def test_generated_files_are_in_canonical_format(packages: dict[str, Package]) -> None:
    for package in packages.values():
        _run([TERRAFORM or "terraform", "fmt", "-check", "-diff", "-no-color"], package.directory)


@pytest.mark.e2e
@needs_terraform
def test_validate_passes_without_warnings(terraform_run: TerraformRun) -> None:
    assert terraform_run.validate["valid"] is True, terraform_run.validate
    assert terraform_run.validate["error_count"] == 0
    assert terraform_run.validate["warning_count"] == 0, terraform_run.validate["diagnostics"]


@pytest.mark.e2e
@needs_terraform
def test_plan_against_moto_creates_the_whole_stack_without_warnings(
    terraform_run: TerraformRun,
) -> None:
    assert "warning" not in terraform_run.plan_output.lower()
    assert "deprecat" not in terraform_run.plan_output.lower()
    changes = terraform_run.plan["resource_changes"]
    assert {change["address"] for change in changes} == EXPECTED_RESOURCES
    assert all(change["change"]["actions"] == ["create"] for change in changes)
    assert set(terraform_run.plan["output_changes"]) >= {"api_url", "users_table"}


@pytest.mark.e2e
@needs_terraform
@pytest.mark.parametrize("stage_name", STAGES)
def test_planned_values_match_the_stage(
    stage_name: str, terraform_runs: dict[str, TerraformRun]
) -> None:
    run, stage = terraform_runs[stage_name], load_stage(stage_name)
    for definition in stage.tables:
        key = definition["TableName"].removeprefix(f"tasks-api-{stage_name}-")
        table = run.planned(f"aws_dynamodb_table.{key}")
        assert table["name"] == definition["TableName"]
        assert table["deletion_protection_enabled"] is stage.is_production
        assert table["point_in_time_recovery"] == [{"enabled": True}]
        assert table["server_side_encryption"][0]["enabled"] is True
    assert run.planned("aws_dynamodb_table.records")["ttl"][0] == {
        "attribute_name": "expires_at",
        "enabled": True,
    }
    api_stage = run.planned("aws_api_gateway_stage.rest_api")
    assert api_stage["stage_name"] == "api"
    assert api_stage["xray_tracing_enabled"] is stage.xray
    assert "requestId" in json.loads(api_stage["access_log_settings"][0]["format"])
    settings = run.planned("aws_api_gateway_method_settings.all")["settings"][0]
    assert (settings["throttling_burst_limit"], settings["throttling_rate_limit"]) == (100, 50)
    function = run.planned("aws_lambda_function.api_handler")
    environment = function["environment"][0]["variables"]
    assert environment["ALLOWED_ORIGIN"] == stage.settings.allowed_origin
    assert environment["STAGE"] == stage_name
    assert environment["TOKEN_LIFETIME_SECONDS"] == str(stage.settings.token_lifetime_seconds)
    assert function["logging_config"][0]["log_group"] == f"/aws/lambda/tasks-api-{stage_name}"
    for name in stage.functions:
        group = run.planned(f"aws_cloudwatch_log_group.{name}")
        assert group["name"] == stage.log_group(name)
        assert (
            group["retention_in_days"]
            == stage.log_retention_days
            == (365 if stage.is_production else 30)
        )
    purge = run.planned("aws_lambda_function.purge_account")
    assert purge["function_name"] == f"tasks-api-{stage_name}-purge_account"
    assert purge["environment"][0]["variables"]["PURGE_FUNCTION_NAME"] == purge["function_name"]
    assert run.planned("aws_ssm_parameter.token_signing_secret")["type"] == "SecureString"
    resources = run.plan["configuration"]["root_module"]["resources"]

    def policy_references(function: str) -> set[str]:
        address = f"aws_iam_role_policy.{function}_role"
        policy = next(r for r in resources if r["address"] == address)
        return {
            reference
            for reference in policy["expressions"]["policy"]["references"]
            if reference.endswith(".arn")
        }

    secrets = {
        "aws_ssm_parameter.token_signing_secret.arn",
        "aws_ssm_parameter.token_signing_secret_previous.arn",
    }
    assert policy_references("api_handler") == {
        "aws_dynamodb_table.users.arn",
        "aws_dynamodb_table.tasks.arn",
        "aws_dynamodb_table.records.arn",
        "aws_dynamodb_table.sessions.arn",
        *secrets,
        "aws_lambda_function.purge_account.arn",
        "aws_cloudwatch_log_group.api_handler.arn",
    }
    assert policy_references("jwt_authorizer") == {
        *secrets,
        "aws_cloudwatch_log_group.jwt_authorizer.arn",
    }
    assert policy_references("purge_account") == {
        "aws_dynamodb_table.tasks.arn",
        "aws_lambda_function.purge_account.arn",
        "aws_cloudwatch_log_group.purge_account.arn",
    }
    deployment = next(r for r in resources if r["address"] == "aws_api_gateway_deployment.rest_api")
    assert "stage_name" not in deployment["expressions"]


# -- checkov ------------------------------------------------------------------------------------


@pytest.mark.e2e
@needs_checkov
def test_checkov_finds_nothing_unsuppressed(packages: dict[str, Package], tmp_path: Path) -> None:
    for package in packages.values():
        copy = tmp_path / package.stage
        copy.mkdir()
        for path in package.directory.glob("*.tf"):
            shutil.copy(path, copy / path.name)
    environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    result = subprocess.run(  # noqa: S603 - fixed argv
        [
            *(str(CHECKOV), "-d", str(tmp_path), "--framework", "terraform"),
            *("--skip-download", "--output", "json"),
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    report = json.loads(result.stdout)
    assert isinstance(report, dict), f"unexpected checkov report: {result.stdout[:500]}"
    summary = report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in report["results"]["failed_checks"]
    ]
    assert summary["failed"] == 0, failed
    assert summary["parsing_errors"] == 0
    # Every resource was scanned (checkov silently ignores files it cannot read, e.g. .tf.json).
    expected = sum(
        len(named) for package in packages.values() for named in package.config["resource"].values()
    )
    assert summary["resource_count"] == expected
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"]["suppress_comment"]) > 20, skipped["check_id"]
