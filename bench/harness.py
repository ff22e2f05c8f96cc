"""`bench/run`: the standard workload against a real gateway, and its floor, in one run.

1. Prepares `ccvc_bench_<N>` on the local PostgreSQL (seeded once, reused after).
2. Starts the gateway (`ccvc serve --workers W`, production settings, Server-Timing on) on its own port.
3. For each workload, round after round: the load generator (bench/load.py, its own process) drives
   the gateway over C keep-alive connections; then the floor (bench/floor.py, one process per worker)
   runs the same data's bare SQL over the same C connections, first rows only, then rows encoded as
   JSON. Same warm-up and window for all three, so every figure can be read as a ratio to the floor.
4. Profiles the partner list in-process (bench/breakdown.py): where a request's time goes.
5. Writes a section to bench/RESULTS.md (or --results), newest first; earlier sections stay below it.
"""

import argparse
import asyncio
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx2
import orjson
import wrk
from database import CCVC, ROOT, asyncpg_url, fixture, prepare, sqlalchemy_url
from measured import Measured, Row, combine, from_driver
from report import RESULTS, section, versions, write_results
from workloads import PARTNER, WORKLOADS, Call, Fixture, Workload

from db.engine import create_engine
from evidence.crypto import KeyRing
from gateway.auth import Authenticator
from gateway.config import Settings

BENCH = ROOT / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
STARTUP = 1.0  # seconds between starting the drivers and their warm-up, for connections to open


