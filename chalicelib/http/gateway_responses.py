"""The gateway responses the contract pins down: configured on API Gateway by the Terraform
and SAM outputs, and answered the same way by the local gateway (devstack/chalice_local.py).
Nothing here runs in Lambda.

API Gateway answers some requests without running our code. Two of those must still speak
the contract's error format, with the CORS headers every gateway response gets:

- ``MISSING_AUTHENTICATION_TOKEN``: API Gateway's answer to a path no route matches (a
  confusing ``403 {"message": "Missing Authentication Token"}``) becomes ``404 not_found``.
- ``AUTHORIZER_FAILURE`` / ``AUTHORIZER_CONFIGURATION_ERROR``: the authorizer raised
  because it could not verify anything (the signing secret cannot be read). Raising
  instead of denying keeps API Gateway from caching a Deny for 300 s; the client gets
  ``503 service_unavailable`` with ``Retry-After`` and tries again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from chalicelib.auth.authorizer import (
    UNAVAILABLE_BODY,
    UNAVAILABLE_RETRY_AFTER_SECONDS,
    UNAVAILABLE_STATUS,
)

UNKNOWN_PATH_BODY = {
    "error": {"code": "not_found", "message": "No route matches this method and path."}
}


@dataclass(frozen=True)
class ContractResponse:
    status: int
    body: dict[str, object]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def header_parameters(self) -> dict[str, str]:
        """``responseParameters`` entries for this response's own headers (static values)."""
        return {f"gatewayresponse.header.{k}": f"'{v}'" for k, v in self.headers.items()}

    @property
    def template(self) -> str:
        """The response template: static JSON (no $context values, nothing to escape)."""
        return json.dumps(self.body, separators=(",", ":"))


_AUTHORIZER_UNAVAILABLE = ContractResponse(
    UNAVAILABLE_STATUS, UNAVAILABLE_BODY, {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)}
)
CONTRACT_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": ContractResponse(404, UNKNOWN_PATH_BODY),
    "AUTHORIZER_FAILURE": _AUTHORIZER_UNAVAILABLE,
    "AUTHORIZER_CONFIGURATION_ERROR": _AUTHORIZER_UNAVAILABLE,
}
