# identity_provider = "cognito": an Amazon Cognito user pool signs users up and in and issues
# the access tokens the authorizer verifies (RS256 against the pool's JWKS); the API's
# /auth/* routes answer 404 in that mode. Nothing here exists with "builtin" (the default).
#
# Users pick a username and may sign in with their verified email instead
# (alias_attributes, not username_attributes): the access token's `username` claim, which
# GET /users/me returns and AdminGetUser / AdminDeleteUser are called with, stays the name
# the user chose, as in the builtin mode. With username_attributes = ["email"] Cognito would
# make the username a generated UUID. Either choice is fixed when the pool is created.

locals {
  cognito = var.identity_provider == "cognito"

  cognito_user_pool_id  = local.cognito ? aws_cognito_user_pool.this[0].id : null
  cognito_user_pool_arn = local.cognito ? aws_cognito_user_pool.this[0].arn : null
  cognito_client_id     = local.cognito ? aws_cognito_user_pool_client.this[0].id : null
  cognito_issuer        = local.cognito ? "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${local.cognito_user_pool_id}" : null

  # What the functions read in the cognito mode (chalicelib/config.py, docs/operations.md).
  cognito_environment = { for name, value in {
    IDENTITY_PROVIDER    = "cognito"
    OIDC_ISSUER          = local.cognito_issuer
    OIDC_AUDIENCE        = local.cognito_client_id
    COGNITO_USER_POOL_ID = local.cognito_user_pool_id
  } : name => value if local.cognito }

  # Every flow the public client allows: SRP (the password never leaves the client) and
  # refresh; USER_PASSWORD_AUTH only when asked for, so the AWS CLI can sign in on a test stage.
  cognito_auth_flows = concat(
    ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    var.cognito_allow_password_auth ? ["ALLOW_USER_PASSWORD_AUTH"] : [],
  )
}

resource "aws_cognito_user_pool" "this" {
  count = local.cognito ? 1 : 0

  name                     = "${local.name_prefix}-users"
  alias_attributes         = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  mfa_configuration        = "OFF"
  # Advanced security (threat protection) needs the Plus feature plan, billed per user.
  user_pool_tier = var.cognito_advanced_security ? "PLUS" : null

  username_configuration {
    case_sensitive = false
  }

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 7
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  user_pool_add_ons {
    advanced_security_mode = var.cognito_advanced_security ? "ENFORCED" : "OFF"
  }

  tags = var.tags
}

# A public client (a browser or the CLI cannot keep a secret): no client secret.
resource "aws_cognito_user_pool_client" "this" {
  count = local.cognito ? 1 : 0

  name            = "${local.name_prefix}-api"
  user_pool_id    = aws_cognito_user_pool.this[0].id
  generate_secret = false

  explicit_auth_flows           = local.cognito_auth_flows
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true

  # The builtin mode's lifetimes, which the app bounds the same way (access: at most a day).
  access_token_validity  = var.token_lifetime_seconds
  id_token_validity      = var.token_lifetime_seconds
  refresh_token_validity = var.refresh_token_lifetime_seconds
  token_validity_units {
    access_token  = "seconds"
    id_token      = "seconds"
    refresh_token = "seconds"
  }
}
