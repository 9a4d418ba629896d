"""Start-up checks for ``make run``, made before any process is spawned.

A bad setting used to surface late: as a traceback from a child process, a server that
answered 500 to every login, or (a port another ``make run`` already served) the success
banner printed over somebody else's server. Each rule here is checked up front instead,
and a broken one raises ``PreflightError`` whose message is a single line naming the
variable, its value and the rule, so ``python -m devstack`` prints one line and exits
with nothing started. Only the standard library and a few constants of the app are used, so
these checks run in a fraction of a second.

Secrets are never echoed: a short signing secret is reported by its length.
"""

from __future__ import annotations

import re
import socket
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.auth.signing_secret import MIN_SECRET_BYTES
from chalicelib.config import (
    ACCESS_TOKEN_LIFETIME_RANGE,
    BUILTIN,
    COGNITO,
    IDENTITY_PROVIDERS,
    REFRESH_TOKEN_LIFETIME_RANGE,
)

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DYNAMODB = "moto"
DYNAMODB_MODES = ("moto", "aws")
# How long a DynamoDB endpoint gets to accept a TCP connection (name lookup included).
CONNECT_TIMEOUT_SECONDS = 1.0
# (lowest, highest) in seconds: the app's own rules (chalicelib/config.py), so that make run
# refuses a value before starting anything the app would then refuse.
WHOLE_NUMBER_RULES = {
    "TOKEN_LIFETIME_SECONDS": ACCESS_TOKEN_LIFETIME_RANGE[:2],
    "REFRESH_TOKEN_LIFETIME_SECONDS": REFRESH_TOKEN_LIFETIME_RANGE[:2],
}
SIGNING_SECRETS = ("TOKEN_SIGNING_SECRET", "TOKEN_SIGNING_SECRET_PREVIOUS")
# With IDENTITY_PROVIDER=cognito, make run creates a user pool in moto and sets these itself.
COGNITO_SETTINGS = ("OIDC_ISSUER", "OIDC_AUDIENCE", "OIDC_JWKS_URL", "COGNITO_USER_POOL_ID")
_WHOLE_NUMBER = re.compile(r"[0-9]+")


class StackError(RuntimeError):
    """The stack could not start; the message says which part and why."""


class PreflightError(StackError):
    """A setting breaks a rule; the message is one line: variable, value, rule."""

    def __init__(self, variable: str, shown_value: str, rule: str) -> None:
        self.variable = variable
        self.rule = rule
        super().__init__(f"{variable}={shown_value}: {rule}")


@dataclass(frozen=True)
class RunSettings:
    """What ``make run`` needs once every check passed."""

    port: int
    dynamodb: str
    identity_provider: str = BUILTIN


def check_environment(environ: Mapping[str, str]) -> RunSettings:
    """Every ``make run`` rule, cheapest first; raises ``PreflightError`` on the first one broken.

    The values are validated before anything touches the network, so a typo is reported
    as a typo even when the port or the endpoint it names happens to be busy or down.
    """
    port = check_port(environ.get("PORT"))
    dynamodb = check_dynamodb(environ.get("DYNAMODB"))
    identity_provider = check_identity_provider(environ)
    for variable, (low, high) in WHOLE_NUMBER_RULES.items():
        check_whole_number(variable, environ.get(variable), low, high)
    for variable in SIGNING_SECRETS:
        check_signing_secret(variable, environ.get(variable))
    check_port_free(port)
    check_dynamodb_reachable(dynamodb)
    return RunSettings(port=port, dynamodb=dynamodb, identity_provider=identity_provider)


def check_identity_provider(environ: Mapping[str, str]) -> str:
    """``IDENTITY_PROVIDER``: ``builtin`` (the default) or ``cognito``.

    With ``cognito``, make run creates a local user pool and app client in moto and points
    the API at them, so a pool setting already in the environment would be silently
    replaced: it is refused instead.
    """
    raw = environ.get("IDENTITY_PROVIDER")
    if raw is None:
        return BUILTIN
    if raw not in IDENTITY_PROVIDERS:
        raise PreflightError(
            "IDENTITY_PROVIDER", repr(raw), f"must be {' or '.join(IDENTITY_PROVIDERS)}"
        )
    if raw == COGNITO:
        for variable in COGNITO_SETTINGS:
            if environ.get(variable):
                raise PreflightError(
                    variable,
                    repr(environ[variable]),
                    "make run creates a local user pool and sets it with IDENTITY_PROVIDER="
                    f"cognito; unset {variable}",
                )
    return raw


