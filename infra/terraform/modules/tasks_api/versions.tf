terraform {
  # 1.11 is the first release with write-only arguments: the signing secret reaches SSM
  # through aws_ssm_parameter.value_wo and is never stored in the plan or the state
  # (ssm.tf). On an older Terraform it would have to pass through state in plain text.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The release this module is tested with; it has the write-only value_wo on
      # aws_ssm_parameter and the ephemeral aws_secretsmanager_random_password. Not 6.x yet:
      # it changes data.aws_region (name becomes region) and aws_api_gateway_account.
      version = "~> 5.100"
    }
  }
}
