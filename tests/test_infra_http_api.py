"""The HTTP API option of the Terraform module (``api_type = "http"``, docs/http-api.md).

Each environment is planned against moto's server (the fixtures of test_infra_terraform) with
``-var api_type=http``, after applying only the HTTP API itself to moto so that its id and
execution ARN are known: the plan then shows the permissions' source ARNs and the alarms'
dimensions with their real values. The plan must front the same two functions with exactly
one API, of the chosen type: every route of the app with the right authorization, payload
format 1.0 on the integration and the authorizer, the authorizer's cache, throttling, access
logs and CORS as on the REST stage, and nothing of the REST API. The default plan (REST) is
test_infra_terraform's, which also checks that it has nothing of the HTTP API. One fast test
feeds the authorizer the HTTP API's 1.0 event as AWS documents it.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chalicelib.http.web import cors_config
from deploy import build as builder
from deploy.stage import load_stage
from tests.support import Api
from tests.test_infra_terraform import (  # noqa: F401 - fixtures used by name
    ACCOUNT,
    MODULE,
    REGION,
    REST_API_RESOURCES,
    STAGES,
    TERRAFORM,
    TOOL_TIMEOUT,
    Plan,
    _invoke_arn,
    _plan_variables,
    _run,
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

HTTP_API = "aws_apigatewayv2_api.this[0]"
HTTP_API_RESOURCES = (
    HTTP_API,
    "aws_apigatewayv2_integration.api_handler[0]",
    "aws_apigatewayv2_authorizer.jwt_authorizer[0]",
    "aws_apigatewayv2_stage.this[0]",
)
EXECUTION_LOG_GROUPS = (
    "aws_cloudwatch_log_group.api_execution[0]",
    "aws_cloudwatch_log_group.api_execution_protected[0]",
)


def app_routes_and_authorizers() -> dict[str, str | None]:
    """``"METHOD /path"`` -> the name of the route's authorizer in app.py (None: public)."""
    from app import app

    return {
        f"{method} {path}": entry.authorizer.name if entry.authorizer else None
        for path, entries in app.routes.items()
        for method, entry in entries.items()
    }


def _authorizer_event_1_0(authorization: str, method_arn: str) -> dict[str, Any]:
    """An HTTP API's REQUEST authorizer event in payload format 1.0, as AWS documents it
    (http-api-lambda-authorizer), with the module's one identity source, Authorization."""
    return {
        "version": "1.0",
        "type": "REQUEST",
        "methodArn": method_arn,
        "identitySource": authorization,
        "authorizationToken": authorization,
        "resource": "/tasks",
        "path": "/tasks",
        "httpMethod": "GET",
        "headers": {"Authorization": authorization},
        "queryStringParameters": {},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": {"path": "/tasks", "resourcePath": "/tasks", "stage": "$default"},
    }


def test_the_authorizer_answers_the_http_api_payload_1_0_event(inprocess_api: Api) -> None:
    """The same function, unchanged, behind the HTTP API: one policy for every route of the
    stage (so one cached answer serves them all), and a Deny for a refused token."""
    from app import jwt_authorizer

    user = inprocess_api.new_user()
    api = "arn:aws:execute-api:us-east-1:123456789012:abcdef123"
    event = _authorizer_event_1_0(f"Bearer {user.token}", f"{api}/$default/GET/tasks")
    policy = jwt_authorizer(event, None)
    (statement,) = policy["policyDocument"]["Statement"]
    assert (statement["Effect"], statement["Resource"]) == ("Allow", [f"{api}/$default/*/*"])
    assert policy["context"] == {"sub": user.id, "username": user.username}
    refused = jwt_authorizer(_authorizer_event_1_0("Bearer x", f"{api}/$default/GET/tasks"), None)
    (statement,) = refused["policyDocument"]["Statement"]
    assert (statement["Effect"], statement["Resource"]) == ("Deny", [f"{api}/$default/*/*"])


