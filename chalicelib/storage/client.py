"""How the service talks to DynamoDB (and SSM): one client per container, bounded retries and
timeouts, and transient failures turned into ``ServiceUnavailable`` (HTTP 503).

The endpoint comes from the standard ``AWS_ENDPOINT_URL_DYNAMODB`` (botocore reads it), so
the local stack and AWS run exactly the same code.

Clients are made from one botocore session, not through boto3: importing boto3 (and
s3transfer) and building its session adds about 30 ms to a cold start that creates a client,
a tenth of the authorizer's on Python 3.13 (``make bench``, issue 15); the clients are the
same botocore clients either way.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    DataNotFoundError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib import request_budget
from chalicelib.errors import ServiceUnavailable

# Bounded retries and short timeouts (a DynamoDB call takes milliseconds); on top of them,
# request_budget stops any attempt that could not finish within the request's budget.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},  # first try + 2 retries
    connect_timeout=1,
    read_timeout=3,
)

TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
RETRY_AFTER_SECONDS = 1
# An AWS call that got no answer in time: unreachable, too slow, or out of request budget.
UNANSWERED_CALL_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    request_budget.BudgetExhausted,
)

T = TypeVar("T")


# Every service this module creates a client for (the create_*_client functions below).
SERVICES = ("dynamodb", "ssm", "lambda", "cognito-idp")


class PlainJSONFileLoader:
    """Reads botocore's data files (``NAME.json``, else ``NAME.json.gz``) into plain dicts.

    botocore's own file loader parses them into ``OrderedDict`` (a Python 2 habit), which
    takes about twice as long: endpoints.json, which every session loads, 17 ms against 7 on
    Python 3.13, and 3 ms more for the DynamoDB model, 4 for SSM's (issue 15). A dict keeps
    the file's order too, which is all botocore relies on.
    """

    EXTENSIONS = ((".json", open), (".json.gz", gzip.open))

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + extension) for extension, _ in self.EXTENSIONS)

    def load_file(self, file_path: str) -> Any:
        for extension, open_file in self.EXTENSIONS:
            if os.path.isfile(file_path + extension):
                with open_file(file_path + extension, "rb") as data:
                    return json.loads(data.read().decode("utf-8"))
        return None


class UsedServicesLoader(botocore.loaders.Loader):
    """botocore's data loader, asked only about the services this app uses (``SERVICES``),
    reading its files into plain dicts (``PlainJSONFileLoader``).

    Before loading a service's model or endpoint rule set, botocore checks that the service
    exists by listing every service directory of its data, about 450, once per kind of file:
    some 15 ms of a cold start that creates a client (issue 15). Looking at our services'
    own directories gives the same answer for them; any other service is unknown, as this
    app creates no client for it.
    """

    FILE_LOADER_CLASS = PlainJSONFileLoader

    def list_available_services(self, type_name: str) -> list[str]:
        available = []
        for service in SERVICES:
            try:
                self.list_api_versions(service, type_name)
            except DataNotFoundError:
                continue
            available.append(service)
        return available


@functools.cache
def botocore_session() -> Any:
    """One botocore session per container (as boto3's default session), shared by every
    client: its loaded service models and credentials are reused. Its data loader searches
    what botocore's own would (``AWS_DATA_PATH`` first), as a ``UsedServicesLoader``."""
    session = botocore.session.get_session()
    data_path = session.get_config_variable("data_path")
    extra_paths = (
        [os.path.expanduser(os.path.expandvars(path)) for path in data_path.split(os.pathsep)]
        if data_path
        else None
    )
    session.register_component("data_loader", UsedServicesLoader(extra_search_paths=extra_paths))
    return session


def _create_client(service: str, **kwargs: Any) -> Any:
    return botocore_session().create_client(service, **kwargs)


def create_ssm_client() -> Any:
    """The secret store's client: the same bounded timeouts and request budget."""
    return request_budget.install(_create_client("ssm", config=CLIENT_CONFIG))


def create_lambda_client() -> Any:
    """For handing a large account purge to the ``purge_account`` function."""
    return request_budget.install(_create_client("lambda", config=CLIENT_CONFIG))


def create_dynamodb_client() -> Any:
    return request_budget.install(_create_client("dynamodb", config=CLIENT_CONFIG))


def create_cognito_client() -> Any:
    """The user pool's admin API (cognito mode: the profile and account deletion); the same
    bounded timeouts and request budget. Its endpoint can be moved with the standard
    ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` (the local stack's moto server)."""
    return request_budget.install(_create_client("cognito-idp", config=CLIENT_CONFIG))


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def call_storage(operation: Callable[..., T], **kwargs: Any) -> T:
    """Run one DynamoDB call; what is still failing after botocore's retries becomes a 503."""
    try:
        return operation(**kwargs)
    except ClientError as error:
        if error_code(error) in TRANSIENT_ERROR_CODES:
            raise ServiceUnavailable(RETRY_AFTER_SECONDS) from error
        raise
    except UNANSWERED_CALL_ERRORS as error:
        raise ServiceUnavailable(RETRY_AFTER_SECONDS) from error
