# The REST API (api_type = "rest", the default). Its routes come from app.py through
# `make build`'s api.json (Chalice's Swagger with API Gateway integrations), so a new route
# needs no change here. This file fills that template's placeholders and adds what the
# routes do not say: API Gateway's own error answers, the stage with its logs and limits,
# and the permissions to invoke. api_type = "http" replaces the REST resources here with
# those of http_api.tf; the permissions at the end serve whichever API exists.

locals {
  rest_api       = var.api_type == "rest"
  http_api       = var.api_type == "http"
  api_stage_name = "api" # Chalice's api_gateway_stage: the URL ends in /api/...

  invoke_arns = {
    for key, arn in local.function_arns :
    key => "arn:${data.aws_partition.current.partition}:apigateway:${data.aws_region.current.name}:lambda:path/2015-03-31/functions/${arn}/invocations"
  }

  # API Gateway's answers that never reach a function. Each carries the CORS headers (a
  # browser could not read them otherwise); the lists are those of cors_config() in
  # chalicelib/http/web.py, which the preflights in api.json come from. The tests compare
  # these headers and the contract's bodies below with the Python they come from.
  gateway_cors_headers = {
    "gatewayresponse.header.Access-Control-Allow-Origin"   = "'${var.allowed_origin}'"
    "gatewayresponse.header.Access-Control-Allow-Headers"  = "'Authorization,Content-Type,Idempotency-Key,If-Match,X-Amz-Date,X-Amz-Security-Token,X-Api-Key'"
    "gatewayresponse.header.Access-Control-Expose-Headers" = "'ETag,Location,Retry-After,Idempotent-Replayed'"
  }
  # The authorizer's deny is 401/403 {"message": ...} in the contract; the DEFAULT_* keep
  # API Gateway's status (throttling 429, integration timeout 504, ...).
  gateway_message = { "application/json" = "{\"message\":$context.error.messageString}" }
  # The contract's own answers (chalicelib/http/gateway_responses.py): an unknown path is
  # 404 not_found, not API Gateway's 403 "Missing Authentication Token"; an authorizer that
  # raised (the secret cannot be read) is 503 with Retry-After, and nothing is cached.
  authorizer_unavailable = {
    statusCode         = "503"
    responseParameters = merge(local.gateway_cors_headers, { "gatewayresponse.header.Retry-After" = "'1'" })
    responseTemplates  = { "application/json" = jsonencode({ error = { code = "service_unavailable", message = "Tokens cannot be verified right now; retry after the indicated delay." } }) }
  }
  gateway_responses = {
    UNAUTHORIZED  = { statusCode = "401", responseParameters = local.gateway_cors_headers, responseTemplates = local.gateway_message }
    ACCESS_DENIED = { statusCode = "403", responseParameters = local.gateway_cors_headers, responseTemplates = local.gateway_message }
    DEFAULT_4XX   = { responseParameters = local.gateway_cors_headers, responseTemplates = local.gateway_message }
    DEFAULT_5XX   = { responseParameters = local.gateway_cors_headers, responseTemplates = local.gateway_message }
    MISSING_AUTHENTICATION_TOKEN = {
      statusCode         = "404"
      responseParameters = local.gateway_cors_headers
      responseTemplates  = { "application/json" = jsonencode({ error = { code = "not_found", message = "No route matches this method and path." } }) }
    }
    AUTHORIZER_FAILURE             = local.authorizer_unavailable
    AUTHORIZER_CONFIGURATION_ERROR = local.authorizer_unavailable
  }

  # api.json with its placeholders filled: ${<function>_invoke_arn} and ${allowed_origin}
  # (deploy/build.py). The HTTP API reads its routes from it too (http_api.tf).
  api_template = jsondecode(templatefile(var.api_definition_path, merge(
    { for key, arn in local.invoke_arns : "${key}_invoke_arn" => arn },
    { allowed_origin = var.allowed_origin },
  )))

  # The gateway responses go into the definition rather than aws_api_gateway_gateway_response
  # resources: every body change re-imports the whole API (put_rest_api_mode "overwrite", so
  # removed routes disappear), which drops gateway responses that are not in the body.
  api_definition = jsonencode(merge(
    local.api_template,
    { "x-amazon-apigateway-gateway-responses" = local.gateway_responses },
  ))

  # One JSON object per request in the access log; no headers, query strings or bodies.
  access_log_format = jsonencode({
    requestId          = "$context.requestId"
    extendedRequestId  = "$context.extendedRequestId"
    requestTime        = "$context.requestTime"
    sourceIp           = "$context.identity.sourceIp"
    httpMethod         = "$context.httpMethod"
    resourcePath       = "$context.resourcePath"
    status             = "$context.status"
    protocol           = "$context.protocol"
    responseLength     = "$context.responseLength"
    responseLatency    = "$context.responseLatency"
    integrationLatency = "$context.integration.latency"
    principalId        = "$context.authorizer.principalId"
    authorizerError    = "$context.authorizer.error"
    errorType          = "$context.error.responseType"
  })
}

