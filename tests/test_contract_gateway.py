"""What the gateway itself answers (contract v2): an unknown path is ``404 not_found`` in the
contract's format with the CORS headers, on AWS (a gateway response) and locally."""

from __future__ import annotations

import pytest

from tests.support import Api


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no-such-path"),
        ("POST", "/tasks/x/y"),
        ("DELETE", "/users"),
        ("GET", "/auth"),
        ("DELETE", "/tasks"),  # a known path, a method it does not define
        ("PUT", "/auth/login"),
        ("POST", "/health"),
    ],
)
def test_a_path_no_route_matches_is_a_contract_404(api: Api, method: str, path: str) -> None:
    reply = api.request(method, path)
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


def test_an_unknown_path_with_a_token_is_still_a_404(api: Api) -> None:
    user = api.new_user()
    reply = api.request("GET", "/nothing/here", user=user)
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}],
    ids=["no token (401)", "bad token (403)"],
)
def test_the_authorizer_steps_refusals_carry_cors_headers(
    api: Api, headers: dict[str, str]
) -> None:
    reply = api.request("GET", "/tasks", headers=headers)
    assert reply.status in (401, 403)
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
