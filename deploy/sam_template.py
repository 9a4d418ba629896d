"""Chalice's SAM template for one stage, completed into a stack that deploys as is.

``chalice package`` gives the functions, the REST API and one role per function, each
granted that function's policy file (``deploy.stage``) with "*" region/account ARNs.
``build_template`` adds what the other deploy paths create -- the tables (from
``chalicelib.storage.table_layout`` through ``deploy.stage``), the signing-secret SecureString,
log groups with retention, the stage's access log and throttling, CORS headers on API
Gateway's own errors -- and points every grant of each policy file at the resource the stack
creates. Pure functions over dicts, so tests can check each decision without running
anything.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.http.gateway_responses import CONTRACT_RESPONSES
from chalicelib.http.web import cors_config
from deploy.stage import API_HANDLER as API_HANDLER_FUNCTION
from deploy.stage import APP_NAME, Grant, Stage, grants

Template = dict[str, Any]
Resource = dict[str, Any]

API = "RestAPI"
API_HANDLER = "APIHandler"
# Logical ids of the signing-secret custom resource, its function and role (not secrets).
SECRET = "SigningSecret"  # noqa: S105
SECRET_FUNCTION = "SigningSecretFunction"  # noqa: S105
SECRET_ROLE = "SigningSecretFunctionRole"  # noqa: S105
ACCESS_LOG_GROUP = "ApiAccessLogGroup"
ACCOUNT_READY = "ApiGatewayAccountReady"
CREATE_ACCOUNT_ROLE = "CreateApiGatewayCloudWatchRole"
SECRET_SOURCE = Path(__file__).with_name("sam_secret_function.py")
ZIP_FILE_LIMIT = 4096  # CloudFormation's limit on inline Lambda code
LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096]
ORIGIN_HEADER = "Access-Control-Allow-Origin"
# API Gateway's own body for its errors, pinned so the deployed 401 stays the contract's
# {"message": "Unauthorized"} (the same body chalice local gives).
GATEWAY_ERROR_BODY = '{"message":$context.error.messageString}'
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "principalId": "$context.authorizer.principalId",
        "errorType": "$context.error.responseType",
    },
    separators=(",", ":"),
)
# CreateTable arguments whose CloudFormation property has the same name and shape.
_SAME_TABLE_KEYS = {
    "TableName",
    "BillingMode",
    "AttributeDefinitions",
    "KeySchema",
    "LocalSecondaryIndexes",
    "GlobalSecondaryIndexes",
    "ProvisionedThroughput",
    "TableClass",
    "Tags",
    "DeletionProtectionEnabled",
}


def build_template(stage: Stage, chalice_template: Template) -> Template:
    """The deployable template: Chalice's output plus the stage's resources, grants rewired."""
    template = copy.deepcopy(chalice_template)
    resources: dict[str, Resource] = template["Resources"]
    template["Description"] = f"Tasks API, stage {stage.name}: packaged by deploy/sam.py"
    template["Parameters"] = parameters(stage)
    template["Conditions"] = {
        CREATE_ACCOUNT_ROLE: {"Fn::Equals": [{"Ref": CREATE_ACCOUNT_ROLE}, "true"]}
    }

    tables = table_resources(stage)
    resources.update(tables)
    table_ids = {
        table["Properties"]["TableName"]: logical_id for logical_id, table in tables.items()
    }

    function_ids = function_logical_ids(stage, resources)  # Chalice name -> logical id
    functions = {stage.function_name(name): logical_id for name, logical_id in function_ids.items()}
    log_groups: dict[str, str] = {}  # log group name -> logical id
    for name, logical_id in function_ids.items():
        function = resources[logical_id]
        group_id = f"{logical_id}LogGroup"
        resources[group_id] = log_group(stage.log_group(name))
        log_groups[stage.log_group(name)] = group_id
        function["Properties"]["FunctionName"] = stage.function_name(name)
        function["Properties"]["Environment"]["Variables"] = environment(
            function["Properties"]["Environment"]["Variables"],
            stage,
            table_ids,
            {n: i for n, i in functions.items() if i != logical_id},
        )
        function["DependsOn"] = sorted({*_as_list(function.get("DependsOn", [])), group_id, SECRET})
        function["Metadata"] = checkov_skips(OTHER_FUNCTION_SKIPS.get(name, FUNCTION_SKIPS))

    for name, logical_id in function_ids.items():
        statements = [
            statement(grant, table_ids, log_groups, functions, own=logical_id)
            for grant in grants(stage, name)
        ]
        role_id = resources[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        rewrite_role(resources[role_id], stage.policies[name], statements)

    resources.update(secret_resources(stage))
    resources.update(api_account_resources())
    resources[ACCESS_LOG_GROUP] = log_group(f"/aws/apigateway/{APP_NAME}-{stage.name}/access")
    complete_api(resources[API], stage)

    template["Outputs"] = {**template.get("Outputs", {}), **outputs(stage, tables)}
    return template


def parameters(stage: Stage) -> dict[str, Any]:
    """Template parameters; defaults are the stage's values in ``.chalice/config.json``."""
    settings = stage.settings
    return {
        "AllowedOrigin": {
            "Type": "String",
            "Default": settings.allowed_origin,
            "AllowedPattern": r"^(\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)$",
            "Description": "CORS origin: * or one scheme://host[:port] (the app's ALLOWED_ORIGIN)",
        },
        "TokenLifetimeSeconds": {
            "Type": "Number",
            "Default": str(settings.token_lifetime_seconds),
            "MinValue": 60,
            "MaxValue": 86400,
            "Description": "Access token lifetime (TOKEN_LIFETIME_SECONDS)",
        },
        "LogRetentionInDays": {
            "Type": "Number",
            "Default": str(stage.log_retention_days),
            "AllowedValues": [str(days) for days in LOG_RETENTION_DAYS],
            "Description": "Retention of the functions' and the API's access logs",
        },
        "ThrottlingRateLimit": {
            "Type": "Number",
            "Default": "50",
            "MinValue": 1,
            "Description": "Steady-state requests per second the API stage accepts",
        },
        "ThrottlingBurstLimit": {
            "Type": "Number",
            "Default": "100",
            "MinValue": 1,
            "Description": "Burst of requests the API stage accepts above the rate",
        },
        "DeleteSigningSecretOnStackDelete": {
            "Type": "String",
            "Default": "false",
            "AllowedValues": ["false", "true"],
            "Description": "Delete the signing-secret parameter with the stack (default: keep)",
        },
        # On by default, like Terraform's manage_api_gateway_account: a first deploy into a
        # fresh account then works (access logging needs the role); false where another
        # stack already owns the setting.
        CREATE_ACCOUNT_ROLE: {
            "Type": "String",
            "Default": "true",
            "AllowedValues": ["false", "true"],
            "Description": (
                "Set the region's account-wide API Gateway CloudWatch Logs role (needed once "
                "per account and region for access logging; kept when the stack is deleted)"
            ),
        },
    }


