"""DynamoDB calls and request units per endpoint, counted with botocore event hooks on the
app's own client, over in-process moto, for users owning 10, 1,000 and 5,000 tasks.

The point is the shape of the cost, not speed: every request should cost the same whatever
the user owns, and a list page should read ``limit + 1`` items at most. Request units follow
DynamoDB's on-demand rules (reads per 4 KB, half for eventually consistent ones; writes per
1 KB; transactions twice; item sizes as DynamoDB counts them, approximately).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from bench import fixtures
from bench.paths import PROJECT_DIR
from devstack import seeding
from devstack.storage_meter import StorageMeter

SIZES = (10, 1000, 5000)
CHEAP_SCRYPT = {"log2_n": 4, "r": 1, "p": 1}  # as tests/conftest.py: hashing is not measured
PASSWORD = "correct horse battery"  # noqa: S105 - a test user's


@dataclass(frozen=True)
class Cost:
    """What one request did: its HTTP status, the calls it made and the items it queried."""

    status: int
    calls: dict[str, int]
    items_read: int | None
    read_units: float = 0.0
    write_units: float = 0.0

    def text(self) -> str:
        if self.status == 0:
            return "— (no page 2)"
        if not self.calls:
            return "none"
        calls = ", ".join(f"{count} {name}" for name, count in sorted(self.calls.items()))
        if self.items_read is not None:
            calls += f" ({self.items_read} items read)"
        return f"{calls}; {self.read_units:g} RRU, {self.write_units:g} WRU"


NO_PAGE = Cost(0, {}, None)


def _size(item: dict[str, Any] | None) -> int:
    """An item's size as DynamoDB counts it: names plus values (numbers about half their
    digits, lists and maps 3 bytes plus 1 per element)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in (item or {}).items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return len(raw.lstrip("-").replace(".", "")) // 2 + 2
    if kind in ("SS", "NS"):
        return sum(_value_size({kind[0]: member}) for member in raw)
    if kind == "L":
        return 3 + sum(1 + _value_size(member) for member in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in raw.items())
    return 1 if kind in ("BOOL", "NULL") else len(str(raw))


