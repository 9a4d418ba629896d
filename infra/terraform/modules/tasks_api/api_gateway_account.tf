# API Gateway logs (access and execution logs) through ONE CloudWatch role per account and
# region, set on the account itself. Two stacks that both set it fight over it on every
# apply, and destroying one leaves the other logging through a deleted role. So exactly one
# stack per account and region sets manage_api_gateway_account = true: the longest-lived
# one (in this repository prod; a dev in an account of its own sets it too).
#
# reset_on_delete is deliberately not set: provider 5.100 deprecates it (6.x always resets)
# and it would not help the other stacks anyway; the owner should outlive them.

resource "aws_iam_role" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  name = "${local.name_prefix}-apigateway-cloudwatch"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  role       = aws_iam_role.api_gateway_cloudwatch[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.api_gateway_cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.api_gateway_cloudwatch]
}