@pytest.fixture(scope="module")
def http_plans(
    workspace: Path,  # noqa: F811 - the imported fixture
    artifacts: dict[str, Path],  # noqa: F811
    moto_endpoint: str,  # noqa: F811
    canary_endpoint: str,  # noqa: F811
) -> dict[str, Plan]:
    """Each environment with ``-var api_type=http``, in a copy of its own: the HTTP API is
    applied to moto first, then the whole stack is planned."""
    if TERRAFORM is None:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.11 to run these tests")

    def run(stage: str) -> Plan:
        directory = environment_variant(
            workspace, stage, f"{stage}-http", moto_endpoint, canary_endpoint
        )
        variables = [*_plan_variables(stage, artifacts[stage]), "-var=api_type=http"]
        apply = [TERRAFORM, "apply", "-auto-approve", "-input=false", "-no-color", "-lock=false"]
        _run([*apply, f"-target={MODULE}{HTTP_API}", *variables], directory)
        return plan_in(directory, stage, variables)

    with ThreadPoolExecutor(max_workers=len(STAGES)) as pool:
        return dict(zip(STAGES, pool.map(run, STAGES), strict=True))


@pytest.fixture(params=STAGES)
def http_plan(request: pytest.FixtureRequest, http_plans: dict[str, Plan]) -> Plan:
    return http_plans[request.param]


def _http_api(plan: Plan) -> dict[str, Any]:
    """The applied HTTP API, as the plan read it back (id, execution ARN)."""
    api = plan.after(HTTP_API)
    assert api["id"] and api["execution_arn"]
    return api


def _routes(plan: Plan) -> dict[str, dict[str, Any]]:
    prefix = MODULE + 'aws_apigatewayv2_route.this["'
    return {
        address.removeprefix(prefix).removesuffix('"]'): change["change"]["after"]
        for address, change in plan.changes.items()
        if address.startswith(prefix)
    }


@pytest.mark.e2e
@needs_terraform
def test_the_http_option_replaces_the_rest_api_and_nothing_else(http_plan: Plan) -> None:
    assert "Warning:" not in http_plan.output
    changes = http_plan.changes
    routes = {
        f'{MODULE}aws_apigatewayv2_route.this["{key}"]' for key in app_routes_and_authorizers()
    }
    rest = {MODULE + address for address in (*REST_API_RESOURCES, *EXECUTION_LOG_GROUPS)}
    http = {MODULE + address for address in HTTP_API_RESOURCES} | routes
    assert set(changes) == (expected_addresses(http_plan.stage) - rest) | http
    for address, change in changes.items():
        # The API was applied already (and read back unchanged); everything else is new.
        expected = ["no-op"] if address == MODULE + HTTP_API else ["create"]
        assert change["change"]["actions"] == expected, address
    # Exactly one API, of the chosen type: no REST API resource at all (the account's
    # CloudWatch role setting, which prod owns, is account-wide and stays).
    types = {change["type"] for change in changes.values()}
    assert types & {"aws_api_gateway_rest_api", "aws_api_gateway_stage"} == set()
    assert {t for t in types if t.startswith("aws_api_gateway_")} <= {"aws_api_gateway_account"}
    assert [c for c in changes.values() if c["type"] == "aws_apigatewayv2_api"] == [
        changes[MODULE + HTTP_API]
    ]
    api = _http_api(http_plan)
    assert (api["name"], api["protocol_type"]) == (f"tasks-api-{http_plan.stage}", "HTTP")


@pytest.mark.e2e
@needs_terraform
def test_every_app_route_reaches_the_api_handler_in_payload_format_1_0(http_plan: Plan) -> None:
    api = _http_api(http_plan)
    integration = http_plan.after("aws_apigatewayv2_integration.api_handler[0]")
    assert integration["api_id"] == api["id"]
    assert integration["integration_type"] == "AWS_PROXY"
    assert integration["integration_method"] == "POST"
    assert integration["integration_uri"] == _invoke_arn(http_plan.stage, "api_handler")
    assert integration["payload_format_version"] == "1.0"  # the REST event Chalice reads
    assert integration["timeout_milliseconds"] == 29000
    routes = _routes(http_plan)
    assert set(routes) == set(app_routes_and_authorizers())
    for route in routes.values():
        assert route["api_id"] == api["id"]
    # Every route's target is the one integration (its id is only known after apply).
    config = http_plan.plan["configuration"]["root_module"]["module_calls"]["tasks_api"]["module"]
    (resource,) = [r for r in config["resources"] if r["address"] == "aws_apigatewayv2_route.this"]
    references = resource["expressions"]["target"]["references"]
    assert "aws_apigatewayv2_integration.api_handler" in references


