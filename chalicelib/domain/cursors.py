"""Pagination cursors: opaque, signed, and bound to one user and one status filter.

A cursor carries the id of the last task on the page it ended. It is HMAC-signed so an
altered cursor is rejected rather than silently jumping elsewhere in the list, and it
names its user and status filter so it cannot be replayed by another user or another
listing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from chalicelib.domain.ids import is_valid_id
from chalicelib.errors import InvalidCursor

_TAG_BYTES = 16
_MAX_CURSOR_CHARS = 512
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


class CursorCodec:
    def __init__(self, signing_secret: bytes, *accepted_secrets: bytes) -> None:
        """Signs with ``signing_secret``; also accepts cursors signed with ``accepted_secrets``
        (the previous token secret), so a rotation does not break a listing in progress."""
        # Keys of their own, derived from the token secrets, so cursors and tokens never collide.
        self._key = _cursor_key(signing_secret)
        self._accepted_keys = [self._key, *(_cursor_key(s) for s in accepted_secrets)]

    def encode(self, *, user_id: str, status: str | None, last_task_id: str) -> str:
        payload = json.dumps(
            {"u": user_id, "s": status, "k": last_task_id}, separators=(",", ":")
        ).encode()
        return _b64(payload + _tag(self._key, payload))

    def decode(self, cursor: str, *, user_id: str, status: str | None) -> str:
        """The last task id of the previous page, or ``InvalidCursor``."""
        if not cursor or len(cursor) > _MAX_CURSOR_CHARS:
            raise InvalidCursor()
        try:
            raw = _unb64(cursor)
        except (ValueError, binascii.Error):
            raise InvalidCursor() from None
        payload, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
        if len(raw) <= _TAG_BYTES or not any(
            hmac.compare_digest(tag, _tag(key, payload)) for key in self._accepted_keys
        ):
            raise InvalidCursor()
        try:
            fields = json.loads(payload)
        except ValueError:
            raise InvalidCursor() from None
        if not isinstance(fields, dict) or fields.get("u") != user_id or fields.get("s") != status:
            raise InvalidCursor()
        last_task_id = fields.get("k")
        if not is_valid_id(last_task_id):
            raise InvalidCursor()
        return last_task_id


def _cursor_key(secret: bytes) -> bytes:
    return hmac.new(secret, b"tasks-api/cursor/v1", hashlib.sha256).digest()


def _tag(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    """Strict base64url: decoders skip stray characters and spare bits, so re-encode and compare."""
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:
        raise ValueError("not canonical base64url")
    return raw
