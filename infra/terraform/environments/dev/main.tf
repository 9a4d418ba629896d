# dev: a stage to try changes on. Cheap and disposable: short log retention, no X-Ray,
# tables and logs can be destroyed (the signing secret still cannot: see the module README).

provider "aws" {
  # null: the region comes from AWS_REGION / AWS_DEFAULT_REGION or the profile.
  region = var.region

  default_tags {
    tags = {
      app        = "tasks-api"
      stage      = "dev"
      managed-by = "terraform"
    }
  }
}

module "tasks_api" {
  source = "../../modules/tasks_api"

  stage               = "dev"
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

  log_retention_days  = 30
  protect_logs        = false
  deletion_protection = false
  tracing_enabled     = false

  # prod owns the account's API Gateway logging role. Set true only when dev has an AWS
  # account (or region) of its own; see the module README.
  manage_api_gateway_account = var.manage_api_gateway_account
}
