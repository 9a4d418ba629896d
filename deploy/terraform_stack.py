"""One stage's Terraform configuration: Chalice's generated resources, fixed and completed.

``chalice package --pkg-format terraform`` (1.34.0) gives the functions, their roles and the
REST API, but pins Terraform < 1.4 and the AWS provider < 5 (chalice#2066), needs the
``null`` provider, uses the deprecated ``aws_api_gateway_deployment.stage_name`` (#1838),
cannot set log retention (#2079) and creates nothing the code stores data in. ``build``
takes its ``chalice.tf.json`` and returns the whole stack in Terraform's JSON shape:
pins lifted, an ``aws_api_gateway_stage`` with access logs and throttling, the tables from
``chalicelib.storage.table_layout``, the signing secrets, log groups with retention, and each
function's role policy rebuilt from that function's policy file (``deploy.stage``) with every
ARN a reference to what is created.

Every name is spelt ``tasks-api-${var.stage}-...``: the packaged stage is only the default
of ``var.stage``. Deliberate exceptions to checkov's rules carry ``checkov:skip`` comments
with their reason, next to the resource they concern.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

from chalicelib.http.gateway_responses import CONTRACT_RESPONSES
from chalicelib.http.web import cors_config
from deploy.stage import APP_NAME, Stage, grants
from deploy.terraform_hcl import COMMENT_KEY, JsonEncode

TERRAFORM_VERSION = ">= 1.5"
AWS_PROVIDER_VERSION = "~> 5.0"
REST_API = "rest_api"  # Chalice's name for the REST API and its deployment
SWAGGER_LOCAL = "chalice_api_swagger"
CHALICE_RESOURCE_TYPES = frozenset(
    {
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_lambda_function",
        "aws_api_gateway_rest_api",
        "aws_api_gateway_deployment",
        "aws_lambda_permission",
    }
)
CLOUDWATCH_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
# API Gateway's own answers (no Lambda involved) that get the CORS headers, so a browser
# can read them. The body stays API Gateway's ``{"message": ...}``: the contract names it for
# the authorizer's 401/403 and chalice local answers the same.
# None keeps the status API Gateway chose (throttling 429, integration timeout 504...).
GATEWAY_RESPONSES = {
    "UNAUTHORIZED": "401",
    "ACCESS_DENIED": "403",
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
}
GATEWAY_RESPONSE_BODY = '{"message":$context.error.messageString}'
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "sourceIp": "$context.identity.sourceIp",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "principalId": "$context.authorizer.principalId",
    "authorizerError": "$context.authorizer.error",
    "errorType": "$context.error.responseType",
}
CHECKOV_REASONS = {
    "CKV_AWS_158": "CloudWatch encrypts log data at rest by default; a CMK adds $1/month "
    "per stage and a key policy to run, and no control this API needs",
    "CKV_AWS_119": "encrypted at rest with the AWS managed key (aws/dynamodb); a CMK costs "
    "$1/month and adds no control without cross-account access or crypto-shredding",
    "CKV_AWS_337": "SecureString under the AWS managed key (aws/ssm); a CMK costs $1/month "
    "and only the function roles may read the parameter anyway",
    "CKV_AWS_173": "the environment holds names and settings only, no secret; Lambda "
    "encrypts it at rest with its service key",
    "CKV_AWS_117": "the functions reach only DynamoDB and SSM through public AWS endpoints; "
    "a VPC would need NAT or endpoints that bill by the hour",
    "CKV_AWS_116": "invoked synchronously by API Gateway, which returns the error to the "
    "client; a dead-letter queue only applies to asynchronous invocations",
    # purge_account is not invoked by API Gateway; see ASYNC_FUNCTION_REASONS.
    "CKV_AWS_115": "reserved concurrency would carve capacity out of the account pool "
    "(10 on new accounts); the stage's throttling limits cap the load instead",
    "CKV_AWS_272": "deployment.zip is built and deployed by the same pipeline; code signing "
    "needs a Signer profile that this project does not operate",
    "CKV_AWS_120": "responses are per user and authorized, so a cache would be wrong; a "
    "cache cluster also bills by the hour",
    "CKV_AWS_225": "responses are per user and authorized, so a cache would be wrong; a "
    "cache cluster also bills by the hour",
    "CKV2_AWS_51": "the backends are Lambda proxy integrations, not HTTP endpoints that "
    "could check a client certificate",
    "CKV2_AWS_4": "logging_level is ERROR; what fails is metrics_enabled: per-method metrics "
    "bill as custom metrics (7 per method), and the free stage-level metrics cover alarms",
    "CKV2_AWS_29": "AWS WAF bills at least $5/month per web ACL even idle; the stage's "
    "throttling limits and the authorizer are the protection for this API",
}
# Functions invoked asynchronously (not by API Gateway), by Chalice name: their own reasons.
ASYNC_FUNCTION_REASONS = {
    "purge_account": {
        "CKV_AWS_116": "invoked asynchronously (by the API handler, then by itself) with only a "
        "user id; Lambda retries a failed event twice, and the client's retry of DELETE "
        "/users/me (accepted for a closed account) finishes the purge. A queue would need SQS "
        "and a grant that chalice deploy (make deploy) cannot set up, splitting the paths",
    },
}
XRAY_OFF_REASON = 'X-Ray is off for this stage in .chalice/config.json ("xray": false); prod traces'
SHORT_RETENTION_REASON = (
    "log_retention_days defaults to {days} on this stage (cost); prod keeps a year"
)


def build(stage: Stage, chalice_tf: dict[str, Any]) -> dict[str, Any]:
    """The stage's complete configuration in Terraform's JSON shape, from Chalice's output."""
    return _Builder(stage, chalice_tf).build()


