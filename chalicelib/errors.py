"""The errors a client can see, one class per row of the contract's error table.

Each carries its HTTP status, its stable machine-readable ``code`` and a message that
is safe to show a client. Nothing here knows about Chalice or DynamoDB.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One broken rule: which field (or query parameter, or header) and why."""

    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ApiError(Exception):
    """An error the service answers with ``{"error": {"code": ..., "message": ...}}``."""

    status: int = 500
    code: str = "internal_error"
    message: str = "An unexpected error occurred."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        if message is not None:
            self.message = message

    def headers(self) -> dict[str, str]:
        return {}

    def to_json(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidJson(ApiError):
    status, code = 400, "invalid_json"
    message = "The request body must be a JSON object."


class ValidationFailed(ApiError):
    status, code = 400, "validation_error"
    message = "The request has invalid fields."

    def __init__(self, details: list[FieldError]) -> None:
        super().__init__()
        self.details = details

    def to_json(self) -> dict[str, object]:
        body = super().to_json()
        body["error"]["details"] = [detail.to_json() for detail in self.details]  # type: ignore[index]
        return body


class InvalidCursor(ApiError):
    status, code = 400, "invalid_cursor"
    message = "The cursor is not valid for this listing; start again without a cursor."


class InvalidCredentials(ApiError):
    status, code = 401, "invalid_credentials"
    message = "Unknown username or wrong password."


class NotFound(ApiError):
    status, code = 404, "not_found"
    message = "No such task."


class UsernameTaken(ApiError):
    status, code = 409, "username_taken"
    message = "That username is already registered."


class IdempotencyInProgress(ApiError):
    status, code = 409, "idempotency_in_progress"
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


class PreconditionFailed(ApiError):
    status, code = 412, "precondition_failed"
    message = "If-Match does not match the task's current version."


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"
    message = "The request body is larger than 64 KiB."


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"
    message = "Send request bodies as application/json."


class IdempotencyKeyReused(ApiError):
    status, code = 422, "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request body."


class TooManyAttempts(ApiError):
    status, code = 429, "too_many_attempts"
    message = "Too many failed logins for this username; retry after the indicated delay."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__()
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"
    message = "Storage is temporarily unavailable; retry after the indicated delay."

    def __init__(self, retry_after_seconds: int = 1) -> None:
        super().__init__()
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class InternalError(ApiError):
    status, code = 500, "internal_error"

    def __init__(self, request_id: str) -> None:
        super().__init__(f"An unexpected error occurred. Request id: {request_id}.")
        self.request_id = request_id


class ConfigurationError(Exception):
    """The deployment is misconfigured (e.g. a weak signing secret): refuse to serve."""
