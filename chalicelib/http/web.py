"""HTTP plumbing shared by every view: reading bodies and headers, shaping responses.

Chalice's own body parsing and error responses do not follow the contract (its errors
are ``{"Code": ..., "Message": ...}``), so the views read the raw body through here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from chalice import CORSConfig, Response

from chalicelib.errors import (
    ApiError,
    FieldError,
    InvalidJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

MAX_BODY_BYTES = 64 * 1024
MAX_IF_MATCH_TAGS = 20
# Chalice checks Content-Type before a view runs and answers in its own format;
# accepting everything there lets ``read_json_object`` answer in ours.
ANY_CONTENT_TYPE = ["*/*"]
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,255}", re.ASCII)
_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*', re.ASCII)
# The exact decimal spelling of a version, as the ETag carries it: no sign, no leading zero,
# no fraction, ASCII digits only (RFC 9110 strong comparison is by exact string). Sixteen
# digits at most, so int() stays cheap; no version gets anywhere near that.
_VERSION_SPELLING = re.compile(r"[1-9][0-9]{0,15}", re.ASCII)
ASCII_SPACE = " \t\n\r\x0b\x0c"  # \s under re.ASCII, as around the entity tags
_NEVER_MATCHES = -1


def cors_config(allowed_origin: str) -> CORSConfig:
    return CORSConfig(
        allow_origin=allowed_origin,
        allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
        expose_headers=["ETag", "Location", "Retry-After", "Idempotent-Replayed"],
        max_age=600,
    )


def read_json_object(raw_body: bytes | None, headers: Mapping[str, str]) -> dict[str, Any]:
    """The request body as a JSON object: 413 if too large, 415 if not JSON, else 400."""
    body = raw_body or b""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    if body and not is_json_media_type(headers.get("content-type")):
        raise UnsupportedMediaType()
    try:
        parsed = _STRICT_JSON.decode(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidJson() from None
    if not isinstance(parsed, dict):
        raise InvalidJson()
    return parsed


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json``, with at most a UTF-8 charset parameter."""
    if not content_type:
        return False
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    if media_type != "application/json":
        return False
    return all(parameter in ("", "charset=utf-8", 'charset="utf-8"') for parameter in parameters)


def parse_if_match(value: str | None) -> frozenset[int] | None:
    """The versions ``If-Match`` accepts; ``None`` when absent or ``*`` (any version).

    v2: entity tags compare as exact strings (strong comparison, RFC 9110 section 8.8.3.2).
    A tag matches version ``n`` only when its text is ``str(n)``: ``"1"`` matches 1, while
    ``"01"``, ``"1.0"``, ``"+1"``, ``" 1"`` and weak ``W/"1"`` match nothing. Such tags, and
    any other tag this API never issues (``"abc"``), are kept as an impossible version, so
    the write answers 412 and changes nothing.
    """
    # Not str.strip(): that also strips NEL, NBSP and other Unicode spaces, which made
    # "\x85*" a wildcard while '\x85"1"' was a validation error.
    if value is None or value.strip(ASCII_SPACE) == "*":
        return None
    versions = set()
    tags = value.split(",")
    if len(tags) > MAX_IF_MATCH_TAGS:
        raise ValidationFailed([FieldError("If-Match", f"at most {MAX_IF_MATCH_TAGS} entity tags")])
    for tag in tags:
        match = _ENTITY_TAG.fullmatch(tag)
        if match is None:
            raise ValidationFailed(
                [FieldError("If-Match", 'must be "*" or quoted versions such as "3"')]
            )
        weak, opaque = match.groups()
        strong_version = not weak and _VERSION_SPELLING.fullmatch(opaque) is not None
        versions.add(int(opaque) if strong_version else _NEVER_MATCHES)
    return frozenset(versions)


def parse_idempotency_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header: 1-255 printable ASCII characters, or absent."""
    if value is None:
        return None
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(value):
        raise ValidationFailed(
            [FieldError("Idempotency-Key", "must be 1 to 255 printable ASCII characters")]
        )
    return value


def base_path(context: Mapping[str, Any]) -> str:
    """The API's base path as the client sees it (no trailing slash; ``""`` locally).

    API Gateway puts the stage (or a custom domain's base path) in ``path`` but not in
    ``resourcePath``: ``/api/tasks`` vs ``/tasks``. ``chalice local`` has no prefix. Every URL
    the service returns (``Location``) starts with it, as contract v2 asks.
    """
    path = context.get("path") or ""
    resource = context.get("resourcePath") or ""
    prefix = path[: -len(resource)] if resource and path.endswith(resource) else ""
    return prefix.rstrip("/")


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body=body,
        status_code=status_code,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(error: ApiError) -> Response:
    return json_response(error.to_json(), error.status, error.headers())


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads with hooks would build a new decoder for every request.
_STRICT_JSON = json.JSONDecoder(
    object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
)