# --- tables ---------------------------------------------------------------------------


def table_resources(stage: Stage) -> dict[str, Resource]:
    """One ``AWS::DynamoDB::Table`` per ``Stage.tables`` entry, keyed by logical id."""
    ids = _table_logical_ids(stage)
    return {
        ids[definition["TableName"]]: table_resource(
            definition,
            ttl_attribute=stage.time_to_live.get(definition["TableName"]),
            production=stage.is_production,
        )
        for definition in stage.tables
    }


def table_resource(
    definition: dict[str, Any], *, ttl_attribute: str | None, production: bool
) -> Resource:
    """Convert ``CreateTable`` arguments into a table resource; data outlives the stack.

    On-demand billing, point-in-time recovery, KMS encryption and the TTL attribute on
    every stage; deletion protection on production. An argument this does not know is an
    error rather than silently dropped.
    """
    properties: dict[str, Any] = {}
    for key, value in definition.items():
        if key in _SAME_TABLE_KEYS:
            properties[key] = copy.deepcopy(value)
        elif key == "SSESpecification":
            properties[key] = {
                "SSEEnabled": value.get("Enabled", True),
                **{k: v for k, v in value.items() if k in ("SSEType", "KMSMasterKeyId")},
            }
        elif key == "StreamSpecification":
            if value.get("StreamEnabled"):
                properties[key] = {"StreamViewType": value["StreamViewType"]}
        else:
            raise ValueError(f"CreateTable argument {key!r} has no conversion to CloudFormation")
    properties.setdefault("BillingMode", "PAY_PER_REQUEST")
    if properties["BillingMode"] != "PAY_PER_REQUEST":
        raise ValueError(f"table {properties['TableName']}: only on-demand billing is packaged")
    properties.setdefault("SSESpecification", {"SSEEnabled": True, "SSEType": "KMS"})
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    if ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl_attribute, "Enabled": True}
    properties["DeletionProtectionEnabled"] = production
    return {
        "Type": "AWS::DynamoDB::Table",
        # Retain on every stage, like `make destroy` keeps tables: deleting a stack (or a
        # change that would replace a table) must never delete data as a side effect.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
        "Metadata": checkov_skips(TABLE_SKIPS),
    }


