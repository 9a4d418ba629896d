"""Structured logs and CloudWatch metrics: one JSON line per request, which is also a
CloudWatch embedded metric format (EMF) document.

CloudWatch Logs extracts the request metrics from the line Lambda already writes, so
metrics cost no second write and no ``PutMetricData`` call. Everything goes to stdout as
one JSON object per line, at the app logger's level (``LOG_LEVEL``). Request lines have
fixed fields and never carry headers, query strings, bodies, tokens or passwords. They are
built as text and written directly: a ``LogRecord`` and handler dispatch per request
measured twice the cost of the line itself on the warm path. Every other record (errors
with their stack trace, warnings) goes through ``logging`` and ``JsonFormatter``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from json.encoder import encode_basestring_ascii as _json_string  # json's C string escaper
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalice import Response
    from chalice.app import Request

NAMESPACE = "TasksApi"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_LEVEL = "INFO"
REQUEST_MESSAGE = "request"
DENIED_MESSAGE = "token denied"

# The static part of each line's "_aws" member (EMF MetricDirectives). Route is
# "METHOD /template" (never a raw path), so there are as many metrics as routes.
REQUEST_METRICS: list[dict[str, Any]] = [
    {
        "Namespace": NAMESPACE,
        "Dimensions": [["Stage", "Route"], ["Stage"]],
        "Metrics": [
            {"Name": "Requests", "Unit": "Count"},
            {"Name": "Latency", "Unit": "Milliseconds"},
            {"Name": "4xx", "Unit": "Count"},
            {"Name": "5xx", "Unit": "Count"},
        ],
    }
]
DENIED_METRICS: list[dict[str, Any]] = [
    {
        "Namespace": NAMESPACE,
        "Dimensions": [["Stage"]],
        "Metrics": [{"Name": "TokensDenied", "Unit": "Count"}],
    }
]

_COMPACT = (",", ":")
_current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line.

    Fields: level, logger and message, the request id (``extra={"request_id": ...}``, else
    the request in flight's) and, with ``exc_info``, the traceback as ``exception``.
    """

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _current_request_id.get()
        if request_id is not None:
            fields["request_id"] = request_id
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            fields["stack"] = self.formatStack(record.stack_info)
        return json.dumps(fields, separators=_COMPACT, default=str)


def write_line(line: str) -> None:
    """Write ``line`` to the current ``sys.stdout`` (Lambda sends stdout to CloudWatch Logs;
    looked up per call, so test capture and redirection see it), in one ``write``, so lines
    from concurrent requests never interleave, and flushed, so it is out before Lambda
    freezes the process."""
    stream = sys.stdout
    stream.write(line + "\n")
    stream.flush()


class StdoutHandler(logging.Handler):
    """The app logger's only handler: each record as one line, through ``write_line``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_line(self.format(record))
        except Exception:
            self.handleError(record)


def configure_logging(logger: logging.Logger, environ: Mapping[str, str]) -> None:
    """Make ``logger`` write JSON lines to stdout, and only there, at ``LOG_LEVEL``.

    Replaces the plain-text handler Chalice installs and stops propagation to the root
    logger (``chalice local`` and the Lambda runtime give it handlers of their own), so no
    record is printed twice. ``LOG_LEVEL`` defaults to INFO; an unknown value falls back to
    INFO with a warning, never a crash.
    """
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    raw = environ.get("LOG_LEVEL") or DEFAULT_LEVEL
    name = raw.strip().upper()
    if name in LEVELS:
        logger.setLevel(name)
        return
    logger.setLevel(DEFAULT_LEVEL)
    logger.warning(
        "LOG_LEVEL %r is not one of %s; using %s", raw[:40], ", ".join(LEVELS), DEFAULT_LEVEL
    )


def request_id_of(request: Request | None) -> str:
    """The request's id: API Gateway's ``requestId``, else (``chalice local`` and
    ``chalice.test`` set none) the Lambda context's. Kept in the request's context, so the
    request line and an ``internal_error`` body always show the same id."""
    if request is None:
        return _current_request_id.get() or uuid.uuid4().hex
    context = request.context
    found = context.get("requestId")
    if not found:
        found = getattr(request.lambda_context, "aws_request_id", None) or uuid.uuid4().hex
        context["requestId"] = found
    return found


class RequestLog:
    """Chalice ``http`` middleware: times each request and writes its one line, if the
    logger is enabled for INFO.

    The line is also the EMF document of the request's metrics, so a ``LOG_LEVEL`` above
    INFO silences both. Its constant parts (the EMF directives, the stage) are encoded once
    here; per request, its few strings are escaped by json's own C escaper.
    """

    def __init__(self, logger: logging.Logger, stage: str) -> None:
        self._logger = logger
        self._head = '{"level":"INFO","message":' + _json_string(REQUEST_MESSAGE) + ","
        self._before_timestamp = (
            ',"Stage":' + _json_string(stage) + ',"Requests":1,"_aws":{"Timestamp":'
        )
        metrics = json.dumps(REQUEST_METRICS, separators=_COMPACT)
        self._after_timestamp = ',"CloudWatchMetrics":' + metrics + "}}"

    def __call__(
        self, request: Request | None, get_response: Callable[[Request | None], Response]
    ) -> Response:
        if request is None:  # no resource path: Chalice answers this event itself
            return get_response(request)
        started = time.perf_counter()
        request_id = request_id_of(request)
        token = _current_request_id.set(request_id)
        status = 500  # unless a response comes back: Chalice turns the exception into one
        try:
            response = get_response(request)
            status = response.status_code
            return response
        finally:
            latency_ms = round((time.perf_counter() - started) * 1000, 3)
            if self._logger.isEnabledFor(logging.INFO):
                try:
                    write_line(self.line(request, request_id, status, latency_ms))
                except Exception:  # never fail a request over its log line
                    self._logger.exception("could not write the request line")
            _current_request_id.reset(token)

    def line(self, request: Request, request_id: str, status: int, latency_ms: float) -> str:
        """The request's JSON line: its fields, then the metrics' members and ``_aws``."""
        method, route = request.method, request.path  # path: the resource template
        authorizer = request.context.get("authorizer")
        user_id = authorizer.get("sub") if authorizer else None
        user = f',"user_id":{_json_string(user_id)}' if user_id else ""
        latency = repr(latency_ms)
        client_error = 1 if 400 <= status < 500 else 0
        server_error = 1 if status >= 500 else 0
        return (
            f'{self._head}"request_id":{_json_string(request_id)},'
            f'"method":{_json_string(method)},"route":{_json_string(route)},'
            f'"status":{status:d},"latency_ms":{latency}{user},'
            f'"Route":{_json_string(f"{method} {route}")},"Latency":{latency},'
            f'"4xx":{client_error},"5xx":{server_error}'
            f"{self._before_timestamp}{int(time.time() * 1000)}{self._after_timestamp}"
        )


def log_token_denied(logger: logging.Logger, stage: str) -> None:
    """The authorizer's line for a denied token (API Gateway then answers 403 without
    invoking the API, so there is no request line). Never includes the token."""
    if logger.isEnabledFor(logging.INFO):
        line = {
            "level": "INFO",
            "message": DENIED_MESSAGE,
            "Stage": stage,
            "TokensDenied": 1,
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": DENIED_METRICS},
        }
        write_line(json.dumps(line, separators=_COMPACT))
