"""`bench/attack.py`: what one abusive caller costs everyone else.

The partner list (bench/workloads.py) is measured quiet, then again while attacker connections send, in
a closed loop, the requests an attack run found harmful: fragment fan-out, connections nested under lists
of units, aliased exports of 50,000 rows. Round after round, quiet and attacked back to back. The hardening
issue's target: the partner list's p99 under attack stays within 3× its quiet p99.

    bench/attack.py                              # 200,000 officials, 8 + 4 connections, 3 rounds
    bench/attack.py --officials 20000 --rounds 1 --duration 3 --no-results
"""

import argparse
import asyncio
import statistics
import sys
from pathlib import Path
from typing import Any

import orjson
from database import asyncpg_url, fixture, prepare, sqlalchemy_url
from harness import BENCH, Gateway, _drive, _server_version, _window
from measured import Measured, from_driver
from report import RESULTS, versions, write_results
from workloads import Call, Fixture, partner_list

OFFICIAL_ACCOUNT = "SH00000001"  # any official's own account: the attacks need no privilege


def fragment_fan_out(levels: int = 30) -> str:
    """Every fragment spreads the next one twice: 2**levels selections once expanded."""
    fragments = [f"fragment F{i} on Official {{ id ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return "{ me { ...F0 } } " + " ".join(fragments) + f" fragment F{levels} on Official {{ id }}"


def nested_connections(depth: int = 4, aliases: int = 5) -> str:
    """Aliases of `units`, each unit's officials with child records, `children` the same, `depth` deep."""
    page = "officials(first: 100) { totalCount nodes { id fullName training { school } familyMembers { fullName } } }"
    level = f"code {page}"
    for _ in range(depth):
        level = f"code {page} children {{ {level} }}"
    return "{ " + " ".join(f"a{i}: units {{ {level} }}" for i in range(aliases)) + " }"


def aliased_exports(count: int = 20) -> str:
    return "mutation { " + " ".join(f"e{i}: exportOfficials(limit: 50000) {{ id }}" for i in range(count)) + " }"


def attacks() -> list[Call]:
    documents = [
        ("fragment fan-out", OFFICIAL_ACCOUNT, fragment_fan_out()),
        ("nested connections", OFFICIAL_ACCOUNT, nested_connections()),
        ("aliased exports", "admin", aliased_exports()),
    ]
    return [Call(kind, account, query, {}, "SELECT 1", ()) for kind, account, query in documents]


def _spec(
    args: argparse.Namespace, gateway: Gateway, calls: list[Call], tokens: dict[str, str], connections: int
) -> dict[str, Any]:
    requests = [
        {
            "label": c.kind,
            "token": tokens[c.account],
            "body": orjson.dumps({"query": c.query, "variables": c.variables}).decode(),
        }
        for c in calls
    ]
    return {
        "host": "127.0.0.1",
        "port": gateway.port,
        "connections": connections,
        "window": _window(args),
        "requests": requests,
        "watch": gateway.watched,
        "postgres": True,
    }


def _round(
    args: argparse.Namespace, gateway: Gateway, partner: list[Call], tokens: dict[str, str]
) -> tuple[Measured, Measured, dict[str, Any]]:
    quiet = from_driver(
        _drive(args.work_dir, "load.py", [_spec(args, gateway, partner, tokens, args.connections)])[0],
        cpu="cpu_watched_s",
    )
    specs = [
        _spec(args, gateway, partner, tokens, args.connections),
        _spec(args, gateway, attacks(), tokens, args.attackers),
    ]
    loud, attacker = _drive(args.work_dir, "load.py", specs)
    return quiet, from_driver(loud, cpu="cpu_watched_s"), attacker


def _attacker_line(result: dict[str, Any]) -> str:
    """What the attackers got: answered requests (all refused, if the limits work) and one sample each."""
    answered = sum(len(v) for v in result["latencies"].values()) + result["errors"]
    samples = "; ".join(sample[:160] for sample in result["error_samples"][:3])
    return f"{answered} attack requests answered in the window, {result['errors']} refused ({samples})"


def section(args: argparse.Namespace, rounds: list[tuple[Measured, Measured, dict[str, Any]]], postgres: str) -> str:
    lines = [
        f"## Under attack: {args.officials:,} officials, {args.workers} workers, "
        f"{args.connections} partner + {args.attackers} attacker connections",
        "",
        f"`bench/attack.py --officials {args.officials} --workers {args.workers} --connections {args.connections} "
        f"--attackers {args.attackers} --rounds {args.rounds} --duration {args.duration:g} --warmup {args.warmup:g}`",
        "",
        f"{versions(postgres)}. The partner list quiet, then with attackers sending fragment fan-out (30 levels, "
        "as an official), connections nested under 5 aliases of `units` 4 levels deep (as an official) and "
        "20 aliased 50,000-row exports (as admin), round after round.",
        "",
        "| round | quiet req/s | quiet p50 / p99 ms | attacked req/s | attacked p50 / p99 ms | p99 ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios = []
    for number, (quiet, loud, _) in enumerate(rounds, 1):
        ratio = loud.percentile(99) / quiet.percentile(99)
        ratios.append(ratio)
        lines.append(
            f"| {number} | {quiet.throughput:.0f} | {quiet.percentile(50):.1f} / {quiet.percentile(99):.1f} | "
            f"{loud.throughput:.0f} | {loud.percentile(50):.1f} / {loud.percentile(99):.1f} | {ratio:.2f}× |"
        )
    lines += [
        "",
        f"Median p99 ratio {statistics.median(ratios):.2f}× (target ≤ 3×). Attackers: {_attacker_line(rounds[-1][2])}.",
        "",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/attack.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--officials", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8, help="the partner list's connections")
    parser.add_argument("--attackers", type=int, default=4, help="attacker connections")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-results", action="store_true")
    parser.add_argument("--work-dir", type=Path, default=BENCH / ".work-attack")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    database = asyncio.run(prepare(args.server, args.officials))
    data: Fixture = asyncio.run(fixture(args.server, database))
    gateway = Gateway(args, sqlalchemy_url(args.server, database), data)
    try:
        partner = partner_list(data)
        tokens = gateway.tokens({c.account for c in partner + attacks()})
        rounds = []
        for number in range(1, args.rounds + 1):
            rounds.append(_round(args, gateway, partner, tokens))
            quiet, loud, _ = rounds[-1]
            print(
                f"round {number}: p99 quiet {quiet.percentile(99):.1f} ms, attacked {loud.percentile(99):.1f} ms",
                file=sys.stderr,
            )
    finally:
        gateway.stop()
    text = section(args, rounds, asyncio.run(_server_version(asyncpg_url(args.server, database))))
    print(text)
    if not args.no_results:
        write_results(text, args.results)
    failed = any(q.errors or loud.errors for q, loud, _ in rounds)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
