"""A deployable stage as ``.chalice/config.json`` defines it: one place for every deploy path.

``chalice deploy`` (with its bootstrap), the Terraform package and the SAM package all read
a stage through here, so their table names, secret parameter names and IAM grants cannot
disagree with what the Lambda function is configured to use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.config import Settings
from chalicelib.storage import table_layout

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_DIR = PROJECT_DIR / ".chalice"
APP_NAME = "tasks-api"


@dataclass(frozen=True)
class Stage:
    """One stage of ``.chalice/config.json`` with its IAM policy file."""

    name: str
    environment: dict[str, str]
    policy: dict[str, Any]
    api_gateway_stage: str
    xray: bool

    @property
    def settings(self) -> Settings:
        return Settings.from_environ(self.environment)

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


def chalice_config() -> dict[str, Any]:
    return json.loads((CHALICE_DIR / "config.json").read_text())


def deployable_stages() -> list[str]:
    """Stages that can go to AWS: those with an IAM policy file (not ``local``)."""
    stages = chalice_config()["stages"]
    return [name for name, stage in stages.items() if "iam_policy_file" in stage]


def load_stage(name: str) -> Stage:
    config = chalice_config()
    if name not in deployable_stages():
        raise ValueError(f"unknown stage {name!r}; deployable stages: {deployable_stages()}")
    stage_config = config["stages"][name]
    environment = {
        **config.get("environment_variables", {}),
        **stage_config.get("environment_variables", {}),
    }
    policy = json.loads((CHALICE_DIR / stage_config["iam_policy_file"]).read_text())
    return Stage(
        name=name,
        environment=environment,
        policy=policy,
        api_gateway_stage=stage_config.get(
            "api_gateway_stage", config.get("api_gateway_stage", "api")
        ),
        xray=bool(stage_config.get("xray", config.get("xray", False))),
    )


@dataclass(frozen=True)
class Grant:
    """One statement of a stage's policy file, its ARNs sorted by what they name.

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

    @property
    def log_streams(self) -> bool:
        """Whether the statement also grants the log groups' streams."""
        return bool(self.log_groups)


def grants(stage: Stage) -> list[Grant]:
    """The stage's policy statements, classified; raises on an ARN of an unknown kind."""
    result = []
    for statement in stage.policy["Statement"]:
        actions = _as_list(statement["Action"])
        tables: list[str] = []
        indexes: list[tuple[str, str]] = []
        parameters: list[str] = []
        log_groups: list[str] = []
        unscoped = False
        for arn in _as_list(statement["Resource"]):
            if arn == "*":
                unscoped = True
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
            )
        )
    return result


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
