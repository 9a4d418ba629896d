# Alarms, all to one SNS topic, each threshold a variable. A period without data (no
# traffic) is "not breaching": a quiet stage is not an incident.

resource "aws_sns_topic" "alarms" {
  # checkov:skip=CKV_AWS_26:the AWS managed key (aws/sns) does not let CloudWatch publish, so encryption would need a CMK ($1/month and a key policy); alarm notifications carry no data beyond the alarm's name and state
  name = "${local.name_prefix}-alarms"
  tags = var.tags
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
  # API Gateway's own metrics (namespace AWS/ApiGateway): the REST API's by name and stage;
  # the HTTP API's by id and stage, and it names its error counts 4xx and 5xx.
  api_dimensions = local.rest_api ? tomap({
    ApiName = one(aws_api_gateway_rest_api.this[*].name)
    Stage   = one(aws_api_gateway_stage.this[*].stage_name)
    }) : tomap({
    ApiId = one(aws_apigatewayv2_api.this[*].id)
    Stage = one(aws_apigatewayv2_stage.this[*].name)
  })
  api_metric_names = local.rest_api ? { errors_4xx = "4XXError", errors_5xx = "5XXError" } : { errors_4xx = "4xx", errors_5xx = "5xx" }
  # The authorizer's errors have an alarm of their own (authorizer_failures).
  errors_alarmed_functions = { for key, function in local.functions : key => function if key != "jwt_authorizer" }
}

# --- API Gateway -------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "api_5xx_rate" {
  alarm_name          = "${local.name_prefix}-api-5xx-rate"
  alarm_description   = "More than ${var.api_5xx_rate_threshold_percent}% of the API's requests answered 5xx (periods under ${var.api_5xx_min_requests} requests do not count)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_rate_threshold_percent
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "rate"
    label       = "5xx responses, % of requests"
    expression  = "IF(requests >= ${var.api_5xx_min_requests}, 100 * errors / requests, 0)"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = local.api_metric_names.errors_5xx
      dimensions  = local.api_dimensions
      stat        = "Sum"
      period      = var.alarm_period_seconds
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      dimensions  = local.api_dimensions
      stat        = "Sum"
      period      = var.alarm_period_seconds
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_p99_latency" {
  alarm_name          = "${local.name_prefix}-api-p99-latency"
  alarm_description   = "The API's p99 latency is over ${var.api_p99_latency_threshold_ms} ms."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = local.api_dimensions
  extended_statistic  = "p99"
  period              = var.alarm_period_seconds
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_p99_latency_threshold_ms
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# --- Lambda ------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = local.errors_alarmed_functions

  alarm_name          = "${each.value.name}-errors"
  alarm_description   = "${each.value.name} failed ${var.lambda_errors_threshold} or more times in ${var.alarm_period_seconds} s (the app answers its own errors as 5xx; these are crashes and timeouts)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.lambda_errors_threshold
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "authorizer_failures" {
  alarm_name          = "${local.functions.jwt_authorizer.name}-failures"
  alarm_description   = "The authorizer raised ${var.authorizer_errors_threshold} or more times in ${var.alarm_period_seconds} s: each was a ${local.rest_api ? "503" : "500 (HTTP API)"} to a client, usually an unreadable signing secret."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this["jwt_authorizer"].function_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.authorizer_errors_threshold
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  for_each = local.functions

  alarm_name          = "${each.value.name}-throttles"
  alarm_description   = "${each.value.name} was throttled ${var.lambda_throttles_threshold} or more times in ${var.alarm_period_seconds} s (the account's concurrency is exhausted)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.lambda_throttles_threshold
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# --- DynamoDB ----------------------------------------------------------------------------------
# ThrottledRequests and SystemErrors exist only per table AND operation; a Metrics Insights
# query sums a table's operations into the one series an alarm needs.

resource "aws_cloudwatch_metric_alarm" "dynamodb_throttled_requests" {
  for_each = local.tables

  alarm_name          = "${aws_dynamodb_table.this[each.key].name}-throttled-requests"
  alarm_description   = "${aws_dynamodb_table.this[each.key].name} throttled ${var.dynamodb_throttled_requests_threshold} or more requests in ${var.alarm_period_seconds} s (clients got 503 with Retry-After)."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.dynamodb_throttled_requests_threshold
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "throttled"
    label       = "ThrottledRequests, all operations"
    expression  = "SELECT SUM(ThrottledRequests) FROM SCHEMA(\"AWS/DynamoDB\", Operation, TableName) WHERE TableName = '${aws_dynamodb_table.this[each.key].name}'"
    period      = var.alarm_period_seconds
    return_data = true
  }
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_system_errors" {
  for_each = local.tables

  alarm_name          = "${aws_dynamodb_table.this[each.key].name}-system-errors"
  alarm_description   = "${aws_dynamodb_table.this[each.key].name} answered ${var.dynamodb_system_errors_threshold} or more requests with an internal error (HTTP 500) in ${var.alarm_period_seconds} s."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.dynamodb_system_errors_threshold
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "errors"
    label       = "SystemErrors, all operations"
    expression  = "SELECT SUM(SystemErrors) FROM SCHEMA(\"AWS/DynamoDB\", Operation, TableName) WHERE TableName = '${aws_dynamodb_table.this[each.key].name}'"
    period      = var.alarm_period_seconds
    return_data = true
  }
}