resource "aws_api_gateway_rest_api" "this" {
  count = local.rest_api ? 1 : 0

  name              = local.name_prefix
  body              = local.api_definition
  put_rest_api_mode = "overwrite"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  # The definition names the functions by ARN; they must exist when API Gateway imports it.
  depends_on = [aws_lambda_function.this]

  lifecycle {
    # A replacement API is up before the old one goes.
    create_before_destroy = true
  }
}

resource "aws_api_gateway_deployment" "this" {
  count = local.rest_api ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this[0].id
  description = local.name_prefix

  # A new deployment whenever the definition (routes, CORS, gateway responses) changes.
  triggers = {
    redeployment = sha1(local.api_definition)
  }

  lifecycle {
    create_before_destroy = true
  }
}

# API Gateway writes its execution logs (level ERROR, see method settings) to a group named
# after the API's id; created here first, with the retention, instead of by API Gateway.
# Two blocks for the same reason as in logs.tf.
resource "aws_cloudwatch_log_group" "api_execution" {
  # checkov:skip=CKV_AWS_158:CloudWatch encrypts log data at rest by default; a CMK adds $1/month per stage and a key policy to run, and no control this API needs
  # checkov:skip=CKV_AWS_338:retention is log_retention_days, chosen per environment (30 days on dev for cost, a year on prod)
  count = local.rest_api && !var.protect_logs ? 1 : 0

  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this[0].id}/${local.api_stage_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "api_execution_protected" {
  # checkov:skip=CKV_AWS_158:CloudWatch encrypts log data at rest by default; a CMK adds $1/month per stage and a key policy to run, and no control this API needs
  count = local.rest_api && var.protect_logs ? 1 : 0

  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this[0].id}/${local.api_stage_name}"
  retention_in_days = var.log_retention_days
  skip_destroy      = true
  tags              = var.tags

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_api_gateway_stage" "this" {
  # checkov:skip=CKV_AWS_120:responses are per user and authorized, so a cache would be wrong; a cache cluster also bills by the hour
  # checkov:skip=CKV2_AWS_51:the backends are Lambda proxy integrations, not HTTP endpoints that could check a client certificate
  # checkov:skip=CKV2_AWS_29:AWS WAF bills at least $5/month per web ACL even idle; the stage's throttling limits and the authorizer are the protection for this API
  # checkov:skip=CKV_AWS_73:X-Ray is tracing_enabled, on for prod; dev leaves it off for cost
  # checkov:skip=CKV2_AWS_4:logging_level is ERROR; what fails is metrics_enabled: per-method metrics bill as custom metrics (7 per method), and the free stage-level metrics cover the alarms
  count = local.rest_api ? 1 : 0

  rest_api_id          = aws_api_gateway_rest_api.this[0].id
  deployment_id        = aws_api_gateway_deployment.this[0].id
  stage_name           = local.api_stage_name
  xray_tracing_enabled = var.tracing_enabled

  access_log_settings {
    destination_arn = local.log_groups.api_access.arn
    format          = local.access_log_format
  }

  tags = var.tags

  # Logging needs the account's CloudWatch role (api_gateway_account.tf) and the
  # execution log group to exist first.
  depends_on = [
    aws_api_gateway_account.this,
    aws_cloudwatch_log_group.api_execution,
    aws_cloudwatch_log_group.api_execution_protected,
  ]
}

resource "aws_api_gateway_method_settings" "all" {
  # checkov:skip=CKV_AWS_225:responses are per user and authorized, so a cache would be wrong; a cache cluster also bills by the hour
  count = local.rest_api ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this[0].id
  stage_name  = aws_api_gateway_stage.this[0].stage_name
  method_path = "*/*"

  settings {
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
    logging_level          = "ERROR"
    # Never log bodies: they carry passwords and tokens.
    data_trace_enabled = false
    # Per-method metrics bill as custom metrics; the stage's own metrics are free.
    metrics_enabled = false
    caching_enabled = false
  }
}

# Before api_type existed these four had no count: their objects in existing state are [0].
moved {
  from = aws_api_gateway_rest_api.this
  to   = aws_api_gateway_rest_api.this[0]
}

moved {
  from = aws_api_gateway_deployment.this
  to   = aws_api_gateway_deployment.this[0]
}

moved {
  from = aws_api_gateway_stage.this
  to   = aws_api_gateway_stage.this[0]
}

moved {
  from = aws_api_gateway_method_settings.all
  to   = aws_api_gateway_method_settings.all[0]
}

# The permissions to invoke, for whichever API api_type selects (exactly one exists).
locals {
  api_execution_arn = one(concat(
    aws_api_gateway_rest_api.this[*].execution_arn,
    aws_apigatewayv2_api.this[*].execution_arn,
  ))
}

resource "aws_lambda_permission" "api_handler" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["api_handler"].function_name
  principal     = "apigateway.amazonaws.com"
  # Any stage, method and path of this API only.
  source_arn = "${local.api_execution_arn}/*"
}

resource "aws_lambda_permission" "jwt_authorizer" {
  statement_id  = "AllowApiGatewayAuthorizer"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["jwt_authorizer"].function_name
  principal     = "apigateway.amazonaws.com"
  # Authorizers of this API only.
  source_arn = "${local.api_execution_arn}/authorizers/*"
}
