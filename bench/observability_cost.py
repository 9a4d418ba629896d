"""Logging and metrics: our stdlib module (``chalicelib/observability.py``) against Powertools
for AWS Lambda's ``Logger`` and ``Metrics``, to decide whether Powertools fits the cold-start
budget (ours at most ``cold_start.GOAL_RATIO`` times the floor).

Cold: fresh processes run by ``bench/cold_start_child.py``, interleaved with the floor as in
``bench/cold_start.py``: the floor plus each library (set up, one request's line and metrics
written), and our two tightest cold starts with Powertools set up and used before the app is
imported (what adopting it would add; the app's own stdlib line is still written, which
costs next to nothing at cold start). Warm: microseconds per request to write the line and
its metrics with each, in this process, output discarded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import cold_start, fixtures
from bench.stats import Summary

FLOOR = cold_start.FLOOR
TIMES, DASH = "\u00d7", "\u2013"  # the multiplication sign and the en dash of ranges
STDLIB, POWERTOOLS, HELLO = "stdlib", "powertools", "hello"
# The warm goal: an endpoint at most this many times a hello-world Chalice route; what
# logging may add per request is at most the headroom, (WARM_GOAL_RATIO - 1) hello-worlds.
WARM_GOAL_RATIO = 2.0
FLOOR_STDLIB, FLOOR_POWERTOOLS = "floor_stdlib", "floor_powertools"
GET_TASK, GET_TASK_POWERTOOLS = "get_task", "get_task_powertools"
AUTHORIZER, AUTHORIZER_POWERTOOLS = "authorizer_aws", "authorizer_aws_powertools"
LIBRARIES = {
    STDLIB: "our stdlib module (logging + JSON formatter, EMF in the same line)",
    POWERTOOLS: "Powertools for AWS Lambda: `from aws_lambda_powertools import Logger, Metrics`",
}


def scenarios() -> list[cold_start.Scenario]:
    """The floor, the floor plus each library, and our tightest cold starts with and without
    Powertools (taken from ``cold_start.scenarios``, so the same events and environments)."""
    ours = {scenario.name: scenario for scenario in cold_start.scenarios()}
    line_event = {"observability_event": fixtures.get_task_event(fixtures.sample_task().id)}
    floor = ours[FLOOR]

    def variant(base: cold_start.Scenario, name: str, label: str, which: str) -> Any:
        return dataclasses.replace(
            base,
            name=name,
            label=label,
            payload={**base.payload, **line_event, "observability": which},
            baseline=FLOOR,
            has_goal=False,
        )

    return [
        floor,
        variant(floor, FLOOR_STDLIB, "floor + our stdlib logging and EMF metrics", STDLIB),
        variant(floor, FLOOR_POWERTOOLS, "floor + Powertools Logger and Metrics", POWERTOOLS),
        ours[GET_TASK],
        variant(
            ours[GET_TASK],
            GET_TASK_POWERTOOLS,
            f"{ours[GET_TASK].label} + Powertools",
            POWERTOOLS,
        ),
        ours[AUTHORIZER],
        variant(
            ours[AUTHORIZER],
            AUTHORIZER_POWERTOOLS,
            f"{ours[AUTHORIZER].label} + Powertools",
            POWERTOOLS,
        ),
    ]


@dataclass(frozen=True)
class Comparison:
    """One run's cold and warm figures for both libraries, and the decision they support.

    Powertools fits when, with it, our tightest cold starts stay within the cold-start goal
    even at their upper quartile (not a coin flip on the median), and writing a request's
    line and metrics with it costs no more than the warm goal's headroom.
    """

    cold: dict[str, cold_start.ColdRuns]
    warm_us: dict[str, Summary]  # STDLIB / POWERTOOLS / HELLO -> µs per request

    def extra_ms(self, name: str, series: str = "wall_s") -> float:
        """Median paired difference with the floor (wall time, or ``cpu_s``), in ms."""
        return self.cold[name].extra_ms(self.cold[FLOOR], series)

    def ratio(self, name: str) -> Summary:
        return self.cold[name].ratio_to(self.cold[FLOOR])

    @property
    def cold_fits(self) -> bool:
        """Would our cold starts stay within the goal with Powertools, at the upper quartile?"""
        return all(
            self.ratio(name).q3 <= cold_start.GOAL_RATIO
            for name in (GET_TASK_POWERTOOLS, AUTHORIZER_POWERTOOLS)
        )

    def warm_share(self, library: str) -> float:
        """µs per request of ``library``'s line and metrics, in hello-world requests."""
        return self.warm_us[library].median / self.warm_us[HELLO].median

    @property
    def warm_fits(self) -> bool:
        return self.warm_share(POWERTOOLS) <= WARM_GOAL_RATIO - 1

    @property
    def powertools_fits(self) -> bool:
        return self.cold_fits and self.warm_fits

    @property
    def decision(self) -> str:
        return POWERTOOLS if self.powertools_fits else STDLIB


