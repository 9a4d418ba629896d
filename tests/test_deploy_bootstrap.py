"""``python -m deploy.bootstrap`` (the first step of ``make deploy``) against moto's server.

The CLI runs as a subprocess, as ``make deploy`` runs it, pointed at the server through
boto3's standard ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_SSM`` /
``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``; the tests check what a user sees (exit status, output)
and what is left in DynamoDB, SSM and CloudWatch Logs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from chalicelib.auth.signing_secret import MIN_SECRET_BYTES
from chalicelib.storage import table_layout
from deploy.stage import Stage, load_stage
from devstack.stack import free_port

pytestmark = pytest.mark.e2e
PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIRM = "--yes-delete-production-data"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class Run:
    """One finished CLI run."""

    status: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def isolated_environment(**overrides: str) -> dict[str, str]:
    """This process's environment without any AWS setting of the developer's, plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(overrides)
    return env


def bootstrap(env: dict[str, str], *args: str) -> Run:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed args
        [sys.executable, "-m", "deploy.bootstrap", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr)


class Moto:
    """moto's server on a free loopback port, with clients to look at what the CLI did."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack.dynamodb_server", "--port", "0"],
            cwd=PROJECT_DIR,
            env=isolated_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(self.process.stdout.readline()))
        reader.start()
        reader.join(60)
        if not first or not first[0].startswith("listening on "):
            self.stop()
            raise RuntimeError(f"moto's server did not start: {first!r}")
        self.url = first[0].removeprefix("listening on ").strip()
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        self.dynamodb: Any = session.client("dynamodb", endpoint_url=self.url)
        self.ssm: Any = session.client("ssm", endpoint_url=self.url)
        self.logs: Any = session.client("logs", endpoint_url=self.url)

    @property
    def env(self) -> dict[str, str]:
        return isolated_environment(
            **FAKE_AWS,
            AWS_ENDPOINT_URL_DYNAMODB=self.url,
            AWS_ENDPOINT_URL_SSM=self.url,
            AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=self.url,
        )

    def reset(self) -> None:
        requests.post(self.url + "/moto-api/reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()

    def table_names(self) -> set[str]:
        return set(self.dynamodb.list_tables()["TableNames"])

    def log_groups(self) -> dict[str, int | None]:
        """Every log group's name and retention in days (``None``: never expires)."""
        groups = self.logs.describe_log_groups()["logGroups"]
        return {group["logGroupName"]: group.get("retentionInDays") for group in groups}

    def parameter(self, name: str) -> dict[str, Any] | None:
        try:
            return self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ParameterNotFound"
            return None


@pytest.fixture(scope="module")
def moto_server() -> Iterator[Moto]:
    server = Moto()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto(moto_server: Moto) -> Moto:
    """The shared server, emptied before each test."""
    moto_server.reset()
    return moto_server


def names(stage: Stage) -> list[str]:
    return [definition["TableName"] for definition in stage.tables]


def log_groups(stage: Stage) -> list[str]:
    return [stage.log_group(function) for function in stage.functions]


def assert_clean(run: Run) -> None:
    assert "Traceback" not in run.stdout + run.stderr


def assert_stage_built(moto: Moto, stage: Stage) -> None:
    """Every table as ``table_layout`` defines it, with the deploy's settings; the secret."""
    for definition in stage.tables:
        name = definition["TableName"]
        table = moto.dynamodb.describe_table(TableName=name)["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert table["KeySchema"] == definition["KeySchema"]
        assert {
            (a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]
        } == {(a["AttributeName"], a["AttributeType"]) for a in definition["AttributeDefinitions"]}
        expected_indexes = [
            (i["IndexName"], i["KeySchema"], i["Projection"])
            for i in definition.get("LocalSecondaryIndexes", [])
        ]
        assert [
            (i["IndexName"], i["KeySchema"], i["Projection"])
            for i in table.get("LocalSecondaryIndexes", [])
        ] == expected_indexes
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        assert table["SSEDescription"]["SSEType"] == "KMS"
        assert table.get("DeletionProtectionEnabled", False) is stage.is_production
        backups = moto.dynamodb.describe_continuous_backups(TableName=name)
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
        ttl = moto.dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if name in stage.time_to_live:
            assert ttl["TimeToLiveStatus"] == "ENABLED"
            assert ttl["AttributeName"] == stage.time_to_live[name] == table_layout.EXPIRES_AT
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"
    assert any(name in stage.time_to_live for name in names(stage))
    current, previous = stage.secret_parameters
    secret = moto.parameter(current)
    assert secret is not None
    assert secret["Type"] == "SecureString"
    assert len(secret["Value"].encode()) >= 2 * MIN_SECRET_BYTES
    assert moto.parameter(previous) is None  # exists only during a rotation
    # Every function's group exists with the packages' retention: no role may create one.
    groups = moto.log_groups()
    assert {name: groups.get(name) for name in log_groups(stage)} == {
        name: stage.log_retention_days for name in log_groups(stage)
    }
    assert stage.log_group("api_handler") == f"/aws/lambda/tasks-api-{stage.name}"
    assert {"jwt_authorizer", "purge_account"} <= set(stage.functions)


def assert_tagged(moto: Moto, stage: Any) -> None:
    """What the bootstrap creates carries config.json's tags and the stage's name."""
    expected = {"project": "tasks-api", "stage": stage.name}
    assert stage.tags == expected
    for name in names(stage):
        arn = moto.dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
        tags = moto.dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]
        assert {tag["Key"]: tag["Value"] for tag in tags} == expected, name
    parameter_tags = moto.ssm.list_tags_for_resource(
        ResourceType="Parameter", ResourceId=stage.secret_parameters[0]
    )["TagList"]
    assert {tag["Key"]: tag["Value"] for tag in parameter_tags} == expected
    for group in log_groups(stage):
        assert moto.logs.list_tags_log_group(logGroupName=group)["tags"] == expected, group