class _Builder:
    """Holds the name -> resource maps that the policy, environment and outputs resolve."""

    def __init__(self, stage: Stage, chalice_tf: dict[str, Any]) -> None:
        self.stage = stage
        self.chalice = _restaged_references(copy.deepcopy(chalice_tf))
        self.resources: dict[str, dict[str, Any]] = {}
        self.tables: dict[str, str] = {}  # packaged table name -> resource name
        self.parameters: dict[str, str] = {}  # packaged parameter name -> resource name
        self.log_groups: dict[str, str] = {}  # packaged log group name -> resource name
        self.functions: dict[str, str] = {}  # packaged function name -> resource name

    def build(self) -> dict[str, Any]:
        unknown = set(self.chalice["resource"]) - CHALICE_RESOURCE_TYPES
        if unknown:
            raise ValueError(
                f"chalice generated resource types that deploy/terraform_stack.py does not "
                f"translate yet: {sorted(unknown)}"
            )
        self._tables()
        self._secret_parameters()
        self._functions()
        self._role_policies()
        self._rest_api()
        self._api_stage()
        self._api_gateway_account()
        self._lambda_permissions()
        config = {
            "terraform": {
                "required_version": TERRAFORM_VERSION,
                "required_providers": {
                    "aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}
                },
            },
            "provider": {
                "aws": {
                    "region": "${var.region}",
                    "default_tags": {
                        "tags": {
                            "app": APP_NAME,
                            "stage": "${var.stage}",
                            "managed-by": "terraform",
                        }
                    },
                }
            },
            "data": {"aws_partition": {"current": {}}},
            "variable": self._variables(),
            "locals": {
                "name_prefix": f"{APP_NAME}-${{var.stage}}",
                "parameter_prefix": f"/{APP_NAME}/${{var.stage}}",
                SWAGGER_LOCAL: JsonEncode(self._swagger()),
            },
            "resource": self.resources,
            "output": self._outputs(),
        }
        _no_deployment_stage_references(config)
        return config

    # -- names ---------------------------------------------------------------------------

    def restaged(self, literal: str) -> str:
        """A name spelt with the packaged stage, as a template on ``var.stage``."""
        stage = re.escape(self.stage.name)
        app = re.escape(APP_NAME)
        text, count = re.subn(rf"/{app}/{stage}(?=/|$)", "${local.parameter_prefix}", literal)
        text, more = re.subn(rf"{app}-{stage}(?![A-Za-z0-9])", "${local.name_prefix}", text)
        if not count + more:
            raise ValueError(f"{literal!r} does not carry the stage name {self.stage.name!r}")
        return text

    def add(self, type_name: str, name: str, body: dict[str, Any]) -> None:
        """Add a resource to the configuration."""
        self.resources.setdefault(type_name, {})[name] = body

    def skips(self, *check_ids: str, extra: dict[str, str] | None = None) -> list[str]:
        """``checkov:skip`` comments for the given checks, each with its one-line reason."""
        reasons = {**{check: CHECKOV_REASONS[check] for check in check_ids}, **(extra or {})}
        return [f"checkov:skip={check}:{reason}" for check, reason in reasons.items()]

    # -- data ----------------------------------------------------------------------------

    def _tables(self) -> None:
        ttl = self.stage.time_to_live
        for definition in self.stage.tables:
            name = definition["TableName"]
            key = _resource_name(self.restaged(name).removeprefix("${local.name_prefix}-"))
            self.tables[name] = key
            self.add(
                "aws_dynamodb_table",
                key,
                {
                    COMMENT_KEY: self.skips("CKV_AWS_119"),
                    "name": self.restaged(name),
                    **_dynamodb_table(definition, ttl.get(name)),
                },
            )

    def _secret_parameters(self) -> None:
        current, *others = self.stage.secret_parameters
        for name in [current, *others]:
            key = _resource_name(name.rsplit("/", 1)[-1])
            self.parameters[name] = key
            if name == current:
                # 3 random UUIDs (crypto/rand): 366 random bits as 96 hex characters.
                value = '${replace(join("", [uuid(), uuid(), uuid()]), "-", "")}'
                description = "Token signing secret (HS256); generated once, rotate in place"
            else:
                # Starts equal to the current secret, so it accepts nothing extra until a
                # rotation copies the old secret here.
                value = f"${{aws_ssm_parameter.{self.parameters[current]}.value}}"
                description = "Previous token signing secret, still accepted after a rotation"
            self.add(
                "aws_ssm_parameter",
                key,
                {
                    COMMENT_KEY: self.skips("CKV_AWS_337"),
                    "name": self.restaged(name),
                    "description": description,
                    "type": "SecureString",
                    "tier": "Standard",
                    "value": value,
                    # Generated once; rotation (README) writes new values outside Terraform.
                    "lifecycle": {"ignore_changes": ["value"]},
                },
            )

    # -- functions -------------------------------------------------------------------------

    def _functions(self) -> None:
        packaged = self.chalice["resource"]["aws_lambda_function"]
        # Chalice names each function's resources after the function.
        if set(packaged) != set(self.stage.functions):
            raise ValueError(
                f"chalice packaged the functions {sorted(packaged)}, the stage lists "
                f"{sorted(self.stage.functions)}: list each function under lambda_functions in "
                ".chalice/config.json with its own iam_policy_file"
            )
        for key, function in packaged.items():
            if function["function_name"] != self.stage.function_name(key):
                raise ValueError(f"function {key} is packaged as {function['function_name']}")
            self.functions[function["function_name"]] = key
        for key, function in packaged.items():
            packaged_name = function["function_name"]
            log_group = self.stage.log_group(key)
            self.log_groups[log_group] = key
            self._log_group(key, self.restaged(log_group))
            function["function_name"] = self.restaged(packaged_name)
            function["tags"] = {
                tag: value.replace(f":stage={self.stage.name}:", ":stage=${var.stage}:")
                for tag, value in function.get("tags", {}).items()
            }
            variables = function["environment"]["variables"]
            function["environment"]["variables"] = {
                name: self._environment_value(name, value, key) for name, value in variables.items()
            }
            function["logging_config"] = {
                "log_format": "Text",
                "log_group": f"${{aws_cloudwatch_log_group.{key}.name}}",
            }
            skipped = ("CKV_AWS_173", "CKV_AWS_117", "CKV_AWS_116", "CKV_AWS_115", "CKV_AWS_272")
            extra = {} if "tracing_config" in function else {"CKV_AWS_50": XRAY_OFF_REASON}
            extra.update(ASYNC_FUNCTION_REASONS.get(key, {}))
            self.add(
                "aws_lambda_function",
                key,
                {COMMENT_KEY: self.skips(*skipped, extra=extra), **function},
            )
        for key, role in self.chalice["resource"]["aws_iam_role"].items():
            role["name"] = self.restaged(role["name"])
            role["assume_role_policy"] = JsonEncode(json.loads(role["assume_role_policy"]))
            self.add("aws_iam_role", key, role)

    def _environment_value(self, name: str, value: str, function: str) -> str:
        """Each setting that names a created resource or a variable references it.

        ``function`` is the function the setting is for: its own name stays a template on
        ``var.stage``, since a function cannot refer to itself.
        """
        if value in self.tables:
            return f"${{aws_dynamodb_table.{self.tables[value]}.name}}"
        if value in self.parameters:
            return f"${{aws_ssm_parameter.{self.parameters[value]}.name}}"
        if value in self.functions:
            if self.functions[value] == function:
                return self.restaged(value)
            return f"${{aws_lambda_function.{self.functions[value]}.function_name}}"
        by_variable = {
            "STAGE": "stage",
            "ALLOWED_ORIGIN": "allowed_origin",
            "TOKEN_LIFETIME_SECONDS": "token_lifetime_seconds",
        }
        if name in by_variable:
            return f"${{var.{by_variable[name]}}}"
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(self.stage.name)}(?![A-Za-z0-9])", value):
            raise ValueError(f"environment variable {name}={value!r} is stage-specific")
        return value

    def _log_group(self, key: str, name: str, *, extra: dict[str, str] | None = None) -> None:
        retention = _default_retention(self.stage)
        if retention < 365:
            extra = {**(extra or {}), "CKV_AWS_338": SHORT_RETENTION_REASON.format(days=retention)}
        self.add(
            "aws_cloudwatch_log_group",
            key,
            {
                COMMENT_KEY: self.skips("CKV_AWS_158", extra=extra),
                "name": name,
                "retention_in_days": "${var.log_retention_days}",
            },
        )

    def _role_policies(self) -> None:
        """Chalice embeds each function's policy file in its role's policy; rebuild each with
        references to what is created."""
        functions = self.chalice["resource"]["aws_lambda_function"]
        for key, policy in self.chalice["resource"]["aws_iam_role_policy"].items():
            role = policy["role"].removeprefix("${aws_iam_role.").removesuffix(".id}")
            users = [f for f, body in functions.items() if body["role"] == role_arn(role)]
            if len(users) != 1:
                raise ValueError(f"role policy {key} is not the role of exactly one function")
            (function,) = users
            if json.loads(policy["policy"]) != self.stage.policies[function]:
                raise ValueError(f"chalice's policy {key} is not {function}'s policy file")
            policy["policy"] = JsonEncode(self._policy_document(function))
            self.add("aws_iam_role_policy", key, policy)

    def _policy_document(self, function: str) -> dict[str, Any]:
        statements = []
        for grant in grants(self.stage, function):
            resources = [f"${{aws_dynamodb_table.{self._table(t)}.arn}}" for t in grant.tables]
            resources += [
                f"${{aws_dynamodb_table.{self._table(table)}.arn}}/index/{index}"
                for table, index in grant.indexes
            ]
            resources += [
                f"${{aws_ssm_parameter.{_lookup(self.parameters, name, 'SSM parameter')}.arn}}"
                for name in grant.parameters
            ]
            for group in grant.log_groups:
                log_group = _lookup(self.log_groups, group, "log group")
                arn = f"${{aws_cloudwatch_log_group.{log_group}.arn}}"
                resources += [arn, f"{arn}:log-stream:*"] if grant.log_streams else [arn]
            resources += [
                f"${{aws_lambda_function.{_lookup(self.functions, name, 'function')}.arn}}"
                for name in grant.functions
            ]
            if grant.unscoped:
                resources.append("*")
            statements.append(
                {
                    "Sid": grant.sid,
                    "Effect": "Allow",
                    "Action": grant.actions,
                    "Resource": resources,
                }
            )
        return {"Version": "2012-10-17", "Statement": statements}

    def _table(self, name: str) -> str:
        return _lookup(self.tables, name, "table")

    # -- API Gateway -------------------------------------------------------------------------

    def _swagger(self) -> dict[str, Any]:
        """Chalice's OpenAPI document, with the variable origin and CORS on gateway answers."""
        swagger = json.loads(self.chalice["locals"][SWAGGER_LOCAL])
        swagger["info"]["title"] = "${local.name_prefix}"
        origin = f"'{self.stage.settings.allowed_origin}'"
        replaced = 0
        for parameters in _find_key(swagger, "responseParameters"):
            header = "method.response.header.Access-Control-Allow-Origin"
            if header in parameters:
                if parameters[header] != origin:
                    raise ValueError(f"unexpected CORS origin {parameters[header]!r} in swagger")
                parameters[header] = "'${var.allowed_origin}'"
                replaced += 1
        if not replaced:
            raise ValueError(
                "chalice's swagger has no CORS preflight to point at var.allowed_origin"
            )
        swagger["x-amazon-apigateway-gateway-responses"] = _gateway_responses(GATEWAY_RESPONSES)
        return swagger

    def _rest_api(self) -> None:
        rest_api = self.chalice["resource"]["aws_api_gateway_rest_api"][REST_API]
        rest_api["name"] = "${local.name_prefix}"
        # A replacement API is up (and its stage deployed) before the old one goes.
        rest_api["lifecycle"] = {"create_before_destroy": True}
        self.add("aws_api_gateway_rest_api", REST_API, rest_api)
        deployment = self.chalice["resource"]["aws_api_gateway_deployment"][REST_API]
        for deprecated in ("stage_name", "stage_description"):
            deployment.pop(deprecated, None)
        deployment["description"] = "${local.name_prefix}"
        # A new deployment whenever the API definition (routes, CORS, gateway responses) changes.
        deployment["triggers"] = {
            "redeployment": f"${{sha1(aws_api_gateway_rest_api.{REST_API}.body)}}"
        }
        deployment["lifecycle"] = {"create_before_destroy": True}
        self.add("aws_api_gateway_deployment", REST_API, deployment)

    def _api_stage(self) -> None:
        stage_name = self.stage.api_gateway_stage
        self._log_group("api_access", "/aws/apigateway/${local.name_prefix}/access")
        # API Gateway writes execution logs (level ERROR) here; created first for its retention.
        self._log_group(
            "api_execution",
            f"API-Gateway-Execution-Logs_${{aws_api_gateway_rest_api.{REST_API}.id}}/{stage_name}",
        )
        extra = {} if self.stage.xray else {"CKV_AWS_73": XRAY_OFF_REASON}
        self.add(
            "aws_api_gateway_stage",
            REST_API,
            {
                COMMENT_KEY: self.skips(
                    "CKV_AWS_120", "CKV2_AWS_4", "CKV2_AWS_51", "CKV2_AWS_29", extra=extra
                ),
                "rest_api_id": f"${{aws_api_gateway_rest_api.{REST_API}.id}}",
                "deployment_id": f"${{aws_api_gateway_deployment.{REST_API}.id}}",
                "stage_name": stage_name,
                "xray_tracing_enabled": self.stage.xray,
                "access_log_settings": {
                    "destination_arn": "${aws_cloudwatch_log_group.api_access.arn}",
                    "format": JsonEncode(ACCESS_LOG_FORMAT),
                },
                "depends_on": [
                    "aws_api_gateway_account.this",
                    "aws_cloudwatch_log_group.api_execution",
                ],
            },
        )
        self.add(
            "aws_api_gateway_method_settings",
            "all",
            {
                COMMENT_KEY: self.skips("CKV_AWS_225"),
                "rest_api_id": f"${{aws_api_gateway_rest_api.{REST_API}.id}}",
                "stage_name": f"${{aws_api_gateway_stage.{REST_API}.stage_name}}",
                "method_path": "*/*",
                "settings": {
                    "throttling_burst_limit": "${var.throttling_burst_limit}",
                    "throttling_rate_limit": "${var.throttling_rate_limit}",
                    "logging_level": "ERROR",
                    # Never log bodies: they carry passwords and tokens.
                    "data_trace_enabled": False,
                    # Per-method metrics bill as custom metrics; stage metrics are free.
                    "metrics_enabled": False,
                    "caching_enabled": False,
                },
            },
        )

    def _api_gateway_account(self) -> None:
        """The account-wide CloudWatch role API Gateway logs through (one per account+region)."""
        count = "${var.manage_api_gateway_account ? 1 : 0}"
        self.add(
            "aws_iam_role",
            "api_gateway_cloudwatch",
            {
                "count": count,
                "name": "${local.name_prefix}-apigateway-cloudwatch",
                "assume_role_policy": JsonEncode(_assume_role("apigateway.amazonaws.com")),
            },
        )
        self.add(
            "aws_iam_role_policy_attachment",
            "api_gateway_cloudwatch",
            {
                "count": count,
                "role": "${aws_iam_role.api_gateway_cloudwatch[0].name}",
                "policy_arn": "arn:${data.aws_partition.current.partition}:iam::aws:policy/"
                "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
            },
        )
        self.add(
            "aws_api_gateway_account",
            "this",
            {
                "count": count,
                "cloudwatch_role_arn": "${aws_iam_role.api_gateway_cloudwatch[0].arn}",
                "depends_on": ["aws_iam_role_policy_attachment.api_gateway_cloudwatch"],
            },
        )

    def _lambda_permissions(self) -> None:
        """Chalice's permissions as they are: scoped to this API's execution ARN."""
        for key, permission in self.chalice["resource"]["aws_lambda_permission"].items():
            self.add("aws_lambda_permission", key, permission)

    # -- interface ---------------------------------------------------------------------------

    def _variables(self) -> dict[str, Any]:
        stage, settings = self.stage, self.stage.settings
        retention = _default_retention(stage)
        return {
            "region": {
                "type": "string",
                "default": None,
                "description": "AWS region; null takes it from the environment (AWS_REGION, "
                "the profile), as the AWS CLI does.",
            },
            "stage": {
                "type": "string",
                "default": stage.name,
                "description": "Stage name; every resource name is tasks-api-<stage>-...",
                "validation": {
                    "condition": '${can(regex("^[a-z][a-z0-9-]{1,15}$", var.stage)) '
                    '&& var.stage != "local"}',
                    "error_message": "stage: 2-16 of a-z, 0-9 and -, starting with a letter; "
                    "not local (the only stage that accepts plain-text secrets).",
                },
            },
            "allowed_origin": {
                "type": "string",
                "default": settings.allowed_origin,
                "description": "CORS origin: the functions, the preflight responses and API "
                "Gateway's own error responses all send it.",
                "validation": {
                    "condition": '${var.allowed_origin == "*" || '
                    'can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.allowed_origin))}',
                    "error_message": "allowed_origin: * or scheme://host[:port].",
                },
            },
            "token_lifetime_seconds": {
                "type": "number",
                "default": settings.token_lifetime_seconds,
                "description": "Access token lifetime in seconds (login's expires_in).",
                "validation": {
                    "condition": "${var.token_lifetime_seconds >= 60 && "
                    "var.token_lifetime_seconds <= 86400 && "
                    "floor(var.token_lifetime_seconds) == var.token_lifetime_seconds}",
                    "error_message": "token_lifetime_seconds: a whole number from 60 to 86400.",
                },
            },
            "log_retention_days": {
                "type": "number",
                "default": retention,
                "description": "Retention of the function, access and execution log groups.",
                "validation": {
                    "condition": "${contains(["
                    + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))
                    + "], var.log_retention_days)}",
                    "error_message": "log_retention_days: a value CloudWatch Logs accepts "
                    "(1, 3, 5, 7, 14, 30, 60, 90, ... 365, ... 3653).",
                },
            },
            "throttling_rate_limit": {
                "type": "number",
                "default": 50,
                "description": "Steady-state requests per second the stage accepts.",
            },
            "throttling_burst_limit": {
                "type": "number",
                "default": 100,
                "description": "Burst of requests the stage accepts above the rate.",
            },
            "deletion_protection": {
                "type": "bool",
                "default": stage.is_production,
                "description": "DynamoDB deletion protection (on for prod): destroy fails "
                "until it is turned off.",
            },
            "manage_api_gateway_account": {
                "type": "bool",
                "default": True,
                "description": "Create the CloudWatch role API Gateway logs through and set "
                "it on the account. One setting per account and region: let one stack own "
                "it, false elsewhere.",
            },
        }

    def _outputs(self) -> dict[str, Any]:
        outputs: dict[str, Any] = {
            "api_url": {
                "value": f"${{aws_api_gateway_stage.{REST_API}.invoke_url}}",
                "description": "Base URL of the API (the stage's invoke URL).",
            }
        }
        for key in self.tables.values():
            outputs[f"{key}_table"] = {
                "value": f"${{aws_dynamodb_table.{key}.name}}",
                "description": f"DynamoDB table {key}.",
            }
        current = self.stage.secret_parameters[0]
        outputs["signing_secret_parameter"] = {
            "value": f"${{aws_ssm_parameter.{self.parameters[current]}.name}}",
            "description": "SSM SecureString holding the token signing secret.",
        }
        outputs.update(self.chalice.get("output", {}))
        return outputs


