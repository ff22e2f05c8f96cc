"""The load generator: its own process, keep-alive HTTP/1.1 connections, each sending its next request as
soon as the last answer arrived (closed loop). Reads a JSON spec on stdin, writes a JSON result to the spec's `output` file.

A request counts when it completes inside the window (after the warm-up), as wrk counts. Over that window
it also reads, from /proc, the CPU time of the processes it is told to watch and of every PostgreSQL
process, and the peak resident memory of the watched ones (reset at the window's start).
"""

import asyncio
import os
import re
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

TICKS = os.sysconf("SC_CLK_TCK")
TIMEOUT = 120.0


@dataclass
class Totals:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)  # Server-Timing durations summed, ms
    timed: int = 0  # responses that carried Server-Timing
    compiled: int = 0  # of those, answered by the compiled read path (Server-Timing `path`)
    statements: float = 0.0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def merge(self, other: "Totals") -> None:
        self.timed += other.timed
        self.compiled += other.compiled
        self.statements += other.statements
        for name, value in other.timing.items():
            self.timing[name] = self.timing.get(name, 0.0) + value

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:500])


def _wire(host: str, port: int, body: str, token: str) -> bytes:
    payload = body.encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: bytes
) -> tuple[int, dict[bytes, bytes], bytes]:
    writer.write(wire)
    status = int((await reader.readline()).split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, body


def _server_timing(totals: Totals, header: bytes) -> None:
    totals.timed += 1
    for part in header.decode().split(","):
        name, *params = (p.strip() for p in part.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if key == "dur":
                totals.timing[name] = totals.timing.get(name, 0.0) + float(value)
            elif key == "desc" and name == "sql":
                totals.statements += float(value.strip('"'))
            elif key == "desc" and name == "path":
                totals.compiled += value.strip('"') == "compiled"


class Session(Protocol):
    """One connection of the closed loop: sends call `index` and says what went wrong, if anything."""

    async def call(self, index: int, totals: Totals) -> str | None: ...

    async def close(self) -> None: ...


class HttpSession:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.host, self.port = spec["host"], spec["port"]
        self.wires = [_wire(self.host, self.port, r["body"], r["token"]) for r in spec["requests"]]
        # What an answer must hold to count (an aggregate's buckets, not an empty list), by request.
        self.expected = [re.compile(r["expect"].encode()) if r.get("expect") else None for r in spec["requests"]]
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def call(self, index: int, totals: Totals) -> str | None:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        try:
            status, headers, body = await asyncio.wait_for(_exchange(*self.streams, self.wires[index]), TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
            await self.close()  # the next call opens a fresh connection
            return f"{type(error).__name__} {error}"
        if status != 200 or b'"errors":[' in body:
            return f"{status} {body[:400]!r}"
        expected = self.expected[index]
        if expected is not None and expected.search(body) is None:
            return f"no match for {expected.pattern!r}: {body[:400]!r}"
        if (timing := headers.get(b"server-timing")) is not None:
            _server_timing(totals, timing)
        return None

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _loop(session: Session, labels: list[str], offset: int, window: tuple[float, float], totals: Totals) -> None:
    """Call after call until the window closes. A call counts when it completes inside the window (as
    wrk counts), so that the requests counted match the window's seconds and CPU."""
    start, end = window
    i = offset
    while (sent := time.monotonic()) < end:
        index = i % len(labels)
        i += 1
        counted = Totals()
        problem = await session.call(index, counted)
        done = time.monotonic()
        if not start <= done <= end:
            continue
        if problem is not None:
            totals.error(f"{labels[index]}: {problem}")
            continue
        totals.latencies.setdefault(labels[index], []).append(done - sent)
        totals.merge(counted)
    await session.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().startswith("postgres"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_of(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            found[pid] = _cpu_seconds(pid)
        except OSError:
            continue
    return found


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def _reset_peak(pids: list[int]) -> None:
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM (Linux 4.0+)
        except OSError:
            continue


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def drive(spec: dict[str, Any], sessions: Sequence[Session], labels: list[str]) -> dict[str, Any]:
    """Run the sessions' closed loops over `spec["window"]` (time.monotonic() bounds, shared by every
    driver process of a run) and measure the window."""
    window = (float(spec["window"][0]), float(spec["window"][1]))
    watched: list[int] = spec.get("watch", [])
    totals = Totals()
    tasks = [
        asyncio.create_task(_loop(session, labels, c * len(labels) // len(sessions), window, totals))
        for c, session in enumerate(sessions)
    ]
    await asyncio.sleep(max(0.0, window[0] - time.monotonic()))
    postgres = _postgres_pids() if spec.get("postgres") else []
    watched_before, postgres_before = cpu_of(watched), cpu_of(postgres)
    client_before = resource.getrusage(resource.RUSAGE_SELF)
    _reset_peak(watched)
    await asyncio.sleep(max(0.0, window[1] - time.monotonic()))
    watched_after = cpu_of(watched)
    postgres_after = cpu_of(_postgres_pids() if spec.get("postgres") else [])
    client_after = resource.getrusage(resource.RUSAGE_SELF)
    peaks = {str(pid): _peak_rss_mib(pid) for pid in watched}
    await asyncio.gather(*tasks)
    return {
        "seconds": window[1] - window[0],
        "latencies": totals.latencies,
        "timing_ms": totals.timing,
        "timed": totals.timed,
        "compiled": totals.compiled,
        "statements": totals.statements,
        "errors": totals.errors,
        "error_samples": totals.error_samples,
        "cpu_watched_s": cpu_delta(watched_before, watched_after),
        "cpu_postgres_s": cpu_delta(postgres_before, postgres_after),
        "cpu_self_s": _rusage_seconds(client_after) - _rusage_seconds(client_before),
        "peak_rss_mib": peaks,
    }


def _rusage_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


async def _http(spec: dict[str, Any]) -> dict[str, Any]:
    sessions: list[Session] = [HttpSession(spec) for _ in range(spec["connections"])]
    return await drive(spec, sessions, [r["label"] for r in spec["requests"]])


def run_loop(main: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def main() -> None:
    spec = orjson.loads(sys.stdin.buffer.read())
    Path(spec["output"]).write_bytes(orjson.dumps(run_loop(_http(spec))))


if __name__ == "__main__":
    main()