def test_create_builds_the_dev_stage_and_a_second_run_changes_nothing(moto: Moto) -> None:
    stage = load_stage("dev")
    first = bootstrap(moto.env, "create", "--stage", "dev")
    assert first.status == 0, first.stderr
    assert_clean(first)
    for name in names(stage):
        assert f"table {name}: created (" in first.stdout
    assert f"parameter {stage.secret_parameters[0]}: created" in first.stdout
    for group in log_groups(stage):
        assert f"log group {group}: created (30-day retention)" in first.lines
    assert_stage_built(moto, stage)
    secret = moto.parameter(stage.secret_parameters[0])
    assert secret is not None
    assert secret["Value"] not in first.stdout + first.stderr
    assert_tagged(moto, stage)

    item = {"user_id": {"S": "u1"}, "task_id": {"S": "t1"}, "title": {"S": "kept"}}
    moto.dynamodb.put_item(TableName=stage.settings.tasks_table, Item=item)

    second = bootstrap(moto.env, "create", "--stage", "dev")
    assert second.status == 0, second.stderr
    assert_clean(second)
    assert "created" not in second.stdout
    assert [line for line in second.lines if "already exists" in line] == [
        *(f"table {name}: already exists" for name in names(stage)),
        f"parameter {stage.secret_parameters[0]}: already exists (kept)",
        *(
            f"log group {group}: already exists (30-day retention, kept)"
            for group in log_groups(stage)
        ),
    ]
    assert secret["Value"] not in second.stdout + second.stderr
    assert_stage_built(moto, stage)
    again = moto.parameter(stage.secret_parameters[0])
    assert again is not None
    assert (again["Value"], again["Version"]) == (secret["Value"], secret["Version"])
    key = {"user_id": {"S": "u1"}, "task_id": {"S": "t1"}}
    stored = moto.dynamodb.get_item(TableName=stage.settings.tasks_table, Key=key)
    assert stored["Item"] == item


def test_delete_removes_the_dev_stage_and_is_idempotent(moto: Moto) -> None:
    stage = load_stage("dev")
    assert bootstrap(moto.env, "create", "--stage", "dev").status == 0
    current, previous = stage.secret_parameters
    # Mid-rotation, both parameters exist; delete removes both.
    moto.ssm.put_parameter(Name=previous, Value="p" * 64, Type="SecureString")

    deleted = bootstrap(moto.env, "delete", "--stage", "dev")
    assert deleted.status == 0, deleted.stderr
    assert_clean(deleted)
    for name in names(stage):
        assert f"table {name}: deleted" in deleted.lines
    assert f"parameter {current}: deleted" in deleted.lines
    assert f"parameter {previous}: deleted" in deleted.lines
    assert moto.table_names() == set()
    assert moto.parameter(current) is None
    assert moto.parameter(previous) is None
    for group in log_groups(stage):
        assert f"log group {group}: deleted" in deleted.lines
    assert moto.log_groups() == {}

    again = bootstrap(moto.env, "delete", "--stage", "dev")
    assert again.status == 0, again.stderr
    assert "deleted" not in again.stdout
    gone = len(names(stage)) + len(stage.secret_parameters) + len(log_groups(stage))
    assert gone == 9
    assert len([line for line in again.lines if line.endswith(": already gone")]) == gone


def test_prod_is_deletion_protected_and_delete_needs_the_confirmation_flag(moto: Moto) -> None:
    stage = load_stage("prod")
    created = bootstrap(moto.env, "create", "--stage", "prod")
    assert created.status == 0, created.stderr
    assert_stage_built(moto, stage)  # includes deletion protection on every table
    assert bootstrap(moto.env, "create", "--stage", "dev").status == 0
    assert not any(  # dev stays unprotected
        moto.dynamodb.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled")
        for name in names(load_stage("dev"))
    )

    refused = bootstrap(moto.env, "delete", "--stage", "prod")
    assert refused.status != 0
    assert_clean(refused)
    assert CONFIRM in refused.stderr
    assert "nothing deleted" in refused.stderr
    assert set(names(stage)) <= moto.table_names()
    assert moto.parameter(stage.secret_parameters[0]) is not None

    confirmed = bootstrap(moto.env, "delete", "--stage", "prod", CONFIRM)
    assert confirmed.status == 0, confirmed.stderr
    assert moto.table_names() == set(names(load_stage("dev")))  # only prod's tables went
    assert moto.parameter(stage.secret_parameters[0]) is None
    assert set(moto.log_groups()) == set(log_groups(load_stage("dev")))  # and only its logs
    again = bootstrap(moto.env, "delete", "--stage", "prod", CONFIRM)
    assert again.status == 0, again.stderr
    assert "already gone" in again.stdout


