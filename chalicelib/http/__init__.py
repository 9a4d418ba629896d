"""HTTP plumbing: request parsing and responses, the OpenAPI document and the /docs page."""
