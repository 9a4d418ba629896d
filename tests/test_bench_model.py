"""Unit: the benchmarks' Lambda model, prices, request units and report assembly (no timing).

``make bench`` itself is never part of ``make test``; these check the arithmetic and that the
document assembles from a run's results, in milliseconds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench import dynamodb_cost, lambda_cost, report, warm_overhead
from bench.lambda_cost import LOGIN_GOAL_MS, Operation
from bench.machine import Machine
from bench.password_hashing import OWASP_SCRYPT, Hashing, Setting
from bench.stats import Summary

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Shaped like a run on this machine: login and register are nearly all scrypt.
OPERATIONS = {
    "login": Operation(cpu_ms=260.0, wait_ms=0.0, calls=6, log_bytes=524),
    "register": Operation(cpu_ms=255.0, wait_ms=0.0, calls=1, log_bytes=530),
    "authorizer": Operation(cpu_ms=0.2, wait_ms=0.0, calls=0, log_bytes=0),
    "task read": Operation(cpu_ms=1.0, wait_ms=0.0, calls=1, log_bytes=566),
    "create": Operation(cpu_ms=1.0, wait_ms=0.0, calls=1, log_bytes=549),
    "update": Operation(cpu_ms=1.0, wait_ms=0.0, calls=1, log_bytes=571),
    "list, 20 tasks": Operation(cpu_ms=2.0, wait_ms=0.0, calls=1, log_bytes=549),
}


def test_cpu_stretches_below_one_vcpu_and_not_above() -> None:
    login = OPERATIONS["login"]
    round_trips = 6 * lambda_cost.DYNAMODB_ROUND_TRIP_MS
    assert login.latency_ms(1769) == pytest.approx(260 + round_trips)
    assert login.latency_ms(3538) == pytest.approx(260 + round_trips)
    assert login.latency_ms(512) == pytest.approx(260 * 1769 / 512 + round_trips)


def test_duration_is_billed_per_whole_millisecond_plus_the_request() -> None:
    read = OPERATIONS["task read"]
    billed_s = math.ceil(read.latency_ms(1024)) / 1000
    expected = billed_s * 1.0 * 0.0000133334 + 0.20 / 1e6
    assert read.usd(1024) == pytest.approx(expected)


def test_prices_are_per_unit_and_dated() -> None:
    prices = lambda_cost.PRICES
    assert prices["rest_request"].usd == pytest.approx(3.50e-6)
    assert prices["http_request"].usd == pytest.approx(1.00e-6)
    assert prices["wru"].usd == pytest.approx(0.625e-6)
    assert prices["rru"].usd == pytest.approx(0.125e-6)
    assert prices["log_gb"].usd == pytest.approx(0.50)
    assert all(p.source.startswith("https://aws.amazon.com/") for p in prices.values())
    assert lambda_cost.PRICE_DATE == "2026-12"


def test_configured_memory_is_read_as_chalice_resolves_it() -> None:
    config: dict[str, Any] = {
        "lambda_memory_size": 512,
        "lambda_functions": {"purge_account": {"lambda_memory_size": 256}},
        "stages": {"prod": {"lambda_functions": {"jwt_authorizer": {"lambda_memory_size": 1024}}}},
    }
    assert lambda_cost.configured_memory(config) == {
        "api_handler": 512,
        "jwt_authorizer": 1024,
        "purge_account": 256,
    }
    project = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    assert set(lambda_cost.configured_memory(project)) == set(lambda_cost.FUNCTIONS)


def test_the_api_handler_gets_the_smallest_size_meeting_the_login_goal_with_headroom() -> None:
    sizes = lambda_cost.memory_sizes({"api_handler": 512})
    choice = lambda_cost.recommend(OPERATIONS, sizes)["api_handler"]
    login = OPERATIONS["login"]
    cautious = Operation(login.cpu_ms * lambda_cost.HEADROOM, 0.0, login.calls, 0)
    assert cautious.latency_ms(choice.memory_mb) <= LOGIN_GOAL_MS
    assert all(cautious.latency_ms(s) > LOGIN_GOAL_MS for s in sizes if s < choice.memory_mb)


def test_the_mix_prices_both_gateways_and_every_line() -> None:
    units = {route: lambda_cost.RouteUnits(1.0, 0.0) for route in lambda_cost.MIX}
    lines = lambda_cost.mix_lines(OPERATIONS, units, 1769, 1024)
    rest, http = lambda_cost.totals(lines)
    assert rest - http == pytest.approx(3.50 - 1.00)
    assert lines["DynamoDB read request units"] == pytest.approx(0.125)
    assert lines["CloudWatch Logs ingestion"] > 0
    assert sum(lambda_cost.MIX.values()) == pytest.approx(1.0)


def test_request_units_follow_on_demand_rules() -> None:
    small = {"user_id": {"S": "u" * 26}, "title": {"S": "t" * 100}, "version": {"N": "12"}}
    assert dynamodb_cost._size(small) == 7 + 26 + 5 + 100 + 7 + 3
    assert dynamodb_cost._reads(4096, consistent=True) == 1
    assert dynamodb_cost._reads(4097, consistent=False) == 1.0
    assert dynamodb_cost._writes(1025) == 2


def _summary(value: float) -> Summary:
    return Summary.of([value * 0.95, value, value * 1.05])


def test_the_document_assembles_from_a_run_and_shows_configured_and_recommended() -> None:
    machine = Machine("CPU", 2, "CPython 3.11", "Linux", "2026-12-06", {}, (1.0, 1.0, 1.0))
    table = dynamodb_cost.CostTable(columns=[10, 5000])
    for size in table.columns:
        for route in lambda_cost.MIX:
            items = 21 if route.startswith("GET /tasks (") else None
            table.add(route, size, dynamodb_cost.Cost(200, {"GetItem": 1}, items, 1.0, 1.0))
    current = Setting(15, 8, 3, _summary(0.27))
    results = report.Results(
        machine=machine,
        settings={"warm rounds": 5},
        memory={"api_handler": 512, "jwt_authorizer": 512, "purge_account": 512},
        warm=[warm_overhead.RouteCost("GET /tasks/{id}", 40.0, 21.0, 19.0)],
        dynamodb=table,
        hashing=Hashing(current, [Setting(*row, _summary(0.27)) for row in OWASP_SCRYPT]),
        operations=OPERATIONS,
    )
    document = report.markdown(results)
    assert "## 2. Lambda memory" in document
    assert "configured for" in document and "recommended for" in document
    assert "| `api_handler` | 512 | **" in document
    assert "**total per million requests**" in document
    assert "Warm budget, GET /tasks/{id}" in document
    assert "same-body" not in document and "2\u00d7 hello-world" not in document
