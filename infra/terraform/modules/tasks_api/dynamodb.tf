# The four tables, exactly as chalicelib/storage/table_layout.py defines them (that file
# explains each key; tests/test_infra_terraform.py compares the two). All on-demand:
# nothing bills at idle but storage.

locals {
  tables = {
    # One item per username (lower case): uniqueness is a conditional put.
    users = {
      hash_key      = "username"
      range_key     = null
      attributes    = { username = "S" }
      local_indexes = {}
      ttl_attribute = null
    }
    # A user's tasks in one partition, newest first by ULID; by_status sorts on
    # "<status>#<task_id>". An LSI, so listing by status reads strongly consistent.
    tasks = {
      hash_key      = "user_id"
      range_key     = "task_id"
      attributes    = { user_id = "S", task_id = "S", status_task = "S" }
      local_indexes = { by_status = { range_key = "status_task", projection_type = "ALL" } }
      ttl_attribute = "expires_at"
    }
    # Short-lived records (failed-login counters); readers also check expires_at, since
    # TTL deletion lags.
    records = {
      hash_key      = "pk"
      range_key     = null
      attributes    = { pk = "S" }
      local_indexes = {}
      ttl_attribute = "expires_at"
    }
    # One item per login session, keyed by user so that ending all of them is one Query.
    sessions = {
      hash_key      = "user_id"
      range_key     = "session_id"
      attributes    = { user_id = "S", session_id = "S" }
      local_indexes = {}
      ttl_attribute = "expires_at"
    }
  }
}

resource "aws_dynamodb_table" "this" {
  # checkov:skip=CKV_AWS_119:encrypted at rest with the AWS managed key (aws/dynamodb); a CMK costs $1/month and adds no control without cross-account access or crypto-shredding
  for_each = local.tables

  name         = local.table_names[each.key]
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = each.value.hash_key
  range_key    = each.value.range_key

  dynamic "attribute" {
    for_each = each.value.attributes
    content {
      name = attribute.key
      type = attribute.value
    }
  }

  dynamic "local_secondary_index" {
    for_each = each.value.local_indexes
    content {
      name            = local_secondary_index.key
      range_key       = local_secondary_index.value.range_key
      projection_type = local_secondary_index.value.projection_type
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  # An account's data is the product; on prod a destroy must be a two-step decision.
  deletion_protection_enabled = var.deletion_protection

  tags = var.tags
}