class Gateway:
    def __init__(self, args: argparse.Namespace, database_url: str, data: Fixture) -> None:
        self.fixture = data
        self.port = args.port
        self.work: Path = args.work_dir
        self.env = os.environ | {
            "CCVC_ENV": "production",
            "CCVC_PUBLIC_URL": "http://127.0.0.1",
            "CCVC_DATABASE_URL": database_url,
            "CCVC_KEYS_DIR": str(self.work / "keys"),
            "CCVC_SERVER_TIMING": "true",
            "CCVC_TOKEN_TTL_SECONDS": "86400",
            # The benchmark measures what the gateway can serve, not one partner's allowance: its budget
            # (points per second, burst) and its concurrent requests are set past what the load asks.
            "CCVC_AGENCY_POINTS_PER_SECOND": str(10**9),
            "CCVC_AGENCY_BURST": str(10**9),
            "CCVC_AGENCY_MAX_CONCURRENT": str(max(args.connections, 1) * 4),
        }
        if not (self.work / "keys" / "keyring.json").exists():
            subprocess.run([CCVC, "keys", "generate"], env=self.env, check=True, stdout=subprocess.DEVNULL)
        self._register_documents()
        self.log = (self.work / "gateway.log").open("wb")
        command = [str(CCVC), "serve", "--host", "127.0.0.1", "--port", str(args.port), "--workers", str(args.workers)]
        self.process = subprocess.Popen(command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()
        self.watched = self._processes(args.workers)

    def _register_documents(self) -> None:
        """In production an agency runs only its registered documents: the partner's are registered, as its
        operator would (idempotent: a text already registered stays as it is)."""
        texts = {
            call.query for workload in WORKLOADS for call in workload.calls(self.fixture) if call.account == PARTNER
        }
        files = []
        for number, query in enumerate(sorted(texts)):
            path = self.work / f"partner-{number}.graphql"
            path.write_text(query)
            files.append(str(path))
        agency = PARTNER.removeprefix("agency.")
        command = [str(CCVC), "documents", "register", "--agency", agency, *files]
        subprocess.run(command, env=self.env, check=True, stdout=subprocess.DEVNULL)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"The gateway exited ({self.process.returncode}); see {self.work / 'gateway.log'}")
            try:
                if httpx2.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200:
                    time.sleep(1)  # every worker up, not only the first
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("The gateway did not become ready within 60 s")

    def _processes(self, workers: int) -> list[int]:
        """The server process and all its descendants (workers, uvicorn's helpers), from /proc."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        found = [self.process.pid]
        for pid in found:  # grows while it is walked: breadth first through the tree
            found += [child for child, parent in parents.items() if parent == pid]
        if workers > 1 and len(found) <= workers:
            raise SystemExit(f"Found {len(found) - 1} processes under the gateway, expected {workers} workers")
        return found

    def tokens(self, accounts: set[str]) -> dict[str, str]:
        """Access tokens as the gateway's own token endpoint would issue them (same keys, issuer, TTL)."""
        settings = Settings(
            env="production",
            public_url=self.env["CCVC_PUBLIC_URL"],
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


def _drive(work: Path, script: str, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run one driver process per spec, all at once; each writes its result to a file (not a pipe: an
    event loop may leave its stdout non-blocking and cut a large result short)."""
    outputs = [work / f"{Path(script).stem}-{i}.json" for i in range(len(specs))]
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


def _requests(calls: list[Call], tokens: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "label": c.kind,
            "token": tokens[c.account],
            "body": orjson.dumps({"query": c.query, "variables": c.variables}).decode(),
            "expect": c.expect,
        }
        for c in calls
    ]


def run_gateway(args: argparse.Namespace, gateway: Gateway, calls: list[Call], tokens: dict[str, str]) -> Measured:
    spec = {
        "host": "127.0.0.1",
        "port": gateway.port,
        "connections": args.connections,
        "window": _window(args),
        "requests": _requests(calls, tokens),
        "watch": gateway.watched,
        "postgres": True,
    }
    return from_driver(_drive(args.work_dir, "load.py", [spec])[0], cpu="cpu_watched_s")


def run_wrk(args: argparse.Namespace, gateway: Gateway, calls: list[Call], tokens: dict[str, str]) -> wrk.WrkRun:
    return wrk.run(
        _requests(calls, tokens),
        url=f"http://127.0.0.1:{gateway.port}/graphql",
        work=args.work_dir,
        connections=args.connections,
        warmup=args.warmup,
        duration=args.duration,
        watched=gateway.watched,
    )


def run_floor(args: argparse.Namespace, dsn: str, calls: list[Call], encode: bool) -> Measured:
    window = _window(args)
    floor_calls = [{"label": c.kind, "sql": c.floor, "args": list(c.floor_args), "lines": c.lines} for c in calls]
    specs = [
        {"dsn": dsn, "connections": n, "window": window, "calls": floor_calls, "encode": encode, "postgres": i == 0}
        for i, n in enumerate(_split(args.connections, args.workers))
        if n
    ]
    results = _drive(args.work_dir, "floor.py", specs)
    return combine([from_driver(result, cpu="cpu_self_s") for result in results], same_window=True)


async def _floor_rows(dsn: str, calls: list[Call]) -> list[list[dict[str, Any]]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [[dict(row) for row in await conn.fetch(c.floor, *c.floor_args)] for c in calls]
    finally:
        await conn.close()


def check_agreement(workload: Workload, calls: list[Call], gateway: Gateway, tokens: dict[str, str], dsn: str) -> None:
    """Before measuring: each distinct call's answer from the gateway holds the numbers its floor counts,
    so that the floor is the same work on the same rows (the scope's predicate included)."""
    checked = list({(c.account, repr(c.variables), c.query): c for c in calls if c.agrees is not None}.values())
    if not checked:
        return
    floors = asyncio.run(_floor_rows(dsn, checked))
    for call, rows in zip(checked, floors, strict=True):
        body = {"query": call.query, "variables": call.variables}
        headers = {"Authorization": f"Bearer {tokens[call.account]}"}
        answer = httpx2.post(f"http://127.0.0.1:{gateway.port}/graphql", json=body, headers=headers, timeout=120)
        payload = answer.json()
        if answer.status_code != 200 or payload.get("errors"):
            raise SystemExit(
                f"{workload.name}: {call.account} {call.variables}: {answer.status_code} {answer.text[:400]}"
            )
        assert call.agrees is not None
        problem = call.agrees(payload["data"], rows)
        if problem is not None:
            raise SystemExit(
                f"{workload.name}: {call.account} {call.variables}: the gateway and its floor differ: {problem}"
            )
    print(f"{workload.name}: the gateway's answers equal the floor's ({len(checked)} calls)", file=sys.stderr)


def _one_at_a_time(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(**(vars(args) | {"connections": 1}))


def measure(
    args: argparse.Namespace, workload: Workload, calls: list[Call], gateway: Gateway, tokens: dict[str, str], dsn: str
) -> Row:
    """Gateway, floor and floor+JSON in turn, round after round, so that a slow spell of the machine
    falls on all three and shows in the spread of the per-round ratios. A workload measured one request
    at a time adds, each round, the gateway and floor+JSON on a single connection."""
    check_agreement(workload, calls, gateway, tokens, dsn)
    rounds: list[tuple[Measured, Measured, Measured]] = []
    singles: list[tuple[Measured, Measured]] = []
    for number in range(1, args.rounds + 1):
        measured = run_gateway(args, gateway, calls, tokens)
        floor = run_floor(args, dsn, calls, encode=False)
        encoded = run_floor(args, dsn, calls, encode=True)
        print(
            f"{workload.name} round {number}: {measured.throughput:.0f} req/s ({measured.errors} failed), "
            f"floor {floor.throughput:.0f} ({floor.errors} failed), floor+JSON {encoded.throughput:.0f} "
            f"({encoded.errors} failed)",
            file=sys.stderr,
        )
        rounds.append((measured, floor, encoded))
        if workload.one_at_a_time:
            alone = _one_at_a_time(args)
            single = (run_gateway(alone, gateway, calls, tokens), run_floor(alone, dsn, calls, encode=True))
            print(
                f"{workload.name} round {number}, one at a time: p95 {single[0].percentile(95):.1f} ms "
                f"({single[0].errors} failed), floor+JSON p95 {single[1].percentile(95):.1f} ms",
                file=sys.stderr,
            )
            singles.append(single)
    checked = run_wrk(args, gateway, calls, tokens) if args.wrk else None
    if checked is not None:
        print(f"{workload.name} through wrk: {checked.throughput:.0f} req/s ({checked.errors} failed)", file=sys.stderr)
    return Row(
        workload,
        combine([r[0] for r in rounds], same_window=False),
        combine([r[1] for r in rounds], same_window=False),
        combine([r[2] for r in rounds], same_window=False),
        [g.throughput / e.throughput for g, _, e in rounds],
        checked,
        (
            combine([g for g, _ in singles], same_window=False),
            combine([f for _, f in singles], same_window=False),
        )
        if singles
        else None,
    )


async def _server_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _profile(args: argparse.Namespace, gateway: Gateway) -> str:
    if not args.profile_rounds:
        return ""
    print("partner list: profiling in-process ...", file=sys.stderr)
    command = [str(PYTHON), str(BENCH / "breakdown.py"), "--rounds", str(args.profile_rounds)]
    done = subprocess.run(command, env=gateway.env, cwd=BENCH, check=True, capture_output=True, text=True)
    return str(done.stdout).strip()


def _command(args: argparse.Namespace) -> str:
    """The run's command with every setting spelled out, so that it repeats even if defaults change."""
    parts = ["bench/run", "--officials", str(args.officials), "--workers", str(args.workers)]
    parts += ["--connections", str(args.connections), "--rounds", str(args.rounds)]
    parts += ["--duration", f"{args.duration:g}", "--warmup", f"{args.warmup:g}", "--workloads", *args.workloads]
    parts += ["--profile-rounds", str(args.profile_rounds), "--wrk" if args.wrk else "--no-wrk"]
    return shlex.join(parts)


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
    names = [w.name for w in WORKLOADS]
    parser.add_argument(
        "--workloads",
        nargs="+",
        default=names,
        metavar="NAME",
        help=f"some of {', '.join(names)} (spaces or commas between them; default: all)",
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--profile-rounds", type=int, default=200, help="partner-list profile rounds (0: skip)")
    parser.add_argument(
        "--wrk",
        action=argparse.BooleanOptionalAction,
        default=wrk.available(),
        help="drive each workload once more with wrk, to check the load generator (default: when installed)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="the file the section is added to")
    parser.add_argument("--no-results", action="store_true", help="print the section only")
    parser.add_argument("--work-dir", type=Path, default=BENCH / ".work", help="keys, logs, driver output")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    args.workloads = [name for names in args.workloads for name in names.split(",") if name]
    unknown = sorted(set(args.workloads) - {w.name for w in WORKLOADS})
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}; choose from {', '.join(w.name for w in WORKLOADS)}")
    args.work_dir.mkdir(parents=True, exist_ok=True)
    database = asyncio.run(prepare(args.server, args.officials))
    data = asyncio.run(fixture(args.server, database))
    dsn = asyncpg_url(args.server, database)
    gateway = Gateway(args, sqlalchemy_url(args.server, database), data)
    rows: list[Row] = []
    try:
        chosen = [w for w in WORKLOADS if w.name in args.workloads]
        tokens = gateway.tokens({c.account for w in chosen for c in w.calls(data)})
        for workload in chosen:
            rows.append(measure(args, workload, workload.calls(data), gateway, tokens, dsn))
    finally:
        gateway.stop()
    title = f"{args.officials:,} officials, {args.workers} workers, {args.connections} connections"
    setup = (
        f"{versions(asyncio.run(_server_version(dsn)))}. Each workload: {args.rounds} round{'s' if args.rounds != 1 else ''} of gateway, floor "
        f"(rows), floor (JSON), each {args.duration:g} s after {args.warmup:g} s of warm-up, closed loop; "
        "figures over all rounds, the throughput ratio as the rounds' median (and range)."
    )
    if any(row.single is not None for row in rows):
        setup += " Dashboard workloads also run gateway and floor (JSON) on 1 connection each round."
    text = section(title, _command(args), setup, rows, _profile(args, gateway), connections=args.connections)
    print(text)
    if not args.no_results:
        write_results(text, args.results)
        print(f"Added to {args.results}", file=sys.stderr)
    failed = any(m.errors for row in rows for m in (row.gateway, row.floor, row.encoded, *(row.single or ())))
    failed = failed or any(row.wrk.errors for row in rows if row.wrk is not None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
