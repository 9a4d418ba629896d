"""One cold start, run as ``python bench/cold_start_child.py KIND`` in a fresh interpreter.

Reads ``{"event": ..., "responses": {...}, ...}`` on stdin, imports what KIND needs, serves
one event, prints one JSON line (in-process import and first-request times, CPU time, peak
RSS and the outcome, so the parent can check the request really succeeded) and exits at once,
without the interpreter's teardown, as a Lambda cold start ends with its answer.

Storage is stubbed below botocore's serializer: every client the app creates is a real
botocore client (its creation cost counts) whose ``before-call`` hook answers from
``responses`` instead of the network, as botocore's Stubber does.

With ``task_root`` (an unpacked deployment.zip with its 3.13 bytecode, run by the runtime's
Python in a virtualenv holding only boto3 and the floor's PyJWT), the task root replaces the
project on ``sys.path``, as in Lambda. ``clients: boto3`` makes the app create its clients
through boto3 instead of one botocore session (the option issue 15 replaced).
``after_restore`` models SnapStart: the imports and the SSM client are made first (before the
snapshot); only the first request is timed.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - the clock starts first
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

# PyJWT (the floor's) imports ``cryptography`` when installed (the dev venv has it for moto;
# Lambda's runtime does not): hide it so ``import jwt`` costs what it costs in Lambda.
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


def boto3_clients() -> None:
    """Before the app is imported: its clients made by ``boto3.client`` (boto3's default
    session) instead of its own botocore session."""
    import chalicelib.storage.client as clients

    def boto3_client(service: str, **kwargs: object) -> object:
        import boto3

        return boto3.client(service, **kwargs)

    clients._create_client = boto3_client


def serve(kind: str, payload: dict) -> tuple[float, float, object]:
    """Import, then serve the event; the time of each step, and the outcome."""
    event = payload.get("event")
    begin = time.perf_counter()
    if kind == "floor":
        import boto3
        import chalice
        import jwt  # noqa: F401

        import_s = time.perf_counter() - begin
        request_begin = time.perf_counter()
        boto3.client("dynamodb", region_name=payload["region"])
        outcome: object = "client created"
    elif kind == "floor_botocore":  # what the app cannot do without: Chalice, one client
        import botocore.session
        import chalice  # noqa: F401 - imported for its cost

        import_s = time.perf_counter() - begin
        request_begin = time.perf_counter()
        botocore.session.get_session().create_client("dynamodb", region_name=payload["region"])
        outcome = "client created"
    elif kind == "fastapi":
        from bench.fastapi_baseline import handler

        import_s = time.perf_counter() - begin
        request_begin = time.perf_counter()
        outcome = handler(event, None)
    elif kind in ("request", "authorizer"):
        if payload.get("clients") == "boto3":
            boto3_clients()
        import app

        import_s = time.perf_counter() - begin
        stub_clients(payload["responses"])  # set-up, not the app's cost
        request_begin = time.perf_counter()
        handler = app.app if kind == "request" else app.jwt_authorizer
        outcome = handler(event, None)
    elif kind == "after_restore":  # SnapStart: init ran before the snapshot
        import app
        from chalicelib import runtime

        stub_clients(payload["responses"])
        runtime.ssm_client()
        import_s = time.perf_counter() - begin
        request_begin = time.perf_counter()
        outcome = app.jwt_authorizer(event, None)
    else:
        raise SystemExit(f"unknown kind {kind!r}")
    return import_s, time.perf_counter() - request_begin, outcome


def main() -> None:
    kind = sys.argv[1]
    payload = json.loads(sys.stdin.read())
    if payload.get("task_root"):  # what ships, as Lambda runs it: the task root, no project
        sys.path[0] = payload["task_root"]
    import_s, request_s, outcome = serve(kind, payload)
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
        ),
        flush=True,
    )
    # No interpreter teardown (freeing every module, client and loaded model: 60-100 ms
    # here): a Lambda cold start ends with the answer and never pays it, and it would favour
    # whichever process loaded less. The parent's wall time is spawn to answer.
    os._exit(0)


if __name__ == "__main__":
    main()
