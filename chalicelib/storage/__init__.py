"""DynamoDB: the table layout, the client with its budgets, and one repository per table."""
