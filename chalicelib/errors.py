"""The errors a client can see, one class per row of the contract's error table.

Each carries its HTTP status, its stable machine-readable ``code`` and a message that
is safe to show a client. Nothing here knows about Chalice or DynamoDB.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

# v2: a request never gets an error body larger than this, and ``details`` lists at most
# MAX_ERROR_DETAILS problems (the first ones found). Without the caps, a 64 KiB body of
# thousands of unknown keys was answered with a 405 kB list naming every one of them.
MAX_ERROR_DETAILS = 20
MAX_ERROR_BODY_BYTES = 16 * 1024
# Field names and messages may echo client input (an unknown key, a query parameter's name);
# longer ones are cut to this many characters, ending in "...".
MAX_FIELD_CHARS = 64
MAX_MESSAGE_CHARS = 200
# An error's own message is the code's text, never client input; the cap only makes the
# size bound hold by construction (500 characters escape to at most 6 kB).
MAX_ERROR_MESSAGE_CHARS = 500


def shorten(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text``, or its first ``limit - 3`` characters and "..." when it is longer.

    Used wherever client input is echoed back, so that no error body grows with it.
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."


def encoded_size(value: object) -> int:
    """Bytes of ``value`` as Chalice serialises a response body (compact, ASCII-escaped).

    Escaped ASCII is never shorter than UTF-8 (``\\uXXXX`` is 6 bytes per UTF-16 unit, UTF-8
    at most 4 per character), so this bounds the body whichever way it is encoded.
    """
    return len(json.dumps(value, separators=(",", ":")))


@dataclass(frozen=True)
class FieldError:
    """One broken rule: which field (or query parameter, or header) and why.

    Both texts are shortened on creation (``MAX_FIELD_CHARS``, ``MAX_MESSAGE_CHARS``): they
    may carry client input, and the error body they end up in has a fixed size bound.
    """

    field: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "field", shorten(self.field, MAX_FIELD_CHARS))
        object.__setattr__(self, "message", shorten(self.message, MAX_MESSAGE_CHARS))

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
            self.message = shorten(message, MAX_ERROR_MESSAGE_CHARS)

    def headers(self) -> dict[str, str]:
        return {}

    def to_json(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidJson(ApiError):
    status, code = 400, "invalid_json"
    message = "The request body must be a JSON object."


class ValidationFailed(ApiError):
    """``400 validation_error``: ``details`` names each broken rule, the first 20 of them.

    Validators collect every problem they find so a client fixes them in one round trip;
    only the first ``MAX_ERROR_DETAILS`` are kept (the message says when more were found),
    and ``to_json`` keeps the body within ``MAX_ERROR_BODY_BYTES`` whatever they contain.
    """

    status, code = 400, "validation_error"
    message = "The request has invalid fields."

    def __init__(self, details: Sequence[FieldError]) -> None:
        found = len(details)
        super().__init__(
            None
            if found <= MAX_ERROR_DETAILS
            else f"The request has {found} problems; details lists the first {MAX_ERROR_DETAILS}."
        )
        self.details = list(details[:MAX_ERROR_DETAILS])

    def to_json(self) -> dict[str, object]:
        body = super().to_json()
        details: list[dict[str, str]] = []
        body["error"]["details"] = details  # type: ignore[index]
        # A detail escapes to at most ~3.2 kB (64 + 200 characters of up to 12 bytes). Twenty
        # echoed names with the code's short messages stay well within the bound (about 15 kB
        # even for names of emoji); this guard holds it whatever the details contain. The
        # first detail always fits, so ``details`` is never empty.
        size = encoded_size(body)
        for detail in self.details:
            item = detail.to_json()
            size += encoded_size(item) + (1 if details else 0)
            if details and size > MAX_ERROR_BODY_BYTES:
                break
            details.append(item)
        return body


class InvalidCursor(ApiError):
    status, code = 400, "invalid_cursor"
    message = "The cursor is not valid for this listing; start again without a cursor."


class InvalidCredentials(ApiError):
    status, code = 401, "invalid_credentials"
    message = "Unknown username or wrong password."


class InvalidRefreshToken(ApiError):
    status, code = 401, "invalid_refresh_token"
    message = "The refresh token is not valid; log in again."


class AccountClosed(ApiError):
    status, code = 401, "account_closed"
    message = "This account has been deleted."


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
