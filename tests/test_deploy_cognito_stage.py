"""``make deploy STAGE=dev-cognito``: the bootstrap's user pool, app client and rendered project.

The bootstrap CLI runs as a subprocess against moto's server, as in
``tests/test_deploy_bootstrap.py``, with ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` too;
the rendered project goes to a temporary directory (``--chalice-project``), never to the
developer's ``build/``. The pool and client are held to the settings the Terraform module and
the SAM template give theirs (``deploy/user_pool.py``), and the rendered project to what
``chalice deploy`` must get: the stage's config with the pool's settings, and the API
handler's grant on that pool's ARN alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.config import Settings
from deploy import chalice_project, user_pool
from deploy.stage import (
    API_HANDLER,
    CHALICE_DIR,
    PROJECT_DIR,
    USER_POOL_ARN_PLACEHOLDER,
    UserPool,
    chalice_config,
    load_stage,
    policy_file,
)
from tests.test_deploy_bootstrap import Moto, Run, assert_clean, bootstrap

pytestmark = pytest.mark.e2e
STAGE = "dev-cognito"
POOL_NAME = f"tasks-api-{STAGE}-users"
CLIENT_NAME = f"tasks-api-{STAGE}-api"


class CognitoMoto(Moto):
    """moto's server with a cognito-idp client, and the bootstrap pointed at it for that too."""

    def __init__(self) -> None:
        super().__init__()
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        self.idp: Any = session.client("cognito-idp", endpoint_url=self.url)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": self.url}

    def pools(self) -> list[dict[str, Any]]:
        """Every pool of the stage's name, described."""
        summaries = self.idp.list_user_pools(MaxResults=60)["UserPools"]
        return [
            self.idp.describe_user_pool(UserPoolId=p["Id"])["UserPool"]
            for p in summaries
            if p["Name"] == POOL_NAME
        ]

    def clients(self, pool_id: str) -> list[dict[str, Any]]:
        summaries = self.idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)
        return [
            self.idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=c["ClientId"])[
                "UserPoolClient"
            ]
            for c in summaries["UserPoolClients"]
        ]


@pytest.fixture(scope="module")
def moto_server() -> Iterator[CognitoMoto]:
    server = CognitoMoto()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto(moto_server: CognitoMoto) -> CognitoMoto:
    """The shared server, emptied before each test."""
    moto_server.reset()
    return moto_server


def create(moto: CognitoMoto, project: Path, *options: str) -> Run:
    run = bootstrap(
        moto.env, "create", "--stage", STAGE, "--chalice-project", str(project), *options
    )
    assert_clean(run)
    return run


def update_by_hand(moto: CognitoMoto, pool: dict[str, Any], **settings: Any) -> None:
    """``UpdateUserPool`` as someone would call it. moto resets every setting an update leaves
    out, even those AWS cannot change (the email alias, the usernames' case), so those are
    added to the request body: AWS keeps them. (The bootstrap's own update loses them on
    moto, so a test does not run the bootstrap again after one.)"""

    def keep(params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params["body"])
        body.update(
            AliasAttributes=pool["AliasAttributes"],
            UsernameConfiguration=pool["UsernameConfiguration"],
        )
        params["body"] = json.dumps(body).encode()

    events = moto.idp.meta.events
    events.register("before-call.cognito-idp.UpdateUserPool", keep, unique_id="keep-immutable")
    try:
        moto.idp.update_user_pool(
            UserPoolId=pool["Id"], UserPoolTags=pool["UserPoolTags"], **settings
        )
    finally:
        events.unregister("before-call.cognito-idp.UpdateUserPool", unique_id="keep-immutable")


def the_pool(moto: CognitoMoto) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stage's only pool and its only client."""
    (pool,) = moto.pools()
    (client,) = moto.clients(pool["Id"])
    return pool, client


# --- create ---------------------------------------------------------------------------------


