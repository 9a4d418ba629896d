"""One cold start, run as ``python bench/cold_start_child.py SCENARIO`` in a fresh interpreter.

Reads ``{"event": ..., "responses": {...}, "bundle": ...}`` on stdin, imports what
SCENARIO needs, serves one event, and prints one JSON line: in-process import and
first-request times, CPU time, peak RSS and the outcome, so the parent can check the
request really succeeded.

Storage is stubbed below botocore's serializer: every client the app creates is a real
botocore client (made through boto3 or not; its creation cost counts) whose ``before-call``
hook answers from ``responses`` instead of the network, as botocore's Stubber does.

With ``task_root`` (an unpacked deployment.zip with its 3.13 bytecode, run by the runtime's
Python in a virtualenv holding only boto3), the task root replaces the project on
``sys.path``, as in Lambda. ``clients``: ``botocore`` makes the app's ``boto3.client(...)``
calls create botocore-level clients (``botocore.session`` without importing boto3), the
what-if of issue 15; ``boto3`` (where the app creates botocore-level clients) the reverse.

With ``bundle`` (an unpacked deployment.zip, run with PYTHONDONTWRITEBYTECODE=1), the
app and what the zip bundles are imported from it and compiled from source every time,
as in Lambda, while boto3 still comes from the environment, as the Lambda runtime's does.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - the clock starts first
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

# deployment.zip bundles PyJWT without ``cryptography`` (the dev venv has it for moto):
# hide it so ``import jwt`` costs what it costs in Lambda.
sys.modules["cryptography"] = None  # type: ignore[assignment]
# Run by path, so sys.path[0] is bench/: import from the project instead, as Lambda does.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stub_clients(responses: dict) -> None:
    """Make every botocore client (boto3's too) answer from ``responses`` (keyed by
    operation name)."""
    import botocore.session
    from botocore.awsrequest import AWSResponse

    real_create = botocore.session.Session.create_client

    def answer(model: object, **_: object) -> tuple:
        return AWSResponse(None, 200, {}, None), json.loads(json.dumps(responses[model.name]))

    def create_client(self: object, *args: object, **kwargs: object) -> object:
        made = real_create(self, *args, **kwargs)
        made.meta.events.register("before-call.*.*", answer)
        return made

    botocore.session.Session.create_client = create_client


def choose_clients(which: str) -> None:
    """Before the app is imported: the app's clients made by ``which`` (see the docstring)."""
    import types

    if which == "botocore":
        shim = types.ModuleType("boto3")
        session: list = []

        def client(service: str, **kwargs: object) -> object:
            import botocore.session

            if not session:
                session.append(botocore.session.get_session())
            return session[0].create_client(service, **kwargs)

        shim.client = client  # type: ignore[attr-defined]
        sys.modules["boto3"] = shim
    elif which == "boto3":
        import chalicelib.storage.client as clients

        if hasattr(clients, "_session"):  # botocore-level: make them through boto3 instead

            def boto3_client(service: str, **kwargs: object) -> object:
                import boto3

                return boto3.client(service, **kwargs)

            clients._create_client = boto3_client


def set_up_observability(which: str, event: dict) -> None:
    """Set up logging and metrics and write one request's line and metrics, with our stdlib
    module or with Powertools for AWS Lambda (for ``bench/observability_cost.py``)."""
    if which == "stdlib":
        import logging

        from chalice import Response
        from chalice.app import Request

        from chalicelib import observability

        logger = logging.getLogger("bench-stdlib")
        observability.configure_logging(logger, {})
        request_log = observability.RequestLog(logger, "dev")
        request_log(Request(event), lambda _: Response(body="", status_code=200))
    elif which == "powertools":
        from aws_lambda_powertools import Logger, Metrics
        from aws_lambda_powertools.metrics import MetricUnit

        logger = Logger(service="bench-powertools")  # not the app's logger name
        metrics = Metrics(namespace="TasksApi", service="bench-powertools")
        logger.info("request", extra={"route": event["resource"], "status": 200})
        metrics.add_dimension(name="Route", value=f"{event['httpMethod']} {event['resource']}")
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=1.0)
        metrics.flush_metrics()
    else:
        raise SystemExit(f"unknown observability {which!r}")


def serve(scenario: str, payload: dict) -> tuple[float, float, object]:
    """Import, then serve the event; the time of each step, and the outcome.

    With ``observability`` in the payload, logging and metrics are set up (and used once)
    first: after the floor's client, or before the app is imported."""
    event = payload.get("event")
    observability = payload.get("observability")
    begin = time.perf_counter()
    if scenario == "floor":
        import boto3
        import chalice
        import jwt

        import_s = time.perf_counter() - begin
        request_begin = time.perf_counter()
        boto3.client("dynamodb", region_name=payload["region"])
        if observability:
            set_up_observability(observability, payload["observability_event"])
        outcome: object = "client created"
    elif scenario == "floor_botocore":  # what-if: the same, skipping boto3 (and s3transfer)
        import botocore.session
        import chalice  # noqa: F401 - imported for its cost
        import jwt  # noqa: F401

        import_s = time.perf_counter() - begin
        request_begin = time.perf_counter()
        botocore.session.get_session().create_client("dynamodb", region_name=payload["region"])
        outcome = "client created"
    elif scenario == "fastapi":
        from bench.fastapi_baseline import handler

        import_s = time.perf_counter() - begin
        request_begin = time.perf_counter()
        outcome = handler(event, None)
    elif scenario in ("request", "authorizer"):
        if observability:
            set_up_observability(observability, payload["observability_event"])
        if payload.get("clients"):
            choose_clients(payload["clients"])
        import app

        import_s = time.perf_counter() - begin
        stub_clients(payload["responses"])  # set-up, not the app's cost
        request_begin = time.perf_counter()
        handler = app.app if scenario == "request" else app.jwt_authorizer
        outcome = handler(event, None)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    return import_s, time.perf_counter() - request_begin, outcome


def main() -> None:
    scenario = sys.argv[1]
    payload = json.loads(sys.stdin.read())
    if payload.get("task_root"):  # what ships, as Lambda runs it: the task root, no project
        sys.path[0] = payload["task_root"]
    elif payload.get("bundle"):  # deployment.zip unpacked: app, chalicelib, chalice, jwt from it
        sys.path.insert(0, payload["bundle"])
    import_s, request_s, outcome = serve(scenario, payload)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss would include the parent's peak (Linux keeps it across exec); VmHWM does not.
    peak_kib = usage.ru_maxrss
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak_kib = int(line.split()[1])
    except OSError:
        pass
    print(
        json.dumps(
            {
                "import_s": import_s,
                "request_s": request_s,
                "in_process_s": time.perf_counter() - STARTED,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "max_rss_kib": peak_kib,
                "outcome": outcome,
            }
        )
    )


if __name__ == "__main__":
    main()
