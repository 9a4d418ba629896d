"""Render a Terraform configuration held as Terraform-JSON-shaped dicts into HCL text.

The packager builds its configuration the way Terraform's JSON syntax spells it (strings
are templates, ``"${...}"`` is an expression), but writes native ``.tf`` files: checkov's
Terraform scanner reads only ``.tf`` (it skips ``.tf.json``), and its in-place suppressions
are ``# checkov:skip=...`` comments, which JSON cannot hold. A ``"//"`` key in a block (the
comment property of Terraform's JSON syntax) becomes ``#`` comment lines at the top of it.

JSON syntax leaves one thing to the provider schema: whether an object is a nested block or
a map-valued argument. ``NESTED_BLOCKS`` says which keys are blocks, per block type; an
object under any other key must be a known map argument, or rendering fails loudly rather
than guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

COMMENT_KEY = "//"
INDENT = "  "

# Keys whose object (or list of objects) value is a nested block, by the kind of the
# enclosing block: a resource or data source type, or one of Terraform's own blocks.
_META_BLOCKS = frozenset({"lifecycle"})
NESTED_BLOCKS: dict[str, frozenset[str]] = {
    "terraform": frozenset({"required_providers", "backend"}),
    "provider": frozenset({"default_tags", "endpoints", "assume_role"}),
    "variable": frozenset({"validation"}),
    "aws_lambda_function": frozenset(
        {
            "environment",
            "tracing_config",
            "logging_config",
            "vpc_config",
            "ephemeral_storage",
            "dead_letter_config",
            "snap_start",
        }
    ),
    "aws_api_gateway_rest_api": frozenset({"endpoint_configuration"}),
    "aws_api_gateway_stage": frozenset({"access_log_settings"}),
    "aws_api_gateway_method_settings": frozenset({"settings"}),
    "aws_dynamodb_table": frozenset(
        {
            "attribute",
            "local_secondary_index",
            "global_secondary_index",
            "point_in_time_recovery",
            "server_side_encryption",
            "ttl",
        }
    ),
}
# Arguments whose value is a map (an HCL object expression), wherever they appear.
MAP_ARGUMENTS = frozenset({"tags", "variables", "triggers", "default", "value"})
# Blocks whose arguments are free-form objects.
_FREE_FORM = frozenset({"locals", "required_providers"})
# Arguments that hold bare references or type expressions, never templates.
_BARE_LISTS = frozenset({"depends_on", "ignore_changes", "replace_triggered_by"})
# Top-level block kinds and how many labels they carry.
_LABELS = {"resource": 2, "data": 2, "variable": 1, "output": 1, "provider": 1}


@dataclass(frozen=True)
class JsonEncode:
    """An argument value rendered as ``jsonencode(<value>)``: policies, swagger, log formats.

    Strings inside stay templates, so references keep working and Terraform does the
    JSON escaping (an allowed origin, say, can never break the document).
    """

    value: Any


def render(config: Mapping[str, Any]) -> str:
    """HCL for a configuration with Terraform JSON's top level (``resource``, ``variable``...)."""
    chunks = []
    for kind, content in config.items():
        if kind == COMMENT_KEY:
            chunks.append(_comment_lines(content, 0))
        elif kind in ("terraform", "locals"):
            chunks.append(_block(kind, (), content, kind, 0))
        elif kind in _LABELS:
            chunks.extend(_labelled(kind, content, _LABELS[kind]))
        else:
            raise ValueError(f"unsupported top-level block {kind!r}")
    return "\n".join(chunks)


def _labelled(kind: str, content: Mapping[str, Any], depth: int) -> Iterable[str]:
    if depth == 2:
        for type_name, named in content.items():
            for name, body in named.items():
                yield _block(kind, (type_name, name), body, type_name, 0)
    else:
        for name, body in content.items():
            yield _block(kind, (name,), body, kind, 0)


