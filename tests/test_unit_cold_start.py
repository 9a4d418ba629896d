"""Unit: what keeps cold starts short (issue 15) stays in place: importing the app loads no
module that the task routes and the authorizer do not need, and the botocore session's
data loader, which skips listing botocore's ~450 services, still finds ours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError

from chalicelib.storage import client

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Loaded on first use by the routes (or the stage) that need them, never by `import app`.
LAZY_MODULES = (
    "chalicelib.auth.oidc",
    "chalicelib.auth.passwords",
    "chalicelib.auth.refresh_tokens",
    "chalicelib.http.docs_page",
    "chalicelib.http.openapi",
    "chalicelib.services.account_purge",
    "chalicelib.services.accounts",
    "chalicelib.services.identity",
    "chalicelib.services.sessions",
    "chalicelib.storage.records",
    "chalicelib.storage.sessions",
    "chalicelib.storage.parameters_extension",
    "boto3",
    "jwt",
)


def test_importing_the_app_loads_only_what_most_cold_starts_need() -> None:
    code = "import sys, json, app; print(json.dumps(sorted(sys.modules)))"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env={**environ, "STAGE": "local"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = set(json.loads(completed.stdout.strip().splitlines()[-1]))
    assert loaded.isdisjoint(LAZY_MODULES), sorted(loaded & set(LAZY_MODULES))


@pytest.mark.parametrize("service", client.SERVICES)
def test_the_session_creates_a_client_for_each_of_our_services(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    session = client.botocore_session.__wrapped__()
    made = session.create_client(service, region_name="eu-west-1")
    assert made.meta.service_model.service_name == service
    assert made.meta.region_name == "eu-west-1"


def test_our_services_are_those_botocore_lists_and_no_others_are_known() -> None:
    loader = client.botocore_session.__wrapped__().get_component("data_loader")
    assert isinstance(loader, client.UsedServicesLoader)
    every = botocore.session.get_session().get_component("data_loader")
    for type_name in ("service-2", "endpoint-rule-set-1"):
        assert loader.list_available_services(type_name) == [
            service
            for service in client.SERVICES
            if service in every.list_available_services(type_name)
        ]
    with pytest.raises(UnknownServiceError):
        loader.load_service_model("s3", "service-2")


def test_the_loader_keeps_aws_data_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = client.botocore_session.__wrapped__().get_component("data_loader")
    assert loader.search_paths[0] == str(tmp_path)


@pytest.mark.parametrize(
    "name",
    [
        "endpoints",
        "partitions",
        "sdk-default-configuration",
        "_retry",
        *(f"{service}/service-2" for service in client.SERVICES),
    ],
)
def test_plain_dicts_hold_exactly_what_botocore_reads(name: str) -> None:
    """The same data in the same order (json.dumps keeps it) as botocore's OrderedDicts."""
    theirs = botocore.loaders.Loader()
    ours = client.UsedServicesLoader()
    if "/" in name:
        service, kind = name.split("/")
        theirs_data = theirs.load_service_model(service, kind)
        ours_data = ours.load_service_model(service, kind)
        ruleset = "endpoint-rule-set-1"
        assert json.dumps(ours.load_service_model(service, ruleset)) == json.dumps(
            theirs.load_service_model(service, ruleset)
        )
    else:
        theirs_data, ours_data = theirs.load_data(name), ours.load_data(name)
    assert type(ours_data) is dict
    assert json.dumps(ours_data) == json.dumps(theirs_data)
