"""pytest plugin: record every AWS operation the application performs during the session.

``tests/test_iam_policy.py`` compares the recording with each stage's IAM policy file, so the
policy grants exactly what the code does. The hook is botocore's own ``before-parameter-build``
event, added to ``botocore.handlers.BUILTIN_HANDLERS`` when this module is imported (pytest
loads it from ``tests/conftest.py``, before any test creates a client), so every botocore
session and client created afterwards carries it, whoever creates them.

Which calls are the application's. A call counts when, walking the Python stack at the hook:

1. the frame that issued it (the innermost frame outside boto3 and botocore) is in ``app.py``
   or ``chalicelib/``: tests, fixtures, ``devstack/`` and moto calling boto3 themselves
   (creating tables, seeding, inspecting) are not the application;
2. a frame of ``app.py`` is on the stack: the call happens while the Chalice app handles a
   request or authorises one (or imports), the only way the deployed function runs code. So
   ``chalicelib.storage.table_layout.create_missing_tables`` called by a fixture, ``devstack/`` or a
   unit test provisions tables and is not counted, while a request sent through
   ``chalice.test.Client`` is counted whether a test or a fixture sends it;
3. no frame of ``devstack/`` or ``deploy/`` is between the issuing frame and the innermost
   frame of ``app.py`` (provisioning and packaging code the app would call into). One
   further out calls the app the way the platform does and is no objection: devstack's
   local gateway invokes the authorizer (``FailClosedGatewayAuthorizer``) as API Gateway
   does, so the authorizer's calls count, in-process as on ``make run``.

Whose call it is. Each Lambda function has a role of its own (``deploy/stage.py``), so each
call is attributed to the function that would make it on AWS, from the stack too: the
innermost frame of a function's entry point in ``app.py`` (``FUNCTION_ENTRY_POINTS``: the
authorizer, ``purge_account``) names it, and a call with none on the stack is the API
handler's. Some code stands in locally for a function (``LOCAL_STAND_INS``): under
``make run`` and in-process tests the rest of a large purge runs on a thread of the API
process (``ThreadBackgroundPurge``), which on AWS is the ``purge_account`` function; such a
frame both names the function and, like a frame of ``app.py``, makes the call the
application's (the thread's stack holds no frame of ``app.py``).

Each call is recorded as the IAM authorisations it needs: ``<signing name>:<operation>`` on
the resource it names, except that DynamoDB transactions are authorised per item through the
item actions (``Put`` needs ``dynamodb:PutItem``, ``ConditionCheck`` needs
``dynamodb:ConditionCheckItem``; there is no ``TransactWriteItems`` action), a Query or Scan
with ``IndexName`` is authorised on the index, and the batch operations, which have IAM actions
of their own, on each table they touch. Resources are then named by their role (users table,
previous secret parameter, the purge function, ...) under the ``Settings`` in effect, so the
local and dev stages' recordings compare with any stage's policy.

The e2e tests run the app in a child process (``chalice local``), invisible here; the
in-process tests drive the same code paths, so the recording is complete only when every
in-process test ran: see ``Recorder.incompleteness``.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
import botocore
import botocore.handlers
import pytest

from chalicelib import runtime
from chalicelib.config import BUILTIN, Settings
from deploy.stage import API_HANDLER, APP_NAME

PROJECT_DIR = Path(__file__).resolve().parent.parent
TESTS_DIR = PROJECT_DIR / "tests"

AFTER_WHOLE_SUITE = "after_whole_suite"
# Markers of tests that run the app in another process (pyproject.toml: "the real local stack"):
# deselecting or skipping them loses nothing from the recording.
OUT_OF_PROCESS_MARKERS = ("e2e", "fuzz")

# Resource roles: what a table or parameter is for, whatever the stage calls it.
USERS_TABLE = "users table"
TASKS_TABLE = "tasks table"
USER_POOL = "the stage's Cognito user pool"
RECORDS_TABLE = "records table"
SESSIONS_TABLE = "sessions table"
CURRENT_SECRET = "current secret parameter"
PREVIOUS_SECRET = "previous secret parameter"

# The Lambda functions, by their Chalice names (deploy/stage.py gives each its own role).
JWT_AUTHORIZER = "jwt_authorizer"
PURGE_ACCOUNT = "purge_account"
# Where another function than the API handler starts: (file, code object's qualified name).
FUNCTION_ENTRY_POINTS = {
    (PROJECT_DIR / "app.py", "jwt_authorizer"): JWT_AUTHORIZER,
    (PROJECT_DIR / "app.py", "purge_account"): PURGE_ACCOUNT,
}
# Code that runs in the API process locally but is another function on AWS.
LOCAL_STAND_INS = {
    (
        PROJECT_DIR / "chalicelib" / "services" / "account_purge.py",
        "ThreadBackgroundPurge.start.<locals>.run",
    ): PURGE_ACCOUNT,
}

# Operations whose IAM action has another name than the operation.
IAM_ACTIONS = {("lambda", "Invoke"): "lambda:InvokeFunction"}
# TransactWriteItems / TransactGetItems entries and the IAM action each is authorised by.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}

_APP, _CHALICELIB, _DRIVER, _LIBRARY, _OTHER = "app", "chalicelib", "driver", "library", "other"


# --- what IAM checks for one call ----------------------------------------------------------


def authorisations(
    service: str, operation: str, params: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """The (IAM action, resource) pairs IAM evaluates for one API call.

    ``service`` is the client's signing name; a resource is the part of its ARN after the
    service's ``account:`` (``table/t``, ``table/t/index/i``, ``parameter/p``) or ``*``.
    """
    if service == "dynamodb":
        return _dynamodb_authorisations(operation, params)
    if service == "ssm":
        names = [params[key] for key in ("Name", "Path") if key in params]
        names += list(params.get("Names", []))
        if names:
            return [(iam_action(service, operation), parameter_resource(name)) for name in names]
    if service == "lambda" and "FunctionName" in params:
        return [(iam_action(service, operation), function_resource(params["FunctionName"]))]
    if service == "cognito-idp" and "UserPoolId" in params:
        return [(iam_action(service, operation), f"userpool/{params['UserPoolId']}")]
    return [(iam_action(service, operation), "*")]


def iam_action(service: str, operation: str) -> str:
    """The IAM action an operation needs: ``<service>:<operation>`` but where IAM names it
    otherwise (``lambda:InvokeFunction`` for ``Invoke``)."""
    return IAM_ACTIONS.get((service, operation), f"{service}:{operation}")


def _dynamodb_authorisations(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [
            (
                TRANSACTION_ITEM_ACTIONS.get(kind, f"dynamodb:{kind}"),
                table_resource(item["TableName"]),
            )
            for entry in params.get("TransactItems", [])
            for kind, item in entry.items()
        ]
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [
            (f"dynamodb:{operation}", table_resource(t)) for t in params.get("RequestItems", {})
        ]
    if "TableName" in params:
        return [
            (f"dynamodb:{operation}", table_resource(params["TableName"], params.get("IndexName")))
        ]
    return [(f"dynamodb:{operation}", "*")]


def table_resource(table: str, index: str | None = None) -> str:
    """``table/<name>`` or ``table/<name>/index/<index>``; a table ARN is reduced to its name."""
    name = table.split(":table/", 1)[1] if table.startswith("arn:") else table
    return f"table/{name}" if index is None else f"table/{name}/index/{index}"


def parameter_resource(name: str) -> str:
    """``parameter/<name without its leading slash>``, as in the parameter's ARN."""
    if name.startswith("arn:"):
        name = name.split(":parameter", 1)[1]
    return "parameter/" + name.lstrip("/")


