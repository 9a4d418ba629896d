"""A deployable stage as ``.chalice/config.json`` defines it: one place for every deploy path.

``chalice deploy`` (with its bootstrap), the Terraform package and the SAM package all read
a stage through here, so their table names, secret parameter names, functions, log groups
and IAM grants cannot disagree with what the Lambda functions are configured to use.

Each Lambda function has a role of its own, granted its own policy file: the API handler
the stage's ``iam_policy_file``, every other function the file its
``stages.<stage>.lambda_functions.<name>.iam_policy_file`` names (Chalice's per-function
configuration, which ``chalice deploy`` and ``chalice package`` apply to authorizers and
``@app.lambda_function`` functions alike). A function config.json does not list would get
the API handler's policy from Chalice, so ``tests/test_iam_policy.py`` checks that the list
matches the app.

Log groups. A function's role may write its own log group, never create one: the SAM and
Terraform packages create every function's group with a retention, and for ``make deploy``
(``chalice deploy``, which creates no log group) ``deploy.bootstrap`` creates them, with the
same retention, before the functions exist. No role holds ``logs:CreateLogGroup``, so no
function can leave behind a group that never expires.

A stage in the ``cognito`` mode (``IDENTITY_PROVIDER=cognito``, e.g. ``dev-cognito``) is
``make deploy``'s alone: Terraform and SAM take the mode as a variable of their dev and prod
stacks instead (``packaged_stages``). Its user pool's ids exist only once
``deploy.bootstrap`` has created the pool, so config.json leaves out ``OIDC_ISSUER``,
``OIDC_AUDIENCE`` and ``COGNITO_USER_POOL_ID`` and the API handler's policy file names the pool
by ``USER_POOL_ARN_PLACEHOLDER``; ``Stage.with_user_pool`` fills both in, and
``deploy.chalice_project`` renders the Chalice project ``chalice deploy`` runs from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chalicelib.config import COGNITO, Settings, identity_provider
from chalicelib.storage import table_layout

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_DIR = PROJECT_DIR / ".chalice"
APP_NAME = "tasks-api"
# Chalice's name for the function that serves the REST API (deployed as <app>-<stage>).
API_HANDLER = "api_handler"
# CloudWatch Logs retention of the functions' (and the API's) log groups, in days.
PRODUCTION_LOG_RETENTION_DAYS = 365
LOG_RETENTION_DAYS = 30
# How a cognito stage's policy file names its user pool, whose id config.json cannot know:
# Stage.with_user_pool replaces it with the pool's ARN. Deployed as is, it names no pool.
USER_POOL_ARN_PLACEHOLDER = "arn:aws:cognito-idp:*:*:userpool/${UserPoolId}"
# The settings the app reads in the cognito mode that only the created pool can give.
USER_POOL_VARIABLES = ("OIDC_ISSUER", "OIDC_AUDIENCE", "COGNITO_USER_POOL_ID")


@dataclass(frozen=True)
class UserPool:
    """A cognito stage's Amazon Cognito user pool and its public app client."""

    pool_id: str  # <region>_<id>
    client_id: str
    arn: str

    @property
    def region(self) -> str:
        return self.pool_id.split("_", 1)[0]

    @property
    def issuer(self) -> str:
        """The ``iss`` of the pool's tokens (what Terraform and SAM output as the issuer)."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    def environment(self) -> dict[str, str]:
        """The functions' settings for this pool (``chalicelib/config.py``)."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_AUDIENCE": self.client_id,
            "COGNITO_USER_POOL_ID": self.pool_id,
        }


# Stands in for a cognito stage's pool until deploy.bootstrap knows it (Stage.settings): a
# well-formed id that no pool has, so Settings can be built to name the stage's tables.
PENDING_USER_POOL = UserPool(
    pool_id="us-east-1_NotCreatedYet",
    client_id="not-created-yet",
    arn="arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_NotCreatedYet",
)


