"""``make build STAGE=<stage>``: the two artifacts the Terraform module reads, nothing else.

Writes ``build/<stage>/deployment.zip`` (the Lambda package: ``app.py``, ``chalicelib/`` and
the pure-Python requirements) and ``build/<stage>/api.json`` (the REST API's Swagger 2.0
definition with API Gateway's integrations, one per route of ``app.py``), both taken from
``chalice package --pkg-format terraform``. Everything else (tables, roles, functions, the
stage, alarms) is hand-written HCL in ``infra/terraform/modules/tasks_api``, so a new route
reaches the deployed API without editing HCL, and a new resource needs no Python.

``api.json`` is a ``templatefile()`` template. Chalice spells what it cannot know as
Terraform references to its own resource names; they become placeholders the module fills:

- ``${<function>_invoke_arn}``: every ``x-amazon-apigateway-integration`` URI and the
  authorizer's ``authorizerUri`` (``<function>`` is Chalice's name, e.g. ``api_handler``);
- ``${allowed_origin}``: the CORS origin of every OPTIONS preflight, which Chalice copies
  from the stage's ``ALLOWED_ORIGIN`` when it imports ``app.py``.

Anything else that ``templatefile()`` would read as template syntax is escaped, so the
module's template variables are exactly those two kinds.

The Lambda runtime and architecture are the module's variables (python3.13, arm64), pinned
independently of the Python running this build, so the package must be pure Python: a
compiled extension here would be built for this interpreter and machine and fail to import
on Lambda. The build refuses one, saying which file. The package ships bytecode compiled by a
Python 3.13 for that runtime, or none where no 3.13 exists (``deploy/runtime_python.py``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from deploy import chalice_package, runtime_python
from deploy.stage import packaged_stages

PROJECT_DIR = Path(__file__).resolve().parent.parent
BUILD_DIR = PROJECT_DIR / "build"
PACKAGE = "deployment.zip"
API_DEFINITION = "api.json"
# The functions infra/terraform/modules/tasks_api defines, by Chalice name. A new
# @app.lambda_function or @app.authorizer needs its function, role and log group there too.
MODULE_FUNCTIONS = frozenset({"api_handler", "jwt_authorizer", "purge_account"})
ORIGIN_PLACEHOLDER = "${allowed_origin}"
CORS_ORIGIN_PARAMETER = "method.response.header.Access-Control-Allow-Origin"
# Chalice's reference to a function's invoke ARN inside the swagger it embeds in Terraform.
_INVOKE_ARN = re.compile(r"\$\{aws_lambda_function\.([A-Za-z0-9_]+)\.invoke_arn\}")
_ESCAPED_INVOKE_ARN = re.compile(r"\$\$\{aws_lambda_function\.([A-Za-z0-9_]+)\.invoke_arn\}")


def build(stage: str, output_dir: Path) -> dict[str, Any]:
    """Write ``deployment.zip`` and ``api.json`` for ``stage``; returns the API definition."""
    with tempfile.TemporaryDirectory(prefix="chalice-build-") as scratch:
        chalice_dir = Path(scratch) / "chalice"
        chalice_package.run(stage, chalice_dir, "--pkg-format", "terraform")
        packaged = json.loads((chalice_dir / "chalice.tf.json").read_text())
        _check_functions(packaged)
        definition = api_definition(json.loads(packaged["locals"]["chalice_api_swagger"]))
        chalice_package.check_pure_python(chalice_dir / PACKAGE)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / API_DEFINITION).write_text(json.dumps(definition, indent=2) + "\n")
        runtime_python.package(chalice_dir / PACKAGE, output_dir / PACKAGE)
    return definition


def api_definition(swagger: dict[str, Any]) -> dict[str, Any]:
    """Chalice's swagger as a ``templatefile()`` template (see the module docstring)."""
    preflights = 0
    for parameters in chalice_package.values_under(swagger, "responseParameters"):
        if CORS_ORIGIN_PARAMETER in parameters:
            parameters[CORS_ORIGIN_PARAMETER] = f"'{ORIGIN_PLACEHOLDER}'"
            preflights += 1
    if not preflights:
        raise ValueError("chalice's swagger has no CORS preflight; the routes lost cors=...?")
    return _template_strings(swagger)


def _template_strings(value: Any) -> Any:
    """Escape template syntax in every string, then turn Chalice's invoke ARNs into
    placeholders (keys too: paths may be any text)."""
    if isinstance(value, dict):
        return {_template_string(key): _template_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_template_strings(item) for item in value]
    if isinstance(value, str):
        return _template_string(value)
    return value


def _template_string(text: str) -> str:
    if text == f"'{ORIGIN_PLACEHOLDER}'":
        return text
    references = _INVOKE_ARN.findall(text)
    unknown = set(references) - MODULE_FUNCTIONS
    if unknown:
        raise ValueError(f"the API invokes functions the module does not define: {unknown}")
    escaped = text.replace("${", "$${").replace("%{", "%%{")
    return _ESCAPED_INVOKE_ARN.sub(r"${\1_invoke_arn}", escaped)


def _check_functions(packaged: dict[str, Any]) -> None:
    functions = set(packaged["resource"]["aws_lambda_function"])
    if functions != MODULE_FUNCTIONS:
        raise ValueError(
            f"app.py defines the Lambda functions {sorted(functions)}; the Terraform module "
            f"defines {sorted(MODULE_FUNCTIONS)}. Add (or remove) the function, its role, "
            "policy and log group in infra/terraform/modules/tasks_api, then MODULE_FUNCTIONS."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=packaged_stages())
    parser.add_argument("--output", type=Path, help="directory to write (default: build/<stage>)")
    args = parser.parse_args(argv)
    output_dir = args.output or BUILD_DIR / args.stage
    definition = build(args.stage, output_dir)
    print(
        f"Wrote {output_dir / PACKAGE} and {output_dir / API_DEFINITION} "
        f"({len(definition['paths'])} paths) for stage {args.stage!r}."
    )
    print(f"Deploy: cd infra/terraform/environments/{args.stage} && terraform apply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