def test_create_stands_up_the_pool_and_client_and_a_second_run_finds_them(
    moto: CognitoMoto, tmp_path: Path
) -> None:
    stage = load_stage(STAGE)
    first = create(moto, tmp_path / "project")
    assert first.status == 0, first.stderr
    pool, client = the_pool(moto)
    assert f"user pool {POOL_NAME}: created ({pool['Id']};" in first.stdout
    assert f"app client {CLIENT_NAME}: created ({client['ClientId']};" in first.stdout

    # The pool: as cognito.tf and the SAM template's UserPool.
    assert pool["AliasAttributes"] == ["email"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["MfaConfiguration"] == "OFF"
    assert pool["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 12,
        "RequireLowercase": True,
        "RequireUppercase": True,
        "RequireNumbers": True,
        "RequireSymbols": False,
        "TemporaryPasswordValidityDays": 7,
    }
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [
        {"Name": "verified_email", "Priority": 1}
    ]
    assert pool["DeletionProtection"] == "INACTIVE"  # dev; prod's would be ACTIVE
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "OFF"}
    assert "UserPoolTier" not in pool or pool["UserPoolTier"] != "PLUS"
    assert pool["UserPoolTags"] == {"project": "tasks-api", "stage": STAGE} == stage.tags

    # The client: public, SRP and refresh, the stage's token lifetimes.
    assert "ClientSecret" not in client
    assert client["ClientName"] == CLIENT_NAME
    assert sorted(client["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["EnableTokenRevocation"] is True
    settings = stage.settings
    assert (client["AccessTokenValidity"], client["IdTokenValidity"]) == (
        settings.token_lifetime_seconds,
        settings.token_lifetime_seconds,
    )
    assert client["RefreshTokenValidity"] == settings.refresh_token_lifetime_seconds
    assert set(client["TokenValidityUnits"].values()) == {"seconds"}

    # The rest of the stage: its tables and log groups, and no signing secret.
    tables = set(moto.dynamodb.list_tables()["TableNames"])
    assert tables == {definition["TableName"] for definition in stage.tables}
    assert moto.ssm.describe_parameters()["Parameters"] == []
    groups = moto.log_groups()
    assert {stage.log_group(f) for f in stage.functions} <= set(groups)

    # The issuer the functions are given is the pool's.
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool['Id']}"
    assert f"issuer {issuer}, app client {client['ClientId']}" in first.lines

    second = create(moto, tmp_path / "project")
    assert second.status == 0, second.stderr
    assert the_pool(moto) == (pool, client)  # the same ones, and no second pool or client
    assert f"user pool {POOL_NAME}: already exists ({pool['Id']};" in second.stdout
    assert f"app client {CLIENT_NAME}: already exists ({client['ClientId']})" in second.lines


def test_the_rendered_project_deploys_the_stage_with_its_pool(
    moto: CognitoMoto, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    assert create(moto, project).status == 0
    pool, client = the_pool(moto)
    stage = load_stage(STAGE)

    # The code Chalice packages, as in the repository.
    for name in ("app.py", "requirements.txt", "chalicelib/config.py"):
        assert (project / name).read_bytes() == (PROJECT_DIR / name).read_bytes(), name
    assert not list(project.rglob("__pycache__"))

    # config.json: the stage alone, its environment completed with the pool's settings.
    config = json.loads((project / ".chalice" / "config.json").read_text())
    repository = chalice_config()
    assert list(config["stages"]) == [STAGE]
    assert {k: v for k, v in config.items() if k != "stages"} == {
        k: v for k, v in repository.items() if k != "stages"
    }
    environment = config["stages"][STAGE].pop("environment_variables")
    expected_stage = dict(repository["stages"][STAGE])
    expected_stage.pop("environment_variables")
    assert config["stages"][STAGE] == expected_stage
    assert environment == {
        **repository["stages"][STAGE]["environment_variables"],
        "OIDC_ISSUER": f"https://cognito-idp.us-east-1.amazonaws.com/{pool['Id']}",
        "OIDC_AUDIENCE": client["ClientId"],
        "COGNITO_USER_POOL_ID": pool["Id"],
    }
    # ... which the app accepts on a deployed (https-only) stage.
    settings = Settings.from_environ({**repository["environment_variables"], **environment})
    assert settings.identity_provider == "cognito"
    assert settings.cognito_user_pool_id == pool["Id"]
    assert settings.oidc is not None
    assert settings.oidc.jwks_url == f"{settings.oidc.issuer}/.well-known/jwks.json"

    # The policy files: the checked-in ones, the pool's ARN in place of the placeholder.
    for function in stage.functions:
        name = policy_file(repository, STAGE, function)
        rendered = json.loads((project / ".chalice" / name).read_text())
        checked_in = json.loads((CHALICE_DIR / name).read_text())
        assert USER_POOL_ARN_PLACEHOLDER not in json.dumps(rendered)
        pool_statements = [
            s for s in rendered["Statement"] if any(":cognito-idp:" in r for r in s["Resource"])
        ]
        if function == API_HANDLER:
            (statement,) = pool_statements
            assert statement["Resource"] == [pool["Arn"]]
            assert sorted(statement["Action"]) == [
                "cognito-idp:AdminDeleteUser",
                "cognito-idp:AdminGetUser",
            ]
            rendered_text = json.dumps(rendered).replace(pool["Arn"], USER_POOL_ARN_PLACEHOLDER)
            assert json.loads(rendered_text) == checked_in
        else:
            assert pool_statements == []
            assert rendered == checked_in

    # Chalice's deployment record is the repository's, so `chalice delete` finds it there.
    deployed = project / ".chalice" / "deployed"
    assert deployed.is_symlink()
    assert deployed.resolve() == (CHALICE_DIR / "deployed").resolve()


def test_the_options_and_a_pool_changed_by_hand_are_brought_in_line(
    moto: CognitoMoto, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    options = ("--cognito-advanced-security", "--cognito-allow-password-auth")
    assert create(moto, project, *options).status == 0
    pool, client = the_pool(moto)
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert pool["UserPoolTier"] == "PLUS"
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]

    # By hand: a weaker password policy. Then a run without the options.
    update_by_hand(
        moto,
        pool,
        Policies={"PasswordPolicy": {"MinimumLength": 6}},
        UserPoolAddOns={"AdvancedSecurityMode": "ENFORCED"},
    )
    run = create(moto, project)
    assert run.status == 0, run.stderr
    changed = next(line for line in run.lines if line.startswith(f"user pool {POOL_NAME}"))
    assert "Policies" in changed and "UserPoolAddOns" in changed
    again, client = the_pool(moto)
    assert again["Id"] == pool["Id"]
    assert again["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert again["UserPoolAddOns"] == {"AdvancedSecurityMode": "OFF"}
    assert again["UserPoolTags"] == pool["UserPoolTags"]
    assert sorted(client["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]


def test_a_pool_of_the_name_without_the_stages_tags_is_not_adopted(
    moto: CognitoMoto, tmp_path: Path
) -> None:
    moto.idp.create_user_pool(PoolName=POOL_NAME)
    run = create(moto, tmp_path / "project")
    assert run.status == 1
    assert run.stderr.startswith(f"error: user pool {POOL_NAME} (")
    assert "not adopting it" in run.stderr
    assert len(moto.pools()) == 1
    assert not (tmp_path / "project").exists()


def test_the_cognito_options_are_refused_on_a_builtin_stage(moto: CognitoMoto) -> None:
    run = bootstrap(moto.env, "create", "--stage", "dev", "--cognito-advanced-security")
    assert_clean(run)
    assert run.status == 1
    assert "for a cognito stage; dev is not one" in run.stderr
    assert moto.dynamodb.list_tables()["TableNames"] == []


# --- delete ---------------------------------------------------------------------------------


def test_delete_removes_the_pool_and_the_rendered_project(
    moto: CognitoMoto, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    assert create(moto, project).status == 0
    pool, _ = the_pool(moto)
    run = bootstrap(moto.env, "delete", "--stage", STAGE, "--chalice-project", str(project))
    assert_clean(run)
    assert run.status == 0, run.stderr
    assert f"user pool {POOL_NAME}: deleted ({pool['Id']}, its app client and users)" in run.lines
    assert moto.pools() == []
    assert moto.dynamodb.list_tables()["TableNames"] == []
    assert not project.exists()
    assert (CHALICE_DIR / "deployed").is_dir()  # the record the link pointed to stays

    again = bootstrap(moto.env, "delete", "--stage", STAGE, "--chalice-project", str(project))
    assert again.status == 0, again.stderr
    assert f"user pool {POOL_NAME}: already gone" in again.lines


def test_a_pool_someone_protected_off_prod_is_refused_before_anything_is_deleted(
    moto: CognitoMoto, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    assert create(moto, project).status == 0
    pool, _ = the_pool(moto)
    update_by_hand(moto, pool, DeletionProtection="ACTIVE")
    run = bootstrap(moto.env, "delete", "--stage", STAGE, "--chalice-project", str(project))
    assert_clean(run)
    assert run.status == 1
    assert "deletion protection is on for user pool" in run.stderr
    assert "nothing deleted" in run.stderr
    assert len(moto.pools()) == 1
    assert moto.dynamodb.list_tables()["TableNames"]  # the tables are still there
    assert project.is_dir()
    # ... and a create keeps the protection someone chose.
    assert create(moto, project).status == 0
    assert the_pool(moto)[0]["DeletionProtection"] == "ACTIVE"


# --- the project make deploy runs Chalice from ------------------------------------------------


def test_make_deploy_runs_chalice_from_the_rendered_project_for_a_cognito_stage_only() -> None:
    assert chalice_project.project_dir("dev") == PROJECT_DIR
    assert chalice_project.project_dir("prod") == PROJECT_DIR
    assert chalice_project.project_dir(STAGE) == PROJECT_DIR / "build" / STAGE / "chalice-project"
    result = subprocess.run(
        [sys.executable, "-m", "deploy.chalice_project", "--stage", "dev"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, f"{PROJECT_DIR}\n")


def test_a_rendering_refuses_to_replace_a_directory_that_is_not_one(tmp_path: Path) -> None:
    stage = load_stage(STAGE).with_user_pool(
        UserPool(
            "us-east-1_Abc", "client", "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_Abc"
        )
    )
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a rendered Chalice project"):
        chalice_project.render(stage, tmp_path / "mine", deployed=tmp_path / "deployed")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    # What Chalice records through the link lands in the deployment record's directory.
    project = chalice_project.render(stage, tmp_path / "project", deployed=tmp_path / "deployed")
    (project / ".chalice" / "deployed" / f"{STAGE}.json").write_text("{}")
    assert (tmp_path / "deployed" / f"{STAGE}.json").read_text() == "{}"
    chalice_project.remove(STAGE, project)
    assert (tmp_path / "deployed" / f"{STAGE}.json").exists()


def test_chalice_packages_the_rendered_project(tmp_path: Path) -> None:
    """What ``chalice deploy`` reads of the project is valid: ``chalice package`` of it
    succeeds and grants the API handler's role the pool's ARN."""
    arn = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc"
    stage = load_stage(STAGE).with_user_pool(UserPool("us-east-1_Abc", "client", arn))
    project = chalice_project.render(stage, tmp_path / "project", deployed=tmp_path / "deployed")
    result = subprocess.run(  # noqa: S603 - our own interpreter and chalice, fixed args
        [
            sys.executable,
            "-c",
            "import sys; from chalice.cli import main; sys.argv[0] = 'chalice'; sys.exit(main())",
            *("--project-dir", str(project), "package", "--stage", STAGE, str(tmp_path / "out")),
        ],
        cwd=tmp_path,
        env={**_without_aws(), "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    template = json.loads((tmp_path / "out" / "sam.json").read_text())
    resources = template["Resources"]
    handler = resources["APIHandler"]["Properties"]
    assert handler["Environment"]["Variables"]["COGNITO_USER_POOL_ID"] == "us-east-1_Abc"
    role = resources[handler["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert [s["Resource"] for s in statements if s["Sid"] == "CognitoUserPool"] == [[arn]]


def _without_aws() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def test_the_user_pool_settings_mirror_the_other_deploy_paths() -> None:
    """The same values as infra/terraform/modules/tasks_api/cognito.tf and the SAM template."""
    template = (PROJECT_DIR / "infra" / "sam" / "template.yaml").read_text()
    terraform = (PROJECT_DIR / "infra/terraform/modules/tasks_api/cognito.tf").read_text()
    for key, value in user_pool.PASSWORD_POLICY.items():
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        assert f"{key}: {shown}" in template, key
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key).lstrip("_")
        assert f"{snake}" in terraform and shown in terraform, key
    assert user_pool.AUTH_FLOWS == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert "[ALLOW_USER_SRP_AUTH, ALLOW_REFRESH_TOKEN_AUTH]" in template
    assert '["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]' in terraform
    assert "tasks-api-${Stage}-users" in template and "tasks-api-${Stage}-api" in template