def function_resource(name: str) -> str:
    """``function:<name>``, as in the function's ARN; an ARN or qualifier is reduced to it."""
    if name.startswith("arn:"):
        name = name.split(":function:", 1)[1]
    return "function:" + name.split(":", 1)[0]


def resource_role(settings: Settings | None, resource: str) -> str:
    """What ``resource`` is for under ``settings``; other resources are returned unchanged,
    and names that belong to no role say so (``foreign table ...``)."""
    if settings is None:
        return f"unmapped {resource}"
    if resource.startswith("table/"):
        table, _, index = resource.removeprefix("table/").partition("/index/")
        roles = {
            settings.users_table: USERS_TABLE,
            settings.tasks_table: TASKS_TABLE,
            settings.records_table: RECORDS_TABLE,
            settings.sessions_table: SESSIONS_TABLE,
        }
        role = roles.get(table, f"foreign table {table}")
        return f"{role} index {index}" if index else role
    if resource.startswith("parameter/"):
        name = resource.removeprefix("parameter/")
        roles = {
            (settings.signing_secret_parameter or "").lstrip("/"): CURRENT_SECRET,
            (settings.previous_signing_secret_parameter or "").lstrip("/"): PREVIOUS_SECRET,
        }
        roles.pop("", None)
        return roles.get(name, f"foreign parameter /{name}")
    if resource.startswith("userpool/"):
        pool = resource.removeprefix("userpool/")
        return USER_POOL if pool == settings.cognito_user_pool_id else f"foreign {resource}"
    if resource.startswith("function:"):
        # Chalice's names: <app>-<stage> for the API handler, <app>-<stage>-<name> otherwise.
        name = resource.removeprefix("function:")
        prefix = f"{APP_NAME}-{settings.stage}"
        if name == prefix:
            return f"{API_HANDLER} function"
        if name.startswith(f"{prefix}-") and "-" not in name.removeprefix(f"{prefix}-"):
            return f"{name.removeprefix(f'{prefix}-')} function"
        return f"foreign function {name}"
    return resource


