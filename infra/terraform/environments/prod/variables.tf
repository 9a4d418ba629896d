variable "region" {
  description = "AWS region; null takes it from AWS_REGION / AWS_DEFAULT_REGION or the profile."
  type        = string
  default     = null
}

variable "package_path" {
  description = "Lambda package from `make build STAGE=prod`, relative to this directory."
  type        = string
  default     = "../../../../build/prod/deployment.zip"
}

variable "api_definition_path" {
  description = "API definition from `make build STAGE=prod`, relative to this directory."
  type        = string
  default     = "../../../../build/prod/api.json"
}

variable "allowed_origin" {
  description = "CORS origin of the web app that calls this API (* allows any)."
  type        = string
  default     = "https://app.example.com"
}

variable "alarm_email" {
  description = "Email address that receives the alarms (confirm the subscription); null for none."
  type        = string
  default     = null
}

variable "signing_secret_version" {
  description = "Raise by one to rotate the token signing secret (module README, \"Rotating the signing secret\")."
  type        = number
  default     = 1
}

variable "manage_api_gateway_account" {
  description = "Whether this stack owns the account's API Gateway CloudWatch role (one stack per account and region)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for every resource (owner, cost centre...), beside the provider's default_tags."
  type        = map(string)
  default     = {}
}

variable "identity_provider" {
  description = "builtin (this service's user store) or cognito (a Cognito user pool created by the module signs users up and in)."
  type        = string
  default     = "builtin"
}

variable "cognito_advanced_security" {
  description = "Cognito advanced security on the user pool (Plus feature plan, billed per user); cognito only."
  type        = bool
  default     = false
}

variable "cognito_allow_password_auth" {
  description = "Allow USER_PASSWORD_AUTH on the app client, for signing in with the AWS CLI on a test stage; cognito only."
  type        = bool
  default     = false
}

variable "api_type" {
  description = "rest (the contract's API) or http (an HTTP API: cheaper, but not contract-conforming; docs/http-api.md)."
  type        = string
  default     = "rest"
}

variable "parameters_secrets_extension_layer_arn" {
  description = "The AWS Parameters and Secrets Lambda Extension layer's ARN for this region and architecture, or null: the functions then read the signing secrets with their SSM client (docs/operations.md, Function memory and secrets)."
  type        = string
  default     = null
}
