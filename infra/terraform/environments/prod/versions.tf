terraform {
  # >= 1.11: the module writes the signing secret through a write-only argument (value_wo),
  # so the secret is in neither the plan nor this state. 1.10 also brings the S3 backend's
  # own locking (use_lockfile), which needs no DynamoDB table.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State lives in S3, never in this directory (make clean, a fresh clone or a CI runner
  # would lose it). The bucket, key and region are yours: copy backend.hcl.example to
  # backend.hcl and run `terraform init -backend-config=backend.hcl`.
  backend "s3" {
    use_lockfile = true # S3 conditional writes lock the state; no DynamoDB lock table
    encrypt      = true
  }
}
