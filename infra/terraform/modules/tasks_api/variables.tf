# --- identity and build artifacts ------------------------------------------------------------

variable "app_name" {
  description = "Application name: the first part of every resource name (<app_name>-<stage>-...)."
  type        = string
  default     = "tasks-api"
}

variable "stage" {
  description = "Stage (environment) name, e.g. dev or prod. Names every resource and is the app's STAGE."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.stage)) && var.stage != "local"
    error_message = "stage: 2-16 of a-z, 0-9 and -, starting with a letter; not local (the only stage that accepts plain-text secrets)."
  }
}

variable "package_path" {
  description = "Path of the Lambda package, build/<stage>/deployment.zip from `make build STAGE=<stage>`."
  type        = string

  validation {
    condition     = fileexists(var.package_path)
    error_message = "No Lambda package at package_path: run `make build STAGE=<stage>` in the project first."
  }
}

variable "api_definition_path" {
  description = "Path of the API definition template, build/<stage>/api.json from `make build STAGE=<stage>`."
  type        = string

  validation {
    condition     = fileexists(var.api_definition_path)
    error_message = "No API definition at api_definition_path: run `make build STAGE=<stage>` in the project first."
  }
}

variable "tags" {
  description = "Tags set on every taggable resource, on top of the provider's default_tags."
  type        = map(string)
  default     = {}
}

# --- functions --------------------------------------------------------------------------------

variable "lambda_runtime" {
  description = "Lambda runtime of every function. Pinned here, not taken from the Python that builds the package."
  type        = string
  default     = "python3.13"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.lambda_runtime))
    error_message = "lambda_runtime: a Lambda Python runtime such as python3.13."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of every function. The package is pure Python, so arm64 (cheaper per GB-second) works."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture: arm64 or x86_64."
  }
}

variable "lambda_memory_sizes" {
  description = "Memory of each function in MB (CPU grows with it: one vCPU at 1,769 MB). The defaults are .chalice/config.json's, chosen from docs/benchmarks.md's memory table: login within 400 ms on the API handler, the authorizer's cold start, the purge's price."
  type = object({
    api_handler    = number
    jwt_authorizer = number
    purge_account  = number
  })
  default = {
    api_handler    = 1536
    jwt_authorizer = 1769
    purge_account  = 256
  }

  validation {
    condition     = alltrue([for size in values(var.lambda_memory_sizes) : size >= 128 && size <= 10240])
    error_message = "lambda_memory_sizes: each 128 to 10240 MB."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of every function; also FUNCTION_TIMEOUT_SECONDS, the budget the app fits its AWS calls into. API Gateway gives up after 29 s."
  type        = number
  default     = 15

  validation {
    condition     = var.lambda_timeout_seconds >= 3 && var.lambda_timeout_seconds <= 29 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "lambda_timeout_seconds: a whole number from 3 to 29 (API Gateway's integration limit)."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the app's JSON logs. Request lines, which carry the TasksApi metrics, are INFO."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level: DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "tracing_enabled" {
  description = "AWS X-Ray on the functions and the API stage. Adds the only Resource \"*\" grant (X-Ray has no resource-level permissions)."
  type        = bool
  default     = false
}

# --- application settings ---------------------------------------------------------------------

variable "allowed_origin" {
  description = "CORS origin: the functions, every OPTIONS preflight and API Gateway's own error responses send it."
  type        = string
  default     = "*"

  validation {
    condition     = var.allowed_origin == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.allowed_origin))
    error_message = "allowed_origin: * or scheme://host[:port]."
  }
}

variable "token_issuer" {
  description = "TOKEN_ISSUER: the iss claim of the access tokens."
  type        = string
  default     = "tasks-api"
}

variable "token_audience" {
  description = "TOKEN_AUDIENCE: the aud claim of the access tokens."
  type        = string
  default     = "tasks-api"
}

variable "token_lifetime_seconds" {
  description = "Access token lifetime in seconds (login's expires_in)."
  type        = number
  default     = 900

  validation {
    condition     = var.token_lifetime_seconds >= 60 && var.token_lifetime_seconds <= 86400 && floor(var.token_lifetime_seconds) == var.token_lifetime_seconds
    error_message = "token_lifetime_seconds: a whole number from 60 to 86400."
  }
}

variable "refresh_token_lifetime_seconds" {
  description = "Refresh token (session) lifetime in seconds."
  type        = number
  default     = 2592000

  validation {
    condition     = var.refresh_token_lifetime_seconds >= 3600 && var.refresh_token_lifetime_seconds <= 31536000 && floor(var.refresh_token_lifetime_seconds) == var.refresh_token_lifetime_seconds
    error_message = "refresh_token_lifetime_seconds: a whole number from 3600 to 31536000."
  }
}

variable "signing_secret_version" {
  description = "Generation of the token signing secret. Raising it writes a new random secret (see the rotation steps in README.md); the value itself never enters state."
  type        = number
  default     = 1

  validation {
    condition     = var.signing_secret_version >= 1 && floor(var.signing_secret_version) == var.signing_secret_version
    error_message = "signing_secret_version: a whole number from 1 that only ever goes up."
  }
}

