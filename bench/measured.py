"""What a driver run measured (bench/load.py or bench/floor.py), and how runs add up: the processes of
one run share its window; rounds follow one another."""

import math
import statistics
from dataclasses import dataclass
from typing import Any

from workloads import Workload
from wrk import WrkRun


@dataclass
class Measured:
    requests: int
    seconds: float
    by_kind: dict[str, list[float]]  # latencies in seconds, by the kind of call
    statements: float
    timing_ms: dict[str, float]  # Server-Timing durations, summed over the responses that carried one
    timed: int
    compiled: int  # responses the compiled read path answered, of the `timed`
    cpu_server_s: float  # the gateway's processes, or the floor's own
    cpu_postgres_s: float
    cpu_client_s: float  # the load generator's own (0 for the floor, whose own is the server's)
    peak_rss_mib: list[float]  # per process, largest first
    errors: int
    error_samples: list[str]

    @property
    def latencies(self) -> list[float]:
        return [value for values in self.by_kind.values() for value in values]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float, kind: str | None = None) -> float:
        """Nearest-rank percentile, in ms, of every request or of one kind's."""
        ordered = sorted(self.latencies if kind is None else self.by_kind.get(kind, []))
        if not ordered:
            return float("nan")
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    def per_request_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.requests if self.requests else float("nan")

    @property
    def cpu_ms(self) -> float:
        """CPU per request, the server's and PostgreSQL's together."""
        return self.per_request_ms(self.cpu_server_s + self.cpu_postgres_s)


@dataclass
class Row:
    """A workload's figures over every round: the gateway, the floor's rows, the floor's JSON."""

    workload: Workload
    gateway: Measured
    floor: Measured
    encoded: Measured
    ratios: list[float]  # gateway ÷ floor+JSON throughput, round by round
    wrk: "WrkRun | None" = None  # the same calls driven by wrk, once (None: not asked, or no wrk)
    # The gateway and floor+JSON on one connection, over every round (None: not measured so).
    single: tuple[Measured, Measured] | None = None

    def ratio(self) -> str:
        middle = statistics.median(self.ratios)
        if len(self.ratios) == 1:
            return f"{middle:.1%}"
        return f"{middle:.1%} ({min(self.ratios):.1%}–{max(self.ratios):.1%})"


def from_driver(result: dict[str, Any], *, cpu: str) -> Measured:
    """One driver process's result; `cpu` names whose CPU is the server's: `cpu_watched_s` (the
    gateway's processes, read by the load generator) or `cpu_self_s` (the floor process itself)."""
    by_kind: dict[str, list[float]] = result["latencies"]
    return Measured(
        requests=sum(len(values) for values in by_kind.values()),
        seconds=result["seconds"],
        by_kind=by_kind,
        statements=result["statements"],
        timing_ms=result["timing_ms"],
        timed=result["timed"],
        compiled=result.get("compiled", 0),  # the floor's drivers have no read path
        cpu_server_s=result[cpu],
        cpu_postgres_s=result["cpu_postgres_s"],
        cpu_client_s=result["cpu_self_s"] if cpu != "cpu_self_s" else 0.0,
        peak_rss_mib=sorted(result["peak_rss_mib"].values(), reverse=True),
        errors=result["errors"],
        error_samples=result["error_samples"],
    )


def combine(parts: list[Measured], *, same_window: bool) -> Measured:
    """Processes of one run (`same_window`: the seconds are shared, the processes add up) or rounds
    of one target (the seconds add up, each process's peak is the highest of its rounds)."""
    by_kind: dict[str, list[float]] = {}
    timing: dict[str, float] = {}
    for part in parts:
        for kind, values in part.by_kind.items():
            by_kind.setdefault(kind, []).extend(values)
        for name, value in part.timing_ms.items():
            timing[name] = timing.get(name, 0.0) + value
    if same_window:
        peaks = sorted((v for part in parts for v in part.peak_rss_mib), reverse=True)
    else:
        peaks = [max(values) for values in zip(*(part.peak_rss_mib for part in parts), strict=False)]
    return Measured(
        requests=sum(part.requests for part in parts),
        seconds=max(part.seconds for part in parts) if same_window else sum(part.seconds for part in parts),
        by_kind=by_kind,
        statements=sum(part.statements for part in parts),
        timing_ms=timing,
        timed=sum(part.timed for part in parts),
        compiled=sum(part.compiled for part in parts),
        cpu_server_s=sum(part.cpu_server_s for part in parts),
        cpu_postgres_s=sum(part.cpu_postgres_s for part in parts),
        cpu_client_s=sum(part.cpu_client_s for part in parts),
        peak_rss_mib=peaks,
        errors=sum(part.errors for part in parts),
        error_samples=[sample for part in parts for sample in part.error_samples],
    )