def _dynamodb_table(definition: dict[str, Any], ttl_attribute: str | None) -> dict[str, Any]:
    """An ``aws_dynamodb_table`` from ``CreateTable`` arguments, with the protections on."""
    supported = {
        "TableName",
        "BillingMode",
        "AttributeDefinitions",
        "KeySchema",
        "LocalSecondaryIndexes",
    }
    if set(definition) - supported:
        raise ValueError(
            f"table layout uses unsupported keys {sorted(set(definition) - supported)}"
        )
    if definition.get("BillingMode") != "PAY_PER_REQUEST":
        raise ValueError(f"table {definition['TableName']} is not on-demand (PAY_PER_REQUEST)")
    keys = _keys(definition["KeySchema"])
    table: dict[str, Any] = {
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": keys["HASH"],
    }
    if "RANGE" in keys:
        table["range_key"] = keys["RANGE"]
    table["attribute"] = [
        {"name": attribute["AttributeName"], "type": attribute["AttributeType"]}
        for attribute in definition["AttributeDefinitions"]
    ]
    indexes = []
    for index in definition.get("LocalSecondaryIndexes", []):
        index_keys = _keys(index["KeySchema"])
        if index_keys["HASH"] != keys["HASH"]:
            raise ValueError(f"local index {index['IndexName']} must share the table's hash key")
        projection = index["Projection"]
        entry = {
            "name": index["IndexName"],
            "range_key": index_keys["RANGE"],
            "projection_type": projection["ProjectionType"],
        }
        if "NonKeyAttributes" in projection:
            entry["non_key_attributes"] = projection["NonKeyAttributes"]
        indexes.append(entry)
    if indexes:
        table["local_secondary_index"] = indexes
    if ttl_attribute:
        table["ttl"] = {"attribute_name": ttl_attribute, "enabled": True}
    table["point_in_time_recovery"] = {"enabled": True}
    table["server_side_encryption"] = {"enabled": True}
    table["deletion_protection_enabled"] = "${var.deletion_protection}"
    return table