@pytest.mark.e2e
@needs_terraform
def test_the_authorizer_guards_exactly_the_apps_protected_routes(
    http_plan: Plan,
    artifacts: dict[str, Path],  # noqa: F811
) -> None:
    authorizer = http_plan.after("aws_apigatewayv2_authorizer.jwt_authorizer[0]")
    assert authorizer["api_id"] == _http_api(http_plan)["id"]
    assert authorizer["authorizer_type"] == "REQUEST"
    assert authorizer["authorizer_uri"] == _invoke_arn(http_plan.stage, "jwt_authorizer")
    # 1.0: the event carries authorizationToken and methodArn, and the IAM policy the
    # authorizer returns is the answer, as on the REST API.
    assert authorizer["authorizer_payload_format_version"] == "1.0"
    assert authorizer["enable_simple_responses"] is False
    assert authorizer["identity_sources"] == ["$request.header.Authorization"]
    # The REST authorizer's cache (app.py's ttl_seconds, through api.json), keyed the same way.
    definition = json.loads((artifacts[http_plan.stage] / builder.API_DEFINITION).read_text())
    rest = definition["securityDefinitions"]["jwt_authorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizer_result_ttl_in_seconds"] == rest["authorizerResultTtlInSeconds"]
    assert authorizer["authorizer_result_ttl_in_seconds"] == 300
    routes = _routes(http_plan)
    protected = {key for key, name in app_routes_and_authorizers().items() if name}
    assert protected and protected != set(routes)  # some routes are public
    for key, route in routes.items():
        if key in protected:
            assert route["authorization_type"] == "CUSTOM", key
        else:
            assert route["authorization_type"] == "NONE", key
            assert route["authorizer_id"] is None, key
        # The authorizer's id, known after apply, on the protected routes only.
        change = http_plan.changes[f'{MODULE}aws_apigatewayv2_route.this["{key}"]']["change"]
        assert bool(change["after_unknown"].get("authorizer_id")) is (key in protected), key


@pytest.mark.e2e
@needs_terraform
def test_the_permissions_are_scoped_to_the_http_api(http_plan: Plan) -> None:
    execution_arn = _http_api(http_plan)["execution_arn"]
    assert execution_arn.startswith(f"arn:aws:execute-api:{REGION}:{ACCOUNT}:")
    handler = http_plan.after("aws_lambda_permission.api_handler")
    authorizer = http_plan.after("aws_lambda_permission.jwt_authorizer")
    assert handler["function_name"] == f"tasks-api-{http_plan.stage}"
    assert authorizer["function_name"] == f"tasks-api-{http_plan.stage}-jwt_authorizer"
    assert handler["source_arn"] == f"{execution_arn}/*"
    assert authorizer["source_arn"] == f"{execution_arn}/authorizers/*"
    for permission in (handler, authorizer):
        assert permission["principal"] == "apigateway.amazonaws.com"
        assert permission["action"] == "lambda:InvokeFunction"


