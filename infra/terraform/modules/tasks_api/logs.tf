# Log groups, created before anything writes to them so that each has a retention and no
# role needs logs:CreateLogGroup.
#
# On prod a destroy must not take a year of logs with it. prevent_destroy cannot come from a
# variable, so there are two blocks and protect_logs picks one: "protected" refuses to be
# destroyed and, once that guard is removed on purpose, still leaves the logs in place
# (skip_destroy) to expire by their retention. Switching protect_logs on an existing stack
# would replace the groups; move them instead (README.md, "Protected log groups").

locals {
  unprotected_log_groups = var.protect_logs ? {} : local.log_group_names
  protected_log_groups   = var.protect_logs ? local.log_group_names : {}
  # Whichever block holds them: the functions and the stage read the groups from here.
  log_groups = merge(aws_cloudwatch_log_group.unprotected, aws_cloudwatch_log_group.protected)
}

resource "aws_cloudwatch_log_group" "unprotected" {
  # checkov:skip=CKV_AWS_158:CloudWatch encrypts log data at rest by default; a CMK adds $1/month per stage and a key policy to run, and no control this API needs
  # checkov:skip=CKV_AWS_338:retention is log_retention_days, chosen per environment (30 days on dev for cost, a year on prod)
  for_each = local.unprotected_log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "protected" {
  # checkov:skip=CKV_AWS_158:CloudWatch encrypts log data at rest by default; a CMK adds $1/month per stage and a key policy to run, and no control this API needs
  # checkov:skip=CKV_AWS_338:retention is log_retention_days, chosen per environment (30 days on dev for cost, a year on prod)
  for_each = local.protected_log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  skip_destroy      = true
  tags              = var.tags

  lifecycle {
    prevent_destroy = true
  }
}
