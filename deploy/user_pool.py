"""A cognito stage's Amazon Cognito user pool and public app client, for ``make deploy``.

``deploy.bootstrap`` creates them (``ensure``) before ``chalice deploy`` and deletes them
(``delete``) on ``make destroy DELETE_DATA=yes``. They mirror what the Terraform module
(``infra/terraform/modules/tasks_api/cognito.tf``) and the SAM template (``UserPool``,
``UserPoolClient``) create, setting for setting, so the three deploy paths stand up the same
cognito stage:

- the pool ``tasks-api-<stage>-users``: usernames chosen by the user, case-insensitive, with
  the verified email as a sign-in alias (``AliasAttributes``, fixed at creation: the token's
  ``username`` stays the chosen name); a 12-character password policy (lower, upper and
  digits); recovery by verified email; MFA off; deletion protection on prod; advanced
  security off unless asked for (``ENFORCED`` on the Plus feature plan, billed per user);
  the stage's tags;
- the app client ``tasks-api-<stage>-api``: public (no secret), SRP and refresh flows (plus
  ``USER_PASSWORD_AUTH`` only when asked for, so the AWS CLI can sign in on a test stage),
  user-existence errors hidden, token revocation on, access and ID tokens valid for the
  stage's ``TOKEN_LIFETIME_SECONDS`` and refresh tokens for its
  ``REFRESH_TOKEN_LIFETIME_SECONDS``.

Idempotent. The pool is found by its name and the stage's tags (a pool of that name without
them is refused, not adopted), the client by its name in the pool; a second run creates
nothing. An existing pool or client whose settings differ is brought back to these with one
update that carries every other setting over (Cognito's updates reset what they are not
given). Deletion protection is never turned off by ``ensure``; a client with a secret, or a
pool without the email alias, cannot be changed and is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from deploy.stage import Stage, UserPool

# Cognito access tokens live 5 minutes to a day (the app refuses more than a day too).
MIN_ACCESS_TOKEN_SECONDS = 300
PASSWORD_POLICY = {
    "MinimumLength": 12,
    "RequireLowercase": True,
    "RequireUppercase": True,
    "RequireNumbers": True,
    "RequireSymbols": False,
    "TemporaryPasswordValidityDays": 7,
}
RECOVERY = {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]}
AUTH_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
PASSWORD_AUTH_FLOW = "ALLOW_USER_PASSWORD_AUTH"  # noqa: S105 - a flow name, not a password
# Superseded by VerificationMessageTemplate: not carried over, or an update would set both.
_DEPRECATED_POOL_SETTINGS = frozenset(
    {"EmailVerificationMessage", "EmailVerificationSubject", "SmsVerificationMessage"}
)

Say = Callable[[str], None]


class UserPoolError(Exception):
    """A pool or client this tool cannot use or change; one readable line."""


def pool_name(stage: Stage) -> str:
    return f"tasks-api-{stage.name}-users"


def client_name(stage: Stage) -> str:
    return f"tasks-api-{stage.name}-api"


def ensure(
    client: Any,
    stage: Stage,
    say: Say,
    *,
    advanced_security: bool = False,
    allow_password_auth: bool = False,
) -> UserPool:
    """Find or create the stage's pool and app client, with the settings of the module."""
    if stage.settings.token_lifetime_seconds < MIN_ACCESS_TOKEN_SECONDS:
        raise UserPoolError(
            f"stage {stage.name}: TOKEN_LIFETIME_SECONDS must be {MIN_ACCESS_TOKEN_SECONDS} or "
            "more in the cognito mode (Cognito access tokens last 5 minutes to a day)"
        )
    name = pool_name(stage)
    pool = find(client, stage)
    if pool is None:
        created = client.create_user_pool(
            PoolName=name,
            AliasAttributes=["email"],
            UsernameConfiguration={"CaseSensitive": False},
            **pool_settings(stage, advanced_security=advanced_security, protect=False),
        )["UserPool"]
        pool = client.describe_user_pool(UserPoolId=created["Id"])["UserPool"]
        say(f"user pool {name}: created ({pool['Id']}; {_describe_pool(pool)})")
    else:
        if pool.get("AliasAttributes") != ["email"]:
            raise UserPoolError(
                f"user pool {name} ({pool['Id']}) does not have the email as its only sign-in "
                "alias, which is fixed when a pool is created; delete it or rename it first"
            )
        desired = pool_settings(
            stage,
            advanced_security=advanced_security,
            protect=pool.get("DeletionProtection") == "ACTIVE",
        )
        changed = _differences(pool, desired)
        if changed:
            _update(client.update_user_pool, "UpdateUserPool", client, pool, desired)
            pool = client.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]
            say(f"user pool {name}: already exists ({pool['Id']}); set {', '.join(changed)}")
        else:
            say(f"user pool {name}: already exists ({pool['Id']}; {_describe_pool(pool)})")
    client_id = _ensure_client(client, stage, pool["Id"], say, allow_password_auth)
    return UserPool(pool_id=pool["Id"], client_id=client_id, arn=pool["Arn"])