def check_port(raw: str | None) -> int:
    """``PORT`` as an integer from 1 to 65535; 8000 when unset.

    Set but empty is an error, not the default: ``PORT= make run`` is almost always a
    variable that was meant to hold something.
    """
    if raw is None:
        return DEFAULT_PORT
    if not _WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= 65_535:
        raise PreflightError("PORT", repr(raw), "must be an integer from 1 to 65535")
    return int(raw)


def check_port_free(port: int, variable: str = "PORT") -> None:
    """Fail when anything already listens on ``127.0.0.1:port``.

    Binds the way ``chalice local`` will (``http.server`` sets ``SO_REUSEADDR``): on Linux
    that still fails against any listening socket, yet ignores the ``TIME_WAIT`` leftovers
    of a ``make run`` just stopped, which a bind without the option would mistake for a
    live server. A connection attempt then catches listeners a bind cannot see (another
    network stack forwarding the port, platforms with looser ``SO_REUSEADDR``). Without
    this check a second ``make run`` found the first one's ``/health`` answering and
    printed the success banner while its own server had failed to bind.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise PreflightError(
                variable,
                str(port),
                f"{HOST}:{port} is already in use ({error.strerror or error}); stop what "
                f"listens there (another make run?) or choose another {variable}",
            ) from None
    if _accepts_connections(HOST, port, CONNECT_TIMEOUT_SECONDS):
        raise PreflightError(
            variable,
            str(port),
            f"something already answers on {HOST}:{port}; stop it (another make run?) "
            f"or choose another {variable}",
        )


def check_whole_number(variable: str, raw: str | None, low: int, high: int) -> None:
    """Unset is fine (the app's default applies); set, it must be digits within the range."""
    if raw is None:
        return
    if not _WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        raise PreflightError(variable, repr(raw), f"must be a whole number from {low} to {high}")


def check_signing_secret(variable: str, raw: str | None) -> None:
    """Unset or empty is fine (``make run`` generates the current secret; no previous one).

    A set secret must be at least ``MIN_SECRET_BYTES`` bytes of UTF-8: the app refuses a
    shorter one at its first token operation, so a short previous secret used to start a
    server that answered 500 to every login. The value is not printed, only its length.
    """
    if not raw:
        return
    size = len(raw.encode())
    if size < MIN_SECRET_BYTES:
        raise PreflightError(
            variable,
            f"<{size} bytes, not shown>",
            f"must be at least {MIN_SECRET_BYTES} bytes (or unset it)",
        )


def check_dynamodb(raw: str | None) -> str:
    """``DYNAMODB``: ``moto`` (the default), ``aws``, or an http(s) URL with a host.

    Returns the value to use (the default when unset).
    """
    if raw is None:
        return DEFAULT_DYNAMODB
    if raw in DYNAMODB_MODES or _endpoint(raw) is not None:
        return raw
    raise PreflightError(
        "DYNAMODB",
        repr(raw),
        "must be moto, aws, or an http(s) URL such as http://127.0.0.1:8001",
    )


def check_dynamodb_reachable(dynamodb: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """For an endpoint URL, fail unless its host accepts a TCP connection within ``timeout``.

    ``moto`` is started by ``make run`` itself and ``aws`` needs credentials, so neither
    is probed. Without this check an endpoint that is down surfaced as a botocore
    traceback after the DynamoDB client's retries, long after start-up looked fine.
    """
    endpoint = _endpoint(dynamodb)
    if endpoint is None:
        return
    host, port = endpoint
    if not _accepts_connections(host, port, timeout):
        raise PreflightError(
            "DYNAMODB",
            repr(dynamodb),
            f"nothing accepts connections at {host}:{port} (waited {timeout:g} s); "
            "start DynamoDB Local there, or use DYNAMODB=moto",
        )


def _endpoint(url: str) -> tuple[str, int] | None:
    """``(host, port)`` of an http(s) URL, or None when ``url`` is not one."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number or out of range
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _accepts_connections(host: str, port: int, timeout: float) -> bool:
    """Whether a TCP connection to ``host:port`` succeeds within ``timeout`` seconds.

    ``socket.create_connection``'s timeout does not cover the name lookup, which can hang
    for many seconds without a resolver; the attempt runs in a daemon thread so the whole
    of it, lookup included, is bounded.
    """
    outcome: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(True)
        except OSError:
            outcome.append(False)

    worker = threading.Thread(target=attempt, name="preflight-connect", daemon=True)
    worker.start()
    worker.join(timeout + 0.2)
    return bool(outcome) and outcome[0]
