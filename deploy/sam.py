"""``python -m deploy.sam --stage dev``: the SAM / CloudFormation stack in ``build/sam/<stage>/``.

The stack is ``infra/sam/template.yaml``, a checked-in template. ``chalice package
--merge-template infra/sam/template.yaml`` adds what only the Chalice app knows -- the
functions and their code, the REST API definition (one path per route of ``app.py``), one
role per function granting its ``.chalice/policy-<stage>*.json`` -- and deep-merges the
checked-in file over it. This module then writes:

    build/sam/<stage>/template.json   the stack; CodeUri points at ./deployment.zip
    build/sam/<stage>/deployment.zip  the functions' code, with python3.13 bytecode where a
                                      Python 3.13 exists (deploy/runtime_python.py)

``sam deploy`` and ``aws cloudformation package`` + ``deploy`` accept the directory as is.
Nothing here talks to AWS.

The post-step after the merge (``complete``) does only what a merge cannot express:

- **Policy ARNs.** Chalice copies each policy file verbatim, with ``*`` for region and
  account and literal names. Each ARN is pointed at the resource the template creates under
  that name (``Fn::GetAtt``/``Fn::Sub``), so a grant cannot reach another account's
  namesake and a role waits for what it grants; a grant on a name the template does not
  create, or a ``"*"`` outside X-Ray, stops the packaging. The policy files stay the one
  list of what each function may do (``tests/test_iam_policy.py`` holds them to the code).
- **The CORS origin.** Chalice bakes the stage's ``ALLOWED_ORIGIN`` into the OPTIONS
  response of every route, deep inside ``paths``; it becomes the ``AllowedOrigin``
  parameter there, as in the template's own gateway responses.
- **Inline code.** ``Code.ZipFile: signing_secret.py`` becomes that file's text, so the
  custom resource's code stays a Python file that ruff and the tests read.
- **Parameter defaults.** ``infra/sam/<stage>.json`` (CodePipeline's template-configuration
  format, which ``aws cloudformation deploy --parameter-overrides file://...`` also reads)
  becomes the parameters' defaults; ``Stage`` allows only the packaged stage.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from chalice.utils import to_cfn_resource_name

from deploy import chalice_package, runtime_python
from deploy.stage import (
    API_HANDLER,
    PROJECT_DIR,
    Grant,
    Stage,
    grants,
    load_stage,
    packaged_stages,
)

BUILD_DIR = PROJECT_DIR / "build" / "sam"
SAM_DIR = PROJECT_DIR / "infra" / "sam"
MERGE_TEMPLATE = SAM_DIR / "template.yaml"
TEMPLATE = "template.json"
CODE = "deployment.zip"
ZIP_FILE_LIMIT = 4096  # CloudFormation's limit on inline Lambda code
ORIGIN_PARAMETER = "method.response.header.Access-Control-Allow-Origin"
ALLOWED_ORIGIN = {"Fn::Sub": "'${AllowedOrigin}'"}

Template = dict[str, Any]
Resource = dict[str, Any]


def package(stage_name: str, output_dir: Path | None = None) -> Path:
    """Write the stage's template and code into ``output_dir``; returns the template path."""
    stage = load_stage(stage_name)
    output_dir = (output_dir or BUILD_DIR / stage_name).resolve()
    with tempfile.TemporaryDirectory(prefix="chalice-sam-") as scratch:
        chalice_dir = Path(scratch) / "chalice"
        chalice_package.run(stage_name, chalice_dir, "--merge-template", str(MERGE_TEMPLATE))
        template = yaml.safe_load((chalice_dir / "sam.yaml").read_text())
        complete(template, stage, parameter_values(stage_name))
        chalice_package.check_pure_python(chalice_dir / CODE)
        clear(output_dir)
        runtime_python.package(chalice_dir / CODE, output_dir / CODE)
    path = output_dir / TEMPLATE
    path.write_text(json.dumps(template, indent=2) + "\n")
    return path


def parameter_values(stage_name: str) -> dict[str, str]:
    """``infra/sam/<stage>.json``'s parameter values."""
    return dict(json.loads((SAM_DIR / f"{stage_name}.json").read_text())["Parameters"])


# --- the post-step ------------------------------------------------------------------------


def complete(template: Template, stage: Stage, values: dict[str, str]) -> None:
    """Everything the merge cannot express (the module docstring), in place."""
    resources: dict[str, Resource] = template["Resources"]
    untyped = sorted(k for k, v in resources.items() if "Type" not in v)
    if untyped:
        raise ValueError(
            f"{MERGE_TEMPLATE.name} overrides {untyped}, which chalice package did not "
            "generate: a function renamed or removed in app.py?"
        )
    set_defaults(template, stage.name, values)
    inline_code(resources)
    substitute_origin(resources["RestAPI"]["Properties"]["DefinitionBody"], stage)
    rewire_roles(template, stage)