def _table_logical_ids(stage: Stage) -> dict[str, str]:
    """Table name -> logical id, named after the variable that passes it to the code.

    ``USERS_TABLE`` -> ``UsersTable``: the template, the environment and the outputs then
    use one name per table.
    """
    ids = {}
    for definition in stage.tables:
        name = definition["TableName"]
        variables = [k for k, v in stage.environment.items() if v == name and k.endswith("_TABLE")]
        if len(variables) != 1:
            raise ValueError(f"table {name} is not named by exactly one *_TABLE variable")
        ids[name] = "".join(part.capitalize() for part in variables[0].split("_"))
    return ids


# --- functions, logs and IAM -----------------------------------------------------------


def function_logical_ids(stage: Stage, resources: dict[str, Resource]) -> dict[str, str]:
    """Each of the stage's functions (Chalice name) -> its logical id in Chalice's template.

    Chalice names the logical ids after the functions (``APIHandler`` for the API handler);
    a function in the template that the stage does not list (so has no policy file of its
    own) or the other way round is an error, not a role granted the wrong file.
    """
    ids = {
        name: API_HANDLER if name == API_HANDLER_FUNCTION else to_cfn_resource_name(name)
        for name in stage.functions
    }
    packaged = set(_functions(resources))
    if packaged != set(ids.values()):
        raise ValueError(
            f"the template's functions {sorted(packaged)} are not the stage's "
            f"{sorted(ids.values())}: list each function under lambda_functions in "
            ".chalice/config.json with its own iam_policy_file"
        )
    return ids


def log_group(name: str) -> Resource:
    """A log group the stack owns, so it has a retention and goes away with the stack."""
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": name, "RetentionInDays": {"Ref": "LogRetentionInDays"}},
        "Metadata": checkov_skips(LOG_GROUP_SKIPS),
    }


def environment(
    variables: dict[str, str],
    stage: Stage,
    table_ids: dict[str, str],
    function_ids: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The function's variables, values unchanged; tables, other functions and tunables
    become references.

    A ``Ref`` to a table or a function is its name, so the code sees the same strings as on
    the other deploy paths while the functions wait for what they use. ``function_ids``
    (function name -> logical id) leaves out the function itself: a function referring to
    itself would be a circular dependency, and its name is literal anyway.
    """
    result: dict[str, Any] = dict(variables)
    for key, value in variables.items():
        if key.endswith("_TABLE") and value in table_ids:
            result[key] = {"Ref": table_ids[value]}
        elif value in (function_ids or {}):
            result[key] = {"Ref": (function_ids or {})[value]}
    result["ALLOWED_ORIGIN"] = {"Ref": "AllowedOrigin"}
    result["TOKEN_LIFETIME_SECONDS"] = {"Ref": "TokenLifetimeSeconds"}
    return result


def statement(
    grant: Grant,
    table_ids: dict[str, str],
    log_groups: dict[str, str],
    function_ids: dict[str, str] | None = None,
    own: str | None = None,
) -> dict[str, Any]:
    """One policy-file statement with each ARN replaced by the created resource's ARN.

    Only X-Ray keeps "*" (its actions have no resource-level permissions); any other
    unscoped grant, or an ARN naming something the stack does not create, is an error.
    ``function_ids`` maps function names to logical ids; ``own`` is the logical id of the
    function whose role this is: a grant on itself is its ARN spelt from its name, since a
    reference from its role to the function would be circular (the function needs the role).
    """
    resources: list[Any] = []
    for table in grant.tables:
        resources.append({"Fn::GetAtt": [_known(table_ids, table, grant), "Arn"]})
    for table, index in grant.indexes:
        resources.append({"Fn::Sub": f"${{{_known(table_ids, table, grant)}.Arn}}/index/{index}"})
    resources.extend(parameter_arn(name) for name in grant.parameters)
    for group in grant.log_groups:
        group_id = _known(log_groups, group, grant)
        # The group itself, and (Arn ends with ":*") every stream in it.
        resources.append(
            {
                "Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}"
                f":log-group:${{{group_id}}}"
            }
        )
        resources.append({"Fn::GetAtt": [group_id, "Arn"]})
    for name in grant.functions:
        function_id = _known(function_ids or {}, name, grant)
        if function_id == own:
            resources.append(function_arn(name))
        else:
            resources.append({"Fn::GetAtt": [function_id, "Arn"]})
    if grant.unscoped:
        if not all(action.startswith("xray:") for action in grant.actions):
            raise ValueError(f"statement {grant.sid}: only X-Ray actions may use Resource '*'")
        resources.append("*")
    return {"Sid": grant.sid, "Effect": "Allow", "Action": grant.actions, "Resource": resources}


def rewrite_role(role: Resource, policy: dict[str, Any], statements: list[dict[str, Any]]) -> None:
    """Replace the role's copy of its policy file by the rewired statements, nothing else."""
    policies = role["Properties"]["Policies"]
    if len(policies) != 1 or policies[0]["PolicyDocument"] != policy:
        raise ValueError("Chalice's role no longer carries exactly its function's policy file")
    policies[0]["PolicyDocument"] = {"Version": "2012-10-17", "Statement": statements}


def function_arn(name: str) -> dict[str, str]:
    """The ARN of the Lambda function ``name`` in the stack's account and region."""
    return {
        "Fn::Sub": f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}"
        f":function:{name}"
    }


