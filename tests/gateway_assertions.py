"""Assertions on API Gateway gateway responses shared by the deploy-path tests."""

from __future__ import annotations

import json
from typing import Any


def assert_contract_gateway_responses(responses: dict[str, Any]) -> None:
    """An unknown path is 404 not_found; an authorizer that raises is 503 + Retry-After."""
    unknown = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert str(unknown["statusCode"]) == "404"
    body = json.loads(unknown["responseTemplates"]["application/json"])
    assert body["error"]["code"] == "not_found"
    for response_type in ("AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"):
        failure = responses[response_type]
        assert str(failure["statusCode"]) == "503"
        assert failure["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
        body = json.loads(failure["responseTemplates"]["application/json"])
        assert body["error"]["code"] == "service_unavailable"
