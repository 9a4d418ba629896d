# api_type = "http": an HTTP API (API Gateway v2) in front of the same two functions, in place
# of the REST API of api_gateway.tf. About 71% cheaper per request ($1.00 against $3.50 per
# million in us-east-1), but it does NOT hold the contract: HTTP APIs have no gateway
# responses, so an unknown path, an authorizer that cannot verify (503 with Retry-After on
# REST, 500 here) and API Gateway's own 4xx/5xx answer in API Gateway's words, not the
# contract's. docs/http-api.md goes through the contract point by point.
#
# What carries over from the REST API: every route of api.json (the authorizer on exactly the
# operations api.json secures), Lambda proxy integration in payload format 1.0 (the REST event
# shape Chalice reads), the same authorizer function in payload format 1.0 (its IAM-policy
# answer) with the same result cache, the stage's throttling limits, the access log group and
# its fields, CORS with the app's lists. What does not: gateway responses, execution logs,
# X-Ray on the stage, WAF, usage plans and API keys (none of which this stack uses but the
# first).

locals {
  # "METHOD /path" of every operation in api.json (the OPTIONS preflights excepted: the
  # cors_configuration below answers those), with the authorizers its `security` names.
  http_routes = merge([
    for path, operations in local.api_template.paths : {
      for method, operation in operations : "${upper(method)} ${path}" => {
        authorizers = flatten([for requirement in try(operation.security, []) : keys(requirement)])
      } if method != "options"
    }
  ]...)

  # The REST authorizer's result cache (Chalice's ttl_seconds, in api.json), reused as is.
  authorizer_ttl_seconds = try(
    local.api_template.securityDefinitions.jwt_authorizer["x-amazon-apigateway-authorizer"].authorizerResultTtlInSeconds,
    300,
  )

  # The same header lists as the REST preflights and gateway responses (cors_config() in
  # chalicelib/http/web.py; the tests compare them).
  http_cors = {
    allow_headers  = split(",", trim(local.gateway_cors_headers["gatewayresponse.header.Access-Control-Allow-Headers"], "'"))
    expose_headers = split(",", trim(local.gateway_cors_headers["gatewayresponse.header.Access-Control-Expose-Headers"], "'"))
    allow_methods  = sort(distinct([for key in keys(local.http_routes) : split(" ", key)[0]]))
    max_age        = 600
  }

  # The REST access log's fields, from the HTTP API's variables: the route key stands in for
  # the resource path, and with no execution logs the integration's error is logged here.
  http_access_log_format = jsonencode({
    requestId          = "$context.requestId"
    extendedRequestId  = "$context.extendedRequestId"
    requestTime        = "$context.requestTime"
    sourceIp           = "$context.identity.sourceIp"
    httpMethod         = "$context.httpMethod"
    routeKey           = "$context.routeKey"
    status             = "$context.status"
    protocol           = "$context.protocol"
    responseLength     = "$context.responseLength"
    responseLatency    = "$context.responseLatency"
    integrationLatency = "$context.integration.latency"
    integrationError   = "$context.integration.error"
    principalId        = "$context.authorizer.principalId"
    authorizerError    = "$context.authorizer.error"
    errorType          = "$context.error.responseType"
  })
}

resource "aws_apigatewayv2_api" "this" {
  count = local.http_api ? 1 : 0

  name          = local.name_prefix
  description   = "Tasks API (HTTP API in front of the Chalice functions; see docs/http-api.md)."
  protocol_type = "HTTP"

  # API Gateway answers every preflight itself and sets these headers on the integration's
  # responses (it ignores the app's own CORS headers, which carry the same values).
  cors_configuration {
    allow_origins     = [var.allowed_origin]
    allow_methods     = local.http_cors.allow_methods
    allow_headers     = local.http_cors.allow_headers
    expose_headers    = local.http_cors.expose_headers
    max_age           = local.http_cors.max_age
    allow_credentials = false
  }

  tags = var.tags
}

# Every route goes to the API handler in payload format 1.0: the REST API's Lambda proxy
# event, which Chalice's handler reads (requestContext.resourcePath, multiValue* fields).
resource "aws_apigatewayv2_integration" "api_handler" {
  count = local.http_api ? 1 : 0

  api_id                 = aws_apigatewayv2_api.this[0].id
  description            = "Chalice API handler (Lambda proxy, payload format 1.0)."
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = local.invoke_arns.api_handler
  payload_format_version = "1.0"
  # As on the REST API: the functions' timeout (at most 29 s) fits inside it.
  timeout_milliseconds = 29000
}

# The REST TOKEN authorizer as a REQUEST authorizer in payload format 1.0: the event carries
# authorizationToken (the identity source's value) and methodArn, which is what Chalice's
# authorizer wrapper reads, and the answer is the same IAM policy. The policy covers every
# route of the stage (arn:...:<api>/<stage>/*/*), so one cached answer serves every route,
# keyed as on REST by the Authorization header. A request without that header gets 401
# without invoking the function.
resource "aws_apigatewayv2_authorizer" "jwt_authorizer" {
  count = local.http_api ? 1 : 0

  api_id                            = aws_apigatewayv2_api.this[0].id
  name                              = "jwt_authorizer"
  authorizer_type                   = "REQUEST"
  authorizer_uri                    = local.invoke_arns.jwt_authorizer
  authorizer_payload_format_version = "1.0"
  identity_sources                  = ["$request.header.Authorization"]
  authorizer_result_ttl_in_seconds  = local.authorizer_ttl_seconds
  enable_simple_responses           = false
}

resource "aws_apigatewayv2_route" "this" {
  # checkov:skip=CKV_AWS_309:the public routes (health, openapi.json, docs, register, login, refresh, logout) are public by the contract; every other route has the Lambda authorizer, exactly as api.json secures it
  for_each = local.http_api ? local.http_routes : {}

  api_id             = aws_apigatewayv2_api.this[0].id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.api_handler[0].id}"
  authorization_type = length(each.value.authorizers) > 0 ? "CUSTOM" : "NONE"
  authorizer_id      = length(each.value.authorizers) > 0 ? aws_apigatewayv2_authorizer.jwt_authorizer[0].id : null

  lifecycle {
    precondition {
      condition     = alltrue([for name in each.value.authorizers : name == "jwt_authorizer"])
      error_message = "api.json secures ${each.key} with an authorizer other than jwt_authorizer; http_api.tf knows only that one."
    }
  }
}

# The default stage (the URL has no /api prefix), deployed on every change.
resource "aws_apigatewayv2_stage" "this" {
  count = local.http_api ? 1 : 0

  api_id      = aws_apigatewayv2_api.this[0].id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
    # Route-level metrics bill as custom metrics; the stage's own are free.
    detailed_metrics_enabled = false
  }

  # The same log group as the REST stage's access log (logs.tf). HTTP APIs deliver access
  # logs without the account's API Gateway CloudWatch role; the deploying identity needs
  # logs:CreateLogDelivery and related permissions instead (docs/http-api.md).
  access_log_settings {
    destination_arn = local.log_groups.api_access.arn
    format          = local.http_access_log_format
  }

  tags = var.tags
}