def _keys(schema: list[dict[str, str]]) -> dict[str, str]:
    return {key["KeyType"]: key["AttributeName"] for key in schema}


def _gateway_responses(statuses: dict[str, str | None]) -> dict[str, Any]:
    """``x-amazon-apigateway-gateway-responses`` with the app's CORS headers, and the
    contract's own answers for unknown paths and a failing authorizer (gateway_responses).

    They live in the OpenAPI body, not in ``aws_api_gateway_gateway_response`` resources:
    ``put_rest_api_mode = "overwrite"`` (needed so removed routes disappear) replaces the
    whole API on every body change, and separately created gateway responses are dropped
    with it (aws/serverless-application-model#390, aws/aws-cdk#28652).
    """
    headers = cors_config("*").get_access_control_headers()
    headers["Access-Control-Allow-Origin"] = "${var.allowed_origin}"
    parameters = {
        f"gatewayresponse.header.{name}": f"'{headers[name]}'"
        for name in (
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Headers",
            "Access-Control-Expose-Headers",
        )
    }
    responses = {}
    for response_type, status in statuses.items():
        response: dict[str, Any] = {
            "responseParameters": parameters,
            "responseTemplates": {"application/json": GATEWAY_RESPONSE_BODY},
        }
        if status:
            response["statusCode"] = status
        responses[response_type] = response
    for response_type, pinned in CONTRACT_RESPONSES.items():
        responses[response_type] = {
            "statusCode": str(pinned.status),
            "responseParameters": {
                **parameters,
                **pinned.header_parameters,
            },
            "responseTemplates": {"application/json": pinned.template},
        }
    return responses