def measure(rounds: int, warm_batches: int = 30) -> Comparison:
    cold = cold_start.measure(rounds, only=scenarios())
    return Comparison(cold=cold, warm_us=warm_per_request(warm_batches))


# --- warm -----------------------------------------------------------------------------


def warm_per_request(batches: int, calls: int = 2000, seed: int = 1) -> dict[str, Summary]:
    """µs to write one request's line and metrics with each library (stdout discarded),
    batches interleaved in a shuffled order; the summary is over batches."""
    writers = {STDLIB: _stdlib_writer(), POWERTOOLS: _powertools_writer(), HELLO: _hello()}
    samples: dict[str, list[float]] = {name: [] for name in writers}
    shuffler = random.Random(seed)  # noqa: S311 - an order, not a secret
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for write in writers.values():
            for _ in range(calls):  # warm-up
                write()
        for _ in range(batches):
            order = list(writers.items())
            shuffler.shuffle(order)
            for name, write in order:
                started = time.perf_counter()
                for _ in range(calls):
                    write()
                samples[name].append((time.perf_counter() - started) / calls * 1e6)
    return {name: Summary.of(values) for name, values in samples.items()}


def _hello() -> Callable[[], object]:
    """The warm goal's yardstick: a hello-world Chalice route, through the Lambda entry point."""
    from bench.warm_overhead import hello_world_app

    hello, event = hello_world_app(), fixtures.rest_event("GET", "/", "/")
    return lambda: hello(event, None)


def _stdlib_writer() -> Callable[[], object]:
    from chalice import Response
    from chalice.app import Request

    from chalicelib import observability

    logger = logging.getLogger("bench-warm-stdlib")
    observability.configure_logging(logger, {})
    request_log = observability.RequestLog(logger, "dev")
    request = Request(fixtures.get_task_event(fixtures.sample_task().id, fixtures.USER))
    response = Response(body="", status_code=200)
    return lambda: request_log(request, lambda _: response)


def _powertools_writer() -> Callable[[], object]:
    """The same fields as our line, through Powertools: one log line with the request's
    fields, one EMF line with its four metrics (flushed per request, as ``log_metrics``
    does at the end of each invocation)."""
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    with contextlib.redirect_stdout(io.StringIO()):
        logger = Logger(service="bench-warm-powertools")
        metrics = Metrics(namespace="TasksApi", service="bench-warm-powertools")

    def write() -> None:
        started = time.perf_counter()
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        logger.info(
            "request",
            extra={
                "request_id": "2b5d8a8e-6a38-4d51-b0a5-0b7e1f0d2f11",
                "method": "GET",
                "route": "/tasks/{task_id}",
                "status": 200,
                "latency_ms": latency_ms,
                "user_id": fixtures.USER.user_id,
            },
        )
        metrics.add_dimension(name="Stage", value="dev")
        metrics.add_dimension(name="Route", value="GET /tasks/{task_id}")
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        metrics.add_metric(name="4xx", unit=MetricUnit.Count, value=0)
        metrics.add_metric(name="5xx", unit=MetricUnit.Count, value=0)
        metrics.flush_metrics()

    return write


# --- report ---------------------------------------------------------------------------


def summary_cells(comparison: Comparison) -> dict[str, str]:
    """The summary table's cells for this comparison (``bench/report.py`` makes the row)."""
    stdlib, powertools = comparison.extra_ms(FLOOR_STDLIB), comparison.extra_ms(FLOOR_POWERTOOLS)
    warm = comparison.warm_us
    return {
        "what": "Logging + metrics: Powertools Logger/Metrics or our stdlib module",
        "measured": (
            f"cold {stdlib:+.1f} ms (stdlib) vs {powertools:+.1f} ms (Powertools) over the "
            f"floor; with Powertools GET /tasks/{{id}} "
            f"{_x(comparison.ratio(GET_TASK_POWERTOOLS))} the floor, the AWS-stage authorizer "
            f"{_x(comparison.ratio(AUTHORIZER_POWERTOOLS))}; warm "
            f"{warm[STDLIB].median:.1f} vs {warm[POWERTOOLS].median:.1f} µs per request"
        ),
        "baseline": (
            f"floor: {comparison.cold[FLOOR].wall_ms.median:.0f} ms; "
            f"hello-world: {warm[HELLO].median:.0f} µs"
        ),
        "ratio": (
            f"warm {comparison.warm_share(STDLIB):.2f} vs "
            f"{comparison.warm_share(POWERTOOLS):.2f} hello-world"
        ),
        "goal": (
            f"Powertools only if ours stays ≤ {cold_start.GOAL_RATIO}{TIMES} floor and within "
            f"the warm ≤ {WARM_GOAL_RATIO:g}{TIMES} hello-world"
        ),
        "decision": comparison.decision,
    }


