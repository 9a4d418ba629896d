output "api_url" {
  description = "Base URL of the API: the stage's invoke URL (https://<id>.execute-api.<region>.amazonaws.com/api; with api_type = http the default stage's, without /api and without a trailing slash)."
  value = one(concat(
    aws_api_gateway_stage.this[*].invoke_url,
    [for stage in aws_apigatewayv2_stage.this : trimsuffix(stage.invoke_url, "/")],
  ))
}

output "rest_api_id" {
  description = "Id of the REST API (null with api_type = http)."
  value       = one(aws_api_gateway_rest_api.this[*].id)
}

output "http_api_id" {
  description = "Id of the HTTP API (null with api_type = rest)."
  value       = one(aws_apigatewayv2_api.this[*].id)
}

output "table_names" {
  description = "DynamoDB table names by role: users, tasks, records, sessions."
  value       = { for key, table in aws_dynamodb_table.this : key => table.name }
}

output "function_names" {
  description = "Lambda function names by Chalice name: api_handler, jwt_authorizer, purge_account."
  value       = { for key, function in aws_lambda_function.this : key => function.function_name }
}

output "function_role_arns" {
  description = "ARN of each function's own IAM role, by Chalice name."
  value       = { for key, role in aws_iam_role.function : key => role.arn }
}

output "log_group_names" {
  description = "Log group names: one per function, the API's access log and (REST only) its execution log."
  value = merge(
    { for key, group in local.log_groups : key => group.name },
    { for group in concat(aws_cloudwatch_log_group.api_execution, aws_cloudwatch_log_group.api_execution_protected) : "api_execution" => group.name },
  )
}

output "signing_secret_parameter" {
  description = "SSM SecureString holding the current token signing secret (its value is in neither plan nor state)."
  value       = aws_ssm_parameter.signing_secret.name
}

output "previous_signing_secret_parameter" {
  description = "SSM parameter the rotation procedure writes the previous secret to; not created by Terraform."
  value       = local.previous_signing_secret_parameter
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies; subscribe more endpoints to it as needed."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the stage."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "cognito_user_pool_id" {
  description = "Id of the Cognito user pool (identity_provider = cognito; null otherwise): COGNITO_USER_POOL_ID."
  value       = local.cognito_user_pool_id
}

output "cognito_client_id" {
  description = "Id of the public app client (no secret; SRP and refresh flows): OIDC_AUDIENCE. Null unless identity_provider = cognito."
  value       = local.cognito_client_id
}

output "cognito_issuer" {
  description = "Issuer of the pool's tokens, https://cognito-idp.<region>.amazonaws.com/<pool id>: OIDC_ISSUER. Null unless identity_provider = cognito."
  value       = local.cognito_issuer
}
