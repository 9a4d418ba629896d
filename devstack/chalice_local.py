"""``chalice local``, adjusted where it differs from API Gateway in ways our tests can see.

- **TCP_NODELAY.** Chalice's local server writes a response's headers and body in two
  sends; on a kept-alive connection Nagle's algorithm then holds the body until the
  client's delayed ACK, adding about 40 ms to every response.
- **The caller's address.** Chalice puts a constant ``127.0.0.1`` in
  ``requestContext.identity.sourceIp``; API Gateway puts the TCP peer's address there. Login
  throttling counts per address, so the local stack reports the real peer (a test may
  connect from 127.0.0.2). ``X-Forwarded-For`` is never consulted, here or in the app.
- **A listen backlog.** ``socketserver`` listens with a backlog of 5, so 20 clients
  connecting at once got connection resets; the local stack takes at least 50.
- **An authorizer that fails.** When our authorizer cannot verify anything (the signing
  secret cannot be read) it raises instead of denying, so API Gateway caches no verdict;
  the deployed API's ``AUTHORIZER_FAILURE`` and ``AUTHORIZER_CONFIGURATION_ERROR`` gateway
  responses then answer ``503 service_unavailable`` with ``Retry-After`` and CORS headers.
  ``chalice local`` would drop the connection; ``FailClosedGatewayAuthorizer`` answers
  as the deployed API does. The in-process test client uses it too (``install_gateway``).
- **An unknown path or method.** API Gateway's ``403 Missing Authentication Token`` is
  replaced on AWS by a ``MISSING_AUTHENTICATION_TOKEN`` gateway response, ``404 not_found``
  in the contract's format; ``ContractLocalGateway`` answers the same locally, also for a
  method a known path does not define (Chalice would answer its own ``405``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

from chalice import local
from chalice import test as chalice_test
from chalice.cli import cli

from chalicelib.auth import passwords
from chalicelib.auth.authorizer import (
    UNAVAILABLE_BODY,
    UNAVAILABLE_RETRY_AFTER_SECONDS,
    UNAVAILABLE_STATUS,
)
from chalicelib.http.gateway_responses import CONTRACT_RESPONSES
from devstack.stack import CHEAP_PASSWORD_HASHING_VARIABLE

LISTEN_BACKLOG = 128
_peer = threading.local()  # the handler thread's client address, read by the event converter


class PeerAddressRequestHandler(local.ChaliceRequestHandler):
    """Remembers the connection's peer for the event this thread builds."""

    disable_nagle_algorithm = True

    def _generic_handle(self) -> None:
        _peer.address = self.client_address[0]
        try:
            super()._generic_handle()
        finally:
            _peer.address = None

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle


class PeerAddressEventConverter(local.LambdaEventConverter):
    """API Gateway's event, with the TCP peer as ``requestContext.identity.sourceIp``."""

    def create_lambda_event(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        event = super().create_lambda_event(*args, **kwargs)
        address = getattr(_peer, "address", None)
        if address:
            event["requestContext"]["identity"]["sourceIp"] = address
        return event


def _cors_headers() -> dict[str, str]:
    return {"Access-Control-Allow-Origin": os.environ.get("ALLOWED_ORIGIN", "*")}


class UnknownPath(local.LocalGatewayException):
    """What the deployed API's MISSING_AUTHENTICATION_TOKEN gateway response answers."""

    CODE = CONTRACT_RESPONSES["MISSING_AUTHENTICATION_TOKEN"].status


class ContractLocalGateway(local.LocalGateway):
    """A method and path no route matches is ``404 not_found`` in the contract's format.

    API Gateway answers both an unknown path and an undefined method of a known path with
    ``MISSING_AUTHENTICATION_TOKEN`` (which our gateway responses make the 404); Chalice
    would answer the second with its own ``405`` body. HEAD and OPTIONS are left to Chalice:
    OPTIONS is the CORS preflight, and a HEAD answer must carry no body.
    """

    def _generate_lambda_event(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            event = super()._generate_lambda_event(method, *args, **kwargs)
        except ValueError:
            raise _unknown_path() from None
        route = self._app_object.routes.get(event["requestContext"]["resourcePath"], {})
        if method not in route and method not in ("OPTIONS", "HEAD"):
            raise _unknown_path()
        return event


def _unknown_path() -> UnknownPath:
    unknown = CONTRACT_RESPONSES["MISSING_AUTHENTICATION_TOKEN"]
    return UnknownPath(
        {"Content-Type": "application/json", **unknown.headers, **_cors_headers()},
        unknown.template.encode(),
    )


class AuthorizerUnavailable(local.LocalGatewayException):
    """What the deployed API's AUTHORIZER_FAILURE gateway response answers."""

    CODE = UNAVAILABLE_STATUS


class FailClosedGatewayAuthorizer(local.LocalGatewayAuthorizer):
    """An authorizer that raises is a 503 with ``Retry-After``, and its 401/403 carry the CORS
    headers, as the deployed API's gateway responses are configured."""

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except local.LocalGatewayException as refused:  # 401/403: CORS, as our gateway responses
            refused.headers = {**refused.headers, **_cors_headers()}
            raise
        except Exception:
            raise AuthorizerUnavailable(
                {
                    "Content-Type": "application/json",
                    "Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS),
                    **_cors_headers(),
                },
                json.dumps(UNAVAILABLE_BODY).encode(),
            ) from None


class BackloggedThreadedHTTPServer(local.ThreadedHTTPServer):
    request_queue_size = LISTEN_BACKLOG


def create_local_server(app_object: Any, config: Any, host: str, port: int) -> local.LocalDevServer:
    """``chalice.local.create_local_server`` with the handler and server above."""
    return local.LocalDevServer(
        app_object,
        config,
        host,
        port,
        handler_cls=PeerAddressRequestHandler,
        server_cls=BackloggedThreadedHTTPServer,
    )


def install_gateway() -> None:
    """Make chalice's local gateway (also behind ``chalice.test.Client``) answer as the
    deployed API's gateway responses do."""
    local.LocalGatewayAuthorizer = FailClosedGatewayAuthorizer  # type: ignore[misc]
    local.LocalGateway = ContractLocalGateway  # type: ignore[misc]
    chalice_test.LocalGateway = ContractLocalGateway  # type: ignore[misc]


# The test suite's shared stack hashes new passwords at a token cost, as its in-process
# tests do (tests/conftest.py, CHEAP_SCRYPT): nearly every HTTP test registers and logs in
# a user of its own, and the real cost (about 0.25 s a hash) was most of their time.
# Verifying reads the cost from the stored hash, so nothing else changes. LocalStack sets
# the variable only when asked (``cheap_password_hashing``); make run never does.
CHEAP_SCRYPT = passwords.ScryptParameters(log2_n=4, r=1, p=1)


def install() -> None:
    """Patch chalice's local server in this process (before ``chalice local`` runs)."""
    install_gateway()
    if os.environ.get(CHEAP_PASSWORD_HASHING_VARIABLE) == "1":
        passwords.DEFAULT_PARAMETERS = CHEAP_SCRYPT
    local.LambdaEventConverter = PeerAddressEventConverter  # type: ignore[misc]
    local.create_local_server = create_local_server


def main() -> int:
    install()
    arguments = sys.argv[1:]
    # chalice's autoreloader re-runs sys.argv as a command: make it this module again.
    sys.argv = [sys.executable, "-m", "devstack.chalice_local", *arguments]
    return cli(args=arguments, prog_name="chalice", obj={})


if __name__ == "__main__":
    sys.exit(main())
