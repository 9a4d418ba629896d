"""Counting what a DynamoDB client does: for the cost assertions in tests and for bench/."""

from __future__ import annotations

from collections import Counter
from typing import Any


class StorageMeter:
    """Counts the client's DynamoDB operations and the items each Query read (ScannedCount)."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read: list[int] = []
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb.Query", self._after_query)

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _after_query(self, parsed: dict[str, Any], **_: Any) -> None:
        self.items_read.append(parsed.get("ScannedCount", 0))

    def reset(self) -> None:
        self.calls.clear()
        self.items_read.clear()
