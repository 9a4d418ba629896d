"""The API Gateway TOKEN authorizer's decision, as a pure function.

The answer is the same for every route (API Gateway caches it per token), reads no
database, and turns every failure into a deny: a bad token is a 403, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.auth.tokens import InvalidToken, Principal


def authorize(
    authorization: str | None, method_arn: str, verify: Callable[[str], Principal]
) -> dict[str, Any]:
    """An IAM policy allowing the whole API to a valid bearer token, denying it otherwise."""
    try:
        principal = verify(bearer_token(authorization))
    except InvalidToken:
        return _policy("anonymous", "Deny", method_arn)
    response = _policy(principal.user_id, "Allow", method_arn)
    # API Gateway rejects non-string context values.
    response["context"] = {"sub": principal.user_id, "username": principal.username}
    return response


# What a client gets when the authorizer raises AuthorizerUnavailable: the deployed API's
# AUTHORIZER_FAILURE gateway response, and the local gateway (devstack/chalice_local.py).
UNAVAILABLE_STATUS = 503
UNAVAILABLE_RETRY_AFTER_SECONDS = 1
UNAVAILABLE_BODY = {
    "error": {
        "code": "service_unavailable",
        "message": "Tokens cannot be verified right now; retry after the indicated delay.",
    }
}


class AuthorizerUnavailable(Exception):
    """No verdict is possible (the signing secret cannot be read): not a Deny, which API
    Gateway would cache; the deployed API answers 503 for it (AUTHORIZER_FAILURE)."""


class VerifierUnavailable(Exception):
    """Raised by a verifier that cannot decide now (the cognito mode's JWKS cannot be
    fetched): the authorizer then raises ``AuthorizerUnavailable``, never answers Deny."""


def bearer_token(authorization: str | None) -> str:
    """The token of ``Bearer <token>``; the scheme is case-insensitive (RFC 9110)."""
    parts = (authorization or "").split(" ")
    if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1]:
        raise InvalidToken("not a bearer token")
    return parts[1]


def _policy(principal_id: str, effect: str, method_arn: str) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": [_every_route_of(method_arn)],
                }
            ],
        },
    }


def _every_route_of(method_arn: str) -> str:
    """``arn:...:api-id/stage/GET/tasks/1`` -> ``arn:...:api-id/stage/*/*``."""
    parts = method_arn.split(":", 5)  # arn:partition:service:region:account:resource
    api_and_stage = parts[-1].split("/")[:2]
    if len(parts) != 6 or len(api_and_stage) != 2:
        return method_arn
    return ":".join(parts[:5]) + f":{api_and_stage[0]}/{api_and_stage[1]}/*/*"
