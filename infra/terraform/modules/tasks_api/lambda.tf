# The three functions of the Chalice app, all from the one package `make build` writes.
# Runtime and architecture are variables with fixed defaults (python3.13, arm64): the
# Python that runs the build does not choose what Lambda runs.

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:API Gateway invokes the API handler and the authorizer synchronously and returns their errors to the client, so a dead-letter queue never applies; purge_account's asynchronous events carry only a user id, Lambda retries a failed one twice and the failure raises the lambda_errors alarm, and every purge step is an idempotent delete that the next purge completes
  # checkov:skip=CKV_AWS_117:the functions reach only DynamoDB, SSM and Lambda through public AWS endpoints; a VPC would need NAT or endpoints that bill by the hour
  # checkov:skip=CKV_AWS_115:reserved concurrency would carve capacity out of the account pool (10 on new accounts); the stage's throttling limits cap the load instead
  # checkov:skip=CKV_AWS_173:the environment holds names and settings only, no secret; Lambda encrypts it at rest with its service key
  # checkov:skip=CKV_AWS_272:deployment.zip is built and deployed by the same pipeline; code signing needs a Signer profile that this project does not operate
  for_each = local.functions

  function_name = each.value.name
  description   = each.value.description
  role          = aws_iam_role.function[each.key].arn
  handler       = each.value.handler
  runtime       = var.lambda_runtime
  architectures = [var.lambda_architecture]
  memory_size   = var.lambda_memory_sizes[each.key]
  timeout       = var.lambda_timeout_seconds

  layers = (var.parameters_secrets_extension_layer_arn != null && contains(local.secret_readers, each.key)
    ? [var.parameters_secrets_extension_layer_arn]
  : [])

  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)

  environment {
    variables = merge(
      local.environment,
      contains(local.secret_readers, each.key) ? local.extension_environment : {},
    )
  }

  logging_config {
    # The app already writes one JSON object per line (and its metrics as EMF);
    # JSON makes Lambda's own platform lines JSON too, so every line parses.
    log_format = "JSON"
    log_group  = local.log_groups[each.key].name
  }

  tracing_config {
    mode = var.tracing_enabled ? "Active" : "PassThrough"
  }

  tags = var.tags

  # The grants first, so that the first invocation can already write its logs.
  depends_on = [aws_iam_role_policy.function]
}