# --- whose call it is ----------------------------------------------------------------------


@functools.cache
def _file_kind(filename: str) -> str:
    path = os.path.realpath(filename)
    for package in (botocore, boto3):
        if path.startswith(os.path.dirname(os.path.realpath(package.__file__)) + os.sep):
            return _LIBRARY
    if path == str(PROJECT_DIR / "app.py"):
        return _APP
    if path.startswith(str(PROJECT_DIR / "chalicelib") + os.sep):
        return _CHALICELIB
    for driver in ("devstack", "deploy"):
        if path.startswith(str(PROJECT_DIR / driver) + os.sep):
            return _DRIVER
    return _OTHER


def calling_function(frame: FrameType | None) -> str | None:
    """The function whose call this is, by the rules of the module docstring applied to the
    stack from ``frame`` outwards; ``None`` when it is not the application's call."""
    issuer = None
    inside_app = False
    function = None
    while frame is not None:
        code = frame.f_code
        kind = _file_kind(code.co_filename)
        if issuer is None and kind != _LIBRARY:
            issuer = kind
        if kind == _DRIVER and not inside_app:
            return None
        entry_point, stand_in = _function_of_code(code.co_filename, code.co_qualname)
        function = function or entry_point or stand_in
        inside_app = inside_app or kind == _APP or stand_in is not None
        frame = frame.f_back
    if not (inside_app and issuer in (_APP, _CHALICELIB)):
        return None
    return function or API_HANDLER


def is_application_call(frame: FrameType | None) -> bool:
    """Whether the call is the application's (any function's)."""
    return calling_function(frame) is not None


@functools.cache
def _function_of_code(filename: str, qualname: str) -> tuple[str | None, str | None]:
    """The function whose entry point, and the one whose local stand-in, this code is."""
    path = Path(os.path.realpath(filename))
    return FUNCTION_ENTRY_POINTS.get((path, qualname)), LOCAL_STAND_INS.get((path, qualname))


def settings_in_effect() -> Settings | None:
    """The application's Settings: the cached ones if it built them, else the environment's."""
    try:
        cache_info = getattr(runtime.settings, "cache_info", None)
        if cache_info is None or cache_info().currsize:  # built, or replaced by a test
            return runtime.settings()
        return Settings.from_environ(os.environ)
    except Exception:  # an invalid configuration names no resources
        return None


# --- the recording -------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One authorisation one AWS call needed, and whether the application made the call."""

    action: str
    role: str
    resource: str
    function: str | None  # the Lambda function making the call; None: not the application
    test: str
    phase: str
    # The stage configuration's identity provider when the call was made: a deployable
    # stage's policy is compared with the calls made under its own provider only.
    identity_provider: str = BUILTIN

    @property
    def application(self) -> bool:
        return self.function is not None


