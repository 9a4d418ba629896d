"""Create or delete what ``chalice deploy`` does not: a stage's tables, signing secret and
the log groups of its functions, and a cognito stage's user pool and app client.

``make deploy`` runs ``python -m deploy.bootstrap create --stage STAGE`` before
``chalice deploy``; ``make destroy DELETE_DATA=yes`` runs ``delete`` after ``chalice delete``.

create (idempotent; never changes an item or an existing secret):
  - the tables of ``chalicelib.storage.table_layout``, on-demand, encrypted with the AWS managed KMS
    key, point-in-time recovery on, TTL on the records table, deletion protection on prod;
    tables that already exist are checked against the layout and given whichever of those
    settings they lack (deletion protection is never turned off);
  - the current signing secret as an SSM SecureString, only if the parameter is missing
    (the "previous" parameter exists only during a rotation; see the README);
  - each function's log group (``/aws/lambda/<function>``) with the retention the SAM and
    Terraform packages give it (30 days, a year on prod); an existing group without a
    retention gets it, one with a retention keeps it;
  - a cognito stage (``IDENTITY_PROVIDER=cognito`` in config.json, e.g. ``dev-cognito``): no
    signing secret (Cognito signs its tokens), but its user pool and public app client
    (``deploy.user_pool``: the Terraform and SAM paths' settings; ``--cognito-advanced-security``
    and ``--cognito-allow-password-auth`` as their variables), and then the Chalice project
    ``make deploy`` deploys it from, with the pool's ids and ARN filled in
    (``deploy.chalice_project``: ``build/<stage>/chalice-project``).

Why the log groups are made here. ``chalice deploy`` creates none, and Lambda creates a
missing group only with the function's own credentials, which would need
``logs:CreateLogGroup`` and leave a group that never expires. Created here, before the
functions exist, every function's role on every deploy path may only write its own group
(``logs:CreateLogStream``, ``logs:PutLogEvents``; see ``deploy/stage.py``). A group deleted
by hand stays missing, and that function's logs with it, until the next ``make deploy``.

delete: the stage's tables, both secret parameters and the functions' log groups, and a
cognito stage's user pool (with its client and users) and rendered project; prod needs
``--yes-delete-production-data``. A table or pool with deletion protection off prod is
refused before anything is deleted. Whatever is already gone is reported, not an error.

boto3's standard credential chain and region apply, and ``AWS_ENDPOINT_URL_DYNAMODB`` /
``AWS_ENDPOINT_URL_SSM`` / ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` /
``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` point it elsewhere (the tests use moto's
server).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from chalicelib.auth.signing_secret import MIN_SECRET_BYTES
from chalicelib.storage import table_layout
from deploy import chalice_project, user_pool
from deploy.stage import Stage, deployable_stages, load_stage

CONFIRM_PRODUCTION_FLAG = "--yes-delete-production-data"
# Encryption at rest with the AWS managed key (aws/dynamodb), as the Terraform and SAM
# packages do; DynamoDB's default would be an AWS owned key, invisible in CloudTrail.
SSE_SPECIFICATION = {"Enabled": True, "SSEType": "KMS"}
SECRET_BYTES = 48  # token_urlsafe(48) is 64 characters, twice MIN_SECRET_BYTES
ACTIVE_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 1.0
CLIENT_CONFIG = Config(connect_timeout=10, read_timeout=60)

Say = Callable[[str], None]


class BootstrapError(Exception):
    """A failure to report in one readable line (no traceback)."""


class Aws:
    """The DynamoDB, SSM, CloudWatch Logs and Cognito user pool clients of one session, with
    region and credentials checked."""

    def __init__(self) -> None:
        # AWS_REGION too (botocore alone reads only AWS_DEFAULT_REGION and the profile).
        region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
        session = boto3.session.Session(region_name=region or None)
        if not session.region_name:
            raise BootstrapError(
                "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or use an AWS_PROFILE "
                "that has one"
            )
        if session.get_credentials() is None:
            raise BootstrapError(
                "no AWS credentials: set AWS_PROFILE (and run `aws sso login` if it uses SSO) "
                "or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
            )
        self.region: str = session.region_name
        self.dynamodb: Any = session.client("dynamodb", config=CLIENT_CONFIG)
        self.ssm: Any = session.client("ssm", config=CLIENT_CONFIG)
        self.logs: Any = session.client("logs", config=CLIENT_CONFIG)
        self.cognito: Any = session.client("cognito-idp", config=CLIENT_CONFIG)

    def where(self) -> str:
        """The region, and the endpoints when they are overridden (so a test run is obvious)."""
        endpoints = {
            client.meta.service_model.service_name: client.meta.endpoint_url
            for client in (self.dynamodb, self.ssm, self.logs, self.cognito)
        }
        default = {
            f"https://{name}.{self.region}.amazonaws.com"
            for name in ("dynamodb", "ssm", "logs", "cognito-idp")
        }
        if set(endpoints.values()) <= default:
            return f"region {self.region}"
        listed = ", ".join(f"{name} at {url}" for name, url in endpoints.items())
        return f"region {self.region} ({listed})"


# --- create -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CognitoOptions:
    """A cognito stage's choices, the Terraform and SAM paths' variables of the same name."""

    advanced_security: bool = False  # cognito_advanced_security / CognitoAdvancedSecurity
    allow_password_auth: bool = False  # cognito_allow_password_auth / CognitoAllowPasswordAuth


def create(
    stage: Stage,
    aws: Aws,
    say: Say,
    cognito: CognitoOptions | None = None,
    project: Path | None = None,
) -> Stage:
    """Create the stage's missing tables, secret and log groups; bring existing tables and
    log groups up to standard. A cognito stage also gets its user pool and app client and
    its rendered Chalice project (into ``project``, by default ``build/<stage>/...``).
    Returns the stage, completed with its pool for a cognito stage."""
    protect = stage.is_production
    extra: dict[str, Any] = {
        "SSESpecification": SSE_SPECIFICATION,
        "Tags": [{"Key": k, "Value": v} for k, v in stage.tags.items()],
    }
    if protect:
        extra["DeletionProtectionEnabled"] = True
    created = set(
        table_layout.create_missing_tables(
            aws.dynamodb, stage.settings, ACTIVE_TIMEOUT_SECONDS, extra_arguments=extra
        )
    )
    for definition in stage.tables:
        name = definition["TableName"]
        changes = _ensure_table_settings(aws.dynamodb, stage, definition, protect)
        if name in created:
            say(f"table {name}: created ({_describe_settings(stage, name, protect)})")
        elif changes:
            say(f"table {name}: already exists; turned on {', '.join(changes)}")
        else:
            say(f"table {name}: already exists")
    if stage.secret_parameters:  # none in the cognito mode
        _ensure_secret(aws.ssm, stage.secret_parameters[0], say, stage.tags)
    for function in stage.functions:
        _ensure_log_group(
            aws.logs, stage.log_group(function), stage.log_retention_days, say, stage.tags
        )
    if not stage.is_cognito:
        return stage
    options = cognito or CognitoOptions()
    try:
        pool = user_pool.ensure(
            aws.cognito,
            stage,
            say,
            advanced_security=options.advanced_security,
            allow_password_auth=options.allow_password_auth,
        )
    except user_pool.UserPoolError as error:
        raise BootstrapError(str(error)) from error
    say(f"issuer {pool.issuer}, app client {pool.client_id}")
    stage = stage.with_user_pool(pool)
    try:
        rendered = chalice_project.render(stage, project)
    except ValueError as error:
        raise BootstrapError(str(error)) from error
    say(f"chalice project {_shown(rendered)}: rendered with the pool's settings and grant")
    return stage


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (as make prints it)."""
    try:
        return str(path.resolve().relative_to(chalice_project.PROJECT_DIR))
    except ValueError:
        return str(path)


