"""A run as a Markdown section of bench/RESULTS.md: the figures beside the floor's, where the time goes,
and what was measured with what (command, commit, versions)."""

import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from database import ROOT
from measured import Measured, Row

RESULTS = ROOT / "bench" / "RESULTS.md"
PACKAGES = ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "SQLAlchemy", "asyncpg", "orjson")
PHASES = ("auth", "parse", "validate", "execute", "sql", "serialize", "canonical", "receipt", "total")
HEADER = (
    "# Benchmark results\n\nNewest first; produced by `bench/run` (see bench/README.md). Earlier runs stay "
    "below for comparison: read them as ratios to their own floor, since absolute figures drift with the machine.\n\n"
)


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _peaks(measured: Measured) -> str:
    return ", ".join(f"{v:.0f}" for v in measured.peak_rss_mib if v > 0) or "–"


def results_table(rows: list[Row]) -> list[str]:
    lines = [
        "| workload | gateway req/s | floor SQL req/s | floor SQL+JSON req/s | gateway ÷ floor+JSON | p50 ms | p95 ms "
        "| p99 ms | floor+JSON p50 / p99 ms | p50 × floor | SQL statements/req | gateway CPU ms/req "
        "| PostgreSQL CPU ms/req | floor+JSON CPU ms/req (own + PostgreSQL) | CPU × floor "
        "| peak RSS MiB, each gateway process |",
        "| --- | " + " | ".join("---:" for _ in range(15)) + " |",
    ]
    for row in rows:
        gateway, floor, encoded = row.gateway, row.floor, row.encoded
        lines.append(
            f"| {row.workload.name} | {gateway.throughput:.0f} | {floor.throughput:.0f} | {encoded.throughput:.0f} "
            f"| {row.ratio()} | {_ms(gateway.percentile(50))} | {_ms(gateway.percentile(95))} "
            f"| {_ms(gateway.percentile(99))} | {_ms(encoded.percentile(50))} / {_ms(encoded.percentile(99))} "
            f"| {gateway.percentile(50) / encoded.percentile(50):.1f}× "
            f"| {gateway.statements / max(1, gateway.requests):.2f} "
            f"| {_ms(gateway.per_request_ms(gateway.cpu_server_s))} "
            f"| {_ms(gateway.per_request_ms(gateway.cpu_postgres_s))} "
            f"| {_ms(encoded.per_request_ms(encoded.cpu_server_s))} + {_ms(encoded.per_request_ms(encoded.cpu_postgres_s))} "
            f"| {gateway.cpu_ms / encoded.cpu_ms:.0f}× | {_peaks(gateway)} |"
        )
    return lines


def timing_table(rows: list[Row]) -> list[str]:
    lines = [
        "| workload | compiled | " + " | ".join(PHASES) + " | client-seen mean | outside the view (HTTP, queueing) |",
        "| --- | ---: | " + " | ".join("---:" for _ in PHASES) + " | ---: | ---: |",
    ]
    for row in rows:
        gateway = row.gateway
        if not gateway.timed:
            continue
        mean = {name: gateway.timing_ms.get(name, 0.0) / gateway.timed for name in PHASES}
        seen = statistics.fmean(gateway.latencies) * 1000
        lines.append(
            f"| {row.workload.name} | {gateway.compiled / gateway.timed:.0%} | "
            + " | ".join(_ms(mean[name]) for name in PHASES)
            + f" | {_ms(seen)} | {_ms(seen - mean['total'])} |"
        )
    return lines


def mixed_table(rows: list[Row]) -> list[str]:
    lines = []
    for row in rows:
        if len(row.gateway.by_kind) < 2:
            continue
        lines += [f"Within `{row.workload.name}` (p50 ms, gateway / floor+JSON):", ""]
        for kind, values in sorted(row.gateway.by_kind.items()):
            floor_p50 = statistics.median(row.encoded.by_kind.get(kind) or [float("nan")])
            lines.append(
                f"- {kind}: {len(values):,} requests, {statistics.median(values) * 1000:.1f} / {floor_p50 * 1000:.2f}"
            )
        lines.append("")
    return lines