@dataclass(frozen=True)
class Stage:
    """One stage of ``.chalice/config.json`` with each function's IAM policy file."""

    name: str
    environment: dict[str, str]
    # Chalice function name -> its policy document; the API handler first.
    policies: dict[str, dict[str, Any]]
    api_gateway_stage: str
    xray: bool
    # config.json's "tags" (Chalice puts them on the functions) plus the stage's name: the
    # bootstrap puts them on the tables, secret and log groups it creates.
    tags: dict[str, str] = field(default_factory=dict)
    # A cognito stage's pool, once deploy.bootstrap has found or created it.
    user_pool: UserPool | None = None
    # Chalice function name -> memory in MB (CPU grows with it), as config.json sets it.
    memory_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def is_cognito(self) -> bool:
        """Whether the stage runs in the cognito mode (its tokens come from a user pool)."""
        return identity_provider(self.environment) == COGNITO

    @property
    def settings(self) -> Settings:
        """The app's settings on this stage.

        A cognito stage whose pool is not known yet (``load_stage``: config.json cannot hold
        the pool's ids) gets ``PENDING_USER_POOL``'s, which name no real pool: the deploy
        paths read only the names of the stage's own tables and parameters from them."""
        if not self.is_cognito or set(USER_POOL_VARIABLES) <= set(self.environment):
            return Settings.from_environ(self.environment)
        return Settings.from_environ({**self.environment, **PENDING_USER_POOL.environment()})

    def with_user_pool(self, pool: UserPool) -> Stage:
        """This cognito stage completed with its pool: the functions' environment gains the
        pool's settings, and the API handler's policy names the pool's ARN, not the
        placeholder (what ``chalice deploy`` must get)."""
        if not self.is_cognito:
            raise ValueError(f"stage {self.name} is not in the cognito mode: it has no user pool")
        rendered = json.loads(
            json.dumps(self.policies).replace(USER_POOL_ARN_PLACEHOLDER, pool.arn)
        )
        return replace(
            self,
            environment={**self.environment, **pool.environment()},
            policies=rendered,
            user_pool=pool,
        )

    @property
    def functions(self) -> list[str]:
        """The stage's Lambda functions by Chalice name: the API handler, then the others."""
        return list(self.policies)

    def function_name(self, function: str) -> str:
        """The deployed name Chalice gives ``function``: ``<app>-<stage>[-<function>]``."""
        if function == API_HANDLER:
            return f"{APP_NAME}-{self.name}"
        return f"{APP_NAME}-{self.name}-{function}"

    def log_group(self, function: str) -> str:
        """The log group Lambda writes ``function``'s logs to."""
        return f"/aws/lambda/{self.function_name(function)}"

    @property
    def log_retention_days(self) -> int:
        """Retention of the function log groups every deploy path creates."""
        return PRODUCTION_LOG_RETENTION_DAYS if self.is_production else LOG_RETENTION_DAYS

    @property
    def tables(self) -> list[dict[str, Any]]:
        """``CreateTable`` arguments of every table, from ``chalicelib.storage.table_layout``."""
        return table_layout.all_tables(self.settings)

    @property
    def time_to_live(self) -> dict[str, str]:
        """Table name -> TTL attribute, for the tables that expire items."""
        return table_layout.time_to_live(self.settings)

    @property
    def secret_parameters(self) -> list[str]:
        """SSM parameter names of the signing secrets: the current one first."""
        settings = self.settings
        names = [settings.signing_secret_parameter, settings.previous_signing_secret_parameter]
        return [name for name in names if name]

    @property
    def is_production(self) -> bool:
        return self.name == "prod"


CHALICE_DEFAULT_MEMORY_MB = 128


def chalice_config() -> dict[str, Any]:
    return json.loads((CHALICE_DIR / "config.json").read_text())


def deployable_stages() -> list[str]:
    """Stages that can go to AWS: those with an IAM policy file (not ``local``)."""
    stages = chalice_config()["stages"]
    return [name for name, stage in stages.items() if "iam_policy_file" in stage]


def packaged_stages() -> list[str]:
    """Deployable stages the Terraform and SAM packages build (``make build``,
    ``make package-sam``): not the cognito ones, which are ``make deploy``'s; those paths
    choose the mode with their own variable (``identity_provider``, ``IdentityProvider``)."""
    return [name for name in deployable_stages() if not load_stage(name).is_cognito]


def load_stage(name: str) -> Stage:
    config = chalice_config()
    if name not in deployable_stages():
        raise ValueError(f"unknown stage {name!r}; deployable stages: {deployable_stages()}")
    stage_config = config["stages"][name]
    environment = {
        **config.get("environment_variables", {}),
        **stage_config.get("environment_variables", {}),
    }
    policies = {
        function: json.loads((CHALICE_DIR / policy_file(config, name, function)).read_text())
        for function in function_names(config, name)
    }
    return Stage(
        name=name,
        environment=environment,
        policies=policies,
        api_gateway_stage=stage_config.get(
            "api_gateway_stage", config.get("api_gateway_stage", "api")
        ),
        xray=bool(stage_config.get("xray", config.get("xray", False))),
        tags={**config.get("tags", {}), **stage_config.get("tags", {}), "stage": name},
        memory_sizes={function: memory_size(config, name, function) for function in policies},
    )


def function_names(config: dict[str, Any], stage_name: str) -> list[str]:
    """The API handler, then every function config.json configures for the stage."""
    stage_config = config["stages"][stage_name]
    configured = {*stage_config.get("lambda_functions", {}), *config.get("lambda_functions", {})}
    return [API_HANDLER, *sorted(configured - {API_HANDLER})]