def _describe_settings(stage: Stage, name: str, protect: bool) -> str:
    parts = ["on-demand", "KMS encryption", "point-in-time recovery"]
    if name in stage.time_to_live:
        parts.append(f"TTL on {stage.time_to_live[name]}")
    if protect:
        parts.append("deletion protection")
    return ", ".join(parts)


def _ensure_table_settings(
    client: Any, stage: Stage, definition: dict[str, Any], protect: bool
) -> list[str]:
    """Check an active table against its definition and turn on what it lacks."""
    name = definition["TableName"]
    table = _wait_active(client, name)
    _check_layout(table, definition)
    changes = []
    ttl_attribute = stage.time_to_live.get(name)
    if ttl_attribute is not None:
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )
            changes.append(f"TTL on {ttl_attribute}")
        elif ttl.get("AttributeName") != ttl_attribute:
            raise BootstrapError(
                f"table {name}: TTL is on attribute {ttl.get('AttributeName')!r}, "
                f"the app expects {ttl_attribute!r}"
            )
    if _enable_point_in_time_recovery(client, name):
        changes.append("point-in-time recovery")
    if table.get("SSEDescription", {}).get("Status") not in ("ENABLED", "ENABLING", "UPDATING"):
        client.update_table(TableName=name, SSESpecification=SSE_SPECIFICATION)
        _wait_active(client, name)
        changes.append("KMS encryption")
    if protect and not table.get("DeletionProtectionEnabled", False):
        client.update_table(TableName=name, DeletionProtectionEnabled=True)
        _wait_active(client, name)
        changes.append("deletion protection")
    return changes