def parameter_arn(name: str) -> dict[str, str]:
    """The ARN of an SSM parameter (``name`` starts with "/") in the stack's account."""
    return {
        "Fn::Sub": f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}"
        f":parameter{name}"
    }


def _known(ids: dict[str, str], name: str, grant: Grant) -> str:
    """The logical id created for ``name``; a grant on anything else is a packaging error."""
    if name not in ids:
        raise ValueError(f"statement {grant.sid} names {name}, which the template does not create")
    return ids[name]


def _functions(resources: dict[str, Resource]) -> dict[str, Resource]:
    return {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}


# --- the signing secret ------------------------------------------------------------------


def secret_resources(stage: Stage) -> dict[str, Resource]:
    """A custom resource that creates the SecureString the functions read (never outputs it).

    ``AWS::SSM::Parameter`` cannot be a SecureString, and a dynamic reference cannot create
    one; a small inline function can, keeping the code's configuration identical to the other
    deploy paths. Its role may only put and delete that one parameter and write its logs.
    """
    parameter = stage.secret_parameters[0]
    source = SECRET_SOURCE.read_text()
    if len(source) > ZIP_FILE_LIMIT:
        raise ValueError(f"{SECRET_SOURCE.name} exceeds CloudFormation's inline code limit")
    function_name = f"{APP_NAME}-{stage.name}-signing-secret"
    group_id = f"{SECRET_FUNCTION}LogGroup"
    return {
        group_id: log_group(f"/aws/lambda/{function_name}"),
        SECRET_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _assume_role("lambda.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": "SigningSecretParameter",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "SigningSecretParameter",
                                    "Effect": "Allow",
                                    "Action": ["ssm:PutParameter", "ssm:DeleteParameter"],
                                    "Resource": parameter_arn(parameter),
                                },
                                {
                                    "Sid": "FunctionLogs",
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    "Resource": {"Fn::GetAtt": [group_id, "Arn"]},
                                },
                            ],
                        },
                    }
                ],
            },
        },
        SECRET_FUNCTION: {
            "Type": "AWS::Lambda::Function",
            "DependsOn": [group_id],
            "Properties": {
                "FunctionName": function_name,
                "Description": "Creates the token signing secret (SSM SecureString) if missing",
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Code": {"ZipFile": source},
                "Role": {"Fn::GetAtt": [SECRET_ROLE, "Arn"]},
                "Timeout": 30,
                "MemorySize": 128,
            },
            "Metadata": checkov_skips(SECRET_FUNCTION_SKIPS),
        },
        SECRET: {
            "Type": "Custom::SigningSecret",
            # Its log group outlives every request, the Delete included.
            "DependsOn": [group_id],
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": [SECRET_FUNCTION, "Arn"]},
                "ServiceTimeout": 120,
                "ParameterName": parameter,
                "DeleteOnStackDelete": {"Ref": "DeleteSigningSecretOnStackDelete"},
            },
        },
    }


