"""The rules of the domain, testable without AWS: models, ids, timestamps, validation, cursors."""