def role_arn(role: str) -> str:
    """The reference Chalice's functions use for their role's ARN."""
    return f"${{aws_iam_role.{role}.arn}}"


def _assume_role(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def _default_retention(stage: Stage) -> int:
    return stage.log_retention_days


def _resource_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _lookup(names: dict[str, str], name: str, kind: str) -> str:
    if name not in names:
        raise ValueError(
            f"the policy file names {kind} {name!r}, which the package does not create"
        )
    return names[name]


def _find_key(value: Any, key: str) -> Iterator[dict[str, Any]]:
    """Every value stored under ``key`` anywhere in a JSON document."""
    if isinstance(value, dict):
        for name, item in value.items():
            if name == key and isinstance(item, dict):
                yield item
            yield from _find_key(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _find_key(item, key)


_DEPLOYMENT_STAGE = re.compile(
    rf"aws_api_gateway_deployment\.{REST_API}\.(invoke_url|stage_name|execution_arn)"
)


def _restaged_references(value: Any) -> Any:
    """Chalice's references to the deployment's stage, pointed at the stage resource."""
    if isinstance(value, str):
        return _DEPLOYMENT_STAGE.sub(rf"aws_api_gateway_stage.{REST_API}.\1", value)
    if isinstance(value, dict):
        return {key: _restaged_references(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_restaged_references(item) for item in value]
    return value


def _no_deployment_stage_references(config: dict[str, Any]) -> None:
    text = json.dumps(config, default=lambda encoded: encoded.value)
    if _DEPLOYMENT_STAGE.search(text):
        raise ValueError("a reference to the deprecated deployment stage is left")
