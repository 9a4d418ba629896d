"""A local Amazon Cognito for ``IDENTITY_PROVIDER=cognito make run``: moto's ``cognito-idp``.

The same moto server that answers DynamoDB answers ``cognito-idp`` too: it signs users up
and in, issues RS256 access and ID tokens whose ``iss`` is the real-looking
``https://cognito-idp.<region>.amazonaws.com/<pool id>``, and serves the pool's JWKS at
``<server>/<pool id>/.well-known/jwks.json``. The API is pointed at them exactly as a
deployed stage is pointed at a real pool (``OIDC_ISSUER``, ``OIDC_AUDIENCE``,
``COGNITO_USER_POOL_ID``), plus two local-only settings: ``OIDC_JWKS_URL`` (the keys come
from the moto server, not from the issuer's host) and boto3's
``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` (the admin calls go there too). So the local
run verifies every token for real, with the code a deployed stage runs.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

# boto3's service-specific endpoint variable for cognito-idp (its service id is "Cognito
# Identity Provider"; AWS_ENDPOINT_URL_COGNITO_IDP is not read by boto3 or the AWS CLI).
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"
POOL_NAME = "tasks-api-local"
CLIENT_NAME = "tasks-api-local-client"
# The public app client: no secret (a browser or CLI cannot keep one); SRP and refresh as
# deployed, plus USER_PASSWORD_AUTH so the AWS CLI can sign in without an SRP library.
AUTH_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]
EXAMPLE_USERNAME = "alice"
EXAMPLE_PASSWORD = "Correct-Horse-42"  # noqa: S105 - the printed example of the local pool


@dataclass(frozen=True)
class LocalUserPool:
    """A user pool and app client in the moto server at ``endpoint``."""

    endpoint: str
    region: str
    pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        """The ``iss`` of the pool's tokens (moto writes the real service's form)."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"

    def api_environment(self) -> dict[str, str]:
        """What ``chalice local`` needs to accept this pool's access tokens."""
        return {
            "IDENTITY_PROVIDER": "cognito",
            "OIDC_ISSUER": self.issuer,
            "OIDC_AUDIENCE": self.client_id,
            "OIDC_JWKS_URL": self.jwks_url,
            "COGNITO_USER_POOL_ID": self.pool_id,
            ENDPOINT_VARIABLE: self.endpoint,
        }

    def instructions(self, api_url: str) -> str:
        """How to sign a user up and get an access token with the AWS CLI (printed by make
        run). moto accepts any credentials, but the CLI wants some to sign the requests."""
        cli = f"aws --endpoint-url {self.endpoint} --region {self.region} cognito-idp"
        user, password = EXAMPLE_USERNAME, shlex.quote(EXAMPLE_PASSWORD)
        return "\n".join(
            [
                f"Identity: Amazon Cognito (moto) user pool {self.pool_id}, "
                f"app client {self.client_id}",
                "Sign up, confirm and get an access token with the AWS CLI "
                "(any credentials, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local):",
                f"  {cli} sign-up --client-id {self.client_id} --username {user} "
                f"--password {password}",
                f"  {cli} admin-confirm-sign-up --user-pool-id {self.pool_id} --username {user}",
                f"  TOKEN=$({cli} initiate-auth --client-id {self.client_id} "
                f"--auth-flow USER_PASSWORD_AUTH --auth-parameters "
                f"USERNAME={user},PASSWORD={password} "
                "--query AuthenticationResult.AccessToken --output text)",
                f'  curl -H "Authorization: Bearer $TOKEN" {api_url}/users/me',
            ]
        )


def create_local_user_pool(client: Any, endpoint: str, region: str) -> LocalUserPool:
    """A new user pool and public app client, through ``client`` (a cognito-idp client)."""
    pool = client.create_user_pool(
        PoolName=POOL_NAME,
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 8,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
            }
        },
    )["UserPool"]
    app_client = client.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName=CLIENT_NAME,
        GenerateSecret=False,
        ExplicitAuthFlows=AUTH_FLOWS,
    )["UserPoolClient"]
    return LocalUserPool(endpoint, region, pool["Id"], app_client["ClientId"])
