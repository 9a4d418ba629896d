"""``python -m deploy.sam --stage dev``: a SAM / CloudFormation stack in ``build/sam/<stage>/``.

Runs ``chalice package`` (its SAM output: ``sam.json`` + ``deployment.zip``), completes the
template with ``deploy.sam_template`` and writes the directory afresh:

    build/sam/<stage>/template.json   the stack; CodeUri points at ./deployment.zip
    build/sam/<stage>/deployment.zip  the functions' code, as Chalice built it

``sam deploy`` and ``aws cloudformation package`` + ``deploy`` accept the directory as is.
Nothing here talks to AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from deploy.sam_template import build_template
from deploy.stage import PROJECT_DIR, deployable_stages, load_stage

BUILD_DIR = PROJECT_DIR / "build" / "sam"
TEMPLATE = "template.json"
CODE = "deployment.zip"


def package(stage_name: str, output_dir: Path | None = None) -> Path:
    """Write the stage's template and code into ``output_dir``; returns the template path."""
    stage = load_stage(stage_name)
    output_dir = (output_dir or BUILD_DIR / stage_name).resolve()
    with tempfile.TemporaryDirectory(prefix="chalice-sam-") as scratch:
        chalice_dir = Path(scratch) / "chalice"
        run_chalice_package(stage_name, chalice_dir)
        chalice_template = json.loads((chalice_dir / "sam.json").read_text())
        template = build_template(stage, chalice_template)
        clear(output_dir)
        shutil.copyfile(chalice_dir / CODE, output_dir / CODE)
    path = output_dir / TEMPLATE
    path.write_text(json.dumps(template, indent=2) + "\n")
    return path


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


def run_chalice_package(stage_name: str, out: Path) -> None:
    """``chalice package`` (SAM format) from the project root, with this interpreter.

    Chalice needs a region to build its clients, yet writes none into the template
    (it uses ``${AWS::Region}``), so any region will do when none is configured.
    """
    env = dict(os.environ)
    if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
        env["AWS_DEFAULT_REGION"] = "us-east-1"
    command = [
        sys.executable,
        "-c",
        "import sys; from chalice.cli import main; sys.exit(main())",
        "package",
        "--stage",
        stage_name,
        str(out),
    ]
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"chalice package failed:\n{result.stdout}{result.stderr}")


def main(argv: list[str] | None = None) -> int:
    """Command line: package one stage, then say where the output is and how to deploy it."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.sam", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--stage", required=True, choices=deployable_stages())
    parser.add_argument(
        "--output-dir", type=Path, help="where to write (default: build/sam/<stage>/)"
    )
    args = parser.parse_args(argv)
    path = package(args.stage, args.output_dir)
    print(f"Wrote {path} and {path.with_name(CODE)}")
    print(
        f"Deploy: sam deploy --template-file {path} --stack-name tasks-api-{args.stage} "
        "--capabilities CAPABILITY_IAM --resolve-s3"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
