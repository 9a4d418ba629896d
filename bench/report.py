"""Turn one run's results into docs/benchmarks.md and the summary table printed at the end."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench import (
    account_purge,
    cold_start,
    dynamodb_cost,
    lambda_cost,
    package_size,
    password_hashing,
    warm_overhead,
)
from bench.lambda_cost import LOGIN_GOAL_MS, MIX, PRICE_DATE, PRICES, Choice, stretch
from bench.machine import Machine
from bench.stats import Summary

TIMES, DASH = "\u00d7", "\u2013"  # the multiplication sign and the en dash of ranges
VERDICT = {True: "met", False: "**missed**", None: "—"}


@dataclass
class Results:
    """Everything one ``make bench`` measured; a section that failed is in ``failures``."""

    machine: Machine
    settings: dict[str, Any]
    memory: dict[str, int]  # configured MB per function (.chalice/config.json)
    cold: dict[str, cold_start.ColdRuns] | None = None
    imports: list[cold_start.ImportCost] | None = None
    warm: list[warm_overhead.RouteCost] | None = None
    dynamodb: dynamodb_cost.CostTable | None = None
    purge: account_purge.Purge | None = None
    package: package_size.Package | None = None
    hashing: password_hashing.Hashing | None = None
    operations: dict[str, lambda_cost.Operation] | None = None
    runtime_skipped: str | None = None  # why the package's cold starts on 3.13 were not run
    failures: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per section

    def sizes(self) -> list[int]:
        return lambda_cost.memory_sizes(self.memory)

    def choices(self) -> dict[str, Choice]:
        if not self.operations:
            return {}
        return lambda_cost.recommend(self.operations, self.sizes(), self.purge)


Row = tuple[str, str, str, str, str, "bool | None"]  # what, measured, baseline, ratio, goal, met


def _table(header: str, rows: list[list[str]]) -> str:
    """A markdown table; ``header`` is its cells joined by ``|``."""
    cells = header.split("|")
    lines = ["| " + " | ".join(cells) + " |", "|" + "|".join("---" for _ in cells) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(summary: Summary) -> str:
    return f"{summary.median:.2f}{TIMES} ({summary.q1:.2f}{DASH}{summary.q3:.2f})"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if abs(value) >= 10 else f"{value:.1f} ms"


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.995 else f"${value:.3f}"


def _names(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


# --- summary --------------------------------------------------------------------------


def summary_rows(results: Results) -> list[Row]:
    rows: list[Row] = []
    cold = results.cold or {}
    for runs in cold.values():
        scenario = runs.scenario
        if scenario.baseline is not None and scenario.has_goal:
            base = cold[scenario.baseline]
            ratio = runs.ratio_to(base)
            goal = f"≤ {scenario.goal}{TIMES} {scenario.baseline}"
            rows.append(
                (f"Cold start, {scenario.label}", _ms(runs.wall_ms.median),
                 f"{scenario.baseline}: {_ms(base.wall_ms.median)}", _ratio(ratio), goal,
                 ratio.median <= scenario.goal)
            )  # fmt: skip
    if results.operations:
        login, choices = results.operations["login"], results.choices()
        for which, mb in (("configured", results.memory["api_handler"]),
                          ("recommended", choices["api_handler"].memory_mb)):  # fmt: skip
            rows.append(
                (f"Modelled login on Lambda, API handler at {mb:,} MB ({which})",
                 _ms(login.latency_ms(mb)), f"CPU here: {login.cpu_ms:.0f} ms",
                 f"{stretch(mb):.2f}{TIMES} CPU", f"≤ {LOGIN_GOAL_MS:.0f} ms",
                 login.latency_ms(mb) <= LOGIN_GOAL_MS)
            )  # fmt: skip
        if results.dynamodb:
            by_size = _price_by_tasks(results, choices)
            (low, rest, _), high = by_size[0], by_size[-1][1]
            rows.append(
                ("Price per million requests of the mix, by tasks per user",
                 ", ".join(f"{n:,}: {_usd(r)}" for n, r, _ in by_size)
                 + f" (REST; HTTP API {_usd(by_size[-1][2])})",
                 f"{low:,} tasks: {_usd(rest)}", f"{high / rest:.2f}{TIMES}",
                 f"does not grow (≤ 1.01{TIMES})", high <= rest * 1.01)
            )  # fmt: skip
    for r in results.warm or []:
        rows.append(
            (f"Warm budget, {r.label}", f"+{r.added_us:.0f} µs CPU ({r.ours_us:.0f} µs in all)",
             f"hello-world: {r.baseline_us:.0f} µs", f"{r.ours_us / r.baseline_us:.2f}{TIMES}",
             f"our code < {warm_overhead.BUDGET_MS * 1000:.0f} µs", r.met)
        )  # fmt: skip
    if results.package:
        size, goal = results.package.zip_bytes, package_size.GOAL_BYTES
        rows.append(
            ("Package: deployment.zip (`make build STAGE=dev`)", f"{size / 1000:,.1f} kB",
             "—", f"{size / goal:.0%} of goal", "≤ 1 MB", size <= goal)
        )  # fmt: skip
    if results.hashing:
        now = results.hashing.current
        rows.append(
            (f"Password hash, scrypt {now.label}", f"{now.cpu_s.median * 1000:.0f} ms CPU, "
             f"{now.memory_bytes / 2**20:.0f} MiB", "OWASP scrypt table", "—",
             "meets an OWASP setting", results.hashing.owasp_row is not None)
        )  # fmt: skip
    return rows


def console_table(results: Results) -> str:
    rows = [[*row[:5], VERDICT[row[5]]] for row in summary_rows(results)]
    return _table("benchmark|measured|baseline (same run)|ratio (IQR)|goal|verdict", rows)


# --- the document ---------------------------------------------------------------------


def markdown(results: Results) -> str:
    m = results.machine
    load = f"{_load(m.load_before)} at the start, {_load(m.load_after)} at the end"
    machine = [
        ["date", m.date],
        ["CPU", f"{m.cpu_model}, {m.cores} cores"],
        ["Python", m.python],
        ["system", m.system],
        ["load average (1, 5, 15 min)", load],
        ["versions", ", ".join(f"{k} {v}" for k, v in m.versions.items())],
        ["rounds", ", ".join(f"{k} {v:,}" for k, v in results.settings.items())],
        ["seconds", ", ".join(f"{k} {v:.0f}" for k, v in results.seconds.items()) or "—"],
    ]
    parts = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (the `bench/` package) in one run; do not edit by hand, run "
        "it again. Timings are **ratios against a baseline measured in the same run**, or CPU "
        "time, because this small machine is shared and noisy; prices are list prices with "
        "their date and source. Nothing here gates a test.",
        "",
        "## Machine",
        "",
        _table("|", machine),
        "",
        "## Summary",
        "",
        console_table(results),
        "",
    ]
    if results.failures:
        parts += ["**Sections that failed in this run:**", ""]
        parts += [f"- {name}: `{error}`" for name, error in results.failures.items()] + [""]
    missed = [
        f"- **{r[0]}**: {r[1]} (goal {r[4]})." for r in summary_rows(results) if r[5] is False
    ]
    parts += ["## Goals missed in this run", "", *(missed or ["None."]), ""]
    sections = (
        (results.cold, _cold_section),
        (results.operations, _memory_section),
        (results.operations, _price_section),
        (results.warm, _warm_section),
        (results.dynamodb, _dynamodb_section),
        (results.package, _package_section),
        (results.hashing, _hashing_section),
    )
    for present, section in sections:
        if present:
            parts += section(results)
    return "\n".join(parts).rstrip() + "\n"


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _cold_section(results: Results) -> list[str]:
    cold = results.cold or {}
    rows = []
    for runs in cold.values():
        wall, base = runs.wall_ms, cold.get(runs.scenario.baseline or "")
        rows.append(
            [runs.scenario.label, f"{wall.median:.0f}", wall.iqr_text(),
             _ratio(runs.ratio_to(base)) if base else "baseline",
             f"{runs.median_ms('import_s'):.0f}", f"{runs.median_ms('request_s'):.1f}",
             f"{runs.median_ms('cpu_s'):.0f}", f"{statistics.median(runs.max_rss_kib) / 1024:.0f}"]
        )  # fmt: skip
    lines = [
        "## 1. Cold start",
        "",
        "A fresh process per run (`bench/cold_start_child.py`) imports what the scenario needs "
        "and serves one event through the Lambda entry point; storage is stubbed below "
        "botocore's serializer. The package rows run the built deployment.zip under Python "
        "3.13 with only boto3; the others run the working tree. Rounds after a discarded "
        "warm-up round, scenarios shuffled in each; wall time from spawn to the answer (the "
        "child exits without interpreter teardown, which a Lambda cold start never pays).",
        "",
        _table(
            f"scenario|median ms|IQR ms|{TIMES} its baseline (IQR)|import ms|first request ms|"
            "CPU ms|peak RSS MiB",
            rows,
        ),
        "",
    ]
    if results.runtime_skipped:
        lines += [f"Package cold starts on Python 3.13 skipped: {results.runtime_skipped}.", ""]
    boto3_ssm, botocore_ssm = (cold.get(f"authorizer_ssm_runtime{s}") for s in ("", "_botocore"))
    if boto3_ssm and botocore_ssm:
        ratio = _ratio(botocore_ssm.ratio_to(boto3_ssm))
        lines += [f"The botocore-level SSM client against the boto3 one, same rounds: {ratio}.", ""]
    if results.imports:
        total = cold_start.total_import_us(results.imports) / 1000
        top = [
            [f"`{c.module}`", f"{c.cumulative_us / 1000:.1f}", f"{c.self_us / 1000:.1f}"]
            for c in cold_start.top_by_cumulative(results.imports, 8)
        ]
        lines += [
            f'`python -X importtime -c "import app"` (working tree): {total:.0f} ms; the most '
            "expensive imports below it:",
            "",
            _table("module|cumulative ms|self ms", top),
            "",
        ]
    return lines


def _cold_cpu(cold: dict[str, cold_start.ColdRuns] | None, *names: str) -> float | None:
    """The cold-start CPU ms of the first of ``names`` measured (package rows first)."""
    return next((cold[name].median_ms("cpu_s") for name in names if name in (cold or {})), None)


def _memory_section(results: Results) -> list[str]:
    operations, choices, configured = results.operations or {}, results.choices(), results.memory
    shown = ("login", "register", "authorizer", "task read")
    colds = (
        _cold_cpu(results.cold, "get_task_runtime", "get_task"),
        _cold_cpu(
            results.cold, "authorizer_ssm_runtime_botocore", "authorizer_ssm_runtime", "authorizer"
        ),
    )
    rows = []
    for mb in results.sizes():
        row = [f"{mb:,}", f"{1 / stretch(mb):.0%}"]
        for name in shown:
            op = operations[name]
            row += [f"{op.latency_ms(mb):,.1f}", _usd(op.usd(mb) * 1e6)]
        row += [
            " / ".join(f"{cpu * stretch(mb):,.0f} ms" for cpu in colds if cpu) or "—",
            _names([name for name, size in configured.items() if size == mb]),
            _names([name for name, choice in choices.items() if choice.memory_mb == mb]),
        ]
        rows.append(row)
    header = "memory MB|vCPU share|" + "|".join(f"{n} ms|{n} $/M" for n in shown)
    header += "|cold start CPU, task read / authorizer|configured for|recommended for"
    measured = [
        [name, f"{o.cpu_ms:.2f}", f"{o.wait_ms:.2f}", f"{o.calls:g}", f"{o.log_bytes:,.0f}"]
        for name, o in operations.items()
    ]
    chosen = [
        [f"`{name}`", f"{configured[name]:,}", f"**{choice.memory_mb:,}**", choice.why]
        for name, choice in choices.items()
    ]
    api, low, read = (
        choices["api_handler"].memory_mb,
        configured["api_handler"],
        operations["task read"],
    )
    runs = results.settings.get("Lambda-model runs (each operation)", "?")
    lines = [
        "## 2. Lambda memory: modelled latency and cost per memory size",
        "",
        "Lambda allocates CPU in proportion to memory, one vCPU at 1,769 MB (AWS Lambda "
        "developer guide, *Configure Lambda function memory*). Model: latency = CPU time "
        f"here {TIMES} max(1, 1769 / memory) + wait. The wait is not stretched: wall minus "
        "CPU in runs where the process blocked (none here: nothing waits on a network, and "
        "being descheduled by other load is not counted), plus "
        f"{lambda_cost.DYNAMODB_ROUND_TRIP_MS:g} ms per DynamoDB call (assumed, not measured). "
        "It assumes a core here does what a Lambda arm64 vCPU does; the API handler's choice "
        f"keeps {lambda_cost.HEADROOM - 1:.0%} CPU headroom for that. CPU is measured through "
        "the real entry points over in-process moto, moto's own CPU subtracted, real scrypt "
        f"parameters (medians of {runs} runs). $/M: Lambda's price per million invocations "
        "(duration billed per whole ms, plus the request). Cold start CPU: section 1's package "
        "rows, stretched the same way.",
        "",
        _table("operation|CPU ms here|wait ms here|DynamoDB calls|log bytes", measured),
        "",
        _table(header, rows),
        "",
        _table("function|configured MB|recommended MB|why", chosen),
        "",
        f"Task reads, 70% of the mix, cost {_usd(read.usd(api) * 1e6)} per million at {api:,} "
        f"MB against {_usd(read.usd(low) * 1e6)} at the configured {low:,} MB; a login costs "
        "about the same CPU-seconds at any size up to 1,769 MB, so mostly its latency changes.",
        "",
    ]
    if results.purge:
        purge = results.purge
        per = [
            f"{mb:,} MB {lambda_cost.purge_per_thousand(purge, mb)[0]:.2f} s"
            for mb in results.sizes()
        ]
        lines += [
            f"Purge (`purge_account`, background): {purge.tasks:,} tasks took "
            f"{purge.batch_writes:,} `BatchWriteItem` and {purge.queries} `Query` calls (asserted "
            f"by `make purge`) and {purge.cpu_s:.2f} s of CPU, moto excluded; modelled per 1,000 "
            f"tasks: {', '.join(per)}.",
            "",
        ]
    return lines


def _units(table: dynamodb_cost.CostTable, size: int) -> dict[str, lambda_cost.RouteUnits]:
    cost = {route: table.rows[route][size] for route in MIX}
    return {r: lambda_cost.RouteUnits(c.read_units, c.write_units) for r, c in cost.items()}


def _price_by_tasks(results: Results, choices: dict[str, Choice]) -> list[tuple[int, float, float]]:
    """(tasks per user, REST total, HTTP API total) per million requests of the mix."""
    table = results.dynamodb or dynamodb_cost.CostTable()
    api, auth = choices["api_handler"].memory_mb, choices["jwt_authorizer"].memory_mb
    return [
        (size, *lambda_cost.totals(lambda_cost.mix_lines(
            results.operations or {}, _units(table, size), api, auth)))
        for size in table.columns
    ]  # fmt: skip


def _price_section(results: Results) -> list[str]:
    operations, choices, table = results.operations or {}, results.choices(), results.dynamodb
    units = _units(table, max(table.columns)) if table else None
    api, auth = choices["api_handler"].memory_mb, choices["jwt_authorizer"].memory_mb
    by_line = lambda_cost.mix_lines(operations, units, api, auth)
    rest, http = lambda_cost.totals(by_line)
    configured = lambda_cost.totals(
        lambda_cost.mix_lines(
            operations, units, results.memory["api_handler"], results.memory["jwt_authorizer"]
        )
    )
    rows = [
        [line, "—" if "HTTP" in line else _usd(usd), "—" if "REST" in line else _usd(usd)]
        for line, usd in by_line.items()
    ]
    rows += [
        ["**total per million requests**", f"**{_usd(rest)}**", f"**{_usd(http)}**"],
        ["total at the configured memory", _usd(configured[0]), _usd(configured[1])],
    ]
    mix = ", ".join(f"{share:.0%} {route}" for route, share in MIX.items())
    lines = [
        "## 3. Price per million requests",
        "",
        _table(
            "list price|as of|source", [[p.text, PRICE_DATE, p.source] for p in PRICES.values()]
        ),
        "",
        f"The mix: {mix}. Lambda at the recommended memory (API handler {api:,} MB, authorizer "
        f"{auth:,} MB; section 2's model). The authorizer's answer is cached "
        f"{lambda_cost.AUTHORIZER_CACHE_TTL_S} s per token; assumed "
        f"{lambda_cost.REQUESTS_PER_AUTHORIZER_CALL} authorized requests per authorizer call. "
        "DynamoDB request units per route from section 5 (the largest user). Logs: each "
        "invocation's own lines (measured) plus Lambda's START/END/REPORT lines (assumed "
        f"{lambda_cost.PLATFORM_LOG_BYTES} bytes); access logs not counted. No free tier. The "
        "HTTP API column fronts the same functions (payload format 1.0, cached Lambda "
        "authorizer); what of the contract it keeps is in [http-api.md](http-api.md).",
        "",
        _table("line|REST API|HTTP API", rows),
        "",
    ]
    if table:
        page = "GET /tasks (page 1 of limit 20)"
        rows = [
            [f"{n:,}", str(table.rows[page][n].items_read), _usd(r), _usd(h)]
            for n, r, h in _price_by_tasks(results, choices)
        ]
        lines += [
            "By tasks per user (DynamoDB units measured at each size; the Lambda model does "
            "not depend on it, since a page reads at most 21 items):",
            "",
            _table("tasks per user|items a list page reads|REST $/M|HTTP API $/M", rows),
            "",
        ]
    return lines


def _warm_section(results: Results) -> list[str]:
    rows = [
        [r.label, f"{r.ours_us:.1f}", f"{r.baseline_us:.1f}", f"{r.added_us:.1f}", VERDICT[r.met]]
        for r in results.warm or []
    ]
    return [
        "## 4. Warm budget: CPU our code adds per request",
        "",
        "CPU time per call through `app.app(event, None)` (REST v1 proxy events), warm, with "
        "the DynamoDB client replaced by prebuilt answers (no botocore, no network), against "
        "a hello-world Chalice route with our routes' options on the same event: Chalice's "
        "own work per request. Our code is the rest: middleware (request line, metrics), "
        "view, validation, services, repositories, encoding our body. The authorizer is "
        "compared with a hello-world Chalice authorizer allowing everything. Rounds "
        "interleave every case; added = median over rounds of the paired difference. Goal: "
        f"< {warm_overhead.BUDGET_MS * 1000:.0f} µs.",
        "",
        _table("route|ours µs|baseline µs|added µs|verdict", rows),
        "",
    ]


def _dynamodb_section(results: Results) -> list[str]:
    table = results.dynamodb or dynamodb_cost.CostTable()
    rows = []
    for label, costs in table.rows.items():
        cells = [costs.get(size) for size in table.columns]
        rows.append(
            [label] + [
                "—" if c is None else c.text() + ("" if c.status in (0, 200) else f" → {c.status}")
                for c in cells
            ]
        )  # fmt: skip
    return [
        "## 5. DynamoDB calls and request units per request",
        "",
        "Counted with botocore event hooks on the app's own client over in-process moto, "
        "through `chalice.test.Client`, cheap scrypt parameters. Request units by on-demand "
        "rules from item sizes. The counts are asserted in `tests/test_api_storage.py`.",
        "",
        _table("request|" + "|".join(f"user with {n:,} tasks" for n in table.columns), rows),
        "",
    ]


def _package_section(results: Results) -> list[str]:
    package = results.package
    assert package is not None  # noqa: S101 - only called when present
    return [
        "## 6. Package size",
        "",
        f"What ships, `make build STAGE=dev` (`chalice package` plus the pinned runtime's "
        f"Python 3.13 bytecode): deployment.zip is **{package.zip_bytes:,} bytes** "
        f"(goal ≤ 1 MB), {package.files} files, {package.uncompressed_bytes:,} bytes "
        "uncompressed. boto3 and botocore are not bundled: the runtime provides them.",
        "",
        _table(
            "entry|bytes uncompressed",
            [[f"`{name}`", f"{size:,}"] for name, size in package.top_level.items()],
        ),
        "",
    ]


def _hashing_section(results: Results) -> list[str]:
    hashing = results.hashing
    assert hashing is not None  # noqa: S101 - only called when present
    now, operations, choices = hashing.current, results.operations, results.choices()
    sizes = sorted({1024, 1769, *(c.memory_mb for n, c in choices.items() if n == "api_handler")})
    rows = []
    for setting in hashing.owasp:
        cpu = setting.cpu_s
        row = [
            setting.label + (" (current)" if setting.label == now.label else ""),
            f"{setting.memory_bytes / 2**20:.0f} MiB",
            f"{cpu.median * 1000:.0f} ({cpu.q1 * 1000:.0f}{DASH}{cpu.q3 * 1000:.0f})",
            f"{cpu.median / now.cpu_s.median:.2f}{TIMES}",
        ]
        for mb in sizes if operations else ():
            extra_ms = (cpu.median - now.cpu_s.median) * 1000 * stretch(mb)
            modelled = operations["login"].latency_ms(mb) + extra_ms  # type: ignore[index]
            row.append(f"{modelled:,.0f} ms" + ("" if modelled <= LOGIN_GOAL_MS else " ✗"))
        rows.append(row)
    header = f"OWASP setting|128·r·N|CPU ms per hash (IQR)|{TIMES} current"
    header += "".join(f"|modelled login at {mb:,} MB" for mb in (sizes if operations else ()))
    row = hashing.owasp_row
    meets = f"meets OWASP's N=2^{row[0]} r={row[1]} p={row[2]}" if row else "**meets none**"
    return [
        "## 7. Password hashing",
        "",
        f"`chalicelib.auth.passwords.DEFAULT_PARAMETERS`: scrypt {now.label}; {meets}. Every "
        "OWASP setting timed the same way, interleaved (CPU time); modelled login is section "
        f"2's with the hash swapped (✗: above {LOGIN_GOAL_MS:.0f} ms).",
        "",
        _table(header, rows),
        "",
    ]
