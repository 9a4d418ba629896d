# One role per function, each granted exactly what that function's policy file in
# .chalice/ grants (policy-<stage>.json for the API handler,
# policy-<stage>-<function>.json for the others), with the same statement ids:
# tests/test_infra_terraform.py compares them. Change both together.
#
# Each function writes only its own log group. The single Resource "*" is X-Ray's, which
# has no resource-level permissions, and only when tracing is on.

locals {
  function_logs = {
    for key, arn in local.log_group_arns : key => {
      Sid      = "FunctionLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = [arn, "${arn}:log-stream:*"]
    }
  }

  signing_secret_read = {
    Sid      = "TokenSigningSecret"
    Effect   = "Allow"
    Action   = ["ssm:GetParameter"]
    Resource = local.signing_secret_arns
  }

  # identity_provider = "cognito": GET /users/me reads the caller's Cognito user and
  # DELETE /users/me deletes it (chalicelib/services/identity.py), on this stage's pool only.
  # The same calls as the dev-cognito stage's policy file grants (COGNITO_MODE_CALLS in
  # tests/test_iam_policy.py, checked against the calls the suite records in that mode).
  cognito_accounts = {
    Sid      = "CognitoUserPool"
    Effect   = "Allow"
    Action   = ["cognito-idp:AdminGetUser", "cognito-idp:AdminDeleteUser"]
    Resource = [local.cognito_user_pool_arn]
  }

  tracing = {
    Sid      = "Tracing"
    Effect   = "Allow"
    Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    Resource = ["*"]
  }

  function_statements = {
    api_handler = [
      {
        Sid      = "UsersTable"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
        Resource = [local.table_arns.users]
      },
      {
        Sid      = "TasksTable"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchWriteItem"]
        Resource = [local.table_arns.tasks]
      },
      {
        Sid      = "TaskListingByStatus"
        Effect   = "Allow"
        Action   = ["dynamodb:Query"]
        Resource = ["${local.table_arns.tasks}/index/by_status"]
      },
      {
        Sid      = "LoginAttemptRecords"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = [local.table_arns.records]
      },
      {
        Sid      = "SessionsTable"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchWriteItem"]
        Resource = [local.table_arns.sessions]
      },
      local.signing_secret_read,
      {
        # DELETE /users/me hands a large account's purge to purge_account, asynchronously.
        Sid      = "AccountPurgeHandOff"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = [local.function_arns.purge_account]
      },
      local.function_logs.api_handler,
    ]

    # Verifies tokens: reads the signing secrets, nothing else.
    jwt_authorizer = [
      local.signing_secret_read,
      local.function_logs.jwt_authorizer,
    ]

    purge_account = [
      {
        Sid      = "AccountPurge"
        Effect   = "Allow"
        Action   = ["dynamodb:Query", "dynamodb:BatchWriteItem"]
        Resource = [local.table_arns.tasks]
      },
      {
        # Each invocation works until its timeout is near, then invokes the next slice.
        Sid      = "NextPurgeSlice"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = [local.function_arns.purge_account]
      },
      local.function_logs.purge_account,
    ]
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name = each.value.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name = "${each.key}-least-privilege"
  role = aws_iam_role.function[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      local.function_statements[each.key],
      each.key == "api_handler" && local.cognito ? [local.cognito_accounts] : [],
      var.tracing_enabled ? [local.tracing] : [],
    )
  })
}