def _block(
    keyword: str, labels: tuple[str, ...], body: Mapping[str, Any], schema: str, level: int
) -> str:
    header = " ".join([keyword, *(f'"{label}"' for label in labels)])
    pad = INDENT * (level + 1)
    lines: list[str | tuple[str, str]] = []
    if COMMENT_KEY in body:
        lines.append(_comment_lines(body[COMMENT_KEY], level + 1))
    blocks = NESTED_BLOCKS.get(schema, frozenset()) | _META_BLOCKS
    for key, value in body.items():
        if key == COMMENT_KEY:
            continue
        if key in blocks and isinstance(value, (dict, list)):
            for nested in value if isinstance(value, list) else [value]:
                lines.append(_block(key, (), nested, key, level + 1))
        elif key in _BARE_LISTS:
            lines.append((key, f"[{', '.join(value)}]"))
        elif keyword == "variable" and key == "type":
            lines.append((key, value))
        elif isinstance(value, dict) and key not in MAP_ARGUMENTS and keyword not in _FREE_FORM:
            raise ValueError(
                f"{header}: object under {key!r} is neither a known nested block nor a map "
                "argument; add it to NESTED_BLOCKS or MAP_ARGUMENTS in deploy/terraform_hcl.py"
            )
        else:
            literal = keyword == "variable" and key == "default"
            lines.append((key, _value(value, level + 1, literal=literal)))
    body_text = _aligned(lines, pad)
    return f"{INDENT * level}{header} {{\n{body_text}{INDENT * level}}}\n"


def _aligned(lines: list[str | tuple[str, str]], pad: str) -> str:
    """Lines of a body, ``=`` aligned across runs of one-line arguments as ``terraform fmt`` does.

    ``lines`` holds ready text (comments, nested blocks) and ``(name, value)`` arguments.
    """
    out: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(name) for name, _ in run), default=0)
        out.extend(f"{pad}{name.ljust(width)} = {value}\n" for name, value in run)
        run.clear()

    for line in lines:
        if isinstance(line, tuple) and "\n" not in line[1]:
            run.append(line)
            continue
        flush()
        if isinstance(line, tuple):
            out.append(f"{pad}{line[0]} = {line[1]}\n")
        else:
            out.append(line if line.endswith("\n") else line + "\n")
    flush()
    return "".join(out)


def _comment_lines(comment: str | list[str], level: int) -> str:
    texts = [comment] if isinstance(comment, str) else comment
    return "\n".join(f"{INDENT * level}# {text}" for text in texts)


def _value(value: Any, level: int, *, literal: bool = False) -> str:
    if isinstance(value, JsonEncode):
        return f"jsonencode({_value(value.value, level)})"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _quoted_literal(value) if literal else template(value)
    pad, inner = INDENT * level, INDENT * (level + 1)
    if isinstance(value, list):
        items = [_value(item, level + 1, literal=literal) for item in value]
        if all("\n" not in item for item in items) and sum(map(len, items)) < 80:
            return f"[{', '.join(items)}]"
        return "[\n" + "".join(f"{inner}{item},\n" for item in items) + f"{pad}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        entries: list[str | tuple[str, str]] = [
            (_quoted_literal(key), _value(item, level + 1, literal=literal))
            for key, item in value.items()
        ]
        return "{\n" + _aligned(entries, inner) + f"{pad}}}"
    raise TypeError(f"cannot render {type(value).__name__} as HCL")


def template(text: str) -> str:
    """A Terraform template string as HCL: a bare expression when it is one interpolation.

    Only the literal parts are escaped; interpolations are HCL expressions already (Terraform
    parses ``${...}`` in JSON syntax with the native grammar), so they are copied verbatim.
    """
    parts = _template_parts(text)
    if len(parts) == 1 and parts[0][0] == "${":
        return parts[0][1][2:-1].strip()
    return '"' + "".join(_escape(body) if kind == "" else body for kind, body in parts) + '"'


def _quoted_literal(text: str) -> str:
    """A string that must stay literal: escapes template introducers too."""
    return '"' + _escape(text.replace("${", "$${").replace("%{", "%%{")) + '"'


def _template_parts(text: str) -> list[tuple[str, str]]:
    """Split a template into literal runs ``("", text)`` and interpolations/directives."""
    parts: list[tuple[str, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(("$${", "%%{"), i):  # escaped introducer: literal in both syntaxes
            literal.append(text[i : i + 3])
            i += 3
        elif text.startswith(("${", "%{"), i):
            end = _expression_end(text, i + 2)
            if literal:
                parts.append(("", "".join(literal)))
                literal = []
            parts.append((text[i : i + 2], text[i:end]))
            i = end
        else:
            literal.append(text[i])
            i += 1
    if literal:
        parts.append(("", "".join(literal)))
    return parts


def _expression_end(text: str, i: int) -> int:
    """Index just past the ``}`` closing an interpolation whose body starts at ``i``."""
    depth = 1
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _string_end(text, i + 1)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unterminated interpolation in {text!r}")


def _string_end(text: str, i: int) -> int:
    """Index just past the closing quote of a string literal inside an expression."""
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        elif text.startswith(("${", "%{"), i):
            i = _expression_end(text, i + 2)
        else:
            i += 1
    raise ValueError(f"unterminated string in {text!r}")


def _escape(text: str) -> str:
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)