def latency_table(rows: list[Row], connections: int) -> list[str]:
    """p50 and p95 beside the floor's, by kind of call: under the closed loop, where they include the wait
    for a busy server, and one request at a time, where they are what one user waits."""
    lines = [
        "| calls | connections | requests | p50 ms | p95 ms | p99 ms | floor+JSON p50 / p95 ms | p50 × floor "
        "| p95 × floor |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        runs = [(f"{connections}, closed loop", row.gateway, row.encoded)]
        if row.single is not None:
            runs.append(("1, one at a time", *row.single))
        for kind in sorted(row.gateway.by_kind):
            name = row.workload.name if kind == row.workload.name else f"{row.workload.name}: {kind}"
            for label, gateway, floor in runs:
                p50, p95, p99 = (gateway.percentile(p, kind) for p in (50, 95, 99))
                floor_p50, floor_p95 = floor.percentile(50, kind), floor.percentile(95, kind)
                lines.append(
                    f"| {name} | {label} | {len(gateway.by_kind.get(kind, [])):,} | {_ms(p50)} | {_ms(p95)} "
                    f"| {_ms(p99)} | {_ms(floor_p50)} / {_ms(floor_p95)} | {p50 / floor_p50:.1f}× "
                    f"| {p95 / floor_p95:.1f}× |"
                )
    return lines


def versions(postgres: str) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    # The results file itself does not make the measured code "uncommitted".
    status = ["git", "status", "--porcelain", "--", ".", f":!{RESULTS.relative_to(ROOT)}"]
    dirty = subprocess.run(status, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    packages = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return (
        f"commit {commit.stdout.strip()}{' (with uncommitted changes)' if dirty else ''}; Python "
        f"{platform.python_version()}; PostgreSQL {postgres} (server); {packages}; {os.cpu_count()} × {cpu}"
    )


def _failures(rows: list[Row]) -> list[str]:
    failed = []
    for row in rows:
        targets = [("gateway", row.gateway), ("floor", row.floor), ("floor+JSON", row.encoded)]
        if row.single is not None:
            targets += [("gateway, one at a time", row.single[0]), ("floor+JSON, one at a time", row.single[1])]
        for target, measured in targets:
            if measured.errors:
                failed.append(
                    f"- {row.workload.name}, {target}: {measured.errors} failed, e.g. {measured.error_samples[:1]}"
                )
    return failed


def generator_table(rows: list[Row]) -> list[str]:
    """The load generator's own CPU beside the gateway's, and the same calls driven by wrk."""
    lines = [
        "The load generator, checked: bench/load.py (Python, every body checked) against wrk (C; status codes "
        "only), same calls, same connections, on the same cores as the gateway:",
        "",
        "| workload | load.py req/s | load.py CPU ms/req | gateway CPU ms/req under load.py | wrk req/s "
        "| wrk ÷ floor+JSON | wrk p50 / p99 ms | wrk CPU ms/req | gateway CPU ms/req under wrk |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        gateway, checked = row.gateway, row.wrk
        ours = (
            f"| {row.workload.name} | {gateway.throughput:.0f} | {_ms(gateway.per_request_ms(gateway.cpu_client_s))} "
            f"| {_ms(gateway.per_request_ms(gateway.cpu_server_s))} "
        )
        if checked is None:
            lines.append(ours + "| – | – | – | – | – |")
            continue
        lines.append(
            ours + f"| {checked.throughput:.0f} | {checked.throughput / row.encoded.throughput:.1%} "
            f"| {_ms(checked.p50_ms)} / {_ms(checked.p99_ms)} "
            f"| {_ms(checked.per_request_ms(checked.cpu_wrk_s))} | {_ms(checked.per_request_ms(checked.cpu_gateway_s))} |"
        )
    if all(row.wrk is None for row in rows):
        lines += ["", "(wrk was not run: `--no-wrk`, or Debian's `wrk` is not installed.)"]
    return lines


def section(title: str, command: str, setup: str, rows: list[Row], profile: str, *, connections: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {title} — {when}",
        "",
        f"`{command}`",
        "",
        setup,
        "",
        *results_table(rows),
        "",
        "Latency by kind of call, beside the floor's (SQL+JSON) for the same calls. Under the closed loop every "
        "connection sends its next request as soon as the last answer arrives, so p95 includes the wait for a "
        "busy server; one at a time (workloads measured so), it is what a dashboard's user waits:",
        "",
        *latency_table(rows, connections),
        "",
        "Where a request's time goes on the server (mean ms per request, from each response's Server-Timing). "
        "`sql` is the time spent waiting on statements anywhere in the request (auth's account and grant "
        "lookups included, the receipt batch's share too); under load it includes the wait for the event loop. "
        "`total` is the GraphQL view's. `compiled` is the share of responses the compiled read path answered "
        "(one statement shaped by the planner; the rest, the resolver tree):",
        "",
        *timing_table(rows),
        "",
        *mixed_table(rows),
        *generator_table(rows),
        "",
    ]
    failures = _failures(rows)
    if failures:
        lines += ["Failed requests:", "", *failures, ""]
    if profile:
        lines += [profile, ""]
    return "\n".join(lines) + "\n"


def write_results(text: str, path: Path) -> None:
    """Put the section first, under the file's heading; every earlier section stays, in order."""
    previous = path.read_text() if path.exists() else ""
    first = previous.find("\n## ")
    # Only the heading above the first section is rewritten; text without any section is kept whole.
    earlier = previous[first + 1 :] if first >= 0 else previous
    path.write_text(HEADER + text + ("\n" + earlier if earlier else ""))
