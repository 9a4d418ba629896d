# One dashboard: the app's own metrics on top, AWS's beneath, the alarms at the bottom.
#
# The app's metrics (namespace TasksApi, chalicelib/observability.py) come from its request
# log lines (CloudWatch embedded metric format): Requests, Latency, 4xx and 5xx per Stage and
# per Stage + Route ("METHOD /template"), TokensDenied per Stage. Routes are found with
# SEARCH, so a new route shows up without editing this file.

locals {
  region = data.aws_region.current.name
  period = 300

  app_search = {
    for metric, stat in { Requests = "Sum", Latency = "p99" } :
    metric => "SEARCH('{TasksApi,Route,Stage} MetricName=\"${metric}\" Stage=\"${var.stage}\"', '${stat}', ${local.period})"
  }

  # The dimensions of API Gateway's metrics, as in alarms.tf.
  api_metric = flatten([for name, value in local.api_dimensions : [name, value]])

  dashboard_widgets = [
    # --- the app's metrics (TasksApi) ---
    {
      type = "metric", x = 0, y = 0, width = 8, height = 6
      properties = {
        title   = "Requests by route (TasksApi)", region = local.region, view = "timeSeries", stacked = true
        metrics = [[{ id = "requests", expression = local.app_search.Requests, label = "" }]]
      }
    },
    {
      type = "metric", x = 8, y = 0, width = 8, height = 6
      properties = {
        title = "Responses (TasksApi)", region = local.region, view = "timeSeries", stat = "Sum", period = local.period
        metrics = [
          ["TasksApi", "Requests", "Stage", var.stage],
          ["TasksApi", "4xx", "Stage", var.stage],
          ["TasksApi", "5xx", "Stage", var.stage],
          ["TasksApi", "TokensDenied", "Stage", var.stage],
        ]
      }
    },
    {
      type = "metric", x = 16, y = 0, width = 8, height = 6
      properties = {
        title   = "p99 latency by route, ms (TasksApi)", region = local.region, view = "timeSeries"
        metrics = [[{ id = "latency", expression = local.app_search.Latency, label = "" }]]
      }
    },
    # --- API Gateway ---
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title = "API Gateway: requests and errors", region = local.region, view = "timeSeries", stat = "Sum", period = local.period
        metrics = [
          concat(["AWS/ApiGateway", "Count"], local.api_metric),
          concat(["AWS/ApiGateway", local.api_metric_names.errors_4xx], local.api_metric),
          concat(["AWS/ApiGateway", local.api_metric_names.errors_5xx], local.api_metric),
        ]
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title = "API Gateway: latency, ms", region = local.region, view = "timeSeries", period = local.period
        metrics = [
          concat(["AWS/ApiGateway", "Latency"], local.api_metric, [{ stat = "p50" }]),
          concat(["AWS/ApiGateway", "Latency"], local.api_metric, [{ stat = "p99" }]),
          concat(["AWS/ApiGateway", "IntegrationLatency"], local.api_metric, [{ stat = "p99" }]),
        ]
        annotations = { horizontal = [{ label = "p99 alarm", value = var.api_p99_latency_threshold_ms }] }
      }
    },
    # --- Lambda ---
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title = "Lambda: invocations, errors, throttles", region = local.region, view = "timeSeries", stat = "Sum", period = local.period
        # concat(...), not flatten(): each metric is itself a list.
        metrics = concat([
          for key, function in local.functions : [
            ["AWS/Lambda", "Invocations", "FunctionName", function.name, { label = "${key} invocations" }],
            ["AWS/Lambda", "Errors", "FunctionName", function.name, { label = "${key} errors" }],
            ["AWS/Lambda", "Throttles", "FunctionName", function.name, { label = "${key} throttles" }],
          ]
        ]...)
      }
    },
    {
      type = "metric", x = 12, y = 12, width = 12, height = 6
      properties = {
        title = "Lambda: p99 duration, ms", region = local.region, view = "timeSeries", stat = "p99", period = local.period
        metrics = [
          for key, function in local.functions : ["AWS/Lambda", "Duration", "FunctionName", function.name, { label = key }]
        ]
      }
    },
    # --- DynamoDB ---
    {
      type = "metric", x = 0, y = 18, width = 12, height = 6
      properties = {
        title = "DynamoDB: consumed capacity units", region = local.region, view = "timeSeries", stat = "Sum", period = local.period
        metrics = concat([
          for key, name in local.table_names : [
            ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", name, { label = "${key} read" }],
            ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", name, { label = "${key} write" }],
          ]
        ]...)
      }
    },
    {
      type = "metric", x = 12, y = 18, width = 12, height = 6
      properties = {
        title = "DynamoDB: throttled requests and system errors", region = local.region, view = "timeSeries", period = local.period
        metrics = concat([
          for key, name in local.table_names : [
            [{ id = "throttled_${key}", expression = "SEARCH('{AWS/DynamoDB,Operation,TableName} MetricName=\"ThrottledRequests\" TableName=\"${name}\"', 'Sum', ${local.period})", label = "${key} throttled" }],
            [{ id = "errors_${key}", expression = "SEARCH('{AWS/DynamoDB,Operation,TableName} MetricName=\"SystemErrors\" TableName=\"${name}\"', 'Sum', ${local.period})", label = "${key} system errors" }],
          ]
        ]...)
      }
    },
    # --- alarms ---
    {
      type = "alarm", x = 0, y = 24, width = 24, height = 4
      properties = {
        title = "Alarms"
        alarms = [
          for name in concat(
            [aws_cloudwatch_metric_alarm.api_5xx_rate.alarm_name, aws_cloudwatch_metric_alarm.api_p99_latency.alarm_name, aws_cloudwatch_metric_alarm.authorizer_failures.alarm_name],
            values(aws_cloudwatch_metric_alarm.lambda_errors)[*].alarm_name,
            values(aws_cloudwatch_metric_alarm.lambda_throttles)[*].alarm_name,
            values(aws_cloudwatch_metric_alarm.dynamodb_throttled_requests)[*].alarm_name,
            values(aws_cloudwatch_metric_alarm.dynamodb_system_errors)[*].alarm_name,
          ) : "${local.arn.cloudwatch}:alarm:${name}"
        ]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.name_prefix
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