# --- the API -------------------------------------------------------------------------------


def api_account_resources() -> dict[str, Resource]:
    """The account-wide CloudWatch Logs role API Gateway needs for access logging.

    Created only when asked: it is one setting per account and region, which other stacks
    may own. When created, both resources are retained, so deleting this stack never leaves
    the account pointing at a deleted role. ``ApiGatewayAccountReady`` lets the API wait for
    the setting without a conditional ``DependsOn``, which CloudFormation does not allow.
    """
    return {
        "ApiGatewayCloudWatchRole": {
            "Type": "AWS::IAM::Role",
            "Condition": CREATE_ACCOUNT_ROLE,
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "AssumeRolePolicyDocument": _assume_role("apigateway.amazonaws.com"),
                "ManagedPolicyArns": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs"
                    }
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "Condition": CREATE_ACCOUNT_ROLE,
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}
            },
        },
        ACCOUNT_READY: {
            "Type": "AWS::CloudFormation::WaitConditionHandle",
            "Metadata": {
                "AccountSetting": {
                    "Fn::If": [CREATE_ACCOUNT_ROLE, {"Ref": "ApiGatewayAccount"}, ""]
                }
            },
        },
    }


def complete_api(api: Resource, stage: Stage) -> None:
    """Access log, throttling, tracing, the template's origin, and CORS on gateway errors."""
    properties = api["Properties"]
    body = properties["DefinitionBody"]
    _substitute_origin(body, stage.settings.allowed_origin)
    body["x-amazon-apigateway-gateway-responses"] = gateway_responses()
    properties["AccessLogSetting"] = {
        "DestinationArn": {"Fn::GetAtt": [ACCESS_LOG_GROUP, "Arn"]},
        "Format": ACCESS_LOG_FORMAT,
    }
    properties["MethodSettings"] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        }
    ]
    properties["TracingEnabled"] = stage.xray
    # A stage's settings live in the deployment: redeploy on every stack update, so a new
    # AllowedOrigin (a parameter inside the body) takes effect. Setting OpenApiVersion also
    # stops SAM from adding a second, unlogged stage named "Stage".
    properties["AlwaysDeploy"] = True
    properties["OpenApiVersion"] = "2.0"
    api["DependsOn"] = sorted({*_as_list(api.get("DependsOn", [])), ACCOUNT_READY})
    api["Metadata"] = checkov_skips(API_SKIPS if stage.xray else {**API_SKIPS, **API_XRAY_SKIPS})


def gateway_responses() -> dict[str, Any]:
    """CORS headers (the app's own set) on the errors API Gateway answers by itself.

    Part of the definition, not separate ``AWS::ApiGateway::GatewayResponse`` resources:
    gateway responses only take effect in a deployment, and SAM's deployment does not wait
    for resources outside the definition.
    """
    headers = {
        f"gatewayresponse.header.{name}": f"'{value}'"
        for name, value in cors_config("*").get_access_control_headers().items()
    }
    headers[f"gatewayresponse.header.{ORIGIN_HEADER}"] = _origin_value()
    pinned = {"application/json": GATEWAY_ERROR_BODY}
    return {
        "UNAUTHORIZED": {
            "statusCode": 401,
            "responseParameters": headers,
            "responseTemplates": pinned,
        },
        "ACCESS_DENIED": {
            "statusCode": 403,
            "responseParameters": headers,
            "responseTemplates": pinned,
        },
        "DEFAULT_4XX": {"responseParameters": headers},
        "DEFAULT_5XX": {"responseParameters": headers},
        **{
            response_type: {
                "statusCode": contract.status,
                "responseParameters": {
                    **headers,
                    **contract.header_parameters,
                },
                "responseTemplates": {"application/json": contract.template},
            }
            for response_type, contract in CONTRACT_RESPONSES.items()
        },
    }


