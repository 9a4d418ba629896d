# The token signing secret: an SSM SecureString that no plan, state file or output holds.
#
# The value comes from an ephemeral resource (Secrets Manager's GetRandomPassword, which
# stores nothing) and reaches SSM through the write-only value_wo: Terraform sends it and
# forgets it. It is written when the parameter is created and again whenever
# signing_secret_version goes up; every other apply leaves the stored secret alone.
#
# The previous secret (TOKEN_SIGNING_SECRET_PREVIOUS_PARAMETER) is NOT managed here. The
# rotation procedure creates it by copying the current value (README.md); the app treats a
# missing one as "no previous secret". Terraform could only fill it with a second random
# value that no token was ever signed with, and it cannot copy the current one without
# reading it into the plan. The functions' roles are granted it by name all the same.

ephemeral "aws_secretsmanager_random_password" "signing_secret" {
  # 64 letters and digits: about 380 random bits, well over the app's 32-byte minimum.
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_ssm_parameter" "signing_secret" {
  # checkov:skip=CKV_AWS_337:SecureString under the AWS managed key (aws/ssm); a CMK costs $1/month and only the function roles may read the parameter anyway
  name        = local.signing_secret_parameter
  description = "Token signing secret (HS256) of ${local.name_prefix}; rotate by raising signing_secret_version"
  type        = "SecureString"
  tier        = "Standard"

  value_wo         = ephemeral.aws_secretsmanager_random_password.signing_secret.random_password
  value_wo_version = var.signing_secret_version

  tags = var.tags

  lifecycle {
    # Destroying the secret logs every user out and invalidates every cursor. Lifecycle
    # settings cannot come from a variable; to tear a stack down, first run
    #   terraform state rm 'module.<name>.aws_ssm_parameter.signing_secret'
    # (the parameter then stays in SSM: aws ssm delete-parameter removes it).
    prevent_destroy = true
  }
}
