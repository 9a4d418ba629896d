# Names and ARNs every other file uses.
#
# ARNs are assembled from names (not read from the created resources) so that a plan shows
# every IAM policy, the whole API definition and the dashboard in full, for a reviewer to
# read, instead of "(known after apply)". The names are the ones Chalice gives the same resources, so the
# policy files in .chalice/ and this module describe the same stack.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  name_prefix      = "${var.app_name}-${var.stage}"
  parameter_prefix = "/${var.app_name}/${var.stage}"

  arn_suffix = "${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  arn        = { for service in ["cloudwatch", "dynamodb", "lambda", "logs", "ssm"] : service => "arn:${data.aws_partition.current.partition}:${service}:${local.arn_suffix}" }

  # Chalice's function names: the API handler is <app>-<stage>, the others get a suffix.
  functions = {
    api_handler = {
      name        = local.name_prefix
      handler     = "app.app"
      description = "Tasks API: serves every route of the REST API."
    }
    jwt_authorizer = {
      name        = "${local.name_prefix}-jwt_authorizer"
      handler     = "app.jwt_authorizer"
      description = "Tasks API: the REST API's token authorizer (reads the signing secret only)."
    }
    purge_account = {
      name        = "${local.name_prefix}-purge_account"
      handler     = "app.purge_account"
      description = "Tasks API: deletes a closed account's tasks in the background, slice by slice."
    }
  }
  function_arns = { for key, function in local.functions : key => "${local.arn.lambda}:function:${function.name}" }

  table_names = { for key in keys(local.tables) : key => "${local.name_prefix}-${key}" }
  table_arns  = { for key, name in local.table_names : key => "${local.arn.dynamodb}:table/${name}" }

  signing_secret_parameter          = "${local.parameter_prefix}/token-signing-secret"
  previous_signing_secret_parameter = "${local.parameter_prefix}/token-signing-secret-previous"
  signing_secret_arns = [
    "${local.arn.ssm}:parameter${local.signing_secret_parameter}",
    "${local.arn.ssm}:parameter${local.previous_signing_secret_parameter}",
  ]

  # Every log group the stack writes to, created here with a retention so that no role
  # needs logs:CreateLogGroup and no group keeps logs forever. API Gateway's execution log
  # group is named after the API's id, so it is created apart (api_gateway.tf).
  log_group_names = merge(
    { for key, function in local.functions : key => "/aws/lambda/${function.name}" },
    { api_access = "/aws/apigateway/${local.name_prefix}/access" },
  )
  log_group_arns = { for key, name in local.log_group_names : key => "${local.arn.logs}:log-group:${name}" }

  # The environment .chalice/config.json gives a stage, with every name pointing at what
  # this module creates. All three functions get the same settings, as with chalice deploy.
  environment = merge({
    STAGE                                   = var.stage
    LOG_LEVEL                               = var.log_level
    FUNCTION_TIMEOUT_SECONDS                = tostring(var.lambda_timeout_seconds)
    USERS_TABLE                             = local.table_names.users
    TASKS_TABLE                             = local.table_names.tasks
    RECORDS_TABLE                           = local.table_names.records
    SESSIONS_TABLE                          = local.table_names.sessions
    TOKEN_SIGNING_SECRET_PARAMETER          = local.signing_secret_parameter
    TOKEN_SIGNING_SECRET_PREVIOUS_PARAMETER = local.previous_signing_secret_parameter
    TOKEN_ISSUER                            = var.token_issuer
    TOKEN_AUDIENCE                          = var.token_audience
    TOKEN_LIFETIME_SECONDS                  = tostring(var.token_lifetime_seconds)
    REFRESH_TOKEN_LIFETIME_SECONDS          = tostring(var.refresh_token_lifetime_seconds)
    PURGE_FUNCTION_NAME                     = local.functions.purge_account.name
    ALLOWED_ORIGIN                          = var.allowed_origin
    # Not read by the app: containers read the secret once, so a new secret generation
    # must start new containers. Changing this variable does that in the same apply.
    TOKEN_SIGNING_SECRET_VERSION = tostring(var.signing_secret_version)
  }, local.cognito_environment) # empty in the builtin mode (cognito.tf)

  # The functions that read the signing secrets, and what the Parameters and Secrets
  # extension adds to them when it is configured (chalicelib/storage/parameters_extension.py
  # reads through it only when the port is set).
  secret_readers = ["api_handler", "jwt_authorizer"]
  extension_environment = var.parameters_secrets_extension_layer_arn == null ? {} : {
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT = "2773"
  }
}