def test_existing_tables_are_brought_up_to_standard_without_losing_items(moto: Moto) -> None:
    """Tables made by ``make run DYNAMODB=aws`` (plain layout) get PITR and encryption."""
    stage = load_stage("dev")
    table_layout.create_missing_tables(moto.dynamodb, stage.settings)
    item = {"username": {"S": "alice"}}
    moto.dynamodb.put_item(TableName=stage.settings.users_table, Item=item)

    run = bootstrap(moto.env, "create", "--stage", "dev")
    assert run.status == 0, run.stderr
    users_line = f"table {stage.settings.users_table}: already exists; turned on "
    assert any(
        line.startswith(users_line) and "point-in-time recovery" in line for line in run.lines
    )
    pitr = moto.dynamodb.describe_continuous_backups(TableName=stage.settings.users_table)
    status = pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert status["PointInTimeRecoveryStatus"] == "ENABLED"
    stored = moto.dynamodb.get_item(TableName=stage.settings.users_table, Key=item)
    assert stored["Item"] == item


def test_existing_log_groups_get_a_retention_and_keep_their_own(moto: Moto) -> None:
    """A group Lambda created before (no retention) expires from now on; a chosen one stays."""
    stage = load_stage("dev")
    handler, authorizer, *_ = log_groups(stage)
    moto.logs.create_log_group(logGroupName=handler)
    moto.logs.create_log_group(logGroupName=authorizer)
    moto.logs.put_retention_policy(logGroupName=authorizer, retentionInDays=7)

    run = bootstrap(moto.env, "create", "--stage", "dev")
    assert run.status == 0, run.stderr
    assert f"log group {handler}: already exists; set a 30-day retention" in run.lines
    assert f"log group {authorizer}: already exists (7-day retention, kept)" in run.lines
    groups = moto.log_groups()
    assert (groups[handler], groups[authorizer]) == (30, 7)


def test_a_table_with_another_key_schema_is_refused(moto: Moto) -> None:
    stage = load_stage("dev")
    moto.dynamodb.create_table(
        TableName=stage.settings.users_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    run = bootstrap(moto.env, "create", "--stage", "dev")
    assert run.status == 1
    assert_clean(run)
    assert run.stderr.startswith(f"error: table {stage.settings.users_table} exists with a")


def test_an_existing_weak_secret_is_reported_without_showing_it(moto: Moto) -> None:
    stage = load_stage("dev")
    weak = "short-but-secret-value"
    moto.ssm.put_parameter(Name=stage.secret_parameters[0], Value=weak, Type="SecureString")
    run = bootstrap(moto.env, "create", "--stage", "dev")
    assert run.status == 1
    assert_clean(run)
    assert f"shorter than {MIN_SECRET_BYTES} bytes" in run.stderr
    assert weak not in run.stdout + run.stderr
    assert moto.parameter(stage.secret_parameters[0])["Value"] == weak  # type: ignore[index]


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}, "no AWS region"),
        ({"AWS_DEFAULT_REGION": "us-east-1"}, "no AWS credentials"),
        ({**FAKE_AWS, "AWS_ENDPOINT_URL_DYNAMODB": "UNREACHABLE"}, "cannot reach AWS"),
    ],
    ids=["no-region", "no-credentials", "unreachable-endpoint"],
)
def test_the_cli_fails_clearly(environment: dict[str, str], message: str) -> None:
    if environment.get("AWS_ENDPOINT_URL_DYNAMODB") == "UNREACHABLE":
        environment = {
            **environment,
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{free_port()}",
        }
    for command in ("create", "delete"):
        run = bootstrap(isolated_environment(**environment), command, "--stage", "dev")
        assert run.status == 1
        assert_clean(run)
        assert run.stderr.startswith(f"error: {message}")
        assert len(run.stderr.splitlines()) == 1


def test_dev_tables_someone_protected_are_not_deleted(moto: Moto) -> None:
    stage = load_stage("dev")
    assert bootstrap(moto.env, "create", "--stage", "dev").status == 0
    moto.dynamodb.update_table(TableName=stage.settings.tasks_table, DeletionProtectionEnabled=True)
    run = bootstrap(moto.env, "delete", "--stage", "dev")
    assert run.status == 1
    assert_clean(run)
    assert stage.settings.tasks_table in run.stderr
    assert "nothing deleted" in run.stderr
    assert set(names(stage)) == moto.table_names()
    assert moto.parameter(stage.secret_parameters[0]) is not None
