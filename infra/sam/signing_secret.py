"""Inline code of template.yaml's ``SigningSecretFunction`` (the ``SigningSecret`` custom resource).

CloudFormation cannot create an SSM SecureString, so this small function does: on Create and
Update it puts a random SecureString under the stage's parameter name unless one exists
(replacing it would log everybody out) and tags it like the stack. It never deletes the
parameter: the resource is retained (``DeletionPolicy``/``UpdateReplacePolicy: Retain``), and a
Delete that reaches it anyway (a rolled-back create, a removed policy) only answers SUCCESS.
The secret never leaves SSM: it is neither returned to CloudFormation nor logged.

``deploy/sam.py`` inlines this file's text as the function's ``ZipFile`` (at most 4096
characters); Lambda provides ``cfnresponse`` to inline code only, so nothing imports it here.
"""

import contextlib
import secrets

import boto3
import cfnresponse

ssm = boto3.client("ssm")


def handler(event: dict, context: object) -> None:
    """Answer one CloudFormation custom-resource request; always responds, never hangs."""
    properties = event["ResourceProperties"]
    name = properties["ParameterName"]
    try:
        if event["RequestType"] in ("Create", "Update"):
            create_unless_present(name)
            if properties.get("Tags"):
                ssm.add_tags_to_resource(
                    ResourceType="Parameter", ResourceId=name, Tags=properties["Tags"]
                )
    except Exception as error:  # any failure must reach CloudFormation, or the stack waits
        reason = f"{type(error).__name__}: {error}"
        # A failed Create made no parameter: keep no physical id that names one.
        physical_id = event.get("PhysicalResourceId")
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, physical_id, reason=reason)
        return
    cfnresponse.send(event, context, cfnresponse.SUCCESS, {"ParameterName": name}, name)


def create_unless_present(name: str) -> None:
    """Put a new 64-character secret; an existing parameter (and its secret) is kept."""
    with contextlib.suppress(ssm.exceptions.ParameterAlreadyExists):
        ssm.put_parameter(
            Name=name,
            Description="Tasks API token signing secret (HS256); see docs/operations.md to rotate",
            Value=secrets.token_urlsafe(48),
            Type="SecureString",
            Overwrite=False,
        )
