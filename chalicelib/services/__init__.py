"""The service layer: what each endpoint does, with no HTTP and no DynamoDB in sight."""
