# prod: the stage users depend on. Nothing here can lose data by accident: tables have
# deletion protection, log groups and the signing secret refuse to be destroyed, logs
# are kept a year, and X-Ray traces every request.

provider "aws" {
  # null: the region comes from AWS_REGION / AWS_DEFAULT_REGION or the profile.
  region = var.region

  default_tags {
    tags = {
      app        = "tasks-api"
      stage      = "prod"
      managed-by = "terraform"
    }
  }
}

module "tasks_api" {
  source = "../../modules/tasks_api"

  stage               = "prod"
  package_path        = var.package_path
  api_definition_path = var.api_definition_path

  allowed_origin         = var.allowed_origin
  alarm_email            = var.alarm_email
  signing_secret_version = var.signing_secret_version
  tags                   = var.tags

  api_type = var.api_type

  parameters_secrets_extension_layer_arn = var.parameters_secrets_extension_layer_arn

  identity_provider           = var.identity_provider
  cognito_advanced_security   = var.cognito_advanced_security
  cognito_allow_password_auth = var.cognito_allow_password_auth

  log_retention_days  = 365
  protect_logs        = true
  deletion_protection = true
  tracing_enabled     = true

  # prod is the longest-lived stack, so it owns the account's API Gateway logging role
  # (one per account and region); dev leaves it alone.
  manage_api_gateway_account = var.manage_api_gateway_account
}
