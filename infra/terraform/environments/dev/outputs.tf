output "api_url" {
  description = "Base URL of the API."
  value       = module.tasks_api.api_url
}

output "table_names" {
  description = "DynamoDB table names."
  value       = module.tasks_api.table_names
}

output "function_names" {
  description = "Lambda function names."
  value       = module.tasks_api.function_names
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.tasks_api.alarm_topic_arn
}

output "signing_secret_parameter" {
  description = "SSM parameter of the token signing secret."
  value       = module.tasks_api.signing_secret_parameter
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the stage."
  value       = module.tasks_api.dashboard_name
}

output "cognito_user_pool_id" {
  description = "Cognito user pool id (identity_provider = cognito; null otherwise)."
  value       = module.tasks_api.cognito_user_pool_id
}

output "cognito_client_id" {
  description = "Cognito app client id, the tokens' client_id (null unless cognito)."
  value       = module.tasks_api.cognito_client_id
}

output "cognito_issuer" {
  description = "Issuer URL of the pool's tokens (null unless cognito)."
  value       = module.tasks_api.cognito_issuer
}