def pool_settings(stage: Stage, *, advanced_security: bool, protect: bool) -> dict[str, Any]:
    """The pool's settings that ``UpdateUserPool`` can change too (see the module).

    ``protect`` keeps deletion protection on where someone turned it on; prod always has it.
    """
    settings: dict[str, Any] = {
        "Policies": {"PasswordPolicy": dict(PASSWORD_POLICY)},
        "DeletionProtection": "ACTIVE" if protect or stage.is_production else "INACTIVE",
        "AutoVerifiedAttributes": ["email"],
        "MfaConfiguration": "OFF",
        "AccountRecoverySetting": RECOVERY,
        "UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED" if advanced_security else "OFF"},
        "UserPoolTags": dict(stage.tags),
    }
    if advanced_security:
        settings["UserPoolTier"] = "PLUS"  # what advanced security needs
    return settings


def client_settings(stage: Stage, *, allow_password_auth: bool) -> dict[str, Any]:
    """The app client's settings (see the module); the same for creating and updating."""
    flows = [*AUTH_FLOWS, *([PASSWORD_AUTH_FLOW] if allow_password_auth else [])]
    settings = stage.settings
    return {
        "ExplicitAuthFlows": flows,
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
        "AccessTokenValidity": settings.token_lifetime_seconds,
        "IdTokenValidity": settings.token_lifetime_seconds,
        "RefreshTokenValidity": settings.refresh_token_lifetime_seconds,
        "TokenValidityUnits": {
            "AccessToken": "seconds",
            "IdToken": "seconds",
            "RefreshToken": "seconds",
        },
    }


def find(client: Any, stage: Stage) -> dict[str, Any] | None:
    """The stage's pool (described), by name and the stage's tags; ``None`` if there is none."""
    name = pool_name(stage)
    named = [
        client.describe_user_pool(UserPoolId=summary["Id"])["UserPool"]
        for summary in _pools(client)
        if summary.get("Name") == name
    ]
    ours = [p for p in named if stage.tags.items() <= p.get("UserPoolTags", {}).items()]
    if len(ours) > 1:
        ids = ", ".join(sorted(p["Id"] for p in ours))
        raise UserPoolError(f"more than one user pool is stage {stage.name}'s {name}: {ids}")
    if not ours and named:
        ids = ", ".join(sorted(p["Id"] for p in named))
        raise UserPoolError(
            f"user pool {name} ({ids}) exists without stage {stage.name}'s tags "
            f"{stage.tags}: not adopting it; rename or delete it, or tag it if it is this stage's"
        )
    return ours[0] if ours else None


def delete(client: Any, stage: Stage, say: Say) -> None:
    """Delete the stage's pool, with its clients and users; turns deletion protection off
    first on prod only (the caller asks for prod's confirmation, as for its tables)."""
    name = pool_name(stage)
    pool = find(client, stage)
    if pool is None:
        say(f"user pool {name}: already gone")
        return
    reason = refusal(stage, pool)
    if reason is not None:
        raise UserPoolError(reason)
    if pool.get("DeletionProtection") == "ACTIVE":  # prod's
        desired = {
            **_carried_over(client, "UpdateUserPool", pool),
            "DeletionProtection": "INACTIVE",
        }
        client.update_user_pool(UserPoolId=pool["Id"], **desired)
    client.delete_user_pool(UserPoolId=pool["Id"])
    say(f"user pool {name}: deleted ({pool['Id']}, its app client and users)")


def refusal(stage: Stage, pool: dict[str, Any]) -> str | None:
    """Why ``delete`` would refuse the pool (protected off prod), or ``None``."""
    if pool.get("DeletionProtection") != "ACTIVE" or stage.is_production:
        return None
    return (
        f"deletion protection is on for user pool {pool_name(stage)} ({pool['Id']}; this tool "
        "only sets it on prod, so someone chose it); turn it off yourself to delete; nothing "
        "deleted"
    )