def set_defaults(template: Template, stage_name: str, values: dict[str, str]) -> None:
    """The stage file's values become defaults; ``Stage`` allows the packaged stage only.

    Every parameter needs a value there, so each stage decides each setting explicitly.
    """
    parameters = template["Parameters"]
    unknown = sorted(set(values) - set(parameters))
    missing = sorted(set(parameters) - set(values) - {"Stage"})
    if unknown or missing:
        raise ValueError(
            f"infra/sam/{stage_name}.json: unknown parameters {unknown}, missing {missing}"
        )
    for name, value in values.items():
        parameters[name]["Default"] = str(value)
    parameters["Stage"]["Default"] = stage_name
    parameters["Stage"]["AllowedValues"] = [stage_name]


def inline_code(resources: dict[str, Resource]) -> None:
    """Each ``Code.ZipFile`` naming a file of ``infra/sam/`` becomes the file's text."""
    for logical_id, resource in resources.items():
        code = resource.get("Properties", {}).get("Code", {})
        name = code.get("ZipFile") if isinstance(code, dict) else None
        if isinstance(name, str) and re.fullmatch(r"[a-z_]+\.py", name):
            source = (SAM_DIR / name).read_text()
            if len(source) > ZIP_FILE_LIMIT:
                raise ValueError(f"{name} ({logical_id}) exceeds the {ZIP_FILE_LIMIT} inline limit")
            code["ZipFile"] = source


def substitute_origin(body: dict[str, Any], stage: Stage) -> None:
    """Replace the origin Chalice baked into each OPTIONS response by ``AllowedOrigin``."""
    packaged = f"'{stage.settings.allowed_origin}'"
    count = 0
    for parameters in chalice_package.values_under(body.get("paths", {}), "responseParameters"):
        if ORIGIN_PARAMETER in parameters:
            if parameters[ORIGIN_PARAMETER] != packaged:
                raise ValueError(f"unexpected CORS origin {parameters[ORIGIN_PARAMETER]!r}")
            parameters[ORIGIN_PARAMETER] = copy.deepcopy(ALLOWED_ORIGIN)
            count += 1
    if not count:
        raise ValueError("Chalice's API definition has no CORS preflight; routes lost cors=...?")


@dataclass(frozen=True)
class Created:
    """Names of what the template creates -> logical ids, by kind."""

    tables: dict[str, str]
    log_groups: dict[str, str]
    functions: dict[str, str]


def rewire_roles(template: Template, stage: Stage) -> None:
    """Each function's role: its policy file's statements, every ARN a created resource."""
    resources: dict[str, Resource] = template["Resources"]
    function_ids = function_logical_ids(stage, resources)
    created = created_names(template)
    for name, logical_id in function_ids.items():
        role_id = resources[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = resources[role_id]["Properties"]["Policies"]
        if len(policies) != 1 or policies[0]["PolicyDocument"] != stage.policies[name]:
            raise ValueError(f"{role_id} no longer carries exactly {name}'s policy file")
        policies[0]["PolicyDocument"] = {
            "Version": "2012-10-17",
            "Statement": [statement(g, created, own=logical_id) for g in grants(stage, name)],
        }


def function_logical_ids(stage: Stage, resources: dict[str, Resource]) -> dict[str, str]:
    """Each of the stage's functions (Chalice name) -> its logical id in the template.

    A function in the template that the stage does not list (so has no policy file of its
    own) or the other way round is an error, not a role granted the wrong file.
    """
    ids = {
        name: "APIHandler" if name == API_HANDLER else to_cfn_resource_name(name)
        for name in stage.functions
    }
    packaged = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    if packaged != set(ids.values()):
        raise ValueError(
            f"the template's functions {sorted(packaged)} are not the stage's "
            f"{sorted(ids.values())}: list each function under lambda_functions in "
            ".chalice/config.json with its own iam_policy_file, and in infra/sam/template.yaml"
        )
    return ids


def created_names(template: Template) -> Created:
    """The tables, log groups and functions the template names, resolved for its stage."""
    defaults = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    kinds: dict[str, dict[str, str]] = {"tables": {}, "log_groups": {}, "functions": {}}
    name_of = {
        "AWS::DynamoDB::Table": ("tables", "TableName"),
        "AWS::Logs::LogGroup": ("log_groups", "LogGroupName"),
        "AWS::Serverless::Function": ("functions", "FunctionName"),
        "AWS::Lambda::Function": ("functions", "FunctionName"),
    }
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] in name_of:
            kind, key = name_of[resource["Type"]]
            if key not in resource.get("Properties", {}):
                raise ValueError(f"{logical_id} has no {key}: the template must name it")
            kinds[kind][resolve(resource["Properties"][key], defaults)] = logical_id
    return Created(**kinds)


