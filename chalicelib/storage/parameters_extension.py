"""SSM parameters read through the AWS Parameters and Secrets Lambda Extension, when the
function has it.

The extension (an AWS-managed Lambda layer) serves Parameter Store's GetParameter on
localhost, on the port in ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``, to callers that show
the function's ``AWS_SESSION_TOKEN``; it calls SSM with the function's role and caches the
answer. Reading the signing secrets through it spares a cold start the SSM client, which
the authorizer otherwise creates for its first request (issue 15: ``make bench`` measures
both).

Only a clear answer is used: the parameter's value, or "no such parameter". Anything else
(no extension configured, nothing listening yet, an error status, an unreadable body, no
answer in time) gives ``None``, and the caller asks SSM itself with its client, so
throttling, access errors and timeouts keep exactly the meaning they have without the
extension.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chalicelib import request_budget

PORT_VARIABLE = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
TOKEN_VARIABLE = "AWS_SESSION_TOKEN"  # noqa: S105 - a variable name, not a secret
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 - a header name
PATH = "/systemsmanager/parameters/get"
# As the SSM client's read timeout (storage.client.CLIENT_CONFIG): a cache miss makes the
# extension call SSM. Shortened to what the request's budget leaves.
TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Parameter:
    """The extension's clear answer: the decrypted value, or ``None`` for no such parameter."""

    value: str | None


# Reads one parameter through the extension: its clear answer, or None (ask SSM).
Reader = Callable[[str], Parameter | None]


def reader(environ: Mapping[str, str]) -> Reader | None:
    """A function reading one SecureString through the extension, or ``None`` when the
    function has no extension configured (no port) or no session token to show it."""
    port = environ.get(PORT_VARIABLE, "")
    token = environ.get(TOKEN_VARIABLE, "")
    if not port.isdigit() or not token:
        return None
    return lambda name: get_parameter(name, int(port), token)


def get_parameter(name: str, port: int, token: str) -> Parameter | None:
    """GetParameter (decrypted) through the extension on ``port``; ``None`` unless the answer
    is clear (see the module docstring)."""
    timeout = TIMEOUT_SECONDS
    left = request_budget.remaining()
    if left is not None:
        timeout = min(timeout, left - request_budget.MIN_READ_SECONDS)
        if timeout <= 0:
            return None  # the SSM client's budget check answers (ServiceUnavailable)
    query = urllib.parse.urlencode({"name": name, "withDecryption": "true"})
    connection = http.client.HTTPConnection("localhost", port, timeout=timeout)
    try:
        connection.request("GET", f"{PATH}?{query}", headers={TOKEN_HEADER: token})
        response = connection.getresponse()
        status, body = response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    if status == http.client.OK:
        try:
            value = json.loads(body)["Parameter"]["Value"]
        except (ValueError, KeyError, TypeError):
            return None
        return Parameter(value) if isinstance(value, str) else None
    # SSM's error code, passed on in the body of the extension's error answer.
    if b"ParameterNotFound" in body:
        return Parameter(None)
    return None