# --- helpers ------------------------------------------------------------------------------


def _ensure_client(
    client: Any, stage: Stage, pool_id: str, say: Say, allow_password_auth: bool
) -> str:
    name = client_name(stage)
    desired = client_settings(stage, allow_password_auth=allow_password_auth)
    named = [c for c in _clients(client, pool_id) if c.get("ClientName") == name]
    if len(named) > 1:
        ids = ", ".join(sorted(c["ClientId"] for c in named))
        raise UserPoolError(f"user pool {pool_id} has more than one app client {name}: {ids}")
    if not named:
        created = client.create_user_pool_client(
            UserPoolId=pool_id, ClientName=name, GenerateSecret=False, **desired
        )["UserPoolClient"]
        flows = ", ".join(desired["ExplicitAuthFlows"])
        say(f"app client {name}: created ({created['ClientId']}; public, {flows})")
        return str(created["ClientId"])
    found = client.describe_user_pool_client(UserPoolId=pool_id, ClientId=named[0]["ClientId"])[
        "UserPoolClient"
    ]
    if found.get("ClientSecret"):
        raise UserPoolError(
            f"app client {name} ({found['ClientId']}) has a client secret, which a public "
            "client must not have and which cannot be removed; delete the client and re-run"
        )
    changed = _differences(found, desired)
    if changed:
        _update(client.update_user_pool_client, "UpdateUserPoolClient", client, found, desired)
        say(f"app client {name}: already exists ({found['ClientId']}); set {', '.join(changed)}")
    else:
        say(f"app client {name}: already exists ({found['ClientId']})")
    return str(found["ClientId"])


def _differences(found: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """The desired settings ``found`` lacks (lists compared as sets; tags as a subset)."""
    changed = []
    for key, value in desired.items():
        current = found.get(key)
        if key == "UserPoolTags":
            same = value.items() <= (current or {}).items()
        elif key == "Policies":
            same = (
                value["PasswordPolicy"].items() <= (current or {}).get("PasswordPolicy", {}).items()
            )
        elif isinstance(value, list):
            same = sorted(map(str, value)) == sorted(map(str, current or []))
        else:
            same = current == value
        if not same:
            changed.append(key)
    return changed


def _update(
    call: Callable[..., Any],
    operation: str,
    client: Any,
    found: dict[str, Any],
    desired: dict[str, Any],
) -> None:
    """``UpdateUserPool``/``UpdateUserPoolClient`` with ``desired`` over everything found:
    Cognito resets whatever an update leaves out, so the rest is passed on unchanged."""
    carried = _carried_over(client, operation, found)
    if operation == "UpdateUserPool":
        tags = {**carried.get("UserPoolTags", {}), **desired["UserPoolTags"]}
        call(UserPoolId=found["Id"], **{**carried, **desired, "UserPoolTags": tags})
    else:
        call(**{**carried, **desired})


def _carried_over(client: Any, operation: str, found: dict[str, Any]) -> dict[str, Any]:
    """What ``found`` says of each parameter ``operation`` accepts (botocore's model)."""
    members = client.meta.service_model.operation_model(operation).input_shape.members
    carried = {
        key: value
        for key, value in found.items()
        if key in members and key not in _DEPRECATED_POOL_SETTINGS
    }
    if "AdminCreateUserConfig" in carried:  # its validity moved to the password policy
        carried["AdminCreateUserConfig"] = {
            key: value
            for key, value in carried["AdminCreateUserConfig"].items()
            if key != "UnusedAccountValidityDays"
        }
    return carried


def _describe_pool(pool: dict[str, Any]) -> str:
    parts = ["email alias", "12-character passwords"]
    parts.append(f"deletion protection {pool.get('DeletionProtection', 'INACTIVE').lower()}")
    mode = pool.get("UserPoolAddOns", {}).get("AdvancedSecurityMode", "OFF")
    parts.append(f"advanced security {mode.lower()}")
    return ", ".join(parts)


def _pools(client: Any) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = client.list_user_pools(MaxResults=60, **({"NextToken": token} if token else {}))
        yield from page.get("UserPools", [])
        token = page.get("NextToken")
        if not token:
            return


def _clients(client: Any, pool_id: str) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = client.list_user_pool_clients(
            UserPoolId=pool_id, MaxResults=60, **({"NextToken": token} if token else {})
        )
        yield from page.get("UserPoolClients", [])
        token = page.get("NextToken")
        if not token:
            return
