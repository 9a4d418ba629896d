"""Unit: pagination cursors round-trip, and every alteration is rejected."""

from __future__ import annotations

import pytest

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.ids import new_id
from chalicelib.errors import InvalidCursor

SECRET = b"k" * 32
USER = new_id()


@pytest.mark.parametrize("status", [None, "todo", "in_progress", "done"])
def test_round_trip(status: str | None) -> None:
    codec = CursorCodec(SECRET)
    last = new_id()
    cursor = codec.encode(user_id=USER, status=status, last_task_id=last)
    assert codec.decode(cursor, user_id=USER, status=status) == last


def test_every_single_character_change_is_rejected() -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(user_id=USER, status="done", last_task_id=new_id())
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, original in enumerate(cursor):
        for replacement in (alphabet[(alphabet.index(original) + 1) % 64], "=", "."):
            altered = cursor[:index] + replacement + cursor[index + 1 :]
            with pytest.raises(InvalidCursor):
                codec.decode(altered, user_id=USER, status="done")


@pytest.mark.parametrize("cut", [1, 2, 5, 20])
def test_truncated_and_extended_cursors_are_rejected(cut: int) -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(user_id=USER, status=None, last_task_id=new_id())
    for bad in (cursor[:-cut], cursor[cut:], cursor + "A" * cut):
        with pytest.raises(InvalidCursor):
            codec.decode(bad, user_id=USER, status=None)


def test_a_cursor_is_bound_to_its_user_status_and_secret() -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(user_id=USER, status="todo", last_task_id=new_id())
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, user_id=new_id(), status="todo")
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, user_id=USER, status=None)
    with pytest.raises(InvalidCursor):
        CursorCodec(b"z" * 32).decode(cursor, user_id=USER, status="todo")


@pytest.mark.parametrize("bad", ["", "é", "a" * 600, "====", "\x00"])
def test_garbage_is_rejected(bad: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode(bad, user_id=USER, status=None)