def _substitute_origin(node: Any, packaged_origin: str) -> None:
    """Replace the origin Chalice baked into each OPTIONS response by the template's."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == f"method.response.header.{ORIGIN_HEADER}":
                if value != f"'{packaged_origin}'":
                    raise ValueError(f"unexpected packaged CORS origin {value!r}")
                node[key] = _origin_value()
            else:
                _substitute_origin(value, packaged_origin)
    elif isinstance(node, list):
        for item in node:
            _substitute_origin(item, packaged_origin)


def _origin_value() -> dict[str, str]:
    return {"Fn::Sub": "'${AllowedOrigin}'"}


def outputs(stage: Stage, tables: dict[str, Resource]) -> dict[str, Any]:
    """Outputs beside Chalice's (URL, API id, handler): table names, the secret's name."""
    result: dict[str, Any] = {
        f"{logical_id}Name": {"Description": "DynamoDB table", "Value": {"Ref": logical_id}}
        for logical_id in tables
    }
    result["SigningSecretParameterName"] = {
        "Description": "SSM SecureString holding the token signing secret (name only)",
        "Value": stage.secret_parameters[0],
    }
    result["AccessLogGroupName"] = {"Value": {"Ref": ACCESS_LOG_GROUP}}
    return result


def _assume_role(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# --- checkov findings accepted on purpose, each with the reason a reviewer sees ----------


def checkov_skips(skips: dict[str, str]) -> dict[str, Any]:
    """Resource ``Metadata`` that suppresses the given checkov checks with their reasons."""
    return {"checkov": {"skip": [{"id": id_, "comment": reason} for id_, reason in skips.items()]}}


TABLE_SKIPS = {
    "CKV_AWS_119": "Encrypted at rest with the AWS-managed KMS key (aws/dynamodb); no other "
    "account needs access, so a customer key would add $1/month and a key policy, no protection",
}
LOG_GROUP_SKIPS = {
    "CKV_AWS_158": "CloudWatch Logs encrypts every log group at rest; these logs hold no "
    "secrets or tokens, so a customer key would add cost and a key policy, no protection",
}
_NO_VPC = (
    "Uses only DynamoDB, SSM and CloudWatch through their public, IAM-authenticated "
    "endpoints; a VPC would need NAT or endpoints (hourly cost) and protect nothing here"
)
_NO_RESERVED_CONCURRENCY = (
    "Reserved concurrency is carved from the account pool and fails on accounts with the "
    "default quota of 10; the stage's throttling parameters bound concurrency instead"
)
FUNCTION_SKIPS = {
    "CKV_AWS_116": "Invoked synchronously by API Gateway, which returns the error to the "
    "client; there are no asynchronous events that a dead-letter queue could keep",
    "CKV_AWS_117": _NO_VPC,
    "CKV_AWS_115": _NO_RESERVED_CONCURRENCY,
    "CKV_AWS_173": "The variables hold table and parameter names and settings, no secret (the "
    "signing secret stays in SSM); Lambda encrypts them at rest with its AWS-managed key",
}
# Functions API Gateway does not invoke, by Chalice name, and their own reasons.
OTHER_FUNCTION_SKIPS = {
    "purge_account": {
        **FUNCTION_SKIPS,
        "CKV_AWS_116": "Invoked asynchronously (by the API handler, then by itself) with only "
        "a user id; Lambda retries a failed event twice, and the client's retry of DELETE "
        "/users/me (accepted for a closed account) finishes the purge. A queue would need SQS "
        "and a grant that chalice deploy (make deploy) cannot set up, splitting the paths",
    },
}
SECRET_FUNCTION_SKIPS = {
    "CKV_AWS_116": "Runs only for CloudFormation, which fails the stack operation when no "
    "answer comes; a dead-letter queue would keep a request that nobody replays",
    "CKV_AWS_117": _NO_VPC,
    "CKV_AWS_115": "Runs once per stack operation; reserved concurrency would be carved from "
    "the account pool and fails on accounts with the default quota of 10",
}
API_SKIPS = {
    "CKV_AWS_120": "Every response depends on the caller's token or is a write; a cache "
    "would have to key on Authorization and bills per hour even when the API is idle",
}
API_XRAY_SKIPS = {
    "CKV_AWS_73": "X-Ray is off on this stage by choice (.chalice/config.json xray: false, "
    "like its functions); prod traces the API and the functions",
}
