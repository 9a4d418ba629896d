"""The Terraform module's ``parameters_secrets_extension_layer_arn``: the API handler and the
authorizer get AWS's Parameters and Secrets Lambda Extension layer and the port variable
``chalicelib/storage/parameters_extension.py`` reads; the purge function, which reads no
secret, gets neither; nothing else in the plan changes (issue 15, item 3).

Planned against moto like tests/test_infra_terraform.py, in a copy of the dev environment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from chalicelib.storage import parameters_extension
from deploy.stage import load_stage
from tests.test_infra_terraform import (  # noqa: F401 - fixtures used by name
    FUNCTIONS,
    REGION,
    TERRAFORM,
    TOOL_TIMEOUT,
    Plan,
    _plan_variables,
    _terraform_env,
    artifacts,
    canary_endpoint,
    environment_variant,
    expected_addresses,
    moto_endpoint,
    needs_terraform,
    plan_in,
    workspace,
)

LAYER_ARN = (
    f"arn:aws:lambda:{REGION}:123456789012:layer:"
    "AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:12"
)
SECRET_READERS = {"api_handler", "jwt_authorizer"}


@pytest.fixture(scope="module")
def extension_plan(
    workspace: Path,  # noqa: F811 - the imported fixture
    artifacts: dict[str, Path],  # noqa: F811
    moto_endpoint: str,  # noqa: F811
    canary_endpoint: str,  # noqa: F811
) -> Plan:
    if TERRAFORM is None:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.11 to run these tests")
    directory = environment_variant(
        workspace, "dev", "dev-extension", moto_endpoint, canary_endpoint
    )
    variables = [
        *_plan_variables("dev", artifacts["dev"]),
        f"-var=parameters_secrets_extension_layer_arn={LAYER_ARN}",
    ]
    return plan_in(directory, "dev", variables)


@pytest.mark.e2e
@needs_terraform
def test_the_secret_readers_get_the_layer_and_its_port_and_nothing_else_changes(
    extension_plan: Plan,
) -> None:
    assert "Warning:" not in extension_plan.output
    assert set(extension_plan.changes) == expected_addresses("dev")
    stage = load_stage("dev")
    for function in FUNCTIONS:
        planned = extension_plan.after(f'aws_lambda_function.this["{function}"]')
        environment = planned["environment"][0]["variables"]
        environment.pop("TOKEN_SIGNING_SECRET_VERSION")
        if function in SECRET_READERS:
            assert planned["layers"] == [LAYER_ARN], function
            port = environment.pop(parameters_extension.PORT_VARIABLE)
            # The extension's default port, which the app reads from the variable.
            assert port == "2773", function
        else:
            assert planned["layers"] in (None, []), function
        assert environment == stage.environment, function


@pytest.mark.e2e
@needs_terraform
def test_the_layer_must_be_awss_extension(
    extension_plan: Plan,
    artifacts: dict[str, Path],  # noqa: F811
) -> None:
    someone_elses = LAYER_ARN.replace("AWS-Parameters-and-Secrets-Lambda-Extension", "my-layer")
    result = subprocess.run(  # noqa: S603 - fixed argv
        [
            TERRAFORM or "terraform",
            *("plan", "-input=false", "-no-color", "-lock=false"),
            *_plan_variables("dev", artifacts["dev"]),
            f"-var=parameters_secrets_extension_layer_arn={someone_elses}",
        ],
        cwd=extension_plan.directory,
        env=_terraform_env(),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    assert result.returncode != 0
    assert "parameters_secrets_extension_layer_arn" in result.stdout + result.stderr