def _reads(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def _writes(size: int) -> float:
    return float(max(1, math.ceil(size / 1024)))


class UnitMeter(StorageMeter):
    """``StorageMeter`` plus the on-demand request units each call consumes."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.read_units = self.write_units = 0.0
        self._params: dict[str, Any] = {}
        client.meta.events.register("before-parameter-build.dynamodb", self._keep)
        client.meta.events.register("after-call.dynamodb", self._units)

    def _keep(self, params: dict[str, Any], **_: Any) -> None:
        self._params = params

    def _units(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        params, name = self._params, model.name
        consistent = bool(params.get("ConsistentRead"))
        if name == "GetItem":
            self.read_units += _reads(_size(parsed.get("Item")), consistent)
        elif name in ("Query", "Scan"):
            items = parsed.get("Items", [])
            size = sum(_size(item) for item in items)
            if items and parsed.get("ScannedCount", 0) > len(items):
                size = size * parsed["ScannedCount"] // len(items)
            self.read_units += _reads(size, consistent)
        elif name == "PutItem":
            self.write_units += _writes(_size(params.get("Item")))
        elif name in ("UpdateItem", "DeleteItem"):
            self.write_units += _writes(_size(parsed.get("Attributes")))
        elif name == "BatchWriteItem":
            for requests in params.get("RequestItems", {}).values():
                for request in requests:
                    item = request.get("PutRequest", {}).get("Item")
                    self.write_units += _writes(_size(item))
        elif name == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                self.write_units += 2 * _writes(_size(entry.get("Put", {}).get("Item")))
        elif name == "TransactGetItems":
            for response in parsed.get("Responses", []):
                self.read_units += 2 * _reads(_size(response.get("Item")), True)

    def reset(self) -> None:
        super().reset()
        self.read_units = self.write_units = 0.0


@dataclass
class CostTable:
    """Rows (request label) by columns (tasks the user owns)."""

    columns: list[int] = field(default_factory=list)
    rows: dict[str, dict[int, Cost]] = field(default_factory=dict)

    def add(self, label: str, tasks: int, cost: Cost) -> None:
        self.rows.setdefault(label, {})[tasks] = cost


def measure(sizes: tuple[int, ...] = SIZES) -> CostTable:
    """Register a user per size, seed its tasks, then meter one request of every kind."""
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import runtime
    from chalicelib.auth import passwords
    from chalicelib.config import Settings
    from chalicelib.storage import table_layout

    table = CostTable(columns=list(sizes))
    saved_parameters = passwords.DEFAULT_PARAMETERS
    with fixtures.environ(fixtures.local_stage_environ()), mock_aws():
        settings = Settings.from_environ(os.environ)
        seeder = boto3.client("dynamodb")
        table_layout.create_missing_tables(seeder, settings)
        passwords.DEFAULT_PARAMETERS = passwords.ScryptParameters(**CHEAP_SCRYPT)
        runtime.reset()
        try:
            import app as tasks_api

            meter = UnitMeter(runtime.dynamodb_client())
            with Client(tasks_api.app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
                api = _Api(client, meter)
                for size in sizes:
                    _measure_user(api, table, size, seeder, settings.tasks_table, tasks_api)
        finally:
            passwords.DEFAULT_PARAMETERS = saved_parameters
            runtime.reset()
    return table


class _Api:
    """Requests through ``chalice.test.Client`` (which runs the authorizer), metered."""

    def __init__(self, client: Any, meter: UnitMeter) -> None:
        self.client = client
        self.meter = meter

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Cost, Any]:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        raw = b""
        if body is not None:
            all_headers["Content-Type"] = "application/json"
            raw = json.dumps(body).encode()
        self.meter.reset()
        response = self.client.http.request(method, path, headers=all_headers, body=raw)
        return self.cost(response.status_code), _json_or_none(response.body)

    def cost(self, status: int) -> Cost:
        meter = self.meter
        items = sum(meter.items_read) if meter.items_read else None
        return Cost(status, dict(meter.calls), items, meter.read_units, meter.write_units)


def _measure_user(
    api: _Api, table: CostTable, size: int, seeder: Any, tasks_table: str, tasks_api: Any
) -> None:
    username = f"bench{size}"

    def record(label: str, cost: Cost) -> None:
        table.add(label, size, cost)

    cost, user = api.send("POST", "/auth/register", {"username": username, "password": PASSWORD})
    record("POST /auth/register", cost)
    cost, login = api.send("POST", "/auth/login", {"username": username, "password": PASSWORD})
    record("POST /auth/login", cost)
    token = login["access_token"]
    wrong = {"username": username, "password": "wrong password"}
    record("POST /auth/login (wrong password)", api.send("POST", "/auth/login", wrong)[0])

    api.meter.reset()
    event = fixtures.authorizer_event(token)
    allowed = tasks_api.jwt_authorizer(event, None)["policyDocument"]["Statement"][0]["Effect"]
    record("authorizer (its own Lambda invocation)", api.cost(200 if allowed == "Allow" else 403))
    record("GET /users/me", api.send("GET", "/users/me", token=token)[0])

    seed_tasks(seeder, tasks_table, user["id"], size)
    for label, query in [("GET /tasks", ""), ("GET /tasks?status=done", "status=done")]:
        cost, page = api.send("GET", f"/tasks?{query}".rstrip("?"), token=token)
        record(f"{label} (page 1 of limit 20)", cost)
        cursor = (page or {}).get("next_cursor")
        if cursor:
            after = f"/tasks?{query}&cursor={cursor}" if query else f"/tasks?cursor={cursor}"
            record(f"{label} (page 2, cursor)", api.send("GET", after, token=token)[0])
        else:
            record(f"{label} (page 2, cursor)", NO_PAGE)
    record("GET /tasks?limit=100", api.send("GET", "/tasks?limit=100", token=token)[0])

    cost, task = api.send("POST", "/tasks", {"title": "metered"}, token=token)
    record("POST /tasks", cost)
    keyed = {"Idempotency-Key": f"bench-{size}"}
    cost, _ = api.send("POST", "/tasks", {"title": "keyed"}, token=token, headers=keyed)
    record("POST /tasks with Idempotency-Key", cost)
    cost, _ = api.send("POST", "/tasks", {"title": "keyed"}, token=token, headers=keyed)
    record("POST /tasks, same Idempotency-Key again", cost)
    path = f"/tasks/{task['id']}"
    record("GET /tasks/{id}", api.send("GET", path, token=token)[0])
    record("PATCH /tasks/{id}", api.send("PATCH", path, {"status": "done"}, token=token)[0])
    cost, _ = api.send("PUT", path, {"title": "replaced"}, token=token, headers={"If-Match": '"2"'})
    record("PUT /tasks/{id} (If-Match)", cost)
    record("DELETE /tasks/{id}", api.send("DELETE", path, token=token)[0])


def seed_tasks(client: Any, table_name: str, user_id: str, count: int) -> None:
    """``count`` tasks straight into the table (statuses in turn)."""
    tasks = (fixtures.sample_task(i) for i in range(count))
    seeding.seed_tasks(client, table_name, user_id, tasks)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None