def markdown_section(comparison: Comparison, number: int) -> list[str]:
    cold = comparison.cold
    rows = []
    for name, runs in cold.items():
        wall = runs.wall_ms
        rows.append(
            "| "
            + " | ".join(
                [
                    runs.scenario.label,
                    f"{wall.median:.0f}",
                    wall.iqr_text(),
                    "baseline" if name == FLOOR else _ratio_cell(comparison.ratio(name)),
                    "—" if name == FLOOR else f"{comparison.extra_ms(name):+.1f}",
                    f"{runs.median_ms('cpu_s'):.0f}",
                    "—" if name == FLOOR else f"{comparison.extra_ms(name, 'cpu_s'):+.1f}",
                ]
            )
            + " |"
        )
    warm = comparison.warm_us
    goal = cold_start.GOAL_RATIO
    with_powertools = (
        f"GET /tasks/{{id}} {_ratio_cell(comparison.ratio(GET_TASK_POWERTOOLS))} and the "
        f"AWS-stage authorizer {_ratio_cell(comparison.ratio(AUTHORIZER_POWERTOOLS))} the floor"
    )
    cold_verdict = f"With Powertools our tightest cold starts would be {with_powertools}: " + (
        f"within the ≤ {goal}{TIMES} goal even at the upper quartile."
        if comparison.cold_fits
        else f"**not safely within the ≤ {goal}{TIMES} goal** (upper quartile above it)."
    )
    headroom = WARM_GOAL_RATIO - 1
    warm_verdict = (
        f"Against a hello-world route ({warm[HELLO].median:.1f} µs, the warm goal's yardstick: "
        f"an endpoint ≤ {WARM_GOAL_RATIO:g}{TIMES} it, so all our own work per request must fit "
        f"in {headroom:g} hello-world), the stdlib line costs "
        f"{comparison.warm_share(STDLIB):.2f} hello-world and Powertools "
        f"{comparison.warm_share(POWERTOOLS):.2f}: "
        + (
            "within the headroom."
            if comparison.warm_fits
            else "**more than the whole headroom, before the endpoint does anything**."
        )
    )
    decision = (
        "**Decision: Powertools** (it fits both budgets)."
        if comparison.powertools_fits
        else "**Decision: the stdlib module** (Powertools does not fit the budget)."
    )
    return [
        f"## {number}. Logging and metrics: Powertools or the standard library",
        "",
        "Fresh processes as in section 1, interleaved with the floor in shuffled rounds "
        f"({len(cold[FLOOR].wall_s)} rounds after a warm-up round). Each library is set up and "
        "writes one request's log line and metrics: "
        f"{LIBRARIES[STDLIB]}; {LIBRARIES[POWERTOOLS]} (a Logger line plus an EMF line from "
        "Metrics). The last rows add Powertools, set up and used once, before the app is "
        "imported. Extra ms: median of the paired differences with the floor.",
        "",
        f"| scenario | median ms | IQR ms | {TIMES} floor (IQR) | extra ms | CPU ms "
        "| extra CPU ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"- Cold: our module adds {comparison.extra_ms(FLOOR_STDLIB):.1f} ms to the floor "
        f"({comparison.extra_ms(FLOOR_STDLIB, 'cpu_s'):.1f} ms of CPU), Powertools "
        f"{comparison.extra_ms(FLOOR_POWERTOOLS):.1f} ms "
        f"({comparison.extra_ms(FLOOR_POWERTOOLS, 'cpu_s'):.1f} ms of CPU). {cold_verdict}",
        f"- Warm, per request (line and metrics written, output discarded; batches "
        f"interleaved): stdlib {warm[STDLIB].median:.1f} µs (IQR {warm[STDLIB].iqr_text(1)}), "
        f"Powertools {warm[POWERTOOLS].median:.1f} µs (IQR {warm[POWERTOOLS].iqr_text(1)}), "
        f"{warm[POWERTOOLS].median / warm[STDLIB].median:.1f}{TIMES} ours. {warm_verdict}",
        f"- {decision}",
        "",
    ]


def _x(summary: Summary) -> str:
    return f"{summary.median:.2f}{TIMES}"


def _ratio_cell(summary: Summary) -> str:
    return f"{summary.median:.2f}{TIMES} ({summary.q1:.2f}{DASH}{summary.q3:.2f})"


def main() -> None:
    """``python -m bench.observability_cost [ROUNDS]``: this comparison alone, printed."""
    import sys

    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    comparison = measure(rounds)
    print("\n".join(markdown_section(comparison, 1)))
    cells = summary_cells(comparison)
    print(f"decision: {cells['decision']}; {cells['measured']}")
    print(
        f"ours with stdlib: GET /tasks/{{id}} {_x(comparison.ratio(GET_TASK))}, "
        f"authorizer (AWS stage) {_x(comparison.ratio(AUTHORIZER))}"
    )


if __name__ == "__main__":
    main()