def _enable_point_in_time_recovery(client: Any, name: str) -> bool:
    """Turn PITR on unless it is; True if it was off. Retries while backups are starting."""
    deadline = time.monotonic() + ACTIVE_TIMEOUT_SECONDS
    while True:
        try:
            backups = client.describe_continuous_backups(TableName=name)
            description = backups["ContinuousBackupsDescription"]
            status = description.get("PointInTimeRecoveryDescription", {}).get(
                "PointInTimeRecoveryStatus"
            )
            if status == "ENABLED":
                return False
            client.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            return True
        except ClientError as error:
            # A table created moments ago may not have continuous backups ready yet.
            if _code(error) != "ContinuousBackupsUnavailableException":
                raise
            if time.monotonic() > deadline:
                raise BootstrapError(f"table {name}: backups never became available") from error
            time.sleep(POLL_SECONDS * 5)


def _check_layout(table: dict[str, Any], definition: dict[str, Any]) -> None:
    """Refuse a table whose keys or index differ from ``table_layout`` (the app would fail)."""
    name = definition["TableName"]
    if _keys(table) != _keys(definition):
        raise BootstrapError(
            f"table {name} exists with a different key schema or indexes than "
            "chalicelib/storage/table_layout.py defines; rename or remove it first"
        )


def _keys(table: dict[str, Any]) -> tuple[Any, ...]:
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}

    def schema(key_schema: list[dict[str, str]]) -> tuple[tuple[str, str, str], ...]:
        return tuple(
            (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
            for k in key_schema
        )

    indexes = sorted(
        (index["IndexName"], schema(index["KeySchema"]), index["Projection"]["ProjectionType"])
        for index in table.get("LocalSecondaryIndexes", [])
    )
    return schema(table["KeySchema"]), tuple(indexes)


def _ensure_secret(
    client: Any, parameter: str, say: Say, tags: dict[str, str] | None = None
) -> None:
    """Store a fresh secret as a SecureString unless the parameter exists; never show it."""
    try:
        client.put_parameter(
            Name=parameter,
            Description="Tasks API token signing secret (HS256); see the README to rotate it",
            Value=secrets.token_urlsafe(SECRET_BYTES),
            Type="SecureString",
            Overwrite=False,
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )
    except ClientError as error:
        if _code(error) != "ParameterAlreadyExists":
            raise
    else:
        say(f"parameter {parameter}: created (SecureString, {SECRET_BYTES}-byte random secret)")
        return
    try:
        found = client.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]
    except ClientError as error:
        # A deployer may create parameters without being allowed to decrypt them.
        if _code(error) not in ("AccessDeniedException", "AccessDenied"):
            raise
        say(f"parameter {parameter}: already exists (kept; not allowed to read it to check it)")
        return
    if found["Type"] != "SecureString":
        raise BootstrapError(
            f"parameter {parameter} exists as a {found['Type']}, not a SecureString; "
            "overwrite it as a SecureString (README: Rotating the signing secret)"
        )
    if len(found["Value"].encode("utf-8")) < MIN_SECRET_BYTES:
        raise BootstrapError(
            f"parameter {parameter} holds a secret shorter than {MIN_SECRET_BYTES} bytes, which "
            "the app refuses; replace it (README: Rotating the signing secret)"
        )
    say(f"parameter {parameter}: already exists (kept)")


