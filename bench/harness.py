"""`bench/run`: the standard workload against a real gateway, and its floor, in one run.

1. Prepares `ccvc_bench_<N>` on the local PostgreSQL (seeded once, reused after).
2. Starts the gateway (`ccvc serve --workers W`, production settings, Server-Timing on) on its own port.
3. For each workload: the load generator (bench/load.py, its own process) drives the gateway over C
   keep-alive connections; then the floor (bench/floor.py, one process per worker) runs the same data's
   bare SQL over the same C connections, first rows only, then rows encoded as JSON. Same warm-up and
   window for all three, so every figure can be read as a ratio to the floor.
4. Profiles the partner list in-process (bench/breakdown.py): where a request's time goes.
5. Writes a section to bench/RESULTS.md, newest first; earlier sections stay below it.
"""

import argparse
import asyncio
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx2
import orjson
from database import ROOT, fixture, prepare, sqlalchemy_url
from workloads import WORKLOADS, Call, Workload

from db.engine import create_engine
from gateway.auth import Authenticator
from gateway.config import Settings
from gateway.crypto import KeyRing

BENCH = ROOT / "bench"
WORK = BENCH / ".work"
PYTHON = ROOT / ".venv" / "bin" / "python"
CCVC = ROOT / ".venv" / "bin" / "ccvc"
RESULTS = BENCH / "RESULTS.md"
STARTUP = 1.0  # seconds between starting the drivers and their warm-up, for connections to open
PACKAGES = ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "SQLAlchemy", "asyncpg", "orjson")


@dataclass
class Measured:
    """One driver run (gateway or floor), over one window."""

    requests: int
    seconds: float
    latencies: list[float]
    by_kind: dict[str, list[float]]
    statements: float
    timing_ms: dict[str, float]
    timed: int
    cpu_server_s: float  # the gateway's processes, or the floor's own
    cpu_postgres_s: float
    peak_rss_mib: list[float]
    errors: int
    error_samples: list[str]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")


@dataclass
class Row:
    """A workload's figures over every round: the gateway, the floor's rows, the floor's JSON."""

    workload: Workload
    gateway: Measured
    floor: Measured
    encoded: Measured
    ratios: list[float]  # gateway ÷ floor+JSON throughput, round by round

    def ratio(self) -> str:
        middle = statistics.median(self.ratios)
        if len(self.ratios) == 1:
            return f"{middle:.1%}"
        return f"{middle:.1%} ({min(self.ratios):.1%}–{max(self.ratios):.1%})"


def merge(rounds: list[Measured]) -> Measured:
    """The rounds of one target as one measurement: every request, every second, every CPU second."""
    by_kind: dict[str, list[float]] = {}
    timing: dict[str, float] = {}
    for measured in rounds:
        for kind, values in measured.by_kind.items():
            by_kind.setdefault(kind, []).extend(values)
        for name, value in measured.timing_ms.items():
            timing[name] = timing.get(name, 0.0) + value
    peaks = [sorted(m.peak_rss_mib, reverse=True) for m in rounds]
    return Measured(
        requests=sum(m.requests for m in rounds),
        seconds=sum(m.seconds for m in rounds),
        latencies=[v for m in rounds for v in m.latencies],
        by_kind=by_kind,
        statements=sum(m.statements for m in rounds),
        timing_ms=timing,
        timed=sum(m.timed for m in rounds),
        cpu_server_s=sum(m.cpu_server_s for m in rounds),
        cpu_postgres_s=sum(m.cpu_postgres_s for m in rounds),
        peak_rss_mib=[max(values) for values in zip(*peaks, strict=False)] if peaks else [],
        errors=sum(m.errors for m in rounds),
        error_samples=[s for m in rounds for s in m.error_samples],
    )


def _measured(results: list[dict[str, Any]]) -> Measured:
    by_kind: dict[str, list[float]] = {}
    timing: dict[str, float] = {}
    for result in results:
        for kind, values in result["latencies"].items():
            by_kind.setdefault(kind, []).extend(values)
        for name, value in result["timing_ms"].items():
            timing[name] = timing.get(name, 0.0) + value
    latencies = [v for values in by_kind.values() for v in values]
    return Measured(
        requests=len(latencies),
        seconds=results[0]["seconds"],
        latencies=latencies,
        by_kind=by_kind,
        statements=sum(r["statements"] for r in results),
        timing_ms=timing,
        timed=sum(r["timed"] for r in results),
        cpu_server_s=sum(r["cpu_watched_s"] for r in results) or sum(r["cpu_self_s"] for r in results),
        cpu_postgres_s=sum(r["cpu_postgres_s"] for r in results),
        peak_rss_mib=[v for r in results for v in r["peak_rss_mib"].values()],
        errors=sum(r["errors"] for r in results),
        error_samples=[s for r in results for s in r["error_samples"]],
    )