variable "parameters_secrets_extension_layer_arn" {
  description = "ARN of the AWS Parameters and Secrets Lambda Extension layer for this region and architecture (AWS's table: https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-integration-lambda-extensions.html). Set, the API handler and the authorizer read the signing secrets through it instead of creating an SSM client (a cold start 0.76x the floor against 0.91x, docs/benchmarks.md); null (the default) leaves them on their SSM client."
  type        = string
  default     = null

  validation {
    condition     = var.parameters_secrets_extension_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension[A-Za-z0-9-]*:[0-9]+$", var.parameters_secrets_extension_layer_arn))
    error_message = "parameters_secrets_extension_layer_arn: null, or a version ARN of AWS's AWS-Parameters-and-Secrets-Lambda-Extension layer."
  }
}

# --- identity provider ------------------------------------------------------------------------

variable "identity_provider" {
  description = "IDENTITY_PROVIDER: builtin (this service's user store, /auth/*) or cognito (a Cognito user pool and public app client created here sign users up and in; see cognito.tf)."
  type        = string
  default     = "builtin"

  validation {
    condition     = contains(["builtin", "cognito"], var.identity_provider)
    error_message = "identity_provider: builtin or cognito."
  }

  validation {
    condition     = var.identity_provider != "cognito" || var.token_lifetime_seconds >= 300
    error_message = "token_lifetime_seconds: Cognito access tokens last 300 to 86400 seconds."
  }
}

variable "cognito_advanced_security" {
  description = "Cognito advanced security (threat protection, ENFORCED) on the user pool; needs the Plus feature plan, billed per monthly active user. Only with identity_provider = cognito."
  type        = bool
  default     = false
}

variable "cognito_allow_password_auth" {
  description = "Also allow USER_PASSWORD_AUTH on the app client, so `aws cognito-idp initiate-auth` can sign in without an SRP library. For test stages; only with identity_provider = cognito."
  type        = bool
  default     = false
}

# --- data and logs ----------------------------------------------------------------------------

variable "deletion_protection" {
  description = "Deletion protection of the DynamoDB tables and (identity_provider = cognito) the user pool: destroying one fails until this is turned off (on for prod)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the function, access and execution log groups, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days: a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 365, ... 3653)."
  }
}

variable "protect_logs" {
  description = "Create the log groups with prevent_destroy (and keep them on destroy). Set it when the stack is created: flipping it later moves the groups between two resource blocks (see README.md)."
  type        = bool
  default     = false
}

# --- API Gateway ------------------------------------------------------------------------------

variable "api_type" {
  description = "Which API Gateway product fronts the functions: rest (the REST API from api.json; the contract's deployment) or http (an HTTP API with payload format 1.0 and a caching Lambda authorizer: about 71% cheaper per request but NOT contract-conforming, see docs/http-api.md)."
  type        = string
  default     = "rest"

  validation {
    condition     = contains(["rest", "http"], var.api_type)
    error_message = "api_type: rest or http."
  }
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second the API stage accepts (all methods)."
  type        = number
  default     = 50
}

variable "throttling_burst_limit" {
  description = "Burst of requests the API stage accepts above the rate."
  type        = number
  default     = 100
}

variable "manage_api_gateway_account" {
  description = "Create the CloudWatch role API Gateway logs through and set it on the account. One setting per account and region: exactly one stack there sets this (see README.md)."
  type        = bool
  default     = false
}

# --- alarms -----------------------------------------------------------------------------------

variable "alarm_email" {
  description = "Email address subscribed to the alarm topic (confirm the subscription mail); null subscribes nobody."
  type        = string
  default     = null
}

variable "alarm_period_seconds" {
  description = "Period over which every alarm evaluates its metric."
  type        = number
  default     = 300
}

variable "alarm_evaluation_periods" {
  description = "Consecutive periods over the threshold before an alarm fires."
  type        = number
  default     = 1
}

variable "api_5xx_rate_threshold_percent" {
  description = "Alarm when more than this percentage of the API's requests in a period answer 5xx."
  type        = number
  default     = 1
}

variable "api_5xx_min_requests" {
  description = "Periods with fewer requests than this never raise the 5xx-rate alarm (one error in two requests is no outage)."
  type        = number
  default     = 20
}

variable "api_p99_latency_threshold_ms" {
  description = "Alarm when the API's p99 latency (API Gateway Latency) exceeds this, in milliseconds."
  type        = number
  default     = 3000
}

variable "lambda_errors_threshold" {
  description = "Alarm when a function (API handler, purge) reports at least this many Errors in a period."
  type        = number
  default     = 1
}

variable "lambda_throttles_threshold" {
  description = "Alarm when a function is throttled at least this many times in a period."
  type        = number
  default     = 1
}

variable "authorizer_errors_threshold" {
  description = "Alarm when the authorizer fails (Errors: every one was a 503 to a client) at least this many times in a period."
  type        = number
  default     = 1
}

variable "dynamodb_throttled_requests_threshold" {
  description = "Alarm when a table throttles at least this many requests in a period."
  type        = number
  default     = 1
}

variable "dynamodb_system_errors_threshold" {
  description = "Alarm when a table answers at least this many requests with a DynamoDB internal error in a period."
  type        = number
  default     = 1
}