def _ensure_log_group(
    client: Any, name: str, retention_days: int, say: Say, tags: dict[str, str] | None = None
) -> None:
    """Create the group with ``retention_days`` unless it exists; give one without any
    retention (it would never expire) that retention."""
    try:
        client.create_log_group(logGroupName=name, tags=tags or {})
    except ClientError as error:
        if _code(error) != "ResourceAlreadyExistsException":
            raise
    else:
        client.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        say(f"log group {name}: created ({retention_days}-day retention)")
        return
    groups = client.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    kept = next((g.get("retentionInDays") for g in groups if g["logGroupName"] == name), None)
    if kept is None:
        client.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        say(f"log group {name}: already exists; set a {retention_days}-day retention")
    else:
        say(f"log group {name}: already exists ({kept}-day retention, kept)")


# --- delete -------------------------------------------------------------------------------


def delete(
    stage: Stage, aws: Aws, say: Say, *, confirmed: bool, project: Path | None = None
) -> None:
    """Delete the stage's tables, secret parameters and log groups (and a cognito stage's
    pool and rendered project); checks every table and the pool before deleting anything."""
    _require_confirmation(stage, confirmed)
    tables = {d["TableName"]: _describe(aws.dynamodb, d["TableName"]) for d in stage.tables}
    if not stage.is_production:
        protected = [n for n, t in tables.items() if t and t.get("DeletionProtectionEnabled")]
        if protected:
            raise BootstrapError(
                f"deletion protection is on for {', '.join(protected)} (this tool only sets it "
                "on prod, so someone chose it); turn it off yourself to delete; nothing deleted"
            )
    if stage.is_cognito:
        try:
            pool = user_pool.find(aws.cognito, stage)
        except user_pool.UserPoolError as error:
            raise BootstrapError(str(error)) from error
        reason = user_pool.refusal(stage, pool) if pool is not None else None
        if reason is not None:
            raise BootstrapError(reason)
    for name, table in tables.items():
        if table is None:
            say(f"table {name}: already gone")
            continue
        if table["TableStatus"] != "DELETING":
            table = _wait_active(aws.dynamodb, name)
            if table.get("DeletionProtectionEnabled"):
                aws.dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
                _wait_active(aws.dynamodb, name)
            try:
                aws.dynamodb.delete_table(TableName=name)
            except ClientError as error:
                if _code(error) != "ResourceNotFoundException":
                    raise
                say(f"table {name}: already gone")
                continue
        _wait_gone(aws.dynamodb, name)
        say(f"table {name}: deleted")
    for parameter in stage.secret_parameters:
        try:
            aws.ssm.delete_parameter(Name=parameter)
        except ClientError as error:
            if _code(error) != "ParameterNotFound":
                raise
            say(f"parameter {parameter}: already gone")
        else:
            say(f"parameter {parameter}: deleted")
    for function in stage.functions:
        group = stage.log_group(function)
        try:
            aws.logs.delete_log_group(logGroupName=group)
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
            say(f"log group {group}: already gone")
        else:
            say(f"log group {group}: deleted")
    if stage.is_cognito:
        user_pool.delete(aws.cognito, stage, say)
        if chalice_project.remove(stage.name, project):
            say(f"chalice project of {stage.name}: removed (Chalice's deployment record kept)")


def _require_confirmation(stage: Stage, confirmed: bool) -> None:
    """Production data goes only on an explicit flag (``make destroy`` does not pass it)."""
    if stage.is_production and not confirmed:
        raise BootstrapError(
            f"refusing to delete stage {stage.name}'s tables, signing secret and logs: every "
            f"user and task would be lost; nothing deleted. To confirm, run: .venv/bin/python -m "
            f"deploy.bootstrap delete --stage {stage.name} {CONFIRM_PRODUCTION_FLAG}"
        )


