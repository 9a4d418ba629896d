"""Inline source of the SAM template's signing-secret custom resource (a Lambda function).

CloudFormation cannot create an SSM SecureString, so the template carries this code as the
``ZipFile`` of a small function: on Create/Update it puts a random SecureString under the
stage's parameter name unless one exists (replacing it would log everybody out); on Delete
it removes the parameter only when the stack says so. The secret never leaves SSM: it is
not returned to CloudFormation nor logged. ``deploy.sam`` embeds this file's text; it is not
imported by the packager (``cfnresponse`` only exists in Lambda's inline-code runtime).
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
        elif properties.get("DeleteOnStackDelete") == "true" and (
            event.get("PhysicalResourceId") == name
        ):
            delete_if_present(name)
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
            Description="Tasks API token signing secret (HS256); see README to rotate",
            Value=secrets.token_urlsafe(48),
            Type="SecureString",
            Overwrite=False,
        )


def delete_if_present(name: str) -> None:
    """Remove the parameter; one already gone counts as removed."""
    with contextlib.suppress(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name=name)