class Gateway:
    def __init__(self, args: argparse.Namespace, database_url: str) -> None:
        self.port = args.port
        self.env = os.environ | {
            "CCVC_ENV": "production",
            "CCVC_DATABASE_URL": database_url,
            "CCVC_KEYS_DIR": str(WORK / "keys"),
            "CCVC_SERVER_TIMING": "true",
            "CCVC_TOKEN_TTL_SECONDS": "86400",
        }
        if not (WORK / "keys" / "keyring.json").exists():
            subprocess.run([CCVC, "keys", "generate"], env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.log = (WORK / "gateway.log").open("wb")
        command: list[str | Path] = [
            CCVC,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ]
        self.process = subprocess.Popen(command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"The gateway exited ({self.process.returncode}); see {WORK / 'gateway.log'}")
            try:
                if httpx2.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200:
                    time.sleep(1)  # every worker up, not only the first
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("The gateway did not become ready within 60 s")

    def pids(self) -> list[int]:
        """The server process and its workers."""
        found = [self.process.pid]
        for child in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            found += [int(pid) for pid in child.read_text().split()]
        return found

    def tokens(self, accounts: set[str]) -> dict[str, str]:
        """Access tokens as the gateway's own token endpoint would issue them (same keys, issuer, TTL)."""
        settings = Settings(
            env="production",
            database_url=self.env["CCVC_DATABASE_URL"],
            keys_dir=Path(self.env["CCVC_KEYS_DIR"]),
            token_ttl_seconds=int(self.env["CCVC_TOKEN_TTL_SECONDS"]),
        )
        engine = create_engine(settings.database_url)  # never connects: issuing only signs
        authenticator = Authenticator(settings, KeyRing.load(settings.keys_dir, create=False), engine)
        return {account: authenticator.issue(account) for account in accounts}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _drive(script: str, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run one driver process per spec, all at once; each writes its result to a file (not a pipe: an
    event loop may leave its stdout non-blocking and cut a large result short)."""
    outputs = [WORK / f"{Path(script).stem}-{i}.json" for i in range(len(specs))]
    processes = []
    for spec, output in zip(specs, outputs, strict=True):
        output.unlink(missing_ok=True)
        process = subprocess.Popen([PYTHON, str(BENCH / script)], stdin=subprocess.PIPE, cwd=BENCH)
        assert process.stdin is not None
        process.stdin.write(orjson.dumps(spec | {"output": str(output)}))
        process.stdin.close()
        processes.append(process)
    if any(process.wait() != 0 for process in processes):
        raise SystemExit(f"{script} failed")
    return [orjson.loads(output.read_bytes()) for output in outputs]


def _window(args: argparse.Namespace) -> list[float]:
    start = time.monotonic() + STARTUP + args.warmup
    return [start, start + args.duration]


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_gateway(args: argparse.Namespace, gateway: Gateway, calls: list[Call], tokens: dict[str, str]) -> Measured:
    requests = [
        {
            "label": c.kind,
            "token": tokens[c.account],
            "body": orjson.dumps({"query": c.query, "variables": c.variables}).decode(),
        }
        for c in calls
    ]
    spec = {
        "host": "127.0.0.1",
        "port": gateway.port,
        "connections": args.connections,
        "window": _window(args),
        "requests": requests,
        "watch": gateway.pids(),
        "postgres": True,
    }
    return _measured(_drive("load.py", [spec]))


def run_floor(args: argparse.Namespace, dsn: str, calls: list[Call], encode: bool) -> Measured:
    window = _window(args)
    floor_calls = [{"label": c.kind, "sql": c.floor, "args": list(c.floor_args), "lines": c.lines} for c in calls]
    specs = [
        {"dsn": dsn, "connections": n, "window": window, "calls": floor_calls, "encode": encode, "postgres": i == 0}
        for i, n in enumerate(_split(args.connections, args.workers))
        if n
    ]
    return _measured(_drive("floor.py", specs))


def measure(
    args: argparse.Namespace, workload: Workload, calls: list[Call], gateway: Gateway, tokens: dict[str, str], dsn: str
) -> Row:
    """Gateway, floor and floor+JSON in turn, round after round, so that a slow spell of the machine
    falls on all three and shows in the spread of the per-round ratios."""
    rounds: list[tuple[Measured, Measured, Measured]] = []
    for number in range(1, args.rounds + 1):
        measured = run_gateway(args, gateway, calls, tokens)
        floor = run_floor(args, dsn, calls, encode=False)
        encoded = run_floor(args, dsn, calls, encode=True)
        print(
            f"{workload.name} round {number}: {measured.throughput:.0f} req/s ({measured.errors} failed), "
            f"floor {floor.throughput:.0f}, floor+JSON {encoded.throughput:.0f}",
            file=sys.stderr,
        )
        rounds.append((measured, floor, encoded))
    return Row(
        workload,
        merge([r[0] for r in rounds]),
        merge([r[1] for r in rounds]),
        merge([r[2] for r in rounds]),
        [g.throughput / e.throughput for g, _, e in rounds],
    )


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _per_request(seconds: float, measured: Measured) -> str:
    return _ms(seconds * 1000 / measured.requests) if measured.requests else "–"


def results_table(rows: list[Row]) -> list[str]:
    lines = [
        "| workload | gateway req/s | floor SQL req/s | floor SQL+JSON req/s | gateway ÷ floor+JSON | p50 ms | p95 ms "
        "| p99 ms | floor+JSON p50 ms | p50 × floor | SQL statements/req | gateway CPU ms/req | PostgreSQL CPU ms/req "
        "| floor+JSON CPU ms/req (own + PostgreSQL) | peak RSS MiB, each gateway process |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        workload, gateway, floor, encoded = row.workload, row.gateway, row.floor, row.encoded
        lines.append(
            f"| {workload.name} | {gateway.throughput:.0f} | {floor.throughput:.0f} | {encoded.throughput:.0f} "
            f"| {row.ratio()} | {_ms(gateway.percentile(50))} "
            f"| {_ms(gateway.percentile(95))} | {_ms(gateway.percentile(99))} | {_ms(encoded.percentile(50))} "
            f"| {gateway.percentile(50) / encoded.percentile(50):.1f}× "
            f"| {gateway.statements / max(1, gateway.requests):.2f} "
            f"| {_per_request(gateway.cpu_server_s, gateway)} | {_per_request(gateway.cpu_postgres_s, gateway)} "
            f"| {_per_request(encoded.cpu_server_s, encoded)} + {_per_request(encoded.cpu_postgres_s, encoded)} "
            f"| {', '.join(f'{v:.0f}' for v in sorted(gateway.peak_rss_mib, reverse=True) if v > 0) or '–'} |"
        )
    return lines


PHASES = ("auth", "parse", "validate", "execute", "sql", "serialize", "canonical", "receipt", "total")


def timing_table(rows: list[Row]) -> list[str]:
    lines = [
        "| workload | " + " | ".join(PHASES) + " | client-seen mean | outside the view (HTTP, queueing) |",
        "| --- | " + " | ".join("---:" for _ in PHASES) + " | ---: | ---: |",
    ]
    for row in rows:
        workload, gateway = row.workload, row.gateway
        if not gateway.timed:
            continue
        mean = {name: gateway.timing_ms.get(name, 0.0) / gateway.timed for name in PHASES}
        seen = statistics.fmean(gateway.latencies) * 1000
        lines.append(
            f"| {workload.name} | "
            + " | ".join(_ms(mean[name]) for name in PHASES)
            + f" | {_ms(seen)} | {_ms(seen - mean['total'])} |"
        )
    return lines


def mixed_table(rows: list[Row]) -> list[str]:
    lines = []
    for row in rows:
        workload, gateway, encoded = row.workload, row.gateway, row.encoded
        if len(gateway.by_kind) < 2:
            continue
        lines += [f"Within `{workload.name}` (p50 ms, gateway / floor+JSON):", ""]
        for kind, values in sorted(gateway.by_kind.items()):
            floor_values = sorted(encoded.by_kind.get(kind, [float("nan")]))
            lines.append(
                f"- {kind}: {len(values):,} requests, {statistics.median(values) * 1000:.1f} / "
                f"{floor_values[len(floor_values) // 2] * 1000:.2f}"
            )
        lines.append("")
    return lines


def _versions() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    # The results file itself does not make the measured code "uncommitted".
    status = ["git", "status", "--porcelain", "--", ".", f":!{RESULTS.relative_to(ROOT)}"]
    dirty = subprocess.run(status, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    postgres = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
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
        f"{platform.python_version()}; {postgres}; {packages}; {os.cpu_count()} × {cpu}"
    )


def report(args: argparse.Namespace, command: str, rows: list[Row], profile: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    errors = [(r.workload.name, r.gateway.errors, r.gateway.error_samples[:1]) for r in rows if r.gateway.errors]
    lines = [
        f"## {args.officials:,} officials, {args.workers} workers, {args.connections} connections — {when}",
        "",
        f"`{command}`",
        "",
        f"{_versions()}.",
        f"Each workload: {args.rounds} rounds of gateway, floor (rows), floor (JSON), each {args.duration:g} s "
        f"after {args.warmup:g} s of warm-up, closed loop; figures over all rounds, the ratio as the rounds' "
        "median (and range).",
        "",
        *results_table(rows),
        "",
        "Where a request's time goes on the server (mean ms per request, from each response's Server-Timing; "
        "`sql` is the wait on statements, inside `execute` and `receipt`; `total` is the GraphQL view's):",
        "",
        *timing_table(rows),
        "",
        *mixed_table(rows),
    ]
    if errors:
        lines += [f"Failed requests: {errors}", ""]
    if profile:
        lines += [profile, ""]
    return "\n".join(lines) + "\n"


def write_results(section: str, path: Path) -> None:
    """Put `section` first, under the file's heading; every earlier section stays, in order."""
    header = (
        "# Benchmark results\n\nNewest first; produced by `bench/run` (see bench/README.md). Earlier runs stay "
        "below for comparison: read them as ratios to their own floor, since absolute figures drift with the machine.\n\n"
    )
    previous = path.read_text() if path.exists() else ""
    first = previous.find("\n## ")
    # Only the heading above the first section is rewritten; text without any section is kept whole.
    earlier = previous[first + 1 :] if first >= 0 else previous
    path.write_text(header + section + ("\n" + earlier if earlier else ""))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--officials", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="gateway worker processes (and floor processes)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent requests (closed loop)")
    parser.add_argument("--rounds", type=int, default=3, help="gateway/floor/floor+JSON rounds per workload")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring, every run")
    parser.add_argument(
        "--workloads", nargs="+", choices=[w.name for w in WORKLOADS], default=[w.name for w in WORKLOADS]
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--profile-rounds", type=int, default=200, help="partner-list profile rounds (0: skip)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the file the section is added to")
    parser.add_argument("--no-results", action="store_true", help="print the section only")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = shlex.join(["bench/run", *(argv if argv is not None else sys.argv[1:])])
    WORK.mkdir(exist_ok=True)
    database = asyncio.run(prepare(args.server, args.officials))
    data = asyncio.run(fixture(args.server, database))
    dsn = f"{args.server.rstrip('/')}/{database}"
    gateway = Gateway(args, sqlalchemy_url(args.server, database))
    rows: list[Row] = []
    try:
        chosen = [w for w in WORKLOADS if w.name in args.workloads]
        tokens = gateway.tokens({c.account for w in chosen for c in w.calls(data)})
        for workload in chosen:
            rows.append(measure(args, workload, workload.calls(data), gateway, tokens, dsn))
    finally:
        gateway.stop()
    profile = ""
    if args.profile_rounds:
        print("partner list: profiling in-process ...", file=sys.stderr)
        done = subprocess.run(
            [PYTHON, str(BENCH / "breakdown.py"), "--rounds", str(args.profile_rounds)],
            env=gateway.env,
            cwd=BENCH,
            check=True,
            capture_output=True,
            text=True,
        )
        profile = done.stdout.strip()
    section = report(args, command, rows, profile)
    print(section)
    if not args.no_results:
        write_results(section, args.results)
        print(f"Added to {args.results}", file=sys.stderr)
    return 1 if any(row.gateway.errors for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
