"""The README's walkthrough, pasted as is into bash against the real local stack.

The README marks each block of commands with ``<!-- walkthrough -->`` and the output it shows
for that block with ``<!-- walkthrough-output -->``. Here the command blocks run, in order, in
one ``bash -euo pipefail`` with only the port changed (``127.0.0.1:8000`` becomes the test
stack's), and:

- the run exits 0 (a failed ``curl``, a reply that is not the JSON a later step reads, or a
  missing tool stops it);
- the status lines (stderr) are exactly the ones the README shows, in order;
- the reply lines (stdout) are the README's, ids and timestamps aside.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import LocalStack

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parent.parent / "README.md"
README_ADDRESS = "127.0.0.1:8000"
STATUS_LINE = re.compile(r"[1-5][0-9]{2}")
# Values that differ on every run: compared by shape, not by value.
VARYING = {"id": "<id>", "created_at": "<timestamp>", "updated_at": "<timestamp>"}


def marked_blocks(text: str, marker: str) -> list[str]:
    """The fenced blocks that come right after ``marker`` (one per marker)."""
    pattern = re.compile(re.escape(marker) + r"\n```[a-z]*\n(.*?)^```$", re.DOTALL | re.MULTILINE)
    blocks = pattern.findall(text)
    assert len(blocks) == text.count(marker), f"a {marker} is not followed by a fenced block"
    return blocks


def normalised(line: str) -> Any:
    """A reply line with its varying values replaced; blank lines stay blank."""
    if not line:
        return line
    return _without_varying(json.loads(line))


def _without_varying(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: VARYING.get(k) or _without_varying(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_varying(item) for item in value]
    return value


def test_the_readme_marks_its_walkthrough_and_the_output_of_each_block() -> None:
    text = README.read_text()
    commands = marked_blocks(text, "<!-- walkthrough -->")
    outputs = marked_blocks(text, "<!-- walkthrough-output -->")
    assert len(commands) >= 4
    assert len(commands) == len(outputs)
    assert README_ADDRESS in commands[0], "the walkthrough no longer talks to make run's address"
    assert not any(
        line.lstrip().startswith("#") for block in commands for line in block.split("\n")
    ), "comments break pasting into zsh, whose interactive_comments is off by default"


def test_the_walkthrough_runs_as_pasted_and_prints_what_the_readme_shows(
    local_stack: LocalStack,
) -> None:
    text = README.read_text()
    script = "".join(marked_blocks(text, "<!-- walkthrough -->"))
    shown = "".join(marked_blocks(text, "<!-- walkthrough-output -->")).splitlines()
    address = f"127.0.0.1:{local_stack.port}"
    environment = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}

    run = subprocess.run(  # noqa: S603 - bash running the README's own commands
        ["bash", "-euo", "pipefail", "-c", script.replace(README_ADDRESS, address)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )

    report = f"exit {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
    assert run.returncode == 0, report
    printed_statuses = run.stderr.splitlines()
    assert all(STATUS_LINE.fullmatch(line) for line in printed_statuses), report
    assert printed_statuses == [line for line in shown if STATUS_LINE.fullmatch(line)], report
    replies = [normalised(line) for line in run.stdout.splitlines()]
    shown_replies = [normalised(line) for line in shown if not STATUS_LINE.fullmatch(line)]
    assert replies == shown_replies, report