# --- DynamoDB helpers ---------------------------------------------------------------------


def _describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return None
        raise


def _wait_active(client: Any, name: str) -> dict[str, Any]:
    """The table's description once it is ACTIVE (creating or updating tables are waited for)."""
    deadline = time.monotonic() + ACTIVE_TIMEOUT_SECONDS
    while True:
        table = _describe(client, name)
        if table is None:
            raise BootstrapError(f"table {name} disappeared while being set up")
        if table["TableStatus"] == "ACTIVE":
            return table
        if table["TableStatus"] == "DELETING":
            raise BootstrapError(f"table {name} is being deleted; re-run once it is gone")
        if time.monotonic() > deadline:
            raise BootstrapError(f"table {name} is still {table['TableStatus']}; re-run later")
        time.sleep(POLL_SECONDS)


def _wait_gone(client: Any, name: str) -> None:
    deadline = time.monotonic() + ACTIVE_TIMEOUT_SECONDS
    while _describe(client, name) is not None:
        if time.monotonic() > deadline:
            raise BootstrapError(f"table {name} is still being deleted; re-run later")
        time.sleep(POLL_SECONDS)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


# --- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.bootstrap",
        description="Create or delete a stage's DynamoDB tables, SSM signing secret and the "
        "functions' CloudWatch log groups (and a cognito stage's Cognito user pool, app client "
        "and rendered Chalice project).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create_parser = commands.add_parser(
        "create", help="create whatever is missing (idempotent; keeps existing data and secret)"
    )
    delete_parser = commands.add_parser(
        "delete",
        help="delete the stage's tables (all data), secret parameters and log groups",
    )
    for sub in (create_parser, delete_parser):
        sub.add_argument("--stage", required=True, choices=deployable_stages())
        sub.add_argument(
            "--chalice-project",
            type=Path,
            metavar="DIR",
            help="cognito stage: where its Chalice project is rendered (default: "
            "build/<stage>/chalice-project, where make deploy looks)",
        )
    create_parser.add_argument(
        "--cognito-advanced-security",
        action="store_true",
        help="cognito stage: advanced security ENFORCED on the user pool (the Plus feature "
        "plan, billed per user); without it, OFF (an existing pool is set back)",
    )
    create_parser.add_argument(
        "--cognito-allow-password-auth",
        action="store_true",
        help="cognito stage: also allow USER_PASSWORD_AUTH on the app client, so the AWS CLI "
        "can sign in (test stages)",
    )
    delete_parser.add_argument(
        CONFIRM_PRODUCTION_FLAG,
        dest="confirmed",
        action="store_true",
        help="required to delete the prod stage's data",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 on success, 1 with one ``error:`` line on stderr otherwise."""
    args = parse_args(argv)

    def say(message: str) -> None:
        print(message, flush=True)

    try:
        stage = load_stage(args.stage)
        if args.command == "delete":
            _require_confirmation(stage, args.confirmed)
        cognito = None
        if args.command == "create":
            cognito = CognitoOptions(
                args.cognito_advanced_security, args.cognito_allow_password_auth
            )
            if cognito != CognitoOptions() and not stage.is_cognito:
                raise BootstrapError(
                    f"--cognito-* options are for a cognito stage; {stage.name} is not one"
                )
        aws = Aws()
        say(f"{args.command} stage {stage.name} in {aws.where()}")
        if args.command == "create":
            create(stage, aws, say, cognito, args.chalice_project)
        else:
            delete(stage, aws, say, confirmed=args.confirmed, project=args.chalice_project)
    except BootstrapError as error:
        return _fail(str(error))
    except ClientError as error:
        return _fail(f"AWS refused: {error}")
    except BotoConnectionError as error:
        return _fail(f"cannot reach AWS: {error}")
    except NoCredentialsError as error:
        return _fail(f"{error}: set AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
    except (BotoCoreError, TimeoutError) as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return _fail("interrupted; re-run to finish (every step is idempotent)", status=130)
    return 0


def _fail(message: str, status: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