@pytest.mark.e2e
@needs_terraform
def test_the_stage_throttles_and_logs_access_like_the_rest_stage(http_plan: Plan) -> None:
    stage = http_plan.after("aws_apigatewayv2_stage.this[0]")
    assert stage["api_id"] == _http_api(http_plan)["id"]
    assert (stage["name"], stage["auto_deploy"]) == ("$default", True)
    (settings,) = stage["default_route_settings"]
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (50, 100)
    assert settings["detailed_metrics_enabled"] is False
    (access_log,) = stage["access_log_settings"]
    fields = json.loads(access_log["format"])
    assert {"requestId", "status", "responseLatency", "errorType", "routeKey"} <= set(fields)
    assert {"principalId", "authorizerError", "integrationError"} <= set(fields)
    assert all(value.startswith("$context.") for value in fields.values())
    # The same access log group as the REST stage (its ARN is known after apply).
    prod = http_plan.stage == "prod"
    group = f'aws_cloudwatch_log_group.{"protected" if prod else "unprotected"}["api_access"]'
    assert http_plan.after(group)["name"] == f"/aws/apigateway/tasks-api-{http_plan.stage}/access"
    config = http_plan.plan["configuration"]["root_module"]["module_calls"]["tasks_api"]["module"]
    (resource,) = [r for r in config["resources"] if r["address"] == "aws_apigatewayv2_stage.this"]
    (log_settings,) = resource["expressions"]["access_log_settings"]
    assert "local.log_groups.api_access.arn" in log_settings["destination_arn"]["references"]


@pytest.mark.e2e
@needs_terraform
def test_cors_carries_the_apps_origin_and_header_lists(http_plan: Plan) -> None:
    origin = load_stage(http_plan.stage).settings.allowed_origin
    headers = cors_config(origin).get_access_control_headers()
    (cors,) = _http_api(http_plan)["cors_configuration"]
    assert cors["allow_origins"] == [origin]
    assert sorted(cors["allow_headers"]) == sorted(
        headers["Access-Control-Allow-Headers"].split(",")
    )
    assert sorted(cors["expose_headers"]) == sorted(
        headers["Access-Control-Expose-Headers"].split(",")
    )
    assert cors["max_age"] == int(headers["Access-Control-Max-Age"])
    methods = {key.split(" ")[0] for key in app_routes_and_authorizers()}
    assert set(cors["allow_methods"]) == methods
    assert cors["allow_credentials"] is False


@pytest.mark.e2e
@needs_terraform
def test_alarms_and_dashboard_watch_the_http_api(http_plan: Plan) -> None:
    dimensions = {"ApiId": _http_api(http_plan)["id"], "Stage": "$default"}
    rate = http_plan.after("aws_cloudwatch_metric_alarm.api_5xx_rate")
    queries = {query["id"]: query for query in rate["metric_query"]}
    assert queries["errors"]["metric"][0]["metric_name"] == "5xx"
    assert queries["requests"]["metric"][0]["metric_name"] == "Count"
    for query in ("errors", "requests"):
        assert queries[query]["metric"][0]["namespace"] == "AWS/ApiGateway"
        assert queries[query]["metric"][0]["dimensions"] == dimensions
    authorizer = http_plan.after("aws_cloudwatch_metric_alarm.authorizer_failures")
    assert "500 (HTTP API)" in authorizer["alarm_description"]  # not the REST API's 503
    latency = http_plan.after("aws_cloudwatch_metric_alarm.api_p99_latency")
    assert (latency["metric_name"], latency["dimensions"]) == ("Latency", dimensions)
    body = json.loads(http_plan.after("aws_cloudwatch_dashboard.this")["dashboard_body"])
    api_metrics = {
        entry[1]: entry[2:6]
        for widget in body["widgets"]
        if widget["type"] == "metric"
        for entry in widget["properties"]["metrics"]
        if isinstance(entry[0], str) and entry[0] == "AWS/ApiGateway"
    }
    assert set(api_metrics) == {"Count", "4xx", "5xx", "Latency", "IntegrationLatency"}
    for entry in api_metrics.values():
        assert entry == ["ApiId", dimensions["ApiId"], "Stage", "$default"]


@pytest.mark.e2e
@needs_terraform
def test_api_type_accepts_only_rest_or_http(
    http_plans: dict[str, Plan],
    artifacts: dict[str, Path],  # noqa: F811
) -> None:
    run = http_plans["dev"]
    command = [TERRAFORM or "terraform", "plan", "-input=false", "-no-color", "-lock=false"]
    result = subprocess.run(  # noqa: S603 - fixed argv
        [*command, *_plan_variables("dev", artifacts["dev"]), "-var=api_type=websocket"],
        cwd=run.directory,
        env=_terraform_env(),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    assert result.returncode != 0
    assert "api_type: rest or http." in result.stderr + result.stdout