@dataclass
class Recorder:
    """Everything the hook saw in this session, and what the session ran."""

    observations: list[Observation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    test: str = ""
    phase: str = "collection"
    deselected: list[pytest.Item] = field(default_factory=list)
    ran: set[str] = field(default_factory=set)

    def observe(self, model: Any, params: Mapping[str, Any], frame: FrameType | None) -> None:
        """Record one call (never raises: the hook must not change what the call does)."""
        try:
            function = calling_function(frame)
            settings = settings_in_effect()
            service = model.service_model.signing_name
            for action, resource in authorisations(service, model.name, params):
                self.observations.append(
                    Observation(
                        action=action,
                        role=resource_role(settings, resource),
                        resource=resource,
                        function=function,
                        test=self.test,
                        phase=self.phase,
                        identity_provider=(
                            settings.identity_provider if settings is not None else BUILTIN
                        ),
                    )
                )
        except Exception as error:  # reported by the exactness test
            self.errors.append(f"{self.test}: {error!r}")

    def mark(self) -> int:
        """A position in the recording, for ``since``."""
        return len(self.observations)

    def since(self, mark: int) -> list[Observation]:
        return self.observations[mark:]

    def pairs(
        self, function: str | None = None, identity_provider: str | None = None
    ) -> set[tuple[str, str]]:
        """The (IAM action, resource role) pairs the application needed in this session:
        ``function``'s, or every function's when ``None``; under ``identity_provider``'s
        configurations only, when given."""
        return {
            (o.action, o.role)
            for o in self.observations
            if o.application
            and function in (None, o.function)
            and identity_provider in (None, o.identity_provider)
        }

    def functions(self) -> set[str]:
        """The functions that made at least one call."""
        return {o.function for o in self.observations if o.function is not None}

    def first_use(self, pair: tuple[str, str], function: str | None = None) -> Observation | None:
        return next(
            (
                o
                for o in self.observations
                if o.application and (o.action, o.role) == pair and function in (None, o.function)
            ),
            None,
        )

    def incompleteness(self, session: pytest.Session) -> str | None:
        """Why this session's recording does not cover the whole suite, or ``None``.

        Complete means: every test module under ``tests/`` was collected, no command-line
        argument picked single tests, no in-process test was deselected (``-k``, ``-m``,
        ``--lf``), and every in-process test ran (not skipped, not cut short by ``-x``).
        Tests marked ``e2e``/``fuzz`` run the app in another process, so ``-m "not e2e"``
        (``make unit``) records as much as the whole suite.
        """
        config = session.config
        if hasattr(config, "workerinput"):
            return "pytest-xdist: each worker records only its own share of the suite"
        picked = [arg for arg in config.args if "::" in arg]
        if picked:
            return f"single tests were picked on the command line: {', '.join(picked)}"
        patterns = config.getini("python_files")
        on_disk = {
            path
            for path in TESTS_DIR.rglob("*.py")
            if any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
        }
        collected = {Path(item.path) for item in [*session.items, *self.deselected]}
        missing = sorted(str(path.relative_to(PROJECT_DIR)) for path in on_disk - collected)
        if missing:
            return f"test modules not collected: {_some(missing)}"
        deselected = [i.nodeid for i in self.deselected if not _out_of_process(i)]
        if deselected:
            return f"{len(deselected)} in-process tests deselected: {_some(deselected)}"
        not_run = [
            item.nodeid
            for item in session.items
            if not _out_of_process(item)
            and not item.get_closest_marker(AFTER_WHOLE_SUITE)
            and item.nodeid not in self.ran
        ]
        if not_run:
            return f"{len(not_run)} in-process tests skipped or not run: {_some(not_run)}"
        return None


def _out_of_process(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) for name in OUT_OF_PROCESS_MARKERS)


def _some(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


RECORDER = Recorder()


def _on_parameter_build(params: Mapping[str, Any], model: Any, **_: Any) -> None:
    RECORDER.observe(model, params, sys._getframe(1))


def _install() -> None:
    """Add the hook to every botocore session created from now on (and to boto3's default
    session, should one exist already)."""
    spec = ("before-parameter-build", _on_parameter_build)
    if spec not in botocore.handlers.BUILTIN_HANDLERS:
        existing = boto3.DEFAULT_SESSION
        botocore.handlers.BUILTIN_HANDLERS.append(spec)
        if existing is not None:
            existing.events.register(*spec, unique_id="aws_operations")


_install()


# --- pytest hooks --------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{AFTER_WHOLE_SUITE}: runs after every other test (it reads the session's recording)",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the tests that read the whole recording to the end, after any reordering."""
    last = [item for item in items if item.get_closest_marker(AFTER_WHOLE_SUITE)]
    items[:] = [item for item in items if item not in last] + last


def pytest_deselected(items: list[pytest.Item]) -> None:
    RECORDER.deselected.extend(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    RECORDER.test, RECORDER.phase = item.nodeid, "setup"
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    RECORDER.test, RECORDER.phase = item.nodeid, "call"
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    RECORDER.test, RECORDER.phase = item.nodeid, "teardown"
    return (yield)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and not report.skipped:
        RECORDER.ran.add(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """With ``-v``: per function, the (action, role) pairs it needed, and a test that did."""
    if config.option.verbose < 1 or not RECORDER.functions():
        return
    terminalreporter.section("AWS operations performed by the application")
    for function in sorted(RECORDER.functions()):
        for pair in sorted(RECORDER.pairs(function)):
            first = RECORDER.first_use(pair, function)
            terminalreporter.write_line(
                f"{function:15} {pair[0]:30} {pair[1]:36} first: {first and first.test}"
            )