def function_setting(config: dict[str, Any], stage_name: str, function: str, key: str) -> Any:
    """``key`` for ``function`` on ``stage_name`` as Chalice resolves a per-function setting
    (``Config._chain_lookup`` with ``varies_per_function``): the stage's entry for the
    function, the stage, the top-level entry for the function, the top level; else None."""
    stage_config = config["stages"][stage_name]
    for scope in (
        stage_config.get("lambda_functions", {}).get(function, {}),
        stage_config,
        config.get("lambda_functions", {}).get(function, {}),
        config,
    ):
        if scope.get(key) is not None:
            return scope[key]
    return None


def policy_file(config: dict[str, Any], stage_name: str, function: str) -> str:
    """The policy file Chalice grants ``function`` on ``stage_name`` (else Chalice's
    ``policy-<stage>.json``)."""
    found = function_setting(config, stage_name, function, "iam_policy_file")
    return str(found) if found is not None else f"policy-{stage_name}.json"


def memory_size(config: dict[str, Any], stage_name: str, function: str) -> int:
    """``function``'s memory in MB on ``stage_name`` (Chalice's default is 128). The sizes
    are chosen from the modelled latency and price per memory size in docs/benchmarks.md."""
    found = function_setting(config, stage_name, function, "lambda_memory_size")
    return int(found) if found is not None else CHALICE_DEFAULT_MEMORY_MB


@dataclass(frozen=True)
class Grant:
    """One statement of a function's policy file, its ARNs sorted by what they name.

    Packaging rewrites each kind into a reference to the resource it creates, so the
    policy file stays the single list of what the function may do.
    """

    sid: str
    actions: list[str]
    tables: list[str]
    indexes: list[tuple[str, str]]
    parameters: list[str]
    log_groups: list[str]
    unscoped: bool
    functions: list[str] = field(default_factory=list)  # deployed Lambda function names
    user_pool: bool = False  # names the stage's Cognito user pool

    @property
    def log_streams(self) -> bool:
        """Whether the statement also grants the log groups' streams."""
        return bool(self.log_groups)


def grants(stage: Stage, function: str) -> list[Grant]:
    """``function``'s policy statements, classified; raises on an ARN of an unknown kind."""
    if function not in stage.policies:
        raise ValueError(f"stage {stage.name} has no function {function!r}: {stage.functions}")
    result = []
    for statement in stage.policies[function]["Statement"]:
        actions = _as_list(statement["Action"])
        tables: list[str] = []
        indexes: list[tuple[str, str]] = []
        parameters: list[str] = []
        log_groups: list[str] = []
        functions: list[str] = []
        unscoped = user_pool = False
        for arn in _as_list(statement["Resource"]):
            if arn == "*":
                unscoped = True
            elif arn.startswith("arn:aws:cognito-idp:"):
                pools = {
                    USER_POOL_ARN_PLACEHOLDER,
                    *([stage.user_pool.arn] if stage.user_pool else []),
                }
                if not stage.is_cognito or arn not in pools:
                    raise ValueError(
                        f"unexpected user pool ARN {arn}: a cognito stage names its own pool, as "
                        f"{USER_POOL_ARN_PLACEHOLDER}"
                    )
                user_pool = True
            elif arn.startswith("arn:aws:dynamodb:*:*:table/"):
                path = arn.removeprefix("arn:aws:dynamodb:*:*:table/").split("/")
                if len(path) == 1:
                    tables.append(path[0])
                elif len(path) == 3 and path[1] == "index":
                    indexes.append((path[0], path[2]))
                else:
                    raise ValueError(f"unexpected DynamoDB ARN {arn}")
            elif arn.startswith("arn:aws:ssm:*:*:parameter/"):
                parameters.append("/" + arn.removeprefix("arn:aws:ssm:*:*:parameter/"))
            elif arn.startswith("arn:aws:logs:*:*:log-group:"):
                group = arn.removeprefix("arn:aws:logs:*:*:log-group:")
                if not group.endswith(":log-stream:*"):
                    log_groups.append(group)
            elif arn.startswith("arn:aws:lambda:*:*:function:"):
                name = arn.removeprefix("arn:aws:lambda:*:*:function:")
                if not name or ":" in name or "*" in name:
                    raise ValueError(f"unexpected Lambda ARN {arn}: name one unqualified function")
                functions.append(name)
            else:
                raise ValueError(f"policy ARN of an unknown kind: {arn}")
        result.append(
            Grant(
                sid=statement["Sid"],
                actions=actions,
                tables=tables,
                indexes=indexes,
                parameters=parameters,
                log_groups=log_groups,
                unscoped=unscoped,
                functions=functions,
                user_pool=user_pool,
            )
        )
    return result


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