def resolve(value: Any, parameters: dict[str, str]) -> str:
    """A name as a string: literal, ``Ref`` to a parameter, or ``Fn::Sub`` over parameters."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and list(value) == ["Ref"] and value["Ref"] in parameters:
        return parameters[value["Ref"]]
    if isinstance(value, dict) and list(value) == ["Fn::Sub"] and isinstance(value["Fn::Sub"], str):

        def parameter(match: re.Match[str]) -> str:
            if match.group(1) not in parameters:
                raise ValueError(f"a resource name uses ${{{match.group(1)}}}, not a parameter")
            return parameters[match.group(1)]

        return re.sub(r"\$\{([^}]+)\}", parameter, value["Fn::Sub"])
    raise ValueError(f"cannot resolve the name {value!r}: use a literal, Ref or Fn::Sub")


def statement(grant: Grant, created: Created, own: str | None = None) -> dict[str, Any]:
    """One policy-file statement with each ARN replaced by the created resource's ARN.

    Only X-Ray keeps "*" (its actions have no resource-level permissions). ``own`` is the
    logical id of the function whose role this is: a grant on itself is its ARN spelt from
    its name, since a reference from its role to the function would be circular.
    """
    resources: list[Any] = []
    for table in grant.tables:
        resources.append({"Fn::GetAtt": [_known(created.tables, table, grant), "Arn"]})
    for table, index in grant.indexes:
        table_id = _known(created.tables, table, grant)
        resources.append({"Fn::Sub": f"${{{table_id}.Arn}}/index/{index}"})
    resources.extend(parameter_arn(name) for name in grant.parameters)
    for group in grant.log_groups:
        group_id = _known(created.log_groups, group, grant)
        # The group itself, and (its Arn ends with ":*") every stream in it.
        resources.append(
            {
                "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
                f":log-group:${{{group_id}}}"
            }
        )
        resources.append({"Fn::GetAtt": [group_id, "Arn"]})
    for name in grant.functions:
        function_id = _known(created.functions, name, grant)
        resources.append(
            function_arn(name) if function_id == own else {"Fn::GetAtt": [function_id, "Arn"]}
        )
    if grant.unscoped:
        if not all(action.startswith("xray:") for action in grant.actions):
            raise ValueError(f"statement {grant.sid}: only X-Ray actions may use Resource '*'")
        resources.append("*")
    return {"Sid": grant.sid, "Effect": "Allow", "Action": grant.actions, "Resource": resources}


def function_arn(name: str) -> dict[str, str]:
    """The ARN of the Lambda function ``name`` in the stack's account and region."""
    return {
        "Fn::Sub": f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}"
        f":function:{name}"
    }


def parameter_arn(name: str) -> dict[str, str]:
    """The ARN of an SSM parameter (``name`` starts with "/") in the stack's account."""
    return {
        "Fn::Sub": f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}"
        f":parameter{name}"
    }


def _known(ids: dict[str, str], name: str, grant: Grant) -> str:
    if name not in ids:
        raise ValueError(f"statement {grant.sid} names {name}, which the template does not create")
    return ids[name]


# --- the code and the output directory ------------------------------------------------------


def clear(output_dir: Path) -> None:
    """Leave ``output_dir`` empty, so no file from an earlier package survives.

    A stage's directory under ``build/sam/`` is ours to delete; elsewhere only our own two
    files are, so a mistyped ``--output-dir`` cannot wipe a directory holding anything else.
    """
    if output_dir.exists():
        foreign = {p.name for p in output_dir.iterdir()} - {TEMPLATE, CODE}
        if output_dir.is_relative_to(BUILD_DIR) and output_dir != BUILD_DIR:
            shutil.rmtree(output_dir)
        elif foreign:
            raise SystemExit(f"{output_dir} holds other files ({sorted(foreign)}); not clearing it")
        else:
            for name in (TEMPLATE, CODE):
                (output_dir / name).unlink(missing_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Command line: package one stage, then say where the output is and how to deploy it."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.sam", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--stage", required=True, choices=packaged_stages())
    parser.add_argument(
        "--output-dir", type=Path, help="where to write (default: build/sam/<stage>/)"
    )
    args = parser.parse_args(argv)
    path = package(args.stage, args.output_dir)
    print(f"Wrote {path} and {path.with_name(CODE)}")
    print(
        f"Deploy: sam deploy --template-file {path} --stack-name tasks-api-{args.stage} "
        "--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --resolve-s3"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
